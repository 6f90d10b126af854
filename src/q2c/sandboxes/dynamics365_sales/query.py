"""Reading rows: projection (`$select`), annotations, `$expand`, ordering, `$top`, `$count` and
server-driven paging with `@odata.nextLink` and a `$skiptoken` paging cookie, as Dataverse pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

from q2c.sandboxes.dynamics365_sales.odata_filter import syntax_error
from q2c.sandboxes.dynamics365_sales.options import MAX_PAGE_SIZE, Expansion, Preferences, QueryOptions
from q2c.sandboxes.dynamics365_sales.org import DataverseOrg, Row
from q2c.sandboxes.dynamics365_sales.tables import TABLES, Column, Table
from q2c.sandboxes.dynamics365_sales.values import formatted, render

FORMATTED = "OData.Community.Display.V1.FormattedValue"
QUERY_SAFE = "$=,'()/"  # left unescaped in links, as Dataverse's own nextLink and deltaLink show them
LOOKUP_TABLE = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"


def etag(row: Row) -> str:
    return f'W/"{row["versionnumber"]}"'


def context_select(options: QueryOptions) -> str:
    if options.select is None:
        return ""
    return "(" + ",".join(c.value_name for c in options.select) + ")"


class Renderer:
    """Turns stored rows into the JSON a read returns."""

    def __init__(self, org: DataverseOrg, prefs: Preferences) -> None:
        self.org = org
        self.prefs = prefs

    def row(self, table: Table, row: Row, options: QueryOptions | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "versionnumber" in row:
            out["@odata.etag"] = etag(row)
        columns = options.select if options is not None and options.select is not None else list(table.columns)
        if table.column(table.primary_id) not in columns:
            columns = [*columns, table.column(table.primary_id)]  # type: ignore[list-item]
        symbol = self._symbol(row)
        for column in columns:
            self._column(out, table, column, row.get(column.name), symbol)
        for expansion in options.expand if options is not None else []:
            out[expansion.name] = self._expand(table, row, expansion)
        return out

    def _column(self, out: dict[str, Any], table: Table, column: Column, value: Any, symbol: str) -> None:
        name = column.value_name
        out[name] = render(value)
        if value is None:
            return
        if column.kind in ("lookup", "owner"):
            target = next((t for t in column.targets if self.org.get(t, str(value)) is not None), column.targets[0])
            if self.prefs.wants(FORMATTED):
                target_row = self.org.get(target, str(value))
                if target_row is not None:
                    out[f"{name}@{FORMATTED}"] = target_row.get(TABLES[target].primary_name)
            if self.prefs.wants(NAVIGATION):
                out[f"{name}@{NAVIGATION}"] = column.navigation
            if self.prefs.wants(LOOKUP_TABLE):
                out[f"{name}@{LOOKUP_TABLE}"] = target
            return
        if self.prefs.wants(FORMATTED):
            text = formatted(column, value, symbol=symbol)
            if text is not None:
                out[f"{name}@{FORMATTED}"] = text

    def _symbol(self, row: Row) -> str:
        currency = self.org.get("transactioncurrency", str(row.get("transactioncurrencyid") or ""))
        return str(currency["currencysymbol"]) if currency is not None else "$"

    def _expand(self, table: Table, row: Row, expansion: Expansion) -> Any:
        if expansion.lookup is not None:
            target_id = row.get(expansion.lookup.name)
            target = self.org.get(expansion.table.logical, str(target_id)) if target_id else None
            return None if target is None else self.row(expansion.table, target, expansion.options)
        assert expansion.relationship is not None and expansion.options is not None
        key = row[table.primary_id]
        children = [r for r in self.org.table_rows(expansion.table.logical)
                    if r.get(expansion.relationship.column) == key]
        children = select_rows(children, expansion.options, expansion.table, self.org)
        return [self.row(expansion.table, child, expansion.options) for child in children]


def select_rows(rows: list[Row], options: QueryOptions, table: Table, org: DataverseOrg) -> list[Row]:
    """Filter, order (then by primary key, as paging needs a stable order) and apply `$top`."""
    if options.filter is not None:
        predicate = options.filter
        rows = [r for r in rows if predicate(r, org.get)]
    rows = sorted(rows, key=lambda r: str(r[table.primary_id]))
    for column, descending in reversed(options.orderby):
        present = [r for r in rows if r.get(column.name) is not None]
        missing = [r for r in rows if r.get(column.name) is None]
        present.sort(key=lambda r: _sort_key(r.get(column.name)), reverse=descending)
        rows = present + missing if descending else missing + present
    if options.top is not None:
        rows = rows[:options.top]
    return rows


def _sort_key(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@dataclass
class Page:
    rows: list[Row]
    next_cookie: str | None
    count: int


_PAGE = re.compile(r'pagenumber="(\d+)"')
_LAST = re.compile(r'last="\{?([0-9a-fA-F-]{36})\}?"')


def page(rows: list[Row], table: Table, size: int, skiptoken: str | None) -> Page:
    """One page; the `$skiptoken` is Dataverse's paging cookie naming the page and the last row seen."""
    size = min(size, MAX_PAGE_SIZE)
    number, start = 1, 0
    if skiptoken:
        found = _PAGE.search(skiptoken)
        if found is None:
            raise syntax_error(f"The $skiptoken '{skiptoken}' is not a paging cookie this service issued.")
        number = int(found.group(1))
        cookie = unquote(unquote(skiptoken))
        last = _LAST.search(cookie)
        ids = [str(r[table.primary_id]) for r in rows]
        if last is not None and last.group(1).lower() in ids:
            start = ids.index(last.group(1).lower()) + 1
        else:
            start = (number - 1) * size
    chunk = rows[start:start + size]
    more = start + size < len(rows)
    cookie_text = None
    if more and chunk:
        inner = (f'<cookie page="{number}"><{table.primary_id} last="{{{chunk[-1][table.primary_id].upper()}}}" '
                 f'first="{{{chunk[0][table.primary_id].upper()}}}" /></cookie>')
        cookie_text = (f'<cookie pagenumber="{number + 1}" pagingcookie="{quote(quote(inner, safe=""), safe="")}" '
                       'istracking="False" />')
    return Page(chunk, cookie_text, len(rows))


def next_link(base: str, params: dict[str, str], cookie: str) -> str:
    kept = {k: v for k, v in params.items() if k.lower() != "$skiptoken"}
    kept["$skiptoken"] = cookie
    return f"{base}?{urlencode(kept, quote_via=quote, safe=QUERY_SAFE)}"
