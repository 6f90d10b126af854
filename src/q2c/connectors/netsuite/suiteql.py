"""The slice of SuiteQL that q2c writes, and a small evaluator for it.

The connector only builds queries of one shape: `SELECT columns FROM one table [WHERE simple
conditions joined by AND] [ORDER BY columns]`, with `BUILTIN.DF(column)` for display names.
`quote` builds literals safely on the client side; `parse` and `run` give the sandbox an honest
evaluator for exactly that shape and a clear error for anything outside it, so the connector
cannot come to rely on syntax that was never checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any


def quote(value: str) -> str:
    """A SuiteQL string literal: single quotes, embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def in_list(values: Iterable[str]) -> str:
    """`('a', 'b')` for an IN condition; callers keep lists to a few hundred values."""
    items = [quote(v) for v in values]
    if not items:
        raise ValueError("an IN list needs at least one value")
    return "(" + ", ".join(items) + ")"


class SuiteQLError(ValueError):
    """A query outside the supported subset, or naming an unknown table or column."""


@dataclass(frozen=True)
class Ref:
    """A reference column: the id is the value, the name is what BUILTIN.DF shows."""

    id: str
    name: str


@dataclass(frozen=True)
class Column:
    source: str
    alias: str
    display: bool = False  # BUILTIN.DF(source)


@dataclass(frozen=True)
class Condition:
    column: str
    op: str  # = <> > < >= <= IN NOT IN IS NULL IS NOT NULL
    values: tuple[str | Decimal, ...] = ()


@dataclass(frozen=True)
class Query:
    table: str
    columns: tuple[Column, ...] | None  # None: SELECT *
    where: tuple[Condition, ...]
    order_by: tuple[tuple[str, bool], ...]  # (column, descending)


_TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><>|!=|>=|<=|=|<|>)
  | (?P<punct>[(),*])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
)""", re.VERBOSE)

_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "ORDER", "BY", "ASC", "DESC", "IN", "NOT", "IS",
             "NULL", "AS", "JOIN", "LEFT", "INNER", "GROUP", "HAVING", "UNION", "DISTINCT", "ON"}
_UNSUPPORTED = {"OR", "JOIN", "LEFT", "INNER", "GROUP", "HAVING", "UNION", "DISTINCT", "ON"}


@dataclass
class _Tok:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.rstrip().rstrip(";")
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise SuiteQLError(f"unexpected text at position {pos}: {text[pos:pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "word" and value.upper() in _KEYWORDS:
            tokens.append(_Tok("kw", value.upper()))
        else:
            tokens.append(_Tok(kind, value))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise SuiteQLError("the query ends too early")
        self.pos += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "kw" and tok.text == word:
            self.pos += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            tok = self.peek()
            raise SuiteQLError(f"expected {word}, found {tok.text if tok else 'end of query'}")

    def expect_punct(self, char: str) -> None:
        tok = self.take()
        if tok.kind != "punct" or tok.text != char:
            raise SuiteQLError(f"expected '{char}', found {tok.text!r}")

    def identifier(self) -> str:
        tok = self.take()
        if tok.kind != "word" or "." in tok.text:
            if tok.kind == "kw" and tok.text in _UNSUPPORTED:
                raise SuiteQLError(f"{tok.text} is not supported by this endpoint's query subset")
            raise SuiteQLError(f"expected a column or table name, found {tok.text!r}")
        return tok.text.lower()

    def literal(self) -> str | Decimal:
        tok = self.take()
        if tok.kind == "string":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "number":
            return Decimal(tok.text)
        raise SuiteQLError(f"expected a literal value, found {tok.text!r}")

    def parse(self) -> Query:
        for tok in self.tokens:
            if tok.kind == "kw" and tok.text in _UNSUPPORTED:
                raise SuiteQLError(f"{tok.text} is not supported by this endpoint's query subset")
        self.expect_keyword("SELECT")
        columns = self.select_list()
        self.expect_keyword("FROM")
        table = self.identifier()
        where: list[Condition] = []
        if self.keyword("WHERE"):
            where.append(self.condition())
            while self.keyword("AND"):
                where.append(self.condition())
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDER"):
            self.expect_keyword("BY")
            while True:
                name = self.identifier()
                descending = False
                if self.keyword("DESC"):
                    descending = True
                else:
                    self.keyword("ASC")
                order.append((name, descending))
                comma = self.peek()
                if comma is not None and comma.kind == "punct" and comma.text == ",":
                    self.pos += 1
                    continue
                break
        rest = self.peek()
        if rest is not None:
            raise SuiteQLError(f"unexpected {rest.text!r} after the end of the supported query")
        return Query(table, columns, tuple(where), tuple(order))

    def select_list(self) -> tuple[Column, ...] | None:
        tok = self.peek()
        if tok is not None and tok.kind == "punct" and tok.text == "*":
            self.pos += 1
            return None
        columns: list[Column] = []
        while True:
            tok = self.take()
            if tok.kind == "word" and tok.text.upper() == "BUILTIN.DF":
                self.expect_punct("(")
                source = self.identifier()
                self.expect_punct(")")
                column = Column(source, source, display=True)
            elif tok.kind == "word" and "." not in tok.text:
                source = tok.text.lower()
                column = Column(source, source)
            else:
                raise SuiteQLError(f"expected a column in the select list, found {tok.text!r}")
            if self.keyword("AS"):
                column = Column(column.source, self.identifier(), column.display)
            else:
                alias = self.peek()
                if alias is not None and alias.kind == "word" and "." not in alias.text:
                    column = Column(column.source, self.identifier(), column.display)
            columns.append(column)
            comma = self.peek()
            if comma is not None and comma.kind == "punct" and comma.text == ",":
                self.pos += 1
                continue
            return tuple(columns)

    def condition(self) -> Condition:
        column = self.identifier()
        if self.keyword("IS"):
            negated = self.keyword("NOT")
            self.expect_keyword("NULL")
            return Condition(column, "IS NOT NULL" if negated else "IS NULL")
        negated = self.keyword("NOT")
        if self.keyword("IN"):
            self.expect_punct("(")
            values = [self.literal()]
            while True:
                tok = self.take()
                if tok.kind == "punct" and tok.text == ",":
                    values.append(self.literal())
                    continue
                if tok.kind == "punct" and tok.text == ")":
                    break
                raise SuiteQLError(f"expected ',' or ')' in an IN list, found {tok.text!r}")
            return Condition(column, "NOT IN" if negated else "IN", tuple(values))
        if negated:
            raise SuiteQLError("NOT is only supported as NOT IN or IS NOT NULL")
        tok = self.take()
        if tok.kind != "op":
            raise SuiteQLError(f"expected a comparison after {column}, found {tok.text!r}")
        op = "<>" if tok.text == "!=" else tok.text
        return Condition(column, op, (self.literal(),))


def parse(text: str) -> Query:
    """Parse one query of the supported shape, or raise `SuiteQLError` saying what is not."""
    return _Parser(text).parse()


# --- evaluation ---------------------------------------------------------------------------------


def render(value: Any) -> str | None:
    """A value as SuiteQL returns it: a string (dates M/D/YYYY, booleans T/F), None when null."""
    if value is None:
        return None
    if isinstance(value, Ref):
        return value.id
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, date):
        return f"{value.month}/{value.day}/{value.year}"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    text = render(value)
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _compare(stored: Any, literal: str | Decimal) -> int | None:
    """-1/0/1, or None where SQL would say unknown (a null, or text against a number)."""
    if stored is None:
        return None
    if isinstance(literal, Decimal):
        number = _number(stored)
        if number is None:
            return None
        return (number > literal) - (number < literal)
    text = render(stored)
    assert text is not None
    return (text > literal) - (text < literal)


def _matches(row: Mapping[str, Any], cond: Condition) -> bool:
    stored = row.get(cond.column)
    if cond.op == "IS NULL":
        return stored is None or stored == ""
    if cond.op == "IS NOT NULL":
        return stored is not None and stored != ""
    if cond.op in ("IN", "NOT IN"):
        hits = [_compare(stored, v) for v in cond.values]
        if any(h is None for h in hits):
            return False
        found = any(h == 0 for h in hits)
        return found if cond.op == "IN" else not found
    result = _compare(stored, cond.values[0])
    if result is None:
        return False
    return {"=": result == 0, "<>": result != 0, ">": result > 0, "<": result < 0,
            ">=": result >= 0, "<=": result <= 0}[cond.op]


def _sort_key(value: Any) -> tuple[int, Decimal | str]:
    if value is None:
        return (1, "")  # nulls last, as Oracle does for ascending order
    number = _number(value)
    if number is not None and not isinstance(value, str | Ref):
        return (0, number)
    if isinstance(value, Ref) and number is not None:
        return (0, number)
    if isinstance(value, date):
        return (0, value.isoformat())
    return (0, render(value) or "")


def _key_on(column: str) -> Callable[[Mapping[str, Any]], tuple[int, Decimal | str]]:
    return lambda row: _sort_key(row.get(column))


def run(query: Query, *, columns: Sequence[str], rows: Callable[[], Iterable[Mapping[str, Any]]]
        ) -> list[dict[str, str]]:
    """Filter, order and project rows; returns items with lower-case keys and string values."""
    known = set(columns)
    selected = query.columns or tuple(Column(c, c) for c in columns)
    named = [c.source for c in selected] + [c.column for c in query.where]
    for name in named + [o[0] for o in query.order_by if o[0] not in {c.alias for c in selected}]:
        if name not in known:
            raise SuiteQLError(f"Field '{name}' for record '{query.table}' was not found.")
    matched = [row for row in rows() if all(_matches(row, cond) for cond in query.where)]
    aliases = {c.alias: c for c in selected}
    for name, descending in reversed(query.order_by):
        source = aliases[name].source if name in aliases and name not in known else name
        matched.sort(key=_key_on(source), reverse=descending)
    items: list[dict[str, str]] = []
    for row in matched:
        item: dict[str, str] = {}
        for col in selected:
            value = row.get(col.source)
            if col.display and isinstance(value, Ref):
                text: str | None = value.name
            else:
                text = render(value)
            if text is not None:
                item[col.alias] = text
        items.append(item)
    return items
