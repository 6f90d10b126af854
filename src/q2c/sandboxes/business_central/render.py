"""Entities and collections as Business Central writes them: `@odata.context`, `@odata.etag` on every
entity, `$select`, `$expand`, and server-driven paging.

Documented (OData 4.0 and Business Central's "Server-driven paging" / operational limits): a client asks
for smaller pages with `Prefer: odata.maxpagesize=N` and follows `@odata.nextLink`; an API page answers at
most 20,000 entities per page. The `$skiptoken` in the link is the sandbox's own (an offset); clients
treat the link as opaque.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from q2c.sandboxes.business_central.query import order_rows, parse_expand, parse_filter, parse_select
from q2c.sandboxes.business_central.schema import EntitySet, entity_set
from q2c.sandboxes.business_central.store import Row
from q2c.sandboxes.business_central.wire import Json, bad_request, etag

MAX_PAGE = 20_000
Children = Callable[[EntitySet, Row, str], list[Row]]  # (parent set, parent row, child set) -> rows


@dataclass(frozen=True)
class Options:
    select: str | None = None
    expand: str | None = None
    filter: str | None = None
    orderby: str | None = None
    top: int | None = None
    skip: int = 0
    count: bool = False
    schema_version: str = ""

    @classmethod
    def of(cls, query: dict[str, str]) -> Options:
        def number(name: str) -> int | None:
            if name not in query:
                return None
            text = query[name]
            if not text.isdigit():
                raise bad_request(f"Invalid value '{text}' for {name} query option found. The {name} query option "
                                  "requires a non-negative integer value.")
            return int(text)

        return cls(select=query.get("$select"), expand=query.get("$expand"), filter=query.get("$filter"),
                   orderby=query.get("$orderby"), top=number("$top"), skip=number("$skip") or 0,
                   count=query.get("$count", "").lower() == "true", schema_version=query.get("$schemaversion", ""))


def entity(spec: EntitySet, row: Row, options: Options, children: Children) -> Json:
    """One entity: its ETag, its (selected) properties, then what `$expand` asked for."""
    out: Json = {"@odata.etag": etag(str(row.values["id"]), row.version)}
    names = parse_select(spec, options.select) if options.select else list(spec.names)
    if "id" not in names and options.select:
        names = ["id", *names] if spec.prop("id") is not None else names
    for name in names:
        out[name] = row.values.get(name)
    if options.expand:
        for nav, nested in parse_expand(options.expand).items():
            child_spec = entity_set(spec.api, nav)
            if child_spec is None or nav not in spec.children:
                raise bad_request(f"Could not find a property named '{nav}' on type 'Microsoft.NAV.{spec.entity}'.")
            inner = Options(select=nested.get("$select"), expand=nested.get("$expand"), filter=nested.get("$filter"),
                            orderby=nested.get("$orderby"), schema_version=options.schema_version)
            rows = select_rows(child_spec, children(spec, row, nav), inner)
            out[nav] = [entity(child_spec, r, inner, children) for r in rows]
    return out


def select_rows(spec: EntitySet, rows: list[Row], options: Options) -> list[Row]:
    """`$filter` then `$orderby` (the table's order otherwise)."""
    if options.filter:
        predicate = parse_filter(spec, options.filter, options.schema_version)
        rows = [r for r in rows if predicate(r.values)]
    if options.orderby:
        by_values = order_rows(spec, [r.values for r in rows], options.orderby)
        index = {id(r.values): r for r in rows}
        rows = [index[id(v)] for v in by_values]
    return rows


def max_page(headers: dict[str, str]) -> tuple[int, bool]:
    """The page size a `Prefer: odata.maxpagesize=N` header asks for (capped), and whether one was asked."""
    for part in headers.get("prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit() and int(value) > 0:
            return min(int(value), MAX_PAGE), True
    return MAX_PAGE, False


def collection(spec: EntitySet, rows: list[Row], options: Options, *, context: str, link: str,
               query: dict[str, str], headers: dict[str, str], children: Children) -> tuple[Json, dict[str, str]]:
    """A page of a collection with its `@odata.nextLink` when more remain."""
    rows = select_rows(spec, rows, options)
    total = len(rows)
    rows = rows[options.skip:]
    if options.top is not None:
        rows = rows[:options.top]
    size, asked = max_page(headers)
    token = query.get("$skiptoken", "0")
    if not token.isdigit():
        raise bad_request(f"The skip token '{token}' is not valid.")
    offset = int(token)
    page = rows[offset:offset + size]
    body: Json = {"@odata.context": context}
    if options.count:
        body["@odata.count"] = total
    body["value"] = [entity(spec, r, options, children) for r in page]
    if offset + size < len(rows):
        rest = {k: v for k, v in query.items() if k != "$skiptoken"}
        rest["$skiptoken"] = str(offset + size)
        body["@odata.nextLink"] = f"{link}?{urlencode(rest, quote_via=quote, safe='$,()')}"
    return body, ({"Preference-Applied": f"odata.maxpagesize={size}"} if asked else {})
