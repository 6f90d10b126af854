"""SOQL run against the org's records: field checks, filters, ordering, projection and query cursors.

What Salesforce documents and the sandbox enforces ("fieldExpression Syntax", "Comparison
Operators", "Date Formats", "ORDER BY", REST "Execute a SOQL Query"):
- every field and relationship must exist for the integration user (INVALID_FIELD), the object too
  (INVALID_TYPE). The message points at the row and column, as observed from real orgs: `\nSELECT
  Id, CurrencyIsoCode FROM Opportunity\n           ^\nERROR at Row:1:Column:12\nNo such column
  'CurrencyIsoCode' on entity 'Opportunity'. If you are attempting to use a custom field, ...`
  (forcedotcom/soql-tooling#86, apache/camel-quarkus#3022); a field hidden by field-level security
  answers the same (beyond-the-cloud-dev/soql-lib#255);
- a filter value must have the field's type: quoted text and ids, unquoted numbers, booleans,
  dates for date fields and datetimes for datetime fields (INVALID_FIELD), and an id must be
  well formed (INVALID_QUERY_FILTER_OPERATOR);
- LIKE only on text fields; text compares and sorts without case; 15- and 18-character ids are equal;
- results are {totalSize, done, records[, nextRecordsUrl]}, each record with attributes {type, url}
  and lookups as nested records (null when the lookup is empty). A result longer than the batch
  (2,000, or Sforce-Query-Options batchSize between 200 and 2,000) leaves a cursor behind:
  nextRecordsUrl `/services/data/vNN.N/query/<locator>-<offset>`; idle cursors expire.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from q2c.sandboxes.salesforce.catalog import Catalog
from q2c.sandboxes.salesforce.errors import ApiFault, fault
from q2c.sandboxes.salesforce.ids import IdMint, normalize_id
from q2c.sandboxes.salesforce.records import attributes
from q2c.sandboxes.salesforce.rules import Tables
from q2c.sandboxes.salesforce.schema import FieldSpec, SObjectSpec
from q2c.sandboxes.salesforce.soql import Comparison, LikePattern, Ordering, Query, SoqlError, parse
from q2c.sandboxes.salesforce.values import ID_TYPES, TEXT_TYPES, to_wire

DEFAULT_BATCH = 2000
MIN_BATCH = 200
CURSOR_IDLE_SECONDS = 15 * 60
MAX_OPEN_CURSORS = 50

Chain = list[tuple[SObjectSpec, FieldSpec]]  # lookups first, the field itself last
_LITERAL_TYPES: dict[str, tuple[type, str]] = {
    "string": (str, "string"), "textarea": (str, "string"), "picklist": (str, "string"), "id": (str, "string"),
    "reference": (str, "string"), "boolean": (bool, "boolean"), "currency": (Decimal, "number"),
    "double": (Decimal, "number"), "date": (date, "date"), "datetime": (datetime, "dateTime")}


def resolve(catalog: Catalog, spec: SObjectSpec, path: str) -> Chain:
    """A dotted field path as (object, field) steps, or INVALID_FIELD naming the part Salesforce would."""
    steps: Chain = []
    current = spec
    parts = path.split(".")
    for part in parts[:-1]:
        rel = current.relationship(part)
        if rel is None or rel.reference_to is None:
            raise fault(400, "INVALID_FIELD", f"Didn't understand relationship '{part}' in field path. If you are "
                        "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                        "relationship name. Please reference your WSDL or the describe call for the appropriate "
                        "names.")
        steps.append((current, rel))
        current = catalog.spec_of(rel.reference_to)
    last = current.field(parts[-1])
    if last is None:
        raise fault(400, "INVALID_FIELD", f"No such column '{parts[-1]}' on entity '{current.name}'. If you are "
                    "attempting to use a custom field, be sure to append the '__c' after the custom field name. "
                    "Please reference your WSDL or the describe call for the appropriate names.")
    steps.append((current, last))
    return steps


def _follow(tables: Tables, rec: Mapping[str, Any] | None, chain: Chain) -> Any:
    for _, fspec in chain[:-1]:
        if rec is None:
            return None
        assert fspec.reference_to is not None
        rec = tables[fspec.reference_to].get(rec.get(fspec.name) or "")
    return None if rec is None else rec.get(chain[-1][1].name)


def _comparable(fspec: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if fspec.type in TEXT_TYPES:
        return str(value).casefold()
    if fspec.type in ID_TYPES:
        return normalize_id(str(value))
    return value


def _check_literal(fspec: FieldSpec, value: Any) -> None:
    wanted, type_name = _LITERAL_TYPES[fspec.type]
    if value is None:
        return
    exact = isinstance(value, wanted) and not (wanted is date and isinstance(value, datetime)) and \
        not (wanted is Decimal and isinstance(value, bool))
    if not exact:
        quoted = "should be enclosed in quotes" if wanted is str else "should not be enclosed in quotes"
        raise fault(400, "INVALID_FIELD", f"value of filter criterion for field '{fspec.name}' must be of type "
                                          f"{type_name} and {quoted}")
    if fspec.type in ID_TYPES and normalize_id(value) is None:
        raise fault(400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}")


@dataclass(frozen=True)
class _Filter:
    condition: Comparison
    chain: Chain

    @classmethod
    def checked(cls, catalog: Catalog, spec: SObjectSpec, condition: Comparison) -> _Filter:
        chain = resolve(catalog, spec, condition.field)
        fspec = chain[-1][1]
        if condition.operator == "LIKE" and fspec.type not in TEXT_TYPES:
            raise fault(400, "INVALID_FIELD", f"invalid operator on {fspec.type} field: LIKE")
        if fspec.type == "boolean" and condition.operator not in {"=", "!=", "IN", "NOT IN"}:
            raise fault(400, "INVALID_FIELD", f"invalid operator on boolean field: {condition.operator}")
        if not isinstance(condition.value, LikePattern):
            for value in condition.value if isinstance(condition.value, tuple) else (condition.value,):
                _check_literal(fspec, value)
        return cls(condition, chain)

    def holds(self, tables: Tables, rec: Mapping[str, Any]) -> bool:
        fspec = self.chain[-1][1]
        stored = _follow(tables, rec, self.chain)
        operator, value = self.condition.operator, self.condition.value
        if isinstance(value, LikePattern):
            return stored is not None and value.matches(str(stored))
        actual = _comparable(fspec, stored)
        if isinstance(value, tuple):
            found = any(actual == _comparable(fspec, v) for v in value)
            return found if operator == "IN" else not found
        expected = _comparable(fspec, value)
        if operator in {"=", "!="}:
            return bool(actual == expected) == (operator == "=")
        if actual is None or expected is None:
            return False
        return _ORDERINGS[operator](actual, expected)


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b), "<=": lambda a, b: bool(a <= b), ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b)}


def _sort_key(tables: Tables, chain: Chain, item: Ordering) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    def key(rec: Mapping[str, Any]) -> tuple[Any, ...]:
        value = _follow(tables, rec, chain)
        if value is None:  # after an optional reverse, nulls must land where NULLS FIRST/LAST says
            return (0,) if item.nulls_last == item.descending else (2,)
        return (1, value.casefold() if isinstance(value, str) else value)
    return key


def _project(catalog: Catalog, tables: Tables, spec: SObjectSpec, rec: Mapping[str, Any], selected: list[Chain],
             version: str) -> dict[str, Any]:
    row: dict[str, Any] = {"attributes": attributes(spec, rec["Id"], version)}
    for chain in selected:
        out: dict[str, Any] | None = row
        current: Mapping[str, Any] | None = rec
        for _, fspec in chain[:-1]:
            assert fspec.reference_to is not None and fspec.relationship_name is not None
            assert out is not None and current is not None
            name = fspec.relationship_name
            target = tables[fspec.reference_to].get(current.get(fspec.name) or "")
            if target is None:
                out[name] = None
                out = None
                break
            if out.get(name) is None:
                out[name] = {"attributes": attributes(catalog.spec_of(fspec.reference_to), target["Id"], version)}
            out = out[name]
            current = target
        if out is not None and current is not None:
            out[chain[-1][1].name] = to_wire(current.get(chain[-1][1].name))
    return row


def _located(query: Query, at: int | None, exc: ApiFault) -> ApiFault:
    """The INVALID_FIELD answer with the row, column and caret Salesforce puts before the message."""
    if at is None or not query.text or exc.body[0].get("errorCode") != "INVALID_FIELD":
        return exc
    message = str(SoqlError(str(exc.body[0]["message"]), query.text, at))
    return fault(exc.status, "INVALID_FIELD", message)


def _resolve_at(catalog: Catalog, spec: SObjectSpec, query: Query, path: str, at: int | None) -> Chain:
    try:
        return resolve(catalog, spec, path)
    except ApiFault as exc:
        raise _located(query, at, exc) from None


def execute(catalog: Catalog, tables: Tables, query: Query, version: str) -> list[dict[str, Any]]:
    """The rows a parsed query returns, in order, as JSON-shaped records."""
    spec = catalog.sobject(query.sobject)
    if spec is None:
        raise fault(400, "INVALID_TYPE", f"sObject type '{query.sobject}' is not supported. If you are attempting "
                    "to use a custom object, be sure to append the '__c' after the entity name. Please reference "
                    "your WSDL or the describe call for the appropriate names.")
    starts: list[int | None] = list(query.field_at) or [None] * len(query.fields)
    selected = [_resolve_at(catalog, spec, query, path, at) for path, at in zip(query.fields, starts, strict=True)]
    seen: set[str] = set()
    for path in query.fields:
        if path.lower() in seen:
            raise fault(400, "INVALID_FIELD", f"duplicate field selected: {path}")
        seen.add(path.lower())
    filters = []
    for condition in query.where:
        try:
            filters.append(_Filter.checked(catalog, spec, condition))
        except ApiFault as exc:
            raise _located(query, condition.at, exc) from None
    ordering = [(item, _resolve_at(catalog, spec, query, item.field, item.at)) for item in query.order_by]
    matched = [rec for rec in tables[spec.name].values() if all(f.holds(tables, rec) for f in filters)]
    for item, chain in reversed(ordering):
        matched.sort(key=_sort_key(tables, chain, item), reverse=item.descending)
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    return [_project(catalog, tables, spec, rec, selected, version) for rec in matched[start:end]]


@dataclass
class _Cursor:
    rows: list[dict[str, Any]]
    batch: int
    touched: float


class QueryCursors:
    """Open query locators (01g…): the rest of a result, page by page. Not locked: the org locks."""

    def __init__(self, ids: IdMint) -> None:
        self._ids = ids
        self._open: dict[str, _Cursor] = {}

    def first_page(self, rows: list[dict[str, Any]], batch_size: int | None, version: str) -> dict[str, Any]:
        batch = min(max(batch_size or DEFAULT_BATCH, MIN_BATCH), DEFAULT_BATCH)
        locator = None
        if len(rows) > batch:
            self._expire()
            locator = self._ids.new("01g")
            self._open[locator] = _Cursor(rows, batch, time.monotonic())
        return _page(rows, 0, batch, locator, version)

    def next_page(self, cursor_ref: str, version: str) -> dict[str, Any]:
        locator, _, offset_text = cursor_ref.rpartition("-")
        self._expire()
        cursor = self._open.get(locator)
        if cursor is None or not offset_text.isdigit() or int(offset_text) > len(cursor.rows):
            raise fault(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.touched = time.monotonic()
        return _page(cursor.rows, int(offset_text), cursor.batch, locator, version)

    def _expire(self) -> None:
        horizon = time.monotonic() - CURSOR_IDLE_SECONDS
        for locator in [k for k, c in self._open.items() if c.touched < horizon]:
            del self._open[locator]
        while len(self._open) >= MAX_OPEN_CURSORS:
            del self._open[next(iter(self._open))]


def _page(rows: list[dict[str, Any]], offset: int, batch: int, locator: str | None, version: str) -> dict[str, Any]:
    end = offset + batch
    page: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
    if end < len(rows):
        page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
    page["records"] = rows[offset:end]
    return page


def run(catalog: Catalog, tables: Tables, cursors: QueryCursors, text: str, *, version: str,
        batch_size: int | None = None) -> dict[str, Any]:
    """GET /query?q=…: the first page of the result; MALFORMED_QUERY when the text does not parse."""
    try:
        query = parse(text)
    except SoqlError as exc:
        raise fault(400, "MALFORMED_QUERY", str(exc)) from None
    return cursors.first_page(execute(catalog, tables, query, version), batch_size, version)
