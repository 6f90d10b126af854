"""Records as the REST record service reads them back.

Field names in their REST spelling (camelCase); references as `{"id", "refName", "links"}` (a
list entry such as a project status has no record to link to); numbers as JSON numbers; dates as
`YYYY-MM-DD`; `createdDate` and `lastModifiedDate` as UTC timestamps. A sublist is a link of its
own unless the caller asked for `expandSubResources=true`, when it carries `items` and `count`.
Transactions add `tranId`, `status` and `total`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from q2c.sandboxes.netsuite.records import LISTS, SCHEMAS, FieldSpec, StoredRecord
from q2c.sandboxes.netsuite.state import NetSuiteState

_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


def record_body(state: NetSuiteState, record: StoredRecord, root: str, *, expand: bool) -> dict[str, Any]:
    """The record's JSON; `root` is the record service's URL (…/services/rest/record/v1)."""
    href = f"{root}/{record.type}/{record.id}"
    out: dict[str, Any] = {"links": [_link("self", href)], "id": record.id}
    for spec in SCHEMAS[record.type].fields:
        value = record.values.get(spec.name.lower())
        if value is None:
            continue
        if spec.kind == "sublist":
            out[spec.name] = _sublist(state, spec, value, f"{href}/{spec.name}", root, expand)
        else:
            out[spec.name] = _value(state, spec, value, root)
    out["createdDate"] = record.created.strftime(_TIMESTAMP)
    out["lastModifiedDate"] = record.modified.strftime(_TIMESTAMP)
    if record.tran_id is not None:
        out["tranId"] = record.tran_id
    if record.status is not None:
        out["status"] = {"id": record.status, "refName": state.status_name(record)}
        out["total"] = transaction_total(record)
    return out


def transaction_total(record: StoredRecord) -> Decimal:
    """The sum of the item lines' amounts (journal entries have none: 0)."""
    return sum((line.get("amount") or Decimal(0) for line in record.values.get("item") or []), Decimal(0))


def _sublist(state: NetSuiteState, spec: FieldSpec, lines: list[dict[str, Any]], href: str, root: str,
             expand: bool) -> dict[str, Any]:
    sub: dict[str, Any] = {"links": [_link("self", href)]}
    if expand:
        sub["items"] = [_line(state, spec, line, number, root) for number, line in enumerate(lines, start=1)]
        sub["count"] = len(lines)
    return sub


def _line(state: NetSuiteState, spec: FieldSpec, line: dict[str, Any], number: int, root: str) -> dict[str, Any]:
    item: dict[str, Any] = {"line": number}
    for column in spec.lines:
        value = line.get(column.name.lower())
        if value is not None:
            item[column.name] = _value(state, column, value, root)
    return item


def _value(state: NetSuiteState, spec: FieldSpec, value: Any, root: str) -> Any:
    if spec.kind == "ref":
        target, name = state.ref_name(spec.targets, value)
        ref: dict[str, Any] = {"id": value, "refName": name}
        if target and target not in LISTS:
            ref["links"] = [_link("self", f"{root}/{target}/{value}")]
        return ref
    if spec.kind == "date":
        return value.isoformat()
    return value


def _link(rel: str, href: str) -> dict[str, str]:
    return {"rel": rel, "href": href}
