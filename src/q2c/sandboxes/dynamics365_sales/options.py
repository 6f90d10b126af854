"""System query options of a Web API request: `$select`, `$filter`, `$orderby`, `$top`, `$expand` (with
its nested options), `$count`, `$skiptoken`, and the `Prefer` header's preferences."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from q2c.sandboxes.dynamics365_sales.odata_filter import Predicate, compile_filter, syntax_error
from q2c.sandboxes.dynamics365_sales.tables import TABLES, Column, OneToMany, Table

MAX_PAGE_SIZE = 5000  # Dataverse's default and largest page of table rows


@dataclass
class Expansion:
    name: str
    table: Table
    lookup: Column | None = None  # single-valued
    relationship: OneToMany | None = None  # collection-valued
    options: QueryOptions | None = None


@dataclass
class QueryOptions:
    table: Table
    select: list[Column] | None = None
    filter: Predicate | None = None
    filter_text: str | None = None
    orderby: list[tuple[Column, bool]] = field(default_factory=list)  # (column, descending)
    top: int | None = None
    expand: list[Expansion] = field(default_factory=list)
    count: bool = False
    skiptoken: str | None = None
    deltatoken: str | None = None


@dataclass(frozen=True)
class Preferences:
    max_page_size: int | None = None
    annotations: str | None = None  # the pattern of odata.include-annotations
    representation: bool = False
    track_changes: bool = False
    continue_on_error: bool = False

    def applied(self) -> str:
        parts = []
        if self.max_page_size is not None:
            parts.append(f"odata.maxpagesize={self.max_page_size}")
        if self.annotations is not None:
            parts.append(f'odata.include-annotations="{self.annotations}"')
        if self.track_changes:
            parts.append("odata.track-changes")
        return ",".join(parts)

    def wants(self, annotation: str) -> bool:
        pattern = self.annotations
        if not pattern:
            return False
        for item in pattern.split(","):
            item = item.strip()
            if item == "*" or item == annotation or (item.endswith(".*") and annotation.startswith(item[:-1])):
                return True
        return False


def preferences(header: str | None) -> Preferences:
    size: int | None = None
    annotations: str | None = None
    representation = track = cont = False
    for part in _split_quoted(header or ""):
        if part.lower().startswith("odata.maxpagesize="):
            try:
                size = max(1, int(part.split("=", 1)[1]))
            except ValueError:
                size = None
        elif part.lower().startswith("odata.include-annotations="):
            annotations = part.split("=", 1)[1].strip().strip('"')
        elif part.lower() == "return=representation":
            representation = True
        elif part.lower() == "odata.track-changes":
            track = True
        elif part.lower() == "odata.continue-on-error":
            cont = True
    return Preferences(size, annotations, representation, track, cont)


def _split_quoted(header: str) -> list[str]:
    """The preferences of a Prefer header: commas inside a quoted value do not separate."""
    parts = re.findall(r'(?:[^,"]|"[^"]*")+', header)
    return [p.strip() for p in parts if p.strip()]


def split_top(text: str, separator: str) -> list[str]:
    """Split at `separator` outside parentheses and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_options(table: Table, params: dict[str, str], *, nested: bool = False) -> QueryOptions:
    options = QueryOptions(table)
    for key, value in params.items():
        name = key.lower()
        if name == "$select":
            options.select = [_column(table, n) for n in split_top(value, ",")]
        elif name == "$filter":
            options.filter = compile_filter(table, value)
            options.filter_text = value
        elif name == "$orderby":
            for item in split_top(value, ","):
                words = item.split()
                if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                    raise syntax_error(f"Syntax error in $orderby '{value}'.")
                options.orderby.append((_column(table, words[0]), len(words) == 2 and words[1].lower() == "desc"))
        elif name == "$top":
            if not value.isdigit():
                raise syntax_error(f"Invalid value '{value}' for $top query option found. The $top query option "
                                   "requires a non-negative integer value.")
            options.top = int(value)
        elif name == "$expand":
            options.expand = [_expansion(table, item) for item in split_top(value, ",")]
        elif name == "$count":
            options.count = value.lower() == "true"
        elif name == "$skiptoken" and not nested:
            options.skiptoken = value
        elif name == "$deltatoken" and not nested:
            options.deltatoken = value
        elif name.startswith("$") and name not in ("$format",):
            raise syntax_error(f"The query parameter '{key}' is not supported.")
    return options


_EXPAND_ITEM = re.compile(r"^([A-Za-z0-9_]+)(?:\((.*)\))?$", re.DOTALL)


def _expansion(table: Table, item: str) -> Expansion:
    match = _EXPAND_ITEM.match(item)
    if match is None:
        raise syntax_error(f"Syntax error in $expand at '{item}'.")
    name, inner = match.group(1), match.group(2)
    nested: dict[str, str] = {}
    for option in split_top(inner or "", ";"):
        key, _, value = option.partition("=")
        nested[key.strip()] = value.strip()
    lookup = table.by_navigation(name)
    if lookup is not None:
        target = TABLES[lookup.targets[0]]
        bad = set(nested) - {"$select", "$expand"}
        if bad:
            raise syntax_error(f"Only $select and $expand are supported on the single-valued navigation property "
                               f"'{name}'; found {', '.join(sorted(bad))}.")
        return Expansion(name, target, lookup=lookup, options=parse_options(target, nested, nested=True))
    relationship = table.collection(name)
    if relationship is not None:
        target = TABLES[relationship.table]
        return Expansion(name, target, relationship=relationship,
                         options=parse_options(target, nested, nested=True))
    raise syntax_error(f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical}'.")


def _column(table: Table, name: str) -> Column:
    from q2c.sandboxes.dynamics365_sales.errors import unknown_query_property

    if name.startswith("_") and name.endswith("_value"):
        column = table.column(name[1:-6])
        if column is not None and column.kind in ("lookup", "owner"):
            return column
    column = table.column(name)
    if column is None:
        raise unknown_query_property(name, table.logical)
    return column
