"""Running a parsed SuiteQL query over one table's rows, with Oracle's semantics where they show.

Comparisons are typed by the column: a number column compares numerically, and a text literal
against it is converted (Oracle's implicit conversion; a literal that is no number is an error);
text compares exactly (case counts); a boolean is `T`/`F`; a reference compares by internal id;
a date compares with a literal in the account's date format (M/D/YYYY, NetSuite's default date
preference, from recall). NULL (and Oracle's empty
text, which is NULL) matches nothing but IS NULL, and an IN list meeting a NULL is unknown.
Ascending order puts NULLs last and descending first, as Oracle does.

Results are what NetSuite's REST answer carries: lower-case keys, every value a string (numbers
digit for digit, booleans `T`/`F`, dates M/D/YYYY), and NULL columns left out of the item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from q2c.sandboxes.netsuite.suiteql import Column, Predicate, Query, SuiteQLError, Value


@dataclass(frozen=True)
class Ref:
    """A reference column: the id is the value, the name is what BUILTIN.DF shows."""

    id: str
    name: str


Cell = None | str | int | Decimal | bool | date | datetime | Ref
Row = Mapping[str, Cell]


@dataclass(frozen=True)
class TableView:
    """One SuiteQL table: its column names and, on demand, its rows."""

    name: str
    columns: tuple[str, ...]
    rows: Callable[[], Iterable[Row]]


def run(query: Query, table: TableView) -> list[dict[str, str]]:
    """Filter, order and project the table's rows; raises `SuiteQLError` for names the table lacks."""
    selected = query.columns or tuple(Column(name, name) for name in table.columns)
    for name in [c.name for c in selected] + [p.column for p in query.where]:
        _known(name, table)
    keys = [(_sort_source(key.name, selected, table), key.descending) for key in query.order_by]
    rows = [row for row in table.rows() if all(_holds(row.get(p.column), p) is True for p in query.where)]
    for (column, display), descending in reversed(keys):
        rows.sort(key=_sort_on(column, display), reverse=descending)
    return [_project(row, selected) for row in rows]


def _sort_on(column: str, display: bool) -> Callable[[Row], tuple[int, tuple[int, Any]]]:
    return lambda row: _sort_key(_shown(row.get(column), display))


def _known(name: str, table: TableView) -> None:
    if name not in table.columns:
        raise SuiteQLError("field", f"Unknown identifier '{name}'. Available identifiers are: "
                                    f"{{{table.name}={table.name}}}.")


def _sort_source(name: str, selected: tuple[Column, ...], table: TableView) -> tuple[str, bool]:
    """(column, whether its display name) an ORDER BY key sorts on: a select alias first, then a column."""
    for column in selected:
        if column.alias == name and (column.display or name not in table.columns):
            return column.name, column.display
    _known(name, table)
    return name, False


def _project(row: Row, selected: tuple[Column, ...]) -> dict[str, str]:
    item: dict[str, str] = {}
    for column in selected:
        text = render(_shown(row.get(column.name), column.display))
        if text is not None:
            item[column.alias] = text
    return item


def _shown(cell: Cell, display: bool) -> Cell:
    return cell.name if display and isinstance(cell, Ref) else cell


def render(cell: Cell) -> str | None:
    """A value as SuiteQL's REST answer writes it; None for NULL (and empty text, which is NULL)."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, Ref):
        return cell.id
    if isinstance(cell, bool):
        return "T" if cell else "F"
    if isinstance(cell, date):  # a datetime too: the account's date format shows the date
        return f"{cell.month}/{cell.day}/{cell.year}"
    if isinstance(cell, Decimal):
        return format(cell, "f")
    return str(cell)


# --- conditions -----------------------------------------------------------------------------------


def _holds(cell: Cell, predicate: Predicate) -> bool | None:
    """True, False, or None for SQL's unknown."""
    if predicate.op in ("IS NULL", "IS NOT NULL"):
        return (render(cell) is None) == (predicate.op == "IS NULL")
    results = [_compare(cell, literal) for literal in predicate.values]
    if predicate.op in ("IN", "NOT IN"):
        hit = any(r == 0 for r in results)
        if not hit and any(r is None for r in results):
            return None
        return hit if predicate.op == "IN" else not hit
    result = results[0]
    if result is None:
        return None
    return {"=": result == 0, "<>": result != 0, "<": result < 0, ">": result > 0, "<=": result <= 0,
            ">=": result >= 0}[predicate.op]


def _compare(cell: Cell, literal: Value) -> int | None:
    """-1, 0 or 1 for cell against literal; None when the cell is NULL."""
    if render(cell) is None:
        return None
    if isinstance(cell, int | Decimal) and not isinstance(cell, bool):
        return _order(Decimal(cell), _number(literal))
    if isinstance(cell, date):
        return _compare_date(cell, literal)
    text = render(cell)
    assert text is not None
    if isinstance(literal, Decimal):
        return _order(_number(text), literal)
    return _order(text, literal)


def _compare_date(cell: date, literal: Value) -> int:
    if not isinstance(literal, str):
        raise SuiteQLError("syntax", "a date cannot be compared with a number")
    try:
        month, day, year = (int(part) for part in literal.split("/"))
        wanted = date(year, month, day)
    except ValueError:
        raise SuiteQLError("syntax", f"'{literal}' is not a date in the account's format (M/D/YYYY)") from None
    if isinstance(cell, datetime):
        return _order(cell, datetime(wanted.year, wanted.month, wanted.day, tzinfo=UTC))
    return _order(cell, wanted)


def _number(value: Value) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(value.strip())
    except InvalidOperation:
        raise SuiteQLError("syntax", f"invalid number: '{value}'") from None


def _order(left: Any, right: Any) -> int:
    return int(left > right) - int(left < right)


# --- ordering -------------------------------------------------------------------------------------


def _sort_key(cell: Cell) -> tuple[int, tuple[int, Any]]:
    """NULLs after everything (ascending), numbers by value, dates by date, the rest as rendered text."""
    text = render(cell)
    if text is None:
        return 1, (0, "")
    if isinstance(cell, int | Decimal) and not isinstance(cell, bool):
        return 0, (0, Decimal(cell))
    if isinstance(cell, datetime):
        return 0, (1, cell.timestamp())
    if isinstance(cell, date):
        return 0, (1, cell.toordinal())
    if isinstance(cell, Ref) and cell.id.isdigit():
        return 0, (0, Decimal(cell.id))
    return 0, (2, text)
