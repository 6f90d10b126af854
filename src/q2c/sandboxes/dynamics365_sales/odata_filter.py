"""`$filter` as Dataverse reads it: comparison operators, `and`/`or`/`not`, parentheses, `contains`,
`startswith`, `endswith`, `null`, lookups as `_x_value`, a lookup's columns through its navigation
property (`parentaccountid/name`), column-to-column comparison, and the `Microsoft.Dynamics.CRM.In` and
`NotIn` query functions.

A filter compiles to a predicate over a stored row and a way to read the rows it points at. Strings compare
without regard to case (documented: "All filters using string values are case insensitive"); a literal is
converted to the column's type, and a wrong one is a 400 naming the column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from q2c.sandboxes.dynamics365_sales.errors import QUERY_SYNTAX, DataverseError, unknown_query_property
from q2c.sandboxes.dynamics365_sales.tables import TABLES, Column, Table
from q2c.sandboxes.dynamics365_sales.values import parse_datetime

Row = dict[str, Any]
Resolve = Callable[[str, str], Row | None]  # (table, id) -> the row, for navigation paths
Predicate = Callable[[Row, Resolve], bool]
Operand = Callable[[Row, Resolve], Any]
_TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<dstring>"(?:[^"\\]|\\.)*")
  | (?P<datetime>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[(),=\[\]/])
)""", re.VERBOSE)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}


def syntax_error(message: str) -> DataverseError:
    return DataverseError(400, QUERY_SYNTAX, message)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise syntax_error(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, table: Table, text: str) -> None:
        self.table = table
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1].lower() != value):
            raise syntax_error(f"Syntax error: expected '{value or 'an expression'}' in '{self.text}'.")
        self.pos += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "name" and token[1].lower() in words

    def parse(self) -> Predicate:
        predicate = self.or_expr()
        if self.peek() is not None:
            raise syntax_error(f"Syntax error at '{self.peek()[1]}' in '{self.text}'.")  # type: ignore[index]
        return predicate

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while self.is_word("or"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda row, get: a(row, get) or b(row, get))(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.unary()
        while self.is_word("and"):
            self.take()
            right = self.unary()
            left = (lambda a, b: lambda row, get: a(row, get) and b(row, get))(left, right)
        return left

    def unary(self) -> Predicate:
        if self.is_word("not"):
            self.take()
            inner = self.unary()
            return lambda row, get: not inner(row, get)
        token = self.peek()
        if token is not None and token[1] == "(":
            self.take("(")
            inner = self.or_expr()
            self.take(")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        kind, word = self.take()
        if kind != "name":
            raise syntax_error(f"Syntax error at '{word}' in '{self.text}'.")
        lowered = word.lower()
        if lowered in ("contains", "startswith", "endswith"):
            return self.string_function(lowered)
        if lowered in ("microsoft.dynamics.crm.in", "microsoft.dynamics.crm.notin"):
            inside = self.in_function()
            return inside if lowered.endswith(".in") else (lambda row, get: not inside(row, get))
        column, left = self.path(word)
        op = self.take()[1].lower()
        if op not in _COMPARE:
            raise syntax_error(f"Syntax error: '{op}' is not a comparison operator in '{self.text}'.")
        token = self.peek()
        if token is not None and token[0] == "name" and token[1].lower() not in ("null", "true", "false"):
            other, right = self.path(self.take()[1])
            if other.kind != column.kind:
                raise syntax_error(f"The columns {column.name} and {other.name} compared in '{self.text}' are of "
                                   "different types.")
            return _compare(left, op, right)
        literal = self.literal(column)
        return _compare(left, op, lambda row, get: literal)

    def path(self, word: str) -> tuple[Column, Operand]:
        """A column of this row, or `<navigation>/<column>` of the row a lookup points at."""
        token = self.peek()
        if token is None or token[1] != "/":
            column = self.column(word)
            return column, lambda row, get: row.get(column.name)
        lookup = self.table.by_navigation(word)
        if lookup is None:
            raise unknown_query_property(word, self.table.logical)
        self.take("/")
        target = TABLES[lookup.targets[0]]
        column, inner = _Parser(target, self.text).path_in(self.take()[1], self)
        return column, lambda row, get: _follow(row, get, lookup.name, target.logical, inner)

    def path_in(self, word: str, outer: _Parser) -> tuple[Column, Operand]:
        self.tokens, self.pos = outer.tokens, outer.pos
        found = self.path(word)
        outer.pos = self.pos
        return found

    def string_function(self, name: str) -> Predicate:
        self.take("(")
        column, operand = self.path(self.take()[1])
        self.take(",")
        kind, raw = self.take()
        if kind != "string":
            raise syntax_error(f"The function {name} takes a string literal in '{self.text}'.")
        self.take(")")
        if column.kind not in ("string", "memo"):
            raise syntax_error(f"The function {name} applies to text columns; {column.name} is not one.")
        needle = raw[1:-1].replace("''", "'").lower()
        test: Callable[[str], bool] = {"contains": lambda s: needle in s, "startswith": lambda s: s.startswith(needle),
                                       "endswith": lambda s: s.endswith(needle)}[name]

        def matches(row: Row, get: Resolve) -> bool:
            value = operand(row, get)
            return isinstance(value, str) and test(value.lower())
        return matches

    def in_function(self) -> Predicate:
        self.take("(")
        self.take("propertyname")
        self.take("=")
        column = self.column(self.take()[1][1:-1])
        self.take(",")
        self.take("propertyvalues")
        self.take("=")
        self.take("[")
        values: list[Any] = []
        while True:
            values.append(self.literal(column, quoted_numbers=True))
            if self.take()[1] == "]":
                break
        self.take(")")
        return lambda row, get: any(_equal(row.get(column.name), v) for v in values)

    def column(self, name: str) -> Column:
        if name.startswith("_") and name.endswith("_value"):
            column = self.table.column(name[1:-6])
            if column is not None and column.kind in ("lookup", "owner"):
                return column
        column = self.table.column(name)
        if column is None or column.kind in ("lookup", "owner"):
            raise unknown_query_property(name, self.table.logical)
        return column

    def literal(self, column: Column, *, quoted_numbers: bool = False) -> Any:
        kind, raw = self.take()
        if kind == "name" and raw.lower() == "null":
            return None
        if kind == "name" and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if kind == "dstring":
            kind, text = "string", raw[1:-1].replace('\\"', '"')
        else:
            text = raw[1:-1].replace("''", "'") if kind == "string" else raw
        target = column.kind
        try:
            if target in ("integer", "picklist", "state", "status", "bigint"):
                if kind == "string" and not quoted_numbers:
                    raise ValueError(text)
                return int(text)
            if target in ("decimal", "money"):
                return Decimal(text)
            if target == "datetime":
                return parse_datetime(text, column.name)
            if target == "dateonly":
                return date.fromisoformat(text[:10])
            if target in ("uniqueidentifier", "lookup", "owner"):
                return text.lower()
            if target == "boolean":
                raise ValueError(text)
        except (ValueError, ArithmeticError, DataverseError):
            raise syntax_error(f"A binary operator with incompatible types was detected. Found operand types "
                               f"'{column.kind}' and '{kind}' for {self.table.logical}.{column.name} in "
                               f"'{self.text}'.") from None
        if kind != "string":
            raise syntax_error(f"A binary operator with incompatible types was detected: {column.name} is text "
                               f"and '{raw}' is not a string literal.")
        return text


def _key(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _equal(stored: Any, literal: Any) -> bool:
    if stored is None or literal is None:
        return stored is None and literal is None
    return bool(_key(stored) == _key(literal))


def _follow(row: Row, get: Resolve, lookup: str, table: str, inner: Operand) -> Any:
    target_id = row.get(lookup)
    target = get(table, str(target_id)) if target_id else None
    return None if target is None else inner(target, get)


def _compare(left: Operand, op: str, right: Operand) -> Predicate:
    if op == "eq":
        return lambda row, get: _equal(left(row, get), right(row, get))
    if op == "ne":
        return lambda row, get: not _equal(left(row, get), right(row, get))

    def ordered(row: Row, get: Resolve) -> bool:
        stored, literal = left(row, get), right(row, get)
        if stored is None or literal is None:
            return False
        if isinstance(stored, datetime) and isinstance(literal, date) and not isinstance(literal, datetime):
            stored = stored.date()
        a, b = _key(stored), _key(literal)
        return bool({"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op])
    return ordered


def compile_filter(table: Table, text: str) -> Predicate:
    return _Parser(table, text).parse()
