"""What a create or update body means: columns by logical name, lookups set through
`<navigation>@odata.bind`, and the mistakes Dataverse refuses (unknown properties, `_x_value` writes,
read-only columns). Also the key segment of a URL: `(guid)` or an alternate key `(accountnumber='X')`."""

from __future__ import annotations

import re
from typing import Any

from q2c.sandboxes.dynamics365_sales.errors import (
    BAD_PROPERTY,
    DataverseError,
    bad_request,
    key_not_found,
    not_found,
    unknown_property,
)
from q2c.sandboxes.dynamics365_sales.odata_filter import syntax_error
from q2c.sandboxes.dynamics365_sales.options import split_top
from q2c.sandboxes.dynamics365_sales.org import DataverseOrg, Row
from q2c.sandboxes.dynamics365_sales.tables import BY_ENTITY_SET, Table
from q2c.sandboxes.dynamics365_sales.values import coerce, parse_guid

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_BIND = re.compile(r"(?:^|/)([A-Za-z0-9_]+)\((.+)\)$")
_SKIP = ("@odata.type", "@odata.etag", "@odata.context", "@odata.id")

Key = str | dict[str, Any]  # a primary key, or alternate key values


def parse_key(table: Table, segment: str) -> Key:
    """The inside of `accounts(...)`."""
    if _GUID.match(segment):
        return parse_guid(segment.strip("{}"), table.logical)
    values: dict[str, Any] = {}
    for part in split_top(segment, ","):
        name, eq, raw = part.partition("=")
        if not eq:
            raise syntax_error(f"Bad Request - Error in query syntax: '{segment}' is not a key of {table.logical}.")
        name = name.strip()
        column = table.column(name)
        if column is None:
            raise unknown_property(name, table.logical)
        raw = raw.strip()
        value: Any
        if raw.startswith("'") and raw.endswith("'"):
            value = raw[1:-1].replace("''", "'")
        elif raw.lstrip("-").isdigit():
            value = int(raw)
        else:
            value = raw
        values[name] = coerce(table, column, value)
    if tuple(sorted(values)) not in {tuple(sorted(k)) for k in table.alternate_keys}:
        raise bad_request(f"The key attributes {', '.join(values)} are not an alternate key of {table.logical}.",
                          code=BAD_PROPERTY)
    return values


def find(org: DataverseOrg, table: Table, key: Key) -> Row | None:
    if isinstance(key, str):
        return org.get(table.logical, key)
    return org.find_by_key(table.logical, key)


def find_required(org: DataverseOrg, table: Table, key: Key) -> Row:
    row = find(org, table, key)
    if row is None:
        raise not_found(table.logical, key) if isinstance(key, str) else key_not_found(table.logical)
    return row


def values_from_body(org: DataverseOrg, table: Table, body: dict[str, Any],
                     references: dict[str, tuple[str, str]] | None = None) -> Row:
    """The stored values a body asks for; `references` are a change set's `$n` content ids."""
    values: Row = {}
    for name, value in body.items():
        if name.startswith("@") or name.endswith(_SKIP):
            continue
        if "@odata.bind" in name:
            nav = name.split("@", 1)[0]
            column = table.by_navigation(nav)
            if column is None:
                raise DataverseError(400, BAD_PROPERTY, f"An undeclared property '{nav}' which only has property "
                                     "annotations in the payload but no property value was found in the payload. "
                                     "In OData, only declared navigation properties and declared named streams can "
                                     "be represented as properties without values.")
            values[column.name] = None if value is None else _bind(org, column.targets, str(value), nav,
                                                                   references or {})
            continue
        if name.startswith("_") and name.endswith("_value"):
            raise DataverseError(400, BAD_PROPERTY, "CRM do not support direct update of Entity Reference "
                                 f"properties, Use Navigation properties instead. ({table.logical}.{name})")
        column = table.column(name)
        if column is None:
            raise unknown_property(name, table.logical)
        if column.kind in ("lookup", "owner"):
            raise DataverseError(400, BAD_PROPERTY, f"The property '{name}' of {table.logical} is a lookup: set it "
                                 f"with '{column.navigation}@odata.bind'.")
        if column.read_only:
            raise bad_request(f"The column '{name}' of {table.logical} is read-only (computed or set by the system).")
        values[column.name] = coerce(table, column, value)
    return values


def _bind(org: DataverseOrg, targets: tuple[str, ...], reference: str, nav: str,
          references: dict[str, tuple[str, str]]) -> str:
    if re.fullmatch(r"\$\d+", reference):
        if reference not in references:
            raise bad_request(f"Content-ID Reference: '{reference}' does not exist in the batch context.")
        logical, row_id = references[reference]
        if logical not in targets:
            raise bad_request(f"{reference} names a {logical} record, which {nav} cannot point at.")
        return row_id
    match = _BIND.search(reference)
    if match is None:
        raise bad_request(f"The value '{reference}' of {nav}@odata.bind is not a URI of a record, such as "
                          "/accounts(00000000-0000-0000-0000-000000000001).")
    entity_set, segment = match.group(1), match.group(2)
    target = BY_ENTITY_SET.get(entity_set)
    if target is None or target.logical not in targets:
        raise bad_request(f"The entity set '{entity_set}' in {nav}@odata.bind is not a target of {nav}.")
    row = find_required(org, target, parse_key(target, segment))
    return str(row[target.primary_id])
