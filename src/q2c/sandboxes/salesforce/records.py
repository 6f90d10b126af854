"""sObject records and their DML: create, read, update, delete, and upsert by external id.

What a save enforces, as Salesforce does: known fields only (INVALID_FIELD), read-only fields
refused (INVALID_FIELD_FOR_INSERT_UPDATE), values of the field's type, lookups to existing records
of the right object (MALFORMED_ID, INVALID_CROSS_REFERENCE_KEY) or set through the target's
external id (`"Account": {"ERP_Customer_Number__c": "C-1"}`), required fields, the object rules in
`rules.py`, and the system fields (CreatedDate, LastModifiedDate/ById, a strictly increasing
SystemModstamp). Opportunity writes are published as change events.

Upsert (REST "Insert or Update (Upsert) a Record Using an External ID"): no match creates, one
match updates, several matches are a 300 with the matching records' URLs; `Id` may stand in as
the external field and then never creates.

Which fields an object has is the org's `Catalog` (single currency, deleted fields, field-level
security). An object that is not createable, updateable or deletable (Organization) refuses the
write with INVALID_TYPE_FOR_OPERATION.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from q2c.sandboxes.salesforce import rules
from q2c.sandboxes.salesforce.catalog import Catalog
from q2c.sandboxes.salesforce.changes import Actor, ChangeLog
from q2c.sandboxes.salesforce.errors import ApiFault, fault, not_found
from q2c.sandboxes.salesforce.ids import IdMint, normalize_id
from q2c.sandboxes.salesforce.schema import OBJECTS, FieldSpec, SObjectSpec
from q2c.sandboxes.salesforce.values import coerce, to_wire


def field_of(spec: SObjectSpec, name: str) -> FieldSpec:
    found = spec.field(name)
    if found is None:
        raise fault(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {spec.name}", [name])
    return found


def attributes(spec: SObjectSpec, record_id: str, version: str) -> dict[str, str]:
    return {"type": spec.name, "url": f"/services/data/v{version}/sobjects/{spec.name}/{record_id}"}


class ModStamps:
    """Millisecond timestamps, strictly increasing so SystemModstamp orders every write."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._last = datetime(2000, 1, 1, tzinfo=UTC)

    def next(self) -> datetime:
        now = self._clock().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last:
            now = self._last + timedelta(milliseconds=1)
        self._last = now
        return now


class RecordStore:
    """The org's records, keyed by object and 18-character id. Not locked: the org locks."""

    def __init__(self, ids: IdMint, stamps: ModStamps, changes: ChangeLog, catalog: Catalog) -> None:
        self.tables: rules.Tables = {name: {} for name in OBJECTS}
        self.catalog = catalog
        self._ids = ids
        self._stamps = stamps
        self._changes = changes

    # --- reads ----------------------------------------------------------------------------
    def find(self, spec: SObjectSpec, record_id: str) -> dict[str, Any]:
        rid = normalize_id(record_id)
        if rid is None or rid[:3] != spec.key_prefix:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {record_id}")
        rec = self.tables[spec.name].get(rid)
        if rec is None:
            raise not_found()
        return rec

    def read(self, spec: SObjectSpec, record_id: str, fields: list[str] | None, version: str) -> dict[str, Any]:
        rec = self.find(spec, record_id)
        names = list(spec.fields) if not fields else [field_of(spec, f).name for f in fields]
        out: dict[str, Any] = {"attributes": attributes(spec, rec["Id"], version)}
        for name in names:
            out[name] = to_wire(rec.get(name))
        return out

    def read_by_external_id(self, spec: SObjectSpec, field_name: str, value: str, fields: list[str] | None,
                            version: str) -> dict[str, Any]:
        matches = self.match_external(spec, self.external_field(spec, field_name), value)
        if not matches:
            raise not_found()
        if len(matches) > 1:
            raise ApiFault(300, [attributes(spec, rid, version)["url"] for rid in matches])
        return self.read(spec, matches[0], fields, version)

    def external_field(self, spec: SObjectSpec, field_name: str) -> FieldSpec:
        ext = spec.field(field_name)
        if ext is None or not (ext.external_id or ext.name == "Id"):
            raise not_found(f"Provided external ID field does not exist or is not accessible: {field_name}")
        return ext

    def match_external(self, spec: SObjectSpec, ext: FieldSpec, value: str) -> list[str]:
        """Ids of the records whose external id is `value` (compared without case, as Salesforce does)."""
        if ext.name == "Id":
            rid = normalize_id(value)
            return [rid] if rid and rid in self.tables[spec.name] else []
        folded = value.casefold()
        return [rid for rid, rec in self.tables[spec.name].items()
                if isinstance(rec.get(ext.name), str) and rec[ext.name].casefold() == folded]

    # --- writes ---------------------------------------------------------------------------
    def upsert(self, spec: SObjectSpec, field_name: str, value: str, body: Mapping[str, Any], actor: Actor,
               version: str) -> tuple[str, bool]:
        """(id, created); several matches raise ApiFault 300 with their URLs."""
        if not isinstance(body, Mapping):
            raise _not_an_object()
        ext = self.external_field(spec, field_name)
        matches = self.match_external(spec, ext, value)
        if len(matches) > 1:
            raise ApiFault(300, [attributes(spec, rid, version)["url"] for rid in matches])
        if matches:
            rec = self.tables[spec.name][matches[0]]
            self.update(spec, rec, body, actor)
            return rec["Id"], False
        if ext.name == "Id":
            raise not_found()
        return self.create(spec, {**body, ext.name: value}, actor), True

    def create(self, spec: SObjectSpec, body: Mapping[str, Any], actor: Actor) -> str:
        _allowed(spec, spec.createable, "inserted")
        values = self._values(spec, body, creating=True)
        now = self._stamps.next()
        rec: dict[str, Any] = {name: None for name in spec.fields}
        for fspec in spec.fields.values():
            if fspec.type == "boolean":
                rec[fspec.name] = False
            if fspec.default is not None:
                rec[fspec.name] = fspec.default
        rec.update(values)
        rules.apply(self.tables, spec, rec, values, creating=True)
        _check_required(spec, rec)
        rid = self._ids.new(spec.key_prefix)
        rec.update({"Id": rid, "IsDeleted": False, "CreatedDate": now, "CreatedById": actor.user_id,
                    "LastModifiedDate": now, "LastModifiedById": actor.user_id, "SystemModstamp": now})
        self.tables[spec.name][rid] = rec
        if spec.name == "Opportunity":
            fields = {k: v for k, v in rec.items() if v is not None and k not in {"Id", "IsDeleted", "SystemModstamp"}}
            self._changes.publish("CREATE", rid, fields, [], [], actor, now)
        self._roll_up(spec, rec, actor)
        return rid

    def update(self, spec: SObjectSpec, rec: dict[str, Any], body: Mapping[str, Any], actor: Actor) -> None:
        _allowed(spec, spec.updateable, "updated")
        values = self._values(spec, body, creating=False, record_id=rec["Id"])
        candidate = {**rec, **values}
        rules.apply(self.tables, spec, candidate, values, creating=False)
        _check_required(spec, candidate)
        now = self._stamps.next()
        changed = [name for name in spec.fields if candidate.get(name) != rec.get(name)]
        candidate.update({"LastModifiedDate": now, "LastModifiedById": actor.user_id, "SystemModstamp": now})
        if rec["LastModifiedById"] != actor.user_id:
            changed.append("LastModifiedById")
        changed.append("LastModifiedDate")
        rec.clear()
        rec.update(candidate)
        if spec.name == "Opportunity":
            if "CurrencyIsoCode" in changed:  # master-detail children follow
                self._milestones_follow_currency(rec, now)
            self._changes.publish("UPDATE", rec["Id"], {name: rec[name] for name in changed}, changed,
                                  [name for name in changed if rec[name] is None], actor, now)
        self._roll_up(spec, rec, actor)

    def delete(self, spec: SObjectSpec, rec: dict[str, Any], actor: Actor) -> None:
        """Delete with Salesforce's cascades: child accounts lose their parent, an account's
        opportunities go with it, and an opportunity's products and milestones go with it."""
        _allowed(spec, spec.deletable, "deleted")
        rid = rec["Id"]
        if spec.name == "Account":
            for child in list(self.tables["Account"].values()):
                if child["ParentId"] == rid:
                    child["ParentId"] = None
                    child["SystemModstamp"] = self._stamps.next()
            for opp in [o for o in self.tables["Opportunity"].values() if o["AccountId"] == rid]:
                self.delete(self.catalog.spec_of("Opportunity"), opp, actor)
        if spec.name == "Opportunity":
            for child_name, lookup in rules.CHILD_LOOKUPS.items():
                for child_id in [c["Id"] for c in self.tables[child_name].values() if c[lookup] == rid]:
                    del self.tables[child_name][child_id]
        del self.tables[spec.name][rid]
        if spec.name == "Opportunity":
            self._changes.publish("DELETE", rid, {}, [], [], actor, self._stamps.next())
        self._roll_up(spec, rec, actor)

    def _milestones_follow_currency(self, opportunity: Mapping[str, Any], now: datetime) -> None:
        for milestone in self.tables["Opportunity_Milestone__c"].values():
            if milestone["Opportunity__c"] == opportunity["Id"]:
                milestone.update({"CurrencyIsoCode": opportunity["CurrencyIsoCode"], "SystemModstamp": now})

    def _roll_up(self, spec: SObjectSpec, rec: Mapping[str, Any], actor: Actor) -> None:
        """After a product's write, its opportunity's Amount is the sum of the products' total prices."""
        if spec.name != "OpportunityLineItem":
            return
        opp = self.tables["Opportunity"].get(rec["OpportunityId"])
        if opp is None:
            return
        total = rules.products_total(self.tables, opp["Id"])
        if opp["Amount"] == total:
            return
        now = self._stamps.next()
        opp.update({"Amount": total, "LastModifiedDate": now, "LastModifiedById": actor.user_id,
                    "SystemModstamp": now})
        self._changes.publish("UPDATE", opp["Id"], {"Amount": total, "LastModifiedDate": now},
                              ["Amount", "LastModifiedDate"], [], actor, now)

    # --- request bodies -------------------------------------------------------------------
    def _values(self, spec: SObjectSpec, body: Mapping[str, Any], *, creating: bool,
                record_id: str | None = None) -> dict[str, Any]:
        """The stored values a request body sets; ApiFault for anything Salesforce would refuse."""
        if not isinstance(body, Mapping):
            raise _not_an_object()
        values: dict[str, Any] = {}
        read_only: list[str] = []
        for key, raw in body.items():
            if key == "attributes":
                continue
            rel = spec.relationship(key) if isinstance(raw, Mapping) else None
            if rel is not None:
                values[rel.name] = self._by_foreign_external_id(rel, raw)
                continue
            fspec = field_of(spec, key)
            if fspec.name == "Id" and not creating and isinstance(raw, str) and normalize_id(raw) == record_id:
                continue
            if not (fspec.createable if creating else fspec.updateable):
                read_only.append(fspec.name)
                continue
            values[fspec.name] = self._value(fspec, raw)
        if read_only:
            raise fault(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                        f"Unable to create/update fields: {', '.join(read_only)}. Please check the security "
                        "settings of this field and verify that it is read/write for your profile or "
                        "permission set.", read_only)
        return values

    def _value(self, fspec: FieldSpec, raw: Any) -> Any:
        value = coerce(fspec, raw)
        target = OBJECTS.get(fspec.reference_to or "")
        if value is not None and target is not None and value not in self.tables[target.name]:
            raise fault(400, "INVALID_CROSS_REFERENCE_KEY", f"{fspec.label}: invalid cross reference id",
                        [fspec.name])
        return value

    def _by_foreign_external_id(self, rel: FieldSpec, raw: Mapping[str, Any]) -> str:
        assert rel.reference_to is not None
        target = self.catalog.spec_of(rel.reference_to)
        keys = [k for k in raw if k != "attributes"]
        if len(keys) != 1:
            raise fault(400, "INVALID_FIELD", f"Foreign key reference {rel.relationship_name} must name "
                                              "exactly one external ID field", [rel.name])
        ext = target.field(keys[0])
        value = raw[keys[0]]
        if ext is None or not ext.external_id or not isinstance(value, str):
            raise fault(400, "INVALID_FIELD", f"Field {keys[0]} is not an external ID field on "
                                              f"{target.name}", [rel.name])
        matches = self.match_external(target, ext, value)
        if len(matches) != 1:
            found = "not found" if not matches else "matched more than one record"
            raise fault(400, "INVALID_FIELD", f"Foreign key external ID: {value} {found} for field "
                                              f"{ext.name} in entity {target.name}", [rel.name])
        return matches[0]


def _allowed(spec: SObjectSpec, flag: bool, verb: str) -> None:
    if not flag:
        raise fault(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {spec.name}")


def _not_an_object() -> ApiFault:
    return fault(400, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values")


def _check_required(spec: SObjectSpec, rec: Mapping[str, Any]) -> None:
    missing = [f.name for f in spec.fields.values() if f.required and rec.get(f.name) in (None, "")]
    if missing:
        raise fault(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                    missing)
