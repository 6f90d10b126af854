"""The sandbox's in-memory Salesforce org: records, DML rules, SOQL execution, change events, sessions.

Everything the sandbox's HTTP layer answers comes from here, and tests and the demo seed and
inspect the org through the same object (`sandbox.state`). It enforces what q2c relies on from a
real org: 18-character ids with key prefixes, required and read-only fields, restricted
picklists, lookups that must point at existing records, derived IsWon/IsClosed, the opportunity
Amount rolled up from its products, SystemModstamp maintenance, and a Change Data Capture log for
Opportunity. Errors are raised as `ApiFault` carrying Salesforce's own status and error array.

Thread-safe: the HTTP server thread and a test thread may both use it.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from q2c.connectors.salesforce import soql
from q2c.connectors.salesforce.ids import id18, normalize_id
from q2c.sandboxes.salesforce.schema import (
    CLOSED_STAGES,
    OBJECTS,
    WON_STAGES,
    FieldSpec,
    SObjectSpec,
    sobject,
)

CDC_CHANNEL = "/data/OpportunityChangeEvent"
ALL_CHANGES_CHANNEL = "/data/ChangeEvents"
STREAMING_CHANNELS = (CDC_CHANNEL, ALL_CHANGES_CHANNEL)
DEFAULT_BATCH = 2000
MIN_BATCH = 200
CURSOR_IDLE_SECONDS = 15 * 60
MAX_OPEN_CURSORS = 50
EVENT_RETENTION = 10_000
STREAMING_CLIENT_IDLE_SECONDS = 150.0  # 40 s reconnect + 110 s long-poll, as the real server allows
INTEGRATION_USER = "integration@q2c-sandbox.example"
UI_USER = "sales.rep@q2c-sandbox.example"

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_STRINGISH = {"string", "textarea", "picklist"}
_IDISH = {"id", "reference"}


class ApiFault(Exception):
    """A Salesforce error answer: HTTP status and body (an error array, or a list of URLs for 300)."""

    def __init__(self, status: int, body: list[Any]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def api_error(code: str, message: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        error["fields"] = list(fields)
    return error


def fault(status: int, code: str, message: str, fields: Iterable[str] | None = None) -> ApiFault:
    return ApiFault(status, [api_error(code, message, fields)])


# --- ids -----------------------------------------------------------------------------------------


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits)).rjust(width, "0")


# --- wire formats --------------------------------------------------------------------------------


def format_datetime(value: datetime, *, zulu: bool = False) -> str:
    moment = value.astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}"
    return base + ("Z" if zulu else "+0000")


def to_wire(value: Any, *, zulu: bool = False) -> Any:
    """JSON-safe form of a stored value: Salesforce sends numbers as JSON numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return format_datetime(value, zulu=zulu)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _parse_datetime(text: str) -> datetime | None:
    normal = text.strip()
    if normal.endswith("Z"):
        normal = normal[:-1] + "+00:00"
    if re.search(r"[+-]\d{4}$", normal):
        normal = normal[:-2] + ":" + normal[-2:]
    try:
        moment = datetime.fromisoformat(normal)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- state pieces --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who writes, and how the change will be labelled in change events (changeOrigin)."""

    user_id: str
    origin: str = ""


@dataclass
class Session:
    token: str
    user_id: str
    username: str
    issued_at: datetime


@dataclass
class _Cursor:
    sobject: str
    rows: list[dict[str, Any]]
    batch: int
    touched: float


@dataclass
class ChangeEventEntry:
    replay_id: int
    channel: str
    payload: dict[str, Any]


@dataclass
class StreamingClient:
    client_id: str
    token: str
    subscriptions: dict[str, int] = field(default_factory=dict)  # channel -> last delivered replayId
    last_seen: float = field(default_factory=time.monotonic)


class SalesforceOrg:
    """One org's data and platform state. All methods are atomic under one lock."""

    def __init__(self, *, api_usage_limit: int = 100_000,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.api_limit = api_usage_limit
        self.org_id = id18("00D" + "Dn" + "0" + _base62(1, 9))
        self.reset()

    # --- lifecycle / admin ------------------------------------------------------------------
    def reset(self) -> None:
        """Empty org: no records, events, sessions, cursors; API usage back to zero."""
        with self._lock:
            self._records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in OBJECTS}
            self._counter = itertools.count(1)
            self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
            self._users: dict[str, str] = {}
            self._sessions: dict[str, Session] = {}
            self._cursors: dict[str, _Cursor] = {}
            self._events: list[ChangeEventEntry] = []
            self._last_replay = 0
            self._commit_counter = itertools.count(10_000_001)
            self._streaming: dict[str, StreamingClient] = {}
            self.api_used = 0

    def set_api_usage(self, used: int, limit: int | None = None) -> None:
        with self._lock:
            self.api_used = max(used, 0)
            if limit is not None:
                self.api_limit = limit

    def expire_sessions(self) -> None:
        """Every access token stops working (as when an admin revokes sessions)."""
        with self._lock:
            self._sessions.clear()

    def drop_streaming_clients(self) -> None:
        """Forget every CometD client, as the server does after a network drop or idle timeout."""
        with self._lock:
            self._streaming.clear()

    # --- users and sessions -----------------------------------------------------------------
    def user_id(self, username: str) -> str:
        with self._lock:
            if username not in self._users:
                self._users[username] = self._new_id("005")
            return self._users[username]

    def open_session(self, username: str) -> Session:
        with self._lock:
            token = f"{self.org_id[:15]}!{secrets.token_urlsafe(48)}"
            session = Session(token, self.user_id(username), username, self._clock())
            self._sessions[token] = session
            return session

    def session(self, token: str) -> Session | None:
        with self._lock:
            return self._sessions.get(token)

    def revoke(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    # --- API usage --------------------------------------------------------------------------
    def consume_api_call(self) -> bool:
        """Count one request against the org's daily allocation; False once it is used up."""
        with self._lock:
            if self.api_used >= self.api_limit:
                return False
            self.api_used += 1
            return True

    def limit_info(self) -> str:
        with self._lock:
            return f"api-usage={self.api_used}/{self.api_limit}"

    # --- ids and clock ----------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return id18(prefix + "Dn" + "0" + _base62(next(self._counter), 9))

    def _stamp(self) -> datetime:
        """Millisecond timestamps, strictly increasing so SystemModstamp orders every write."""
        now = self._clock().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return now

    # --- reads ------------------------------------------------------------------------------
    def spec(self, name: str) -> SObjectSpec:
        spec = sobject(name)
        if spec is None:
            raise fault(404, "NOT_FOUND", "The requested resource does not exist")
        return spec

    def records(self, sobject_name: str) -> list[dict[str, Any]]:
        """Every record of an object, JSON-shaped (for tests, the demo and the admin API)."""
        spec = self.spec(sobject_name)
        with self._lock:
            return [{k: to_wire(v) for k, v in rec.items()} for rec in self._records[spec.name].values()]

    def record(self, sobject_name: str, record_id: str) -> dict[str, Any] | None:
        spec = self.spec(sobject_name)
        rid = normalize_id(record_id)
        with self._lock:
            rec = self._records[spec.name].get(rid or "")
            return None if rec is None else {k: to_wire(v) for k, v in rec.items()}

    def read(self, sobject_name: str, record_id: str, fields: list[str] | None, version: str) -> dict[str, Any]:
        spec = self.spec(sobject_name)
        with self._lock:
            rec = self._find(spec, record_id)
            names = list(spec.fields) if not fields else [self._field(spec, f).name for f in fields]
            out: dict[str, Any] = {"attributes": self._attributes(spec, rec["Id"], version)}
            for name in names:
                out[name] = to_wire(rec.get(name))
            return out

    def read_by_external_id(self, sobject_name: str, field_name: str, value: str, fields: list[str] | None,
                            version: str) -> dict[str, Any]:
        spec = self.spec(sobject_name)
        with self._lock:
            ext = self._external_field(spec, field_name)
            matches = self._match_external(spec, ext, value)
            if not matches:
                raise fault(404, "NOT_FOUND", "The requested resource does not exist")
            if len(matches) > 1:
                raise ApiFault(300, [self._attributes(spec, rid, version)["url"] for rid in matches])
            return self.read(spec.name, matches[0], fields, version)

    def _find(self, spec: SObjectSpec, record_id: str) -> dict[str, Any]:
        rid = normalize_id(record_id)
        if rid is None or rid[:3] != spec.key_prefix:
            raise fault(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                                          f"{record_id}")
        rec = self._records[spec.name].get(rid)
        if rec is None:
            raise fault(404, "NOT_FOUND", "The requested resource does not exist")
        return rec

    def _field(self, spec: SObjectSpec, name: str) -> FieldSpec:
        found = spec.field(name)
        if found is None:
            raise fault(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {spec.name}", [name])
        return found

    @staticmethod
    def _attributes(spec: SObjectSpec, record_id: str, version: str) -> dict[str, str]:
        return {"type": spec.name, "url": f"/services/data/v{version}/sobjects/{spec.name}/{record_id}"}

    # --- writes -----------------------------------------------------------------------------
    def ui_actor(self) -> Actor:
        """A sales rep editing in the browser: the change events carry no API origin."""
        return Actor(self.user_id(UI_USER), "")

    def create(self, sobject_name: str, body: Mapping[str, Any], actor: Actor | None = None) -> str:
        """Insert a record (as a UI user unless `actor` says otherwise); returns its 18-character id."""
        spec = self.spec(sobject_name)
        with self._lock:
            return self._create(spec, body, actor or self.ui_actor())

    def update(self, sobject_name: str, record_id: str, body: Mapping[str, Any], actor: Actor | None = None) -> None:
        spec = self.spec(sobject_name)
        with self._lock:
            rec = self._find(spec, record_id)
            self._update(spec, rec, body, actor or self.ui_actor())

    def delete(self, sobject_name: str, record_id: str, actor: Actor | None = None) -> None:
        spec = self.spec(sobject_name)
        with self._lock:
            rec = self._find(spec, record_id)
            self._delete(spec, rec, actor or self.ui_actor())

    def upsert(self, sobject_name: str, field_name: str, value: str, body: Mapping[str, Any],
               actor: Actor | None = None, version: str = "59.0") -> tuple[str, bool]:
        """Create or update by external id; (id, created). Several matches: ApiFault 300 with their URLs."""
        spec = self.spec(sobject_name)
        actor = actor or self.ui_actor()
        with self._lock:
            ext = self._external_field(spec, field_name)
            matches = self._match_external(spec, ext, value)
            if len(matches) > 1:
                raise ApiFault(300, [self._attributes(spec, rid, version)["url"] for rid in matches])
            if matches:
                rec = self._records[spec.name][matches[0]]
                self._update(spec, rec, body, actor)
                return rec["Id"], False
            if ext.name == "Id":
                raise fault(404, "NOT_FOUND", "The requested resource does not exist")
            new_body = dict(body)
            new_body[ext.name] = value
            return self._create(spec, new_body, actor), True

    def _external_field(self, spec: SObjectSpec, field_name: str) -> FieldSpec:
        ext = spec.field(field_name)
        if ext is None or not (ext.external_id or ext.name == "Id"):
            raise fault(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                                          f"{field_name}")
        return ext

    def _match_external(self, spec: SObjectSpec, ext: FieldSpec, value: str) -> list[str]:
        if ext.name == "Id":
            rid = normalize_id(value)
            return [rid] if rid and rid in self._records[spec.name] else []
        folded = value.casefold()
        return [rid for rid, rec in self._records[spec.name].items()
                if isinstance(rec.get(ext.name), str) and rec[ext.name].casefold() == folded]

    def _create(self, spec: SObjectSpec, body: Mapping[str, Any], actor: Actor) -> str:
        values = self._coerce_body(spec, body, creating=True)
        now = self._stamp()
        rec: dict[str, Any] = {name: None for name in spec.fields}
        for fspec in spec.fields.values():
            if fspec.type == "boolean":
                rec[fspec.name] = False
            if fspec.default is not None:
                rec[fspec.name] = fspec.default
        rec.update(values)
        self._derive(spec, rec, values, creating=True)
        self._check_required(spec, rec)
        rid = self._new_id(spec.key_prefix)
        rec.update({"Id": rid, "IsDeleted": False, "CreatedDate": now, "CreatedById": actor.user_id,
                    "LastModifiedDate": now, "LastModifiedById": actor.user_id, "SystemModstamp": now})
        self._records[spec.name][rid] = rec
        if spec.name == "Opportunity":
            fields = {k: v for k, v in rec.items() if v is not None and k not in {"Id", "IsDeleted", "SystemModstamp"}}
            self._change_event("CREATE", rid, fields, [], [], actor, now)
        self._after_child_write(spec, rec, actor)
        return rid

    def _update(self, spec: SObjectSpec, rec: dict[str, Any], body: Mapping[str, Any], actor: Actor) -> None:
        values = self._coerce_body(spec, body, creating=False, record_id=rec["Id"])
        candidate = dict(rec)
        candidate.update(values)
        self._derive(spec, candidate, values, creating=False)
        self._check_required(spec, candidate)
        now = self._stamp()
        changed = [name for name in spec.fields if candidate.get(name) != rec.get(name)]
        candidate.update({"LastModifiedDate": now, "LastModifiedById": actor.user_id, "SystemModstamp": now})
        if rec["LastModifiedById"] != actor.user_id:
            changed.append("LastModifiedById")
        changed.append("LastModifiedDate")
        rec.clear()
        rec.update(candidate)
        if spec.name == "Opportunity" and "CurrencyIsoCode" in changed:  # master-detail children follow
            for milestone in self._records["Opportunity_Milestone__c"].values():
                if milestone["Opportunity__c"] == rec["Id"]:
                    milestone.update({"CurrencyIsoCode": rec["CurrencyIsoCode"], "SystemModstamp": now})
        if spec.name == "Opportunity":
            self._change_event("UPDATE", rec["Id"], {name: rec[name] for name in changed}, changed,
                               [name for name in changed if rec[name] is None], actor, now)
        self._after_child_write(spec, rec, actor)

    def _delete(self, spec: SObjectSpec, rec: dict[str, Any], actor: Actor) -> None:
        rid = rec["Id"]
        if spec.name == "Account":
            for child in list(self._records["Account"].values()):
                if child["ParentId"] == rid:
                    child["ParentId"] = None
                    child["SystemModstamp"] = self._stamp()
            for opp in [o for o in self._records["Opportunity"].values() if o["AccountId"] == rid]:
                self._delete(OBJECTS["Opportunity"], opp, actor)
        if spec.name == "Opportunity":
            for child_name, lookup in (("OpportunityLineItem", "OpportunityId"),
                                       ("Opportunity_Milestone__c", "Opportunity__c")):
                for child_id in [c["Id"] for c in self._records[child_name].values() if c[lookup] == rid]:
                    del self._records[child_name][child_id]
        del self._records[spec.name][rid]
        if spec.name == "Opportunity":
            self._change_event("DELETE", rid, {}, [], [], actor, self._stamp())
        self._after_child_write(spec, rec, actor)

    # --- body validation --------------------------------------------------------------------
    def _coerce_body(self, spec: SObjectSpec, body: Mapping[str, Any], *, creating: bool,
                     record_id: str | None = None) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise fault(400, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
        values: dict[str, Any] = {}
        read_only: list[str] = []
        for key, raw in body.items():
            if key == "attributes":
                continue
            rel = spec.relationship(key) if isinstance(raw, Mapping) else None
            if rel is not None:
                values[rel.name] = self._resolve_foreign_external_id(rel, raw)
                continue
            fspec = self._field(spec, key)
            if fspec.name == "Id" and not creating and isinstance(raw, str) and normalize_id(raw) == record_id:
                continue
            if not (fspec.createable if creating else fspec.updateable):
                read_only.append(fspec.name)
                continue
            values[fspec.name] = self._coerce(spec, fspec, raw)
        if read_only:
            raise fault(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                        f"Unable to create/update fields: {', '.join(read_only)}. Please check the security "
                        "settings of this field and verify that it is read/write for your profile or "
                        "permission set.", read_only)
        return values

    def _resolve_foreign_external_id(self, rel: FieldSpec, raw: Mapping[str, Any]) -> str:
        assert rel.reference_to is not None
        target = OBJECTS[rel.reference_to]
        keys = [k for k in raw if k != "attributes"]
        if len(keys) != 1:
            raise fault(400, "INVALID_FIELD", f"Foreign key reference {rel.relationship_name} must name "
                                              "exactly one external ID field", [rel.name])
        ext = target.field(keys[0])
        value = raw[keys[0]]
        if ext is None or not ext.external_id or not isinstance(value, str):
            raise fault(400, "INVALID_FIELD", f"Field {keys[0]} is not an external ID field on "
                                              f"{target.name}", [rel.name])
        matches = self._match_external(target, ext, value)
        if len(matches) != 1:
            found = "not found" if not matches else "matched more than one record"
            raise fault(400, "INVALID_FIELD", f"Foreign key external ID: {value} {found} for field "
                                              f"{ext.name} in entity {target.name}", [rel.name])
        return matches[0]

    def _coerce(self, spec: SObjectSpec, fspec: FieldSpec, raw: Any) -> Any:
        if raw is None:
            return None
        kind = fspec.type

        def unparseable(what: str) -> ApiFault:
            return fault(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {what} from value {raw!r} "
                                                   f"or request may be missing a required field", [fspec.name])

        if kind in _STRINGISH:
            if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
                raise unparseable("string")
            text = str(raw)
            if not text:
                return None  # Salesforce stores an empty text value as null
            if fspec.length and len(text) > fspec.length:
                raise fault(400, "STRING_TOO_LONG", f"{fspec.label}: data value too large: {text[:40]} (max "
                                                    f"length={fspec.length})", [fspec.name])
            if kind == "picklist" and fspec.picklist and text not in fspec.picklist:
                raise fault(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            f"{fspec.label}: bad value for restricted picklist field: {text}", [fspec.name])
            return text
        if kind in _IDISH:
            if not isinstance(raw, str):
                raise unparseable("id")
            rid = normalize_id(raw)
            target = OBJECTS.get(fspec.reference_to or "")
            if rid is None or (target is not None and rid[:3] != target.key_prefix):
                raise fault(400, "MALFORMED_ID", f"{fspec.label}: id value of incorrect type: {raw}",
                            [fspec.name])
            if target is not None and rid not in self._records[target.name]:
                raise fault(400, "INVALID_CROSS_REFERENCE_KEY", f"{fspec.label}: invalid cross reference id",
                            [fspec.name])
            return rid
        if kind == "boolean":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in {"true", "false"}:
                return raw.lower() == "true"
            raise unparseable("boolean")
        if kind in {"currency", "double"}:
            if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
                raise unparseable("double")
            try:
                number = Decimal(str(raw))
            except InvalidOperation:
                raise unparseable("double") from None
            if not number.is_finite():
                raise unparseable("double")
            return number
        if kind == "date":
            if isinstance(raw, str) and (len(raw) == 10 or raw[10:11] == "T"):
                try:
                    return date.fromisoformat(raw[:10])
                except ValueError:
                    pass
            raise unparseable("date")
        if kind == "datetime":
            moment = _parse_datetime(raw) if isinstance(raw, str) else None
            if moment is None:
                raise unparseable("datetime")
            return moment
        raise AssertionError(f"unhandled field type {kind}")

    def _check_required(self, spec: SObjectSpec, rec: Mapping[str, Any]) -> None:
        missing = [f.name for f in spec.fields.values() if f.required and rec.get(f.name) in (None, "")]
        if missing:
            raise fault(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                        missing)

    def _derive(self, spec: SObjectSpec, rec: dict[str, Any], given: Mapping[str, Any], *, creating: bool) -> None:
        """Object rules: derived fields and the integrity checks Salesforce applies on save."""
        if spec.name == "Opportunity":
            stage = rec.get("StageName")
            rec["IsWon"] = stage in WON_STAGES
            rec["IsClosed"] = stage in CLOSED_STAGES
            if not creating:
                has_lines = any(li["OpportunityId"] == rec["Id"]
                                for li in self._records["OpportunityLineItem"].values())
                if has_lines and "Amount" in given:
                    raise fault(400, "FIELD_INTEGRITY_EXCEPTION", "field integrity exception: Amount (cannot "
                                "set the amount of an opportunity that has products)", ["Amount"])
                stored_currency = self._records["Opportunity"][rec["Id"]]["CurrencyIsoCode"]
                if has_lines and "CurrencyIsoCode" in given and given["CurrencyIsoCode"] != stored_currency:
                    raise fault(400, "FIELD_INTEGRITY_EXCEPTION", "field integrity exception: CurrencyIsoCode "
                                "(cannot change the currency of an opportunity that has products)",
                                ["CurrencyIsoCode"])
        elif spec.name in {"OpportunityLineItem", "Opportunity_Milestone__c"}:
            lookup = "OpportunityId" if spec.name == "OpportunityLineItem" else "Opportunity__c"
            parent = self._records["Opportunity"].get(rec.get(lookup) or "")
            if parent is not None:
                if creating and "CurrencyIsoCode" not in given:
                    rec["CurrencyIsoCode"] = parent["CurrencyIsoCode"]
                elif rec.get("CurrencyIsoCode") != parent["CurrencyIsoCode"]:
                    raise fault(400, "FIELD_INTEGRITY_EXCEPTION", "field integrity exception: CurrencyIsoCode "
                                f"must match the opportunity's currency {parent['CurrencyIsoCode']}",
                                ["CurrencyIsoCode"])
            if spec.name == "OpportunityLineItem":
                self._price_line(rec, given, creating=creating, parent=parent)

    @staticmethod
    def _price_line(rec: dict[str, Any], given: Mapping[str, Any], *, creating: bool,
                    parent: Mapping[str, Any] | None) -> None:
        if "UnitPrice" in given and "TotalPrice" in given:
            raise fault(400, "FIELD_INTEGRITY_EXCEPTION", "field integrity exception: TotalPrice (cannot specify "
                        "both unit price and total price)", ["TotalPrice"])
        quantity = rec.get("Quantity")
        if quantity is None:
            return  # the required-field check reports it
        if quantity == 0:
            raise fault(400, "FIELD_INTEGRITY_EXCEPTION", "field integrity exception: Quantity (quantity must "
                        "be nonzero)", ["Quantity"])
        if "TotalPrice" in given and given["TotalPrice"] is not None:
            rec["UnitPrice"] = (given["TotalPrice"] / quantity).quantize(Decimal("0.01"))
        elif ("UnitPrice" in given and given["UnitPrice"] is not None) or (
                not creating and "Quantity" in given and rec.get("UnitPrice") is not None):
            rec["TotalPrice"] = rec["UnitPrice"] * quantity
        elif creating or rec.get("TotalPrice") is None:
            raise fault(400, "FIELD_INTEGRITY_EXCEPTION", "field integrity exception: unknown (must specify "
                        "either unit price or total price)", ["UnitPrice", "TotalPrice"])
        if parent is not None:
            rec["Name"] = f"{parent['Name']} {rec.get('Service_Offering__c') or 'Service'}"

    def _after_child_write(self, spec: SObjectSpec, rec: Mapping[str, Any], actor: Actor) -> None:
        """An opportunity with products has Amount = the sum of their total prices."""
        if spec.name != "OpportunityLineItem":
            return
        opp = self._records["Opportunity"].get(rec["OpportunityId"])
        if opp is None:
            return
        total = sum((li["TotalPrice"] for li in self._records["OpportunityLineItem"].values()
                     if li["OpportunityId"] == opp["Id"] and li["TotalPrice"] is not None), Decimal(0))
        if opp["Amount"] == total:
            return
        now = self._stamp()
        opp.update({"Amount": total, "LastModifiedDate": now, "LastModifiedById": actor.user_id,
                    "SystemModstamp": now})
        self._change_event("UPDATE", opp["Id"], {"Amount": total, "LastModifiedDate": now},
                           ["Amount", "LastModifiedDate"], [], actor, now)

    # --- change data capture ----------------------------------------------------------------
    def _change_event(self, change_type: str, record_id: str, fields: Mapping[str, Any], changed: list[str],
                      nulled: list[str], actor: Actor, when: datetime) -> None:
        header = {
            "entityName": "Opportunity",
            "recordIds": [record_id],
            "changeType": change_type,
            "changeOrigin": actor.origin,
            "transactionKey": secrets.token_hex(16),
            "sequenceNumber": 1,
            "commitTimestamp": int(when.timestamp() * 1000),
            "commitNumber": next(self._commit_counter),
            "commitUser": actor.user_id,
            "changedFields": list(changed),
            "nulledFields": list(nulled),
            "diffFields": [],
        }
        payload: dict[str, Any] = {"ChangeEventHeader": header}
        payload.update({k: to_wire(v, zulu=True) for k, v in fields.items() if v is not None})
        self._last_replay += 1
        self._events.append(ChangeEventEntry(self._last_replay, CDC_CHANNEL, payload))
        del self._events[:-EVENT_RETENTION]

    def change_events(self) -> list[dict[str, Any]]:
        """The retained Opportunity change events, oldest first, with their replay ids."""
        with self._lock:
            return [{"replayId": e.replay_id, "payload": e.payload} for e in self._events]

    @property
    def schema_id(self) -> str:
        digest = hashlib.sha256(",".join(OBJECTS["Opportunity"].fields).encode()).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    # --- streaming (CometD) clients ---------------------------------------------------------
    def streaming_handshake(self, token: str) -> str:
        with self._lock:
            self._expire_streaming_clients()
            client_id = secrets.token_hex(14)
            self._streaming[client_id] = StreamingClient(client_id, token)
            return client_id

    def streaming_client(self, client_id: str) -> StreamingClient | None:
        with self._lock:
            self._expire_streaming_clients()
            client = self._streaming.get(client_id)
            if client is not None:
                client.last_seen = time.monotonic()
            return client

    def streaming_subscribe(self, client_id: str, channel: str, replay_from: int) -> str | None:
        """Subscribe; returns a Bayeux error text or None."""
        with self._lock:
            client = self._streaming.get(client_id)
            if client is None:
                return "403::Unknown client"
            if channel not in STREAMING_CHANNELS:
                return f"400::The channel you requested to subscribe to does not exist {channel}"
            latest = self._last_replay
            earliest = self._events[0].replay_id if self._events else latest + 1
            if replay_from == -1:
                cursor = latest
            elif replay_from == -2:
                cursor = earliest - 1
            elif earliest - 1 <= replay_from <= latest:
                cursor = replay_from
            else:
                return (f"400::The replayId {{{replay_from}}} you provided was invalid.  Please provide a valid "
                        "ID, -2 to replay all events, or -1 to replay only new events.")
            client.subscriptions[channel] = cursor
            return None

    def streaming_unsubscribe(self, client_id: str, channel: str) -> None:
        with self._lock:
            client = self._streaming.get(client_id)
            if client is not None:
                client.subscriptions.pop(channel, None)

    def streaming_disconnect(self, client_id: str) -> None:
        with self._lock:
            self._streaming.pop(client_id, None)

    def streaming_collect(self, client_id: str) -> list[dict[str, Any]]:
        """Bayeux messages for the events this client has not yet been given; advances its cursors."""
        with self._lock:
            client = self._streaming.get(client_id)
            if client is None:
                return []
            messages: list[dict[str, Any]] = []
            for channel, cursor in client.subscriptions.items():
                fresh = [e for e in self._events if e.replay_id > cursor]
                for entry in fresh:
                    messages.append({"channel": channel, "data": {
                        "schema": self.schema_id, "payload": entry.payload,
                        "event": {"replayId": entry.replay_id}}})
                if fresh:
                    client.subscriptions[channel] = fresh[-1].replay_id
            return messages

    def _expire_streaming_clients(self) -> None:
        horizon = time.monotonic() - STREAMING_CLIENT_IDLE_SECONDS
        for client_id in [c.client_id for c in self._streaming.values() if c.last_seen < horizon]:
            del self._streaming[client_id]

    # --- SOQL -------------------------------------------------------------------------------
    def query(self, text: str, *, version: str, batch_size: int | None = None) -> dict[str, Any]:
        try:
            parsed = soql.parse(text)
        except soql.SoqlSyntaxError as exc:
            raise fault(400, "MALFORMED_QUERY", str(exc)) from None
        with self._lock:
            spec = sobject(parsed.sobject)
            if spec is None:
                raise fault(400, "INVALID_TYPE", f"sObject type '{parsed.sobject}' is not supported. If you are "
                            "attempting to use a custom object, be sure to append the '__c' after the entity "
                            "name. Please reference your WSDL or the describe call for the appropriate names.")
            rows = self._execute(spec, parsed, version)
            batch = min(max(batch_size or DEFAULT_BATCH, MIN_BATCH), DEFAULT_BATCH)
            locator = None
            if len(rows) > batch:
                self._expire_cursors()
                locator = id18("01g" + "Dn" + "0" + _base62(next(self._counter), 9))
                self._cursors[locator] = _Cursor(spec.name, rows, batch, time.monotonic())
            return self._page(rows, 0, batch, locator, version)

    def query_more(self, cursor_ref: str, *, version: str) -> dict[str, Any]:
        locator, _, offset_text = cursor_ref.rpartition("-")
        with self._lock:
            self._expire_cursors()
            cursor = self._cursors.get(locator)
            if cursor is None or not offset_text.isdigit() or int(offset_text) > len(cursor.rows):
                raise fault(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.touched = time.monotonic()
            return self._page(cursor.rows, int(offset_text), cursor.batch, locator, version)

    def _expire_cursors(self) -> None:
        horizon = time.monotonic() - CURSOR_IDLE_SECONDS
        for locator in [k for k, c in self._cursors.items() if c.touched < horizon]:
            del self._cursors[locator]
        while len(self._cursors) >= MAX_OPEN_CURSORS:
            del self._cursors[next(iter(self._cursors))]

    @staticmethod
    def _page(rows: list[dict[str, Any]], offset: int, batch: int, locator: str | None,
              version: str) -> dict[str, Any]:
        end = offset + batch
        page: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
        if end < len(rows):
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        page["records"] = rows[offset:end]
        return page

    def _execute(self, spec: SObjectSpec, query: soql.SoqlQuery, version: str) -> list[dict[str, Any]]:
        selected = [(path, self._resolve(spec, path)) for path in query.fields]
        seen: set[str] = set()
        for path, _ in selected:
            if path.lower() in seen:
                raise fault(400, "INVALID_FIELD", f"duplicate field selected: {path}")
            seen.add(path.lower())
        filters = [(cond, self._check_filter(spec, cond)) for cond in query.conditions]
        ordering = [(item, self._resolve(spec, item.path)) for item in query.order_by]
        matched = [rec for rec in self._records[spec.name].values()
                   if all(self._holds(rec, cond, chain) for cond, chain in filters)]
        for item, chain in reversed(ordering):
            matched.sort(key=self._sort_key_for(chain, item), reverse=item.descending)
        start = query.offset or 0
        end = None if query.limit is None else start + query.limit
        return [self._project(spec, rec, selected, version) for rec in matched[start:end]]

    def _resolve(self, spec: SObjectSpec, path: str) -> list[tuple[SObjectSpec, FieldSpec]]:
        """A dotted field path as (object, field) steps: lookups first, the selected field last."""
        steps: list[tuple[SObjectSpec, FieldSpec]] = []
        current = spec
        parts = path.split(".")
        for part in parts[:-1]:
            rel = current.relationship(part)
            if rel is None or rel.reference_to is None:
                raise fault(400, "INVALID_FIELD", f"Didn't understand relationship '{part}' in field path. If "
                            "you are attempting to use a custom relationship, be sure to append the '__r' after "
                            "the custom relationship name. Please reference your WSDL or the describe call for "
                            "the appropriate names.")
            steps.append((current, rel))
            current = OBJECTS[rel.reference_to]
        last = current.field(parts[-1])
        if last is None:
            raise fault(400, "INVALID_FIELD", f"No such column '{parts[-1]}' on entity '{current.name}'. If you "
                        "are attempting to use a custom field, be sure to append the '__c' after the custom "
                        "field name. Please reference your WSDL or the describe call for the appropriate names.")
        steps.append((current, last))
        return steps

    def _value(self, rec: Mapping[str, Any] | None, chain: list[tuple[SObjectSpec, FieldSpec]]) -> Any:
        for _, fspec in chain[:-1]:
            if rec is None:
                return None
            assert fspec.reference_to is not None
            rec = self._records[fspec.reference_to].get(rec.get(fspec.name) or "")
        return None if rec is None else rec.get(chain[-1][1].name)

    def _check_filter(self, spec: SObjectSpec, cond: soql.Condition) -> list[tuple[SObjectSpec, FieldSpec]]:
        chain = self._resolve(spec, cond.path)
        fspec = chain[-1][1]
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        expected = {"string": str, "textarea": str, "picklist": str, "id": str, "reference": str,
                    "boolean": bool, "currency": Decimal, "double": Decimal, "date": date, "datetime": datetime}
        wanted = expected[fspec.type]
        for value in values:
            if value is None:
                continue
            ok = isinstance(value, wanted) and not (wanted is date and isinstance(value, datetime)) and \
                not (wanted is Decimal and isinstance(value, bool))
            if not ok:
                quoted = "should be enclosed in quotes" if wanted is str else "should not be enclosed in quotes"
                type_name = {"str": "string", "bool": "boolean", "Decimal": "number", "date": "date",
                             "datetime": "dateTime"}[wanted.__name__]
                raise fault(400, "INVALID_FIELD", f"value of filter criterion for field '{fspec.name}' must be "
                            f"of type {type_name} and {quoted}")
            if fspec.type in _IDISH and normalize_id(value) is None:  # type: ignore[arg-type]
                raise fault(400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}")
        if cond.operator == "LIKE" and fspec.type not in _STRINGISH | _IDISH:
            raise fault(400, "INVALID_FIELD", f"invalid operator on {fspec.type} field: LIKE")
        if fspec.type == "boolean" and cond.operator not in {"=", "!=", "IN", "NOT IN"}:
            raise fault(400, "INVALID_FIELD", f"invalid operator on boolean field: {cond.operator}")
        return chain

    def _holds(self, rec: Mapping[str, Any], cond: soql.Condition,
               chain: list[tuple[SObjectSpec, FieldSpec]]) -> bool:
        fspec = chain[-1][1]
        actual = self._comparable(fspec, self._value(rec, chain))
        if cond.operator in {"IN", "NOT IN"}:
            assert isinstance(cond.value, tuple)
            found = any(actual == self._comparable(fspec, v) for v in cond.value)
            return found if cond.operator == "IN" else not found
        expected = self._comparable(fspec, cond.value)
        if cond.operator == "=":
            return bool(actual == expected)
        if cond.operator == "!=":
            return bool(actual != expected)
        if actual is None or expected is None:
            return False
        if cond.operator == "LIKE":
            return _like(str(cond.value), str(self._value(rec, chain)))
        comparisons: dict[str, Callable[[Any, Any], bool]] = {
            "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
        return comparisons[cond.operator](actual, expected)

    @staticmethod
    def _comparable(fspec: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        if fspec.type in _STRINGISH:
            return str(value).casefold()
        if fspec.type in _IDISH:
            return normalize_id(str(value))
        return value

    def _sort_key_for(self, chain: list[tuple[SObjectSpec, FieldSpec]],
                      item: soql.OrderItem) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        def key(rec: Mapping[str, Any]) -> tuple[Any, ...]:
            value = self._value(rec, chain)
            if value is None:  # after an optional reverse, nulls must land where NULLS FIRST/LAST says
                return (0,) if item.nulls_last == item.descending else (2,)
            return (1, value.casefold() if isinstance(value, str) else value)
        return key

    def _project(self, spec: SObjectSpec, rec: Mapping[str, Any],
                 selected: list[tuple[str, list[tuple[SObjectSpec, FieldSpec]]]], version: str) -> dict[str, Any]:
        row: dict[str, Any] = {"attributes": self._attributes(spec, rec["Id"], version)}
        for _, chain in selected:
            out: dict[str, Any] | None = row
            current: Mapping[str, Any] | None = rec
            for _, fspec in chain[:-1]:
                assert fspec.reference_to is not None and fspec.relationship_name is not None
                assert out is not None and current is not None
                name = fspec.relationship_name
                target = self._records[fspec.reference_to].get(current.get(fspec.name) or "")
                if target is None:
                    out[name] = None
                    out = None
                    break
                if out.get(name) is None:
                    out[name] = {"attributes": self._attributes(OBJECTS[fspec.reference_to], target["Id"], version)}
                out = out[name]
                current = target
            if out is not None and current is not None:
                out[chain[-1][1].name] = to_wire(current.get(chain[-1][1].name))
        return row


def _like(pattern: str, value: str) -> bool:
    regex = []
    index = 0
    while index < len(pattern):
        ch = pattern[index]
        if ch == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "%_":
            regex.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        regex.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        index += 1
    return re.fullmatch("".join(regex), value, flags=re.IGNORECASE | re.DOTALL) is not None
