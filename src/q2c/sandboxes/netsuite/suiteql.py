"""SuiteQL, the slice of it this sandbox answers: its tokens, its grammar, and its syntax tree.

SuiteQL is SQL-92 with Oracle extensions over NetSuite's analytics tables. The sandbox accepts

    query      := SELECT select_list FROM table [WHERE predicate {AND predicate}]
                  [ORDER BY sort_key {, sort_key}] [;]
    select_list:= '*' | item {, item}
    item       := (column | BUILTIN.DF '(' column ')') [[AS] alias]
    predicate  := column op literal | column [NOT] IN '(' literal {, literal} ')' | column IS [NOT] NULL
    op         := = | <> | != | < | > | <= | >=
    sort_key   := (column | alias) [ASC | DESC]
    literal    := 'text with '' for a quote' | [-]digits[.digits]

Names are case-insensitive and come back lower-case, as NetSuite returns them. Everything else
SQL has (OR, joins and table aliases, functions other than BUILTIN.DF, DISTINCT, GROUP BY,
subqueries) is refused by name rather than guessed at, so a client cannot come to rely on
syntax this sandbox never checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Value = str | Decimal
ErrorKind = Literal["syntax", "unsupported", "table", "field"]


class SuiteQLError(ValueError):
    """A query NetSuite would refuse (syntax, unknown table or field), or one outside this sandbox's slice."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Column:
    name: str
    alias: str
    display: bool = False  # BUILTIN.DF(name): the display name of a reference


@dataclass(frozen=True)
class Predicate:
    column: str
    op: str  # = <> < > <= >= IN, NOT IN, IS NULL, IS NOT NULL
    values: tuple[Value, ...] = ()


@dataclass(frozen=True)
class SortKey:
    name: str  # a column of the table or an alias of the select list
    descending: bool = False


@dataclass(frozen=True)
class Query:
    table: str
    columns: tuple[Column, ...] | None  # None: SELECT *
    where: tuple[Predicate, ...] = ()
    order_by: tuple[SortKey, ...] = ()


# --- tokens -------------------------------------------------------------------------------------

_SCANNER = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_$#]*(?:\.[A-Za-z_][A-Za-z0-9_$#]*)*)
  | (?P<op><>|!=|>=|<=|=|<|>)
  | (?P<punct>[(),*;-])
""", re.VERBOSE)

_KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "ASC", "DESC", "IN", "NOT", "IS", "NULL",
                       "AS"})
# SQL that SuiteQL has and this sandbox refuses, named so the refusal can say what it was
_OUTSIDE = {"OR": "OR", "JOIN": "joins", "LEFT": "joins", "RIGHT": "joins", "INNER": "joins", "OUTER": "joins",
            "CROSS": "joins", "ON": "joins", "DISTINCT": "DISTINCT", "GROUP": "GROUP BY", "HAVING": "HAVING",
            "UNION": "UNION", "LIKE": "LIKE", "BETWEEN": "BETWEEN", "CASE": "CASE", "EXISTS": "subqueries",
            "TOP": "TOP", "FETCH": "FETCH", "OFFSET": "OFFSET", "LIMIT": "LIMIT"}


@dataclass(frozen=True)
class Token:
    kind: str  # keyword, outside, name, string, number, op, punct, end
    text: str
    at: int


def tokens(text: str) -> list[Token]:
    """The query's tokens, ending with an `end` token; names lower-cased, keywords upper-cased."""
    found: list[Token] = []
    at = 0
    while at < len(text):
        match = _SCANNER.match(text, at)
        if match is None:
            raise SuiteQLError("syntax", f"unexpected character {text[at]!r} at position {at}")
        kind = match.lastgroup or ""
        word = match.group()
        if kind == "name" and word.upper() in _KEYWORDS:
            found.append(Token("keyword", word.upper(), at))
        elif kind == "name" and word.upper() in _OUTSIDE:
            found.append(Token("outside", word.upper(), at))
        elif kind == "name":
            found.append(Token("name", word.lower(), at))
        elif kind != "space":
            found.append(Token(kind, word, at))
        at = match.end()
    found.append(Token("end", "", len(text)))
    return found


# --- grammar ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self.pos = 0

    @property
    def next(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.next
        if token.kind == "outside":
            raise SuiteQLError("unsupported", f"{_OUTSIDE[token.text]} is outside the SuiteQL this account answers")
        if token.kind != "end":
            self.pos += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> bool:
        token = self.next
        if token.kind == kind and (text is None or token.text == text):
            self.pos += 1
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.take()
        if token.kind == kind and (text is None or token.text == text):
            return token
        found = token.text or "the end of the query"
        if kind == "end":
            raise SuiteQLError("syntax", f"unexpected {found} at position {token.at}")
        raise SuiteQLError("syntax", f"expected {text or kind} at position {token.at}, found {found}")

    def query(self) -> Query:
        self.expect("keyword", "SELECT")
        columns = self.select_list()
        self.expect("keyword", "FROM")
        table = self.name("a table")
        if self.next.kind == "name":
            raise SuiteQLError("unsupported", "table aliases (and the joins they serve) are outside the SuiteQL "
                                              "this account answers")
        where = self.where() if self.accept("keyword", "WHERE") else ()
        order = self.order_by() if self.accept("keyword", "ORDER") else ()
        self.accept("punct", ";")
        self.expect("end")
        return Query(table, columns, where, order)

    def name(self, what: str) -> str:
        token = self.take()
        if token.kind != "name":
            raise SuiteQLError("syntax", f"expected {what} at position {token.at}, found "
                                         f"{token.text or 'the end of the query'}")
        if "." in token.text:
            raise SuiteQLError("unsupported", f"qualified names such as {token.text} (table aliases, joins) are "
                                              "outside the SuiteQL this account answers")
        return token.text

    def select_list(self) -> tuple[Column, ...] | None:
        if self.accept("punct", "*"):
            return None
        items = [self.select_item()]
        while self.accept("punct", ","):
            items.append(self.select_item())
        return tuple(items)

    def select_item(self) -> Column:
        token = self.next
        if token.kind == "name" and self.tokens[self.pos + 1].text == "(":
            if token.text != "builtin.df":
                raise SuiteQLError("unsupported", f"the function {token.text.upper()} is outside the SuiteQL this "
                                                  "account answers (only BUILTIN.DF is)")
            self.pos += 2
            column = Column(self.name("a column"), "", display=True)
            self.expect("punct", ")")
        else:
            column = Column(self.name("a column"), "")
        alias = self.name("an alias") if self.accept("keyword", "AS") or self.next.kind == "name" else column.name
        return Column(column.name, alias, column.display)

    def where(self) -> tuple[Predicate, ...]:
        found = [self.predicate()]
        while self.accept("keyword", "AND"):
            found.append(self.predicate())
        return tuple(found)

    def predicate(self) -> Predicate:
        column = self.name("a column")
        if self.accept("keyword", "IS"):
            negated = self.accept("keyword", "NOT")
            self.expect("keyword", "NULL")
            return Predicate(column, "IS NOT NULL" if negated else "IS NULL")
        negated = self.accept("keyword", "NOT")
        if self.accept("keyword", "IN"):
            return Predicate(column, "NOT IN" if negated else "IN", self.literal_list())
        if negated:
            raise SuiteQLError("syntax", f"NOT after {column} must be followed by IN")
        op = self.expect("op").text
        return Predicate(column, "<>" if op == "!=" else op, (self.literal(),))

    def literal_list(self) -> tuple[Value, ...]:
        self.expect("punct", "(")
        if self.next.kind == "keyword" and self.next.text == "SELECT":
            raise SuiteQLError("unsupported", "subqueries are outside the SuiteQL this account answers")
        found = [self.literal()]
        while self.accept("punct", ","):
            found.append(self.literal())
        self.expect("punct", ")")
        return tuple(found)

    def literal(self) -> Value:
        negative = self.accept("punct", "-")
        token = self.take()
        if token.kind == "number":
            return -Decimal(token.text) if negative else Decimal(token.text)
        if token.kind == "string" and not negative:
            return token.text[1:-1].replace("''", "'")
        raise SuiteQLError("syntax", f"expected a value at position {token.at}, found "
                                     f"{token.text or 'the end of the query'}")

    def order_by(self) -> tuple[SortKey, ...]:
        self.expect("keyword", "BY")
        keys = [self.sort_key()]
        while self.accept("punct", ","):
            keys.append(self.sort_key())
        return tuple(keys)

    def sort_key(self) -> SortKey:
        name = self.name("a column")
        if self.accept("keyword", "DESC"):
            return SortKey(name, descending=True)
        self.accept("keyword", "ASC")
        return SortKey(name)


def parse(text: str) -> Query:
    """The syntax tree of one query, or `SuiteQLError` saying what NetSuite (or this slice) refuses."""
    return _Parser(text).query()
