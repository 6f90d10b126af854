"""A NetSuite account on loopback: M2M tokens, the record service, SuiteQL, and q2c's bulk RESTlet.

It speaks the REST web services wire protocol for the records q2c uses (204 + Location on
create, `PUT .../eid:{externalId}` upsert, references as `{id, refName, links}`, errors as
`{type, title, status, o:errorDetails}`), SuiteQL paging with `hasMore`, and the contract of
`restlet/q2c_bulk_upsert.js`. It enforces what bites in production: required fields, references
that must exist, closed projects refusing time, billed time refusing edits, and one
concurrency limit for the whole account, shared by REST and RESTlet calls, answered with 429
on REST and with 400 `SSS_REQUEST_LIMIT_EXCEEDED` on RESTlets, as NetSuite does.

`sandbox.state` is the account itself, for seeding and for tests that count what was written.
"""

from __future__ import annotations

import secrets
import time
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import jwt
from fastapi import FastAPI, Request
from starlette.responses import Response

from q2c.connectors.netsuite import suiteql, wire
from q2c.connectors.netsuite.auth import CLIENT_ASSERTION_TYPE, MAX_ASSERTION_LIFETIME, generate_m2m_keypair
from q2c.connectors.netsuite.client import NetSuiteConfig
from q2c.sandboxes.kit import Faults, Sandbox, VendorLimits
from q2c.sandboxes.netsuite.records import (
    CLOSED_JOB_STATUS,
    LISTS,
    OPEN_JOB_STATUS,
    SCHEMAS,
    WRITABLE,
    FieldSpec,
    RecordSchema,
)

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
RESTLET_PATH = "/app/site/hosting/restlet.nl"
RESTLET_SCRIPT = "customscript_q2c_bulk_upsert"
RESTLET_DEPLOY = "customdeploy_q2c_bulk_upsert"
RESTLET_MAX_RECORDS = 200
SUITEQL_MAX_LIMIT = 1000
ALLOWED_ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
SCOPES = frozenset({"restlets", "rest_webservices", "suite_analytics"})

_RFC2616 = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
_ERROR_TYPES = {400: f"{_RFC2616}#sec10.4.1", 401: f"{_RFC2616}#sec10.4.2", 403: f"{_RFC2616}#sec10.4.4",
                404: f"{_RFC2616}#sec10.4.5", 405: f"{_RFC2616}#sec10.4.6", 409: f"{_RFC2616}#sec10.4.10",
                415: f"{_RFC2616}#sec10.4.16", 429: "https://tools.ietf.org/html/rfc6585#section-4"}
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 415: "Unsupported Media Type", 429: "Too Many Requests"}
_INVALID_LOGIN = ("Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
                  "Setup > Users/Roles > User Management > View Login Audit Trail.")

# Which surface the current request came in on, so a throttle answer takes that surface's shape.
_surface: ContextVar[str] = ContextVar("netsuite_surface", default="rest")


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(wire.dumps(body), status_code=status, media_type="application/json",
                    headers=dict(headers or {}))


def _detail(text: str, code: str, path: str | None = None, **extra: str) -> dict[str, str]:
    item = {"detail": text, "o:errorCode": code}
    if path:
        item["o:errorPath"] = path
    item.update({f"o:{k}": v for k, v in extra.items()})
    return item


def rest_error(status: int, details: list[dict[str, str]]) -> Response:
    """The REST web services error body: always type, title, status and o:errorDetails."""
    return _json({"type": _ERROR_TYPES.get(status, f"{_RFC2616}#sec10.5.1"),
                  "title": _TITLES.get(status, "Internal Server Error"), "status": status,
                  "o:errorDetails": details}, status)


def restlet_error(code: str, message: str, status: int = 400) -> Response:
    """What NetSuite sends when a RESTlet throws: {"error": {"code", "message"}}."""
    return _json({"error": {"code": code, "message": message}}, status)


def _throttle_answer(retry_after: float) -> Response:
    if _surface.get() == "restlet":
        return restlet_error("SSS_REQUEST_LIMIT_EXCEEDED",
                             "Request limit exceeded. Try again after the current requests complete.")
    return rest_error(429, [_detail("Concurrent request limit exceeded. Request blocked.",
                                    "CONCURRENCY_LIMIT_EXCEEDED")])


# --- the account -----------------------------------------------------------------------------------


@dataclass
class StoredRecord:
    type: str
    id: str
    values: dict[str, Any]  # lower-case field name -> str | Decimal | bool | date | ref id | lines
    created: datetime
    modified: datetime
    locked: bool = False
    status: str | None = None  # transactions: the status letter
    tran_id: str | None = None

    @property
    def external_id(self) -> str | None:
        value = self.values.get("externalid")
        return value if isinstance(value, str) else None


@dataclass
class Problem:
    """One thing wrong with a write; each surface words it in its own error shape."""

    kind: str  # missing | unknown_field | bad_value | too_long | no_such_ref | no_such_external_ref | rule
    field: str | None
    message: str


_REST_CODES = {"missing": "USER_ERROR", "unknown_field": "USER_ERROR", "bad_value": "INVALID_VALUE",
               "too_long": "USER_ERROR", "no_such_ref": "NONEXISTENT_ID", "no_such_external_ref": "NONEXISTENT_ID",
               "rule": "USER_ERROR"}
_RESTLET_CODES = {"missing": "USER_ERROR", "unknown_field": "Q2C_UNKNOWN_FIELD", "bad_value": "INVALID_FLD_VALUE",
                  "too_long": "USER_ERROR", "no_such_ref": "INVALID_FLD_VALUE",
                  "no_such_external_ref": "Q2C_REFERENCE_NOT_FOUND", "rule": "USER_ERROR"}


@dataclass
class NetSuiteState:
    """Everything the account holds, plus counters a test can assert on."""

    account_id: str
    records: dict[str, dict[str, StoredRecord]] = field(default_factory=dict)
    external: dict[str, dict[str, str]] = field(default_factory=dict)
    writes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, created|updated|deleted)
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (epoch seconds)
    token_grants: int = 0
    token_refusals: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    over_limit: Counter[str] = field(default_factory=Counter)  # surface -> requests refused
    restlet_calls: int = 0
    _next_id: int = 100

    def __post_init__(self) -> None:
        self.reset()

    # --- seeding and inspection -----------------------------------------------------------------
    def reset(self) -> None:
        """Back to a fresh account with its setup lists (subsidiaries, currencies, terms, items)."""
        self.records = {t: {} for t in SCHEMAS}
        self.external = {t: {} for t in SCHEMAS}
        self.writes.clear()
        self.tokens.clear()
        self.token_grants = 0
        self.token_refusals.clear()
        self.over_limit.clear()
        self.max_in_flight = 0
        self.restlet_calls = 0
        self._next_id = 100
        setup: list[tuple[str, str, dict[str, Any]]] = [
            ("currency", "1", {"name": "US Dollar", "symbol": "USD"}),
            ("currency", "2", {"name": "British pound", "symbol": "GBP"}),
            ("currency", "3", {"name": "Canadian Dollar", "symbol": "CAD"}),
            ("currency", "4", {"name": "Euro", "symbol": "EUR"}),
            ("subsidiary", "1", {"name": "Parent Company", "currency": "1"}),
            ("subsidiary", "2", {"name": "US01 Consulting Inc.", "currency": "1"}),
            ("subsidiary", "3", {"name": "UK01 Consulting Ltd", "currency": "2"}),
            ("term", "1", {"name": "Net 15", "daysuntilnetdue": Decimal(15)}),
            ("term", "2", {"name": "Net 30", "daysuntilnetdue": Decimal(30)}),
            ("term", "3", {"name": "Net 60", "daysuntilnetdue": Decimal(60)}),
            ("term", "4", {"name": "Due on receipt", "daysuntilnetdue": Decimal(0)}),
            ("serviceitem", "10", {"itemid": "Professional Services"}),
            ("serviceitem", "11", {"itemid": "Fixed Fee Services"}),
            ("serviceitem", "12", {"itemid": "Retainer"}),
            ("serviceitem", "13", {"itemid": "Milestone Billing"}),
            ("salestaxitem", "20", {"itemid": "US-CA-STD", "rate": Decimal("7.25")}),
            ("salestaxitem", "21", {"itemid": "EXEMPT", "rate": Decimal(0)}),
            ("account", "30", {"acctnumber": "1200", "acctname": "Accounts Receivable"}),
            ("account", "31", {"acctnumber": "1250", "acctname": "Unbilled Receivables"}),
            ("account", "32", {"acctnumber": "2400", "acctname": "Deferred Revenue"}),
            ("account", "33", {"acctnumber": "4000", "acctname": "Services Revenue"}),
            ("account", "34", {"acctnumber": "7990", "acctname": "FX Rounding"}),
            ("account", "35", {"acctnumber": "1000", "acctname": "Cash"}),
            ("account", "36", {"acctnumber": "7980", "acctname": "Foreign Exchange Gain or Loss"}),
            ("account", "37", {"acctnumber": "2450", "acctname": "Provision for Contract Losses"}),
            ("account", "38", {"acctnumber": "5900", "acctname": "Loss on Onerous Contracts"}),
        ]
        now = datetime.now(UTC)
        for rtype, rid, values in setup:
            self.records[rtype][rid] = StoredRecord(rtype, rid, dict(values), now, now)

    def reference_ids(self) -> dict[str, dict[str, str]]:
        """Setup ids by name: subsidiaries, currencies (by ISO code), terms, service and tax items."""
        def names(rtype: str, key: str) -> dict[str, str]:
            return {str(r.values[key]): r.id for r in self.records[rtype].values()}
        return {"subsidiary": names("subsidiary", "name"), "currency": names("currency", "symbol"),
                "term": names("term", "name"), "serviceitem": names("serviceitem", "itemid"),
                "salestaxitem": names("salestaxitem", "itemid"), "account": names("account", "acctnumber")}

    def seed(self, record_type: str, fields: Mapping[str, Any]) -> str:
        """Write a record as an administrator would; returns its internal id."""
        schema = SCHEMAS[record_type]
        values, problems = self.check(schema, fields, existing=None, strict=True, external_refs=True)
        if problems:
            raise ValueError("; ".join(f"{p.field}: {p.message}" for p in problems))
        return self.store(schema, values, None).id

    def get(self, record_type: str, internal_id: str) -> StoredRecord | None:
        return self.records[record_type].get(internal_id)

    def by_external_id(self, record_type: str, external_id: str) -> StoredRecord | None:
        rid = self.external[record_type].get(external_id)
        return None if rid is None else self.records[record_type][rid]

    def count(self, record_type: str) -> int:
        return len(self.records[record_type])

    def created(self, record_type: str) -> int:
        return self.writes[(record_type, "created")]

    def updated(self, record_type: str) -> int:
        return self.writes[(record_type, "updated")]

    def close_job(self, internal_id: str) -> None:
        self.records["job"][internal_id].values["entitystatus"] = CLOSED_JOB_STATUS

    def lock(self, record_type: str, internal_id: str) -> None:
        """Billed: NetSuite refuses edits of time that is on an invoice."""
        self.records[record_type][internal_id].locked = True

    def pay_invoice(self, internal_id: str) -> None:
        self.records["invoice"][internal_id].status = "B"

    def revoke_tokens(self) -> None:
        """Every issued access token stops working, as after an expiry or a revoked mapping."""
        self.tokens.clear()

    # --- validation -----------------------------------------------------------------------------
    def check(self, schema: RecordSchema, body: Mapping[str, Any], *, existing: StoredRecord | None,
              strict: bool, external_refs: bool) -> tuple[dict[str, Any], list[Problem]]:
        """Normalise a write body against the record's fields; returns values and problems."""
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        flagged: set[str] = set()  # fields already refused: no second "please enter" for them
        for key, raw in body.items():
            lower = key.lower()
            if lower in ("links", "id", "refname"):
                continue
            spec = schema.by_lower.get(lower)
            if spec is None:
                if strict:
                    problems.append(Problem("unknown_field", key,
                                            f"Unknown field name {key} for record type {schema.type}."))
                continue
            value, problem = self._value(spec, raw, external_refs, spec.name)
            if problem is not None:
                problems.append(problem)
                flagged.add(lower)
            else:
                values[lower] = value
        if existing is None:
            for spec in schema.fields:
                lower = spec.name.lower()
                if spec.required and lower not in flagged and values.get(lower) in (None, ""):
                    problems.append(Problem("missing", spec.name, f"Please enter value(s) for: {spec.ui_label}"))
        if not problems:
            problems.extend(self._rules(schema, values, existing))
        return values, problems

    def _value(self, spec: FieldSpec, raw: Any, external_refs: bool, path: str) -> tuple[Any, Problem | None]:
        if raw is None:
            return None, None
        kind = spec.kind
        if kind == "text":
            if not isinstance(raw, str):
                return None, Problem("bad_value", path, f"Invalid value for field {path}: expected text.")
            if spec.max_length is not None and len(raw.encode("utf-8")) > spec.max_length:
                # NetSuite refuses the write; it never stores a shortened value
                return None, Problem("too_long", path, f"The field {spec.name.lower()} contained more than the "
                                     f"maximum number ( {spec.max_length} ) of characters allowed.")
            return raw, None
        if kind == "number":
            if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
                return None, Problem("bad_value", path, f"Invalid value for field {path}: expected a number.")
            return Decimal(raw), None
        if kind == "bool":
            if not isinstance(raw, bool):
                return None, Problem("bad_value", path, f"Invalid value for field {path}: expected true or false.")
            return raw, None
        if kind == "date":
            try:
                return date.fromisoformat(raw), None
            except (TypeError, ValueError):
                return None, Problem("bad_value", path,
                                     f"Invalid value for field {path}: {raw!r} is not a date (YYYY-MM-DD).")
        if kind == "ref":
            return self._reference(spec, raw, external_refs, path)
        return self._lines(spec, raw, external_refs)

    def _reference(self, spec: FieldSpec, raw: Any, external_refs: bool, path: str
                   ) -> tuple[str | None, Problem | None]:
        rid: str | None = None
        if isinstance(raw, dict):
            if raw.get("id") is not None:
                rid = str(raw["id"])
            elif "externalId" in raw and external_refs:
                target = raw.get("type")
                if target not in spec.targets:
                    return None, Problem("bad_value", path, f"A reference by externalId in {path} needs "
                                         f"\"type\": one of {', '.join(spec.targets)}.")
                hit = self.external[str(target)].get(str(raw["externalId"]))
                if hit is None:
                    return None, Problem("no_such_external_ref", path,
                                         f"No {target} with external ID {raw['externalId']} for field {path}.")
                return hit, None
            else:
                return None, Problem("bad_value", path, f"Invalid reference for field {path}: "
                                     "give the referenced record as {\"id\": \"<internal id>\"}.")
        elif isinstance(raw, str | int) and not isinstance(raw, bool):
            rid = str(raw)
        else:
            return None, Problem("bad_value", path, f"Invalid reference for field {path}.")
        for target in spec.targets:
            if (target in LISTS and rid in LISTS[target]) or (target in self.records and rid in self.records[target]):
                return rid, None
        return None, Problem("no_such_ref", path,
                             f"You have entered an Invalid Field Value {rid} for the following field: {path}")

    def _lines(self, spec: FieldSpec, raw: Any, external_refs: bool) -> tuple[Any, Problem | None]:
        items = raw.get("items") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            return None, Problem("bad_value", spec.name, f"Invalid value for sublist {spec.name}: "
                                 "expected {\"items\": [...]}.")
        lines: list[dict[str, Any]] = []
        by_lower = {s.name.lower(): s for s in spec.lines}
        for index, line in enumerate(items):
            if not isinstance(line, dict):
                return None, Problem("bad_value", f"{spec.name}.items[{index}]", "Each line must be an object.")
            values: dict[str, Any] = {}
            for key, value in line.items():
                col = by_lower.get(key.lower())
                path = f"{spec.name}.items[{index}].{key}"
                if col is None:
                    return None, Problem("unknown_field", path, f"Unknown field name {key} on sublist {spec.name}.")
                converted, problem = self._value(col, value, external_refs, path)
                if problem is not None:
                    return None, problem
                values[col.name.lower()] = converted
            for col in spec.lines:
                if col.required and values.get(col.name.lower()) is None:
                    return None, Problem("missing", f"{spec.name}.items[{index}].{col.name}",
                                         f"Please enter value(s) for: {col.ui_label}")
            if spec.name == "item":  # item lines: quantity defaults to 1, amount to quantity x rate
                quantity = values.setdefault("quantity", Decimal(1))
                if values.get("amount") is None and values.get("rate") is not None:
                    values["amount"] = quantity * values["rate"]
            lines.append(values)
        return lines, None

    def _rules(self, schema: RecordSchema, values: dict[str, Any], existing: StoredRecord | None) -> list[Problem]:
        if existing is not None and existing.locked:
            return [Problem("rule", None, f"This {schema.type} has been billed and can no longer be changed.")]
        if schema.type == "journalentry":
            return self._journal_rules(values)
        if schema.type != "timebill":
            return []
        merged = dict(existing.values) if existing is not None else {}
        merged.update(values)
        problems: list[Problem] = []
        hours = merged.get("hours")
        if isinstance(hours, Decimal) and not Decimal(0) < hours <= Decimal(24):
            problems.append(Problem("bad_value", "hours", f"Invalid value for field hours: {hours} "
                                    "(a time entry takes more than 0 and at most 24 hours)."))
        project_id = merged.get("customer")
        job = self.records["job"].get(project_id) if isinstance(project_id, str) else None
        if job is not None and job.values.get("entitystatus") == CLOSED_JOB_STATUS:
            name = job.values.get("companyname", job.id)
            problems.append(Problem("rule", "customer", f"The project {name} is closed; "
                                    "time cannot be entered against it."))
        task_id = merged.get("casetaskevent")
        if isinstance(task_id, str) and task_id in self.records["projecttask"]:
            task = self.records["projecttask"][task_id]
            if task.values.get("project") != project_id:
                problems.append(Problem("rule", "caseTaskEvent", f"The task {task.values.get('title')} does not "
                                        "belong to the project given in customer."))
        employee = self.records["employee"].get(merged.get("employee") or "")
        if employee is not None and employee.values.get("isinactive") is True:
            problems.append(Problem("rule", "employee", "The employee is inactive."))
        return problems

    @staticmethod
    def _journal_rules(values: dict[str, Any]) -> list[Problem]:
        lines = values.get("line") or []
        debit = sum((line.get("debit") or Decimal(0) for line in lines), Decimal(0))
        credit = sum((line.get("credit") or Decimal(0) for line in lines), Decimal(0))
        if len(lines) < 2:
            return [Problem("rule", "line", "A journal entry needs at least two lines.")]
        if debit != credit:
            return [Problem("rule", "line", f"The total of debit lines ({debit}) must equal the total of "
                                            f"credit lines ({credit}).")]
        return []

    # --- writes ---------------------------------------------------------------------------------
    def store(self, schema: RecordSchema, values: dict[str, Any], existing: StoredRecord | None) -> StoredRecord:
        now = datetime.now(UTC)
        if existing is None:
            rid = str(self._next_id)
            self._next_id += 1
            record = StoredRecord(schema.type, rid, {}, now, now)
            if schema.type == "job":
                record.values["entitystatus"] = OPEN_JOB_STATUS
            if schema.transaction_type is not None:
                record.status = "A" if schema.type == "invoice" else "B"
                prefix = "INV" if schema.type == "invoice" else "SO"
                record.tran_id = f"{prefix}{rid}"
            self.records[schema.type][rid] = record
            self.writes[(schema.type, "created")] += 1
        else:
            record = existing
            record.modified = now
            self.writes[(schema.type, "updated")] += 1
        old_external = record.external_id
        record.values.update(values)
        new_external = record.external_id
        if old_external != new_external:
            if old_external is not None:
                self.external[schema.type].pop(old_external, None)
            if new_external is not None:
                self.external[schema.type][new_external] = record.id
        return record

    def delete(self, record: StoredRecord) -> None:
        del self.records[record.type][record.id]
        if record.external_id is not None:
            self.external[record.type].pop(record.external_id, None)
        self.writes[(record.type, "deleted")] += 1

    # --- reading back ---------------------------------------------------------------------------
    def ref_name(self, targets: Iterable[str], rid: str) -> tuple[str, str]:
        """(record type or list, display name) of a reference."""
        for target in targets:
            if target in LISTS and rid in LISTS[target]:
                return target, LISTS[target][rid]
            record = self.records.get(target, {}).get(rid)
            if record is not None:
                return target, self.display(record)
        return "", rid

    def display(self, record: StoredRecord) -> str:
        schema = SCHEMAS[record.type]
        if record.tran_id is not None:
            return record.tran_id
        if schema.label_field is not None:
            label = record.values.get(schema.label_field.lower())
            if label is not None:
                return str(label)
        return record.id

    def table(self, name: str) -> tuple[list[str], Callable[[], Iterable[dict[str, Any]]]]:
        """SuiteQL view of the records behind one table name."""
        schemas = [s for s in SCHEMAS.values() if s.table == name]
        if not schemas:
            raise suiteql.SuiteQLError(f"Record '{name}' was not found.")
        columns = ["id", "externalid", "datecreated", "lastmodifieddate"]
        for schema in schemas:
            columns += [f.name.lower() for f in schema.fields if f.kind != "sublist" and f.name.lower() not in columns]
        if name == "transaction":
            columns += ["type", "tranid", "status", "foreigntotal"]
        if name == "timebill":
            columns += ["billed"]

        def rows() -> Iterable[dict[str, Any]]:
            for schema in schemas:
                specs = {f.name.lower(): f for f in schema.fields}
                for record in self.records[schema.type].values():
                    row: dict[str, Any] = {"id": int(record.id), "datecreated": record.created,
                                           "lastmodifieddate": record.modified}
                    for key, value in record.values.items():
                        spec = specs.get(key)
                        if spec is not None and spec.kind == "ref" and isinstance(value, str):
                            row[key] = suiteql.Ref(value, self.ref_name(spec.targets, value)[1])
                        elif spec is None or spec.kind != "sublist":
                            row[key] = value
                    if schema.transaction_type is not None:
                        status_list = LISTS["invoicestatus" if schema.type == "invoice" else "salesorderstatus"]
                        row["type"] = schema.transaction_type
                        row["tranid"] = record.tran_id
                        row["status"] = suiteql.Ref(record.status or "", status_list.get(record.status or "", ""))
                        row["foreigntotal"] = sum((line.get("amount") or Decimal(0)
                                                   for line in record.values.get("item") or []), Decimal(0))
                    if schema.type == "timebill":
                        row["billed"] = record.locked
                    yield row
        return columns, rows


# --- the HTTP surface ----------------------------------------------------------------------------------


class NetSuiteSandbox(Sandbox):
    """The kit's sandbox with the account state and the key pair the demo configures q2c with."""

    def __init__(self, app: FastAPI, state: NetSuiteState, *, faults: Faults | None, concurrency_limit: int,
                 client_id: str, certificate_id: str, private_key_pem: str | None) -> None:
        self.state = state
        self.client_id = client_id
        self.certificate_id = certificate_id
        self.private_key_pem = private_key_pem
        super().__init__("netsuite", app, faults=faults, limits=VendorLimits(concurrency=concurrency_limit),
                         throttle=_throttle_answer, reset=state.reset)

    def account_references(self) -> dict[str, Any]:
        """This account's setup ids in the shape of the connector's `references` setting (entities US01, UK01)."""
        ids = self.state.reference_ids()
        items = ids["serviceitem"]
        return {"subsidiaries": {"US01": ids["subsidiary"]["US01 Consulting Inc."],
                                 "UK01": ids["subsidiary"]["UK01 Consulting Ltd"]},
                "currencies": ids["currency"], "terms": ids["term"],
                "billing_type_items": {"time_and_materials": items["Professional Services"],
                                       "fixed_fee": items["Fixed Fee Services"], "retainer": items["Retainer"],
                                       "milestone": items["Milestone Billing"]},
                "default_service_item": items["Professional Services"], "tax_items": ids["salestaxitem"]}

    def client_config(self, base_url: str, **overrides: Any) -> NetSuiteConfig:
        """A connector configuration pointing at this sandbox served at `base_url`."""
        if self.private_key_pem is None and "private_key_pem" not in overrides:
            raise ValueError("this sandbox was given a public key: pass private_key_pem= with its private half")
        settings: dict[str, Any] = {
            "account_id": self.state.account_id, "client_id": self.client_id,
            "certificate_id": self.certificate_id, "private_key_pem": self.private_key_pem,
            "rest_base_url": base_url, "restlet_url": base_url, "references": self.account_references(),
            "concurrency_limit": self.limits.concurrency or 5,
        }
        settings.update(overrides)
        return NetSuiteConfig(**settings)


def create_sandbox(faults: Faults | None = None, *, account_id: str = "1234567_SB1",
                   client_id: str = "q2c-sandbox-client", certificate_id: str = "q2c-cert-1",
                   public_key_pem: str | None = None, concurrency_limit: int = 5,
                   token_lifetime: int = 3600) -> NetSuiteSandbox:
    """A NetSuite account for one client id / certificate mapping.

    Without `public_key_pem` a key pair is made and its private half left on
    `sandbox.private_key_pem`, so a demo can configure q2c without files.
    """
    private_pem: str | None = None
    if public_key_pem is None:
        private_pem, public_key_pem = generate_m2m_keypair()
    state = NetSuiteState(account_id)
    app = FastAPI(title="NetSuite sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    canonical_host = account_id.lower().replace("_", "-")
    canonical_token_url = f"https://{canonical_host}.suitetalk.api.netsuite.com{TOKEN_PATH}"

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def bearer_ok(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        expiry = state.tokens.get(token.strip())
        return expiry is not None and expiry > time.time()

    def unauthorized() -> Response:
        return rest_error(401, [_detail(_INVALID_LOGIN, "INVALID_LOGIN")])

    # --- OAuth 2.0 client credentials ---------------------------------------------------------
    def token_refusal(status: int, error: str, description: str) -> Response:
        state.token_refusals[error] += 1
        return _json({"error": error, "error_description": description}, status)

    @app.post(TOKEN_PATH)
    async def token(request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return token_refusal(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
        form = dict(urllib.parse.parse_qsl((await request.body()).decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return token_refusal(400, "unsupported_grant_type", "grant_type must be client_credentials.")
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            return token_refusal(400, "invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}.")
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return token_refusal(400, "invalid_request", "client_assertion is not a JWT.")
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            return token_refusal(400, "invalid_request", f"alg must be one of {', '.join(ALLOWED_ALGORITHMS)}.")
        if header.get("kid") != certificate_id:
            return token_refusal(401, "invalid_client", "No certificate is mapped to this kid for the integration.")
        audiences = [canonical_token_url, f"{base(request)}{TOKEN_PATH}"]
        try:
            claims = jwt.decode(assertion, public_key_pem, algorithms=[str(header["alg"])], audience=audiences,
                                options={"require": ["iss", "aud", "iat", "exp", "scope"]})
        except jwt.ExpiredSignatureError:
            return token_refusal(400, "invalid_grant", "The client assertion has expired.")
        except jwt.InvalidAudienceError:
            return token_refusal(400, "invalid_grant", "aud must be the token endpoint URL.")
        except jwt.InvalidSignatureError:
            return token_refusal(401, "invalid_client", "The assertion signature does not match the certificate.")
        except jwt.PyJWTError as exc:
            return token_refusal(400, "invalid_grant", f"Invalid client assertion: {exc}.")
        if claims.get("iss") != client_id:
            return token_refusal(401, "invalid_client", "iss is not the client id of an integration record.")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float) or exp - iat > MAX_ASSERTION_LIFETIME:
            return token_refusal(400, "invalid_grant", "exp must be at most 60 minutes after iat.")
        raw_scope = claims.get("scope")
        scopes = set(raw_scope if isinstance(raw_scope, list) else str(raw_scope).split(","))
        scopes = {s.strip() for s in scopes if s.strip()}
        if not scopes or not scopes <= SCOPES:
            return token_refusal(400, "invalid_scope", f"scope must be a comma-separated subset of {sorted(SCOPES)}.")
        access = secrets.token_urlsafe(32)
        state.tokens[access] = time.time() + token_lifetime
        state.token_grants += 1
        # NetSuite sends expires_in as a string
        return _json({"access_token": access, "expires_in": str(token_lifetime), "token_type": "Bearer"})

    # --- record service -----------------------------------------------------------------------
    def schema_for(rtype: str) -> RecordSchema | Response:
        schema = SCHEMAS.get(rtype.lower())
        if schema is None:
            return rest_error(404, [_detail(f"Record type '{rtype}' does not exist.", "INVALID_RCRD_TYPE")])
        return schema

    def find(schema: RecordSchema, key: str) -> StoredRecord | None:
        if key.startswith("eid:"):
            return state.by_external_id(schema.type, urllib.parse.unquote(key[4:]))
        return state.get(schema.type, key)

    def not_found(schema: RecordSchema, key: str) -> Response:
        return rest_error(404, [_detail(f"The record instance does not exist. Provide a valid record instance ID "
                                        f"({schema.type} {key}).", "NONEXISTENT_ID")])

    async def body_of(request: Request) -> dict[str, Any] | Response:
        raw = await request.body()
        try:
            body = wire.loads(raw) if raw else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return rest_error(400, [_detail("The request could not be understood by the server due to malformed "
                                            "syntax.", "INVALID_CONTENT")])
        return body

    def problems_response(problems: list[Problem]) -> Response:
        return rest_error(400, [_detail(p.message, _REST_CODES[p.kind], p.field) for p in problems])

    def strict(request: Request) -> bool:
        return request.headers.get("x-netsuite-propertynamevalidation", "").lower() == "error"

    def location(request: Request, record: StoredRecord) -> dict[str, str]:
        return {"Location": f"{base(request)}{RECORD_PATH}/{record.type}/{record.id}"}

    def render(request: Request, record: StoredRecord, expand: bool) -> dict[str, Any]:
        schema = SCHEMAS[record.type]
        root = f"{base(request)}{RECORD_PATH}"
        self_href = f"{root}/{record.type}/{record.id}"
        out: dict[str, Any] = {"links": [{"rel": "self", "href": self_href}], "id": record.id}
        for spec in schema.fields:
            value = record.values.get(spec.name.lower())
            if value is None:
                continue
            if spec.kind == "sublist":
                sub: dict[str, Any] = {"links": [{"rel": "self", "href": f"{self_href}/{spec.name}"}]}
                if expand:
                    sub["items"] = [render_line(spec, line, index, root) for index, line in enumerate(value)]
                    sub["count"] = len(value)
                out[spec.name] = sub
            else:
                out[spec.name] = render_value(spec, value, root)
        out["createdDate"] = record.created.strftime("%Y-%m-%dT%H:%M:%SZ")
        out["lastModifiedDate"] = record.modified.strftime("%Y-%m-%dT%H:%M:%SZ")
        if record.tran_id is not None:
            out["tranId"] = record.tran_id
        if record.status is not None:
            status_list = LISTS["invoicestatus" if record.type == "invoice" else "salesorderstatus"]
            out["status"] = {"id": record.status, "refName": status_list.get(record.status, record.status)}
            out["total"] = sum((line.get("amount") or Decimal(0) for line in record.values.get("item") or []),
                               Decimal(0))
        return out

    def render_line(spec: FieldSpec, line: dict[str, Any], index: int, root: str) -> dict[str, Any]:
        item: dict[str, Any] = {"line": index + 1}
        for col in spec.lines:
            value = line.get(col.name.lower())
            if value is not None:
                item[col.name] = render_value(col, value, root)
        return item

    def render_value(spec: FieldSpec, value: Any, root: str) -> Any:
        if spec.kind == "ref":
            target, name = state.ref_name(spec.targets, value)
            ref: dict[str, Any] = {"id": value, "refName": name}
            if target and target not in LISTS:
                ref["links"] = [{"rel": "self", "href": f"{root}/{target}/{value}"}]
            return ref
        if spec.kind == "date":
            return value.isoformat()
        return value

    @app.get(RECORD_PATH + "/{rtype}")
    async def list_records(request: Request, rtype: str) -> Response:
        if not bearer_ok(request):
            return unauthorized()
        schema = schema_for(rtype)
        if isinstance(schema, Response):
            return schema
        limit, offset = _paging(request, default_limit=1000)
        if isinstance(limit, Response):
            return limit
        ids = list(state.records[schema.type])
        page = ids[offset:offset + limit]
        root = f"{base(request)}{RECORD_PATH}/{schema.type}"
        return _json({"links": _page_links(root, limit, offset, len(ids)), "count": len(page),
                      "hasMore": offset + limit < len(ids), "offset": offset, "totalResults": len(ids),
                      "items": [{"links": [{"rel": "self", "href": f"{root}/{i}"}], "id": i} for i in page]})

    @app.post(RECORD_PATH + "/{rtype}")
    async def create(request: Request, rtype: str) -> Response:
        if not bearer_ok(request):
            return unauthorized()
        schema = schema_for(rtype)
        if isinstance(schema, Response):
            return schema
        if schema.type not in WRITABLE:
            return rest_error(405, [_detail(f"Records of type {schema.type} are read-only here.", "INVALID_REQUEST")])
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        values, problems = state.check(schema, body, existing=None, strict=strict(request), external_refs=False)
        if problems:
            return problems_response(problems)
        external = values.get("externalid")
        if isinstance(external, str) and external in state.external[schema.type]:
            return rest_error(400, [_detail(f"A {schema.type} record with external ID {external} already exists.",
                                            "USER_ERROR", "externalId")])
        record = state.store(schema, values, None)
        return Response(status_code=204, headers=location(request, record))

    @app.get(RECORD_PATH + "/{rtype}/{key}")
    async def read(request: Request, rtype: str, key: str) -> Response:
        if not bearer_ok(request):
            return unauthorized()
        schema = schema_for(rtype)
        if isinstance(schema, Response):
            return schema
        record = find(schema, key)
        if record is None:
            return not_found(schema, key)
        expand = request.query_params.get("expandSubResources", "").lower() == "true"
        return _json(render(request, record, expand))

    @app.patch(RECORD_PATH + "/{rtype}/{key}")
    async def update(request: Request, rtype: str, key: str) -> Response:
        if not bearer_ok(request):
            return unauthorized()
        schema = schema_for(rtype)
        if isinstance(schema, Response):
            return schema
        record = find(schema, key)
        if record is None:
            return not_found(schema, key)
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        values, problems = state.check(schema, body, existing=record, strict=strict(request), external_refs=False)
        if problems:
            return problems_response(problems)
        external = values.get("externalid")
        if isinstance(external, str) and state.external[schema.type].get(external, record.id) != record.id:
            return rest_error(400, [_detail(f"A {schema.type} record with external ID {external} already exists.",
                                            "USER_ERROR", "externalId")])
        state.store(schema, values, record)
        return Response(status_code=204, headers=location(request, record))

    @app.put(RECORD_PATH + "/{rtype}/{key}")
    async def upsert(request: Request, rtype: str, key: str) -> Response:
        if not bearer_ok(request):
            return unauthorized()
        schema = schema_for(rtype)
        if isinstance(schema, Response):
            return schema
        if not key.startswith("eid:"):
            return rest_error(405, [_detail("PUT is an upsert and needs an external ID: .../eid:{externalId}.",
                                            "INVALID_REQUEST")])
        if schema.type not in WRITABLE:
            return rest_error(405, [_detail(f"Records of type {schema.type} are read-only here.", "INVALID_REQUEST")])
        external = urllib.parse.unquote(key[4:])
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        given = next((v for k, v in body.items() if k.lower() == "externalid"), external)
        if given != external:
            return rest_error(400, [_detail(f"externalId {given} in the body differs from {external} in the URL.",
                                            "INVALID_VALUE", "externalId")])
        existing = state.by_external_id(schema.type, external)
        values, problems = state.check(schema, body, existing=existing, strict=strict(request), external_refs=False)
        if problems:
            return problems_response(problems)
        values["externalid"] = external
        record = state.store(schema, values, existing)
        return Response(status_code=204, headers=location(request, record))

    @app.delete(RECORD_PATH + "/{rtype}/{key}")
    async def delete(request: Request, rtype: str, key: str) -> Response:
        if not bearer_ok(request):
            return unauthorized()
        schema = schema_for(rtype)
        if isinstance(schema, Response):
            return schema
        record = find(schema, key)
        if record is None:
            return not_found(schema, key)
        if record.locked:
            return rest_error(400, [_detail(f"This {schema.type} has been billed and cannot be deleted.",
                                            "USER_ERROR")])
        state.delete(record)
        return Response(status_code=204)

    # --- SuiteQL --------------------------------------------------------------------------------
    @app.post(SUITEQL_PATH)
    async def query(request: Request) -> Response:
        if not bearer_ok(request):
            return unauthorized()
        if "transient" not in request.headers.get("prefer", "").lower():
            return rest_error(400, [_detail("SuiteQL requests need the header Prefer: transient.", "INVALID_HEADER",
                                            errorHeader="Prefer")])
        limit, offset = _paging(request, default_limit=SUITEQL_MAX_LIMIT)
        if isinstance(limit, Response):
            return limit
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        text = body.get("q")
        if not isinstance(text, str) or not text.strip():
            return rest_error(400, [_detail("The request body needs a query in q.", "INVALID_CONTENT", "q")])
        try:
            parsed = suiteql.parse(text)
            columns, rows = state.table(parsed.table)
            items = suiteql.run(parsed, columns=columns, rows=rows)
        except suiteql.SuiteQLError as exc:
            return rest_error(400, [_detail("Invalid search query. Detailed unprocessed description follows. "
                                            f"Search error occurred: {exc}", "INVALID_PARAMETER")])
        page = items[offset:offset + limit]
        return _json({"links": _page_links(f"{base(request)}{SUITEQL_PATH}", limit, offset, len(items)),
                      "count": len(page), "hasMore": offset + limit < len(items), "offset": offset,
                      "totalResults": len(items), "items": [{"links": [], **item} for item in page]})

    # --- q2c's bulk upsert RESTlet ----------------------------------------------------------------
    @app.post(RESTLET_PATH)
    async def restlet(request: Request) -> Response:
        params = request.query_params
        if params.get("script") != RESTLET_SCRIPT or params.get("deploy") != RESTLET_DEPLOY:
            return restlet_error("SSS_INVALID_SCRIPTLET_ID", "That Suitelet is invalid, disabled, or no longer exists.")
        if not bearer_ok(request):
            return restlet_error("INVALID_LOGIN_ATTEMPT", "Invalid login attempt.", 401)
        state.restlet_calls += 1
        try:
            body = wire.loads(await request.body())
        except ValueError:
            return restlet_error("SYNTAX_ERROR", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return restlet_error("Q2C_BAD_REQUEST", "The request body must be an object.")
        rtype = str(body.get("recordType", "")).lower()
        records = body.get("records")
        if rtype not in WRITABLE:
            return restlet_error("Q2C_BAD_REQUEST", f"recordType must be one of {', '.join(sorted(WRITABLE))}.")
        if not isinstance(records, list):
            return restlet_error("Q2C_BAD_REQUEST", "records must be a list.")
        if len(records) > RESTLET_MAX_RECORDS:
            return restlet_error("Q2C_BATCH_TOO_LARGE", f"At most {RESTLET_MAX_RECORDS} records per call; "
                                 f"got {len(records)}.")
        schema = SCHEMAS[rtype]
        return _json({"results": [_bulk_one(state, schema, record) for record in records]})

    sandbox = NetSuiteSandbox(app, state, faults=faults, concurrency_limit=concurrency_limit, client_id=client_id,
                              certificate_id=certificate_id, private_key_pem=private_pem)

    # Registered after the kit's own middleware, so it wraps it: the kit's injected latency is
    # spent inside this count, as time on NetSuite's side is.
    @app.middleware("http")
    async def account_concurrency(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path.startswith("/__sandbox/"):
            return await call_next(request)
        surface = "restlet" if request.url.path == RESTLET_PATH else "rest"
        marker = _surface.set(surface)
        try:
            limit = sandbox.limits.concurrency
            if limit is not None and state.in_flight >= limit:
                state.over_limit[surface] += 1
                return _throttle_answer(0.0)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                return await call_next(request)
            finally:
                state.in_flight -= 1
        finally:
            _surface.reset(marker)

    return sandbox


def _bulk_one(state: NetSuiteState, schema: RecordSchema, record: Any) -> dict[str, Any]:
    """One record of a RESTlet call, with the per-record result the script returns."""
    if not isinstance(record, dict):
        return {"externalId": None, "internalId": None, "status": "error",
                "error": {"code": "Q2C_BAD_RECORD", "message": "Each record must be an object.", "field": None}}
    external = next((v for k, v in record.items() if k.lower() == "externalid"), None)
    if not isinstance(external, str) or not external:
        return {"externalId": external, "internalId": None, "status": "error",
                "error": {"code": "Q2C_MISSING_EXTERNAL_ID", "message": "Each record needs an externalId.",
                          "field": "externalid"}}
    existing = state.by_external_id(schema.type, external)
    fields = {k: v for k, v in record.items() if k.lower() != "externalid"}
    values, problems = state.check(schema, fields, existing=existing, strict=True, external_refs=True)
    if problems:
        first = problems[0]
        return {"externalId": external, "internalId": existing.id if existing else None, "status": "error",
                # a refusal on save (a mandatory field left empty) names no field the script was setting
                "error": {"code": _RESTLET_CODES[first.kind], "message": first.message,
                          "field": first.field.lower() if first.field and first.kind != "missing" else None}}
    values["externalid"] = external
    stored = state.store(schema, values, existing)
    return {"externalId": external, "internalId": stored.id, "status": "updated" if existing else "created"}


def _paging(request: Request, *, default_limit: int) -> tuple[int, int] | tuple[Response, int]:
    try:
        limit = int(request.query_params.get("limit", default_limit))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        return rest_error(400, [_detail("limit and offset must be integers.", "INVALID_PARAMETER")]), 0
    if not 1 <= limit <= SUITEQL_MAX_LIMIT:
        return rest_error(400, [_detail(f"The limit must be between 1 and {SUITEQL_MAX_LIMIT}.", "INVALID_PARAMETER",
                                        errorQueryParam="limit")]), 0
    if offset < 0:
        return rest_error(400, [_detail("The offset must not be negative.", "INVALID_PARAMETER",
                                        errorQueryParam="offset")]), 0
    return limit, offset


def _page_links(root: str, limit: int, offset: int, total: int) -> list[dict[str, str]]:
    links = []
    if offset > 0:
        links.append({"rel": "previous", "href": f"{root}?limit={limit}&offset={max(offset - limit, 0)}"})
    links.append({"rel": "first", "href": f"{root}?limit={limit}&offset=0"})
    if offset + limit < total:
        links.append({"rel": "next", "href": f"{root}?limit={limit}&offset={offset + limit}"})
    last = max(((total - 1) // limit) * limit, 0)
    links.append({"rel": "last", "href": f"{root}?limit={limit}&offset={last}"})
    links.append({"rel": "self", "href": f"{root}?limit={limit}&offset={offset}"})
    return links
