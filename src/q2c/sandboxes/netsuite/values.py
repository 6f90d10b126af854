"""A write body read against a record type's fields: the values to store, or what is wrong with them.

Field names match without regard to case. Unknown names are refused only when the caller asked
for it (`X-NetSuite-PropertyNameValidation: error`; NetSuite's default is a warning, and the field
is ignored); the bulk script always refuses them. Values are checked by kind: text (length in
UTF-8 bytes, refused when too long, never cut), numbers (JSON numbers only), booleans, dates
(`YYYY-MM-DD`, a day that exists), references (`{"id": ...}`, a bare id, or, where the caller
resolves them, `{"externalId", "type"}` for the record types in `external_types`) that must point at
an existing record or list entry, and sublists `{"items": [...]}`.

Some problems SuiteScript meets only when the record is saved, not when a value is set
(`SAVE_TIME`: a mandatory value missing, a select key that points nowhere); the bulk script reports
a problem met while setting values before any of those, so within a sublist a problem of the first
kind is reported ahead of one of the second.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from q2c.sandboxes.netsuite.errors import Problem
from q2c.sandboxes.netsuite.records import LISTS, FieldSpec, RecordSchema

_IGNORED = frozenset({"links", "id", "refname"})  # read-only parts of a record a client may echo back
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SAVE_TIME = frozenset({"missing", "no_such_ref"})


class Lookup(Protocol):
    """What reading references needs from the account."""

    def exists(self, target: str, internal_id: str) -> bool: ...

    def internal_id(self, record_type: str, external_id: str) -> str | None: ...


def read_body(schema: RecordSchema, body: Mapping[str, Any], *, creating: bool, strict: bool,
              external_types: frozenset[str], lookup: Lookup) -> tuple[dict[str, Any], list[Problem]]:
    """Values by lower-case field name, and the problems; required fields are checked on create only."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    refused: set[str] = set()  # a field already refused gets no second "please enter" for it
    for key, raw in body.items():
        lower = key.lower()
        if lower in _IGNORED:
            continue
        spec = schema.spec(lower)
        if spec is None:
            if strict:
                problems.append(Problem("unknown_field", key, f"Unknown field name {key} for record type "
                                                              f"{schema.type}."))
            continue
        value, problem = read_value(spec, raw, spec.name, external_types=external_types, lookup=lookup)
        if problem is None:
            values[lower] = value
        else:
            problems.append(problem)
            refused.add(lower)
    if creating:
        problems += [Problem("missing", spec.name, f"Please enter value(s) for: {spec.ui_label}")
                     for spec in schema.fields
                     if spec.required and spec.name.lower() not in refused
                     and values.get(spec.name.lower()) in (None, "")]
    return values, problems


def read_value(spec: FieldSpec, raw: Any, path: str, *, external_types: frozenset[str], lookup: Lookup
               ) -> tuple[Any, Problem | None]:
    """One field's value in stored form; None (JSON null) clears a field of any kind."""
    if raw is None:
        return None, None
    if spec.kind == "ref":
        return _reference(spec, raw, path, external_types, lookup)
    if spec.kind == "sublist":
        return _lines(spec, raw, external_types, lookup)
    return _scalar(spec, raw, path)


def _scalar(spec: FieldSpec, raw: Any, path: str) -> tuple[Any, Problem | None]:
    if spec.kind == "text":
        if not isinstance(raw, str):
            return None, Problem("bad_value", path, f"Invalid value for field {path}: expected text.")
        if spec.max_length is not None and len(raw.encode("utf-8")) > spec.max_length:
            return None, Problem("too_long", path, f"The field {spec.name.lower()} contained more than the "
                                                   f"maximum number ( {spec.max_length} ) of characters allowed.")
        return raw, None
    if spec.kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
            return None, Problem("bad_value", path, f"Invalid value for field {path}: expected a number.")
        return Decimal(raw), None
    if spec.kind == "bool":
        if not isinstance(raw, bool):
            return None, Problem("bad_value", path, f"Invalid value for field {path}: expected true or false.")
        return raw, None
    try:
        if not isinstance(raw, str) or not _DATE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw), None
    except ValueError:
        return None, Problem("bad_value", path, f"Invalid value for field {path}: {raw!r} is not a date "
                                                "(YYYY-MM-DD).")


def _reference(spec: FieldSpec, raw: Any, path: str, external_types: frozenset[str], lookup: Lookup
               ) -> tuple[str | None, Problem | None]:
    if isinstance(raw, Mapping) and "externalId" in raw and external_types:
        return _external_reference(spec, raw, path, external_types, lookup)
    if isinstance(raw, Mapping) and raw.get("id") is not None:
        rid = str(raw["id"])
    elif isinstance(raw, Mapping):
        return None, Problem("bad_value", path, f"Invalid reference for field {path}: "
                                                "give the referenced record as {\"id\": \"<internal id>\"}.")
    elif isinstance(raw, str | int) and not isinstance(raw, bool):
        rid = str(raw)
    else:
        return None, Problem("bad_value", path, f"Invalid reference for field {path}.")
    if any(_target_has(target, rid, lookup) for target in spec.targets):
        return rid, None
    return None, Problem("no_such_ref", path,
                         f"You have entered an Invalid Field Value {rid} for the following field: {path}")


def _target_has(target: str, rid: str, lookup: Lookup) -> bool:
    return rid in LISTS[target] if target in LISTS else lookup.exists(target, rid)


def _external_reference(spec: FieldSpec, raw: Mapping[str, Any], path: str, external_types: frozenset[str],
                        lookup: Lookup) -> tuple[str | None, Problem | None]:
    """`{"externalId", "type"}`: the bulk script's way to point at a record it has not been told the id of.

    Only types in `external_types` are looked up; the internal id found is then set like any other,
    so one of a type the field does not take is a key that points nowhere, found on save.
    """
    target = str(raw.get("type"))
    found = lookup.internal_id(target, str(raw["externalId"])) if target in external_types else None
    if found is None:
        return None, Problem("no_such_external_ref", path,
                             f"No {target} with external ID {raw['externalId']} for field {path}.")
    if target not in spec.targets:
        return None, Problem("no_such_ref", path,
                             f"You have entered an Invalid Field Value {found} for the following field: {path}")
    return found, None


def _first(problems: list[Problem]) -> Problem | None:
    """The problem reported: the first met while setting values, else the first met on save."""
    return next((p for p in problems if p.kind not in SAVE_TIME), problems[0] if problems else None)


def _lines(spec: FieldSpec, raw: Any, external_types: frozenset[str], lookup: Lookup
           ) -> tuple[Any, Problem | None]:
    """A sublist replaces the record's lines; one bad line refuses the whole write."""
    items = raw.get("items") if isinstance(raw, Mapping) else None
    if not isinstance(items, list):
        return None, Problem("bad_value", spec.name, f"Invalid value for sublist {spec.name}: "
                                                     "expected {\"items\": [...]}.")
    lines: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for index, line in enumerate(items):
        values, problem = _line(spec, line, f"{spec.name}.items[{index}]", external_types, lookup)
        if problem is not None and problem.kind not in SAVE_TIME:
            return None, problem
        if problem is not None:
            problems.append(problem)
        lines.append(values)
    first = _first(sorted(problems, key=lambda p: p.kind != "missing"))  # mandatory values are asked for first
    return (None, first) if first is not None else (lines, None)


def _line(spec: FieldSpec, line: Any, where: str, external_types: frozenset[str], lookup: Lookup
          ) -> tuple[dict[str, Any], Problem | None]:
    if not isinstance(line, Mapping):
        return {}, Problem("bad_value", where, "Each line must be an object.")
    columns = {column.name.lower(): column for column in spec.lines}
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, raw in line.items():
        column = columns.get(key.lower())
        if column is None:
            return {}, Problem("unknown_field", f"{where}.{key}", f"Unknown field name {key} on sublist {spec.name}.")
        value, problem = read_value(column, raw, f"{where}.{key}", external_types=external_types, lookup=lookup)
        if problem is not None and problem.kind not in SAVE_TIME:
            return {}, problem
        if problem is not None:
            problems.append(problem)
            continue  # a key that points nowhere was still set: the column is not missing
        values[column.name.lower()] = value
    refused = {p.field for p in problems}
    # on save NetSuite asks for the mandatory values before it checks the keys that were set
    problems[:0] = [Problem("missing", f"{where}.{column.name}", f"Please enter value(s) for: {column.ui_label}")
                    for column in spec.lines if column.required and values.get(column.name.lower()) is None
                    and not any(f and f.lower() == f"{where}.{column.name}".lower() for f in refused)]
    first = _first(problems)
    if first is not None:
        return {}, first
    if spec.name == "item":  # item lines: quantity defaults to 1, amount to quantity x rate
        if values.get("quantity") is None:
            values["quantity"] = Decimal(1)
        if values.get("amount") is None and values.get("rate") is not None:
            values["amount"] = values["quantity"] * values["rate"]
    return values, None
