"""SOQL, the subset q2c speaks: literals for the queries the connector builds, and a parser for the sandbox.

The connector renders every value through `literal()`, so a name with an apostrophe can never
break or widen a query. The parser understands exactly what the connector and the tests send:

    SELECT field, Relationship.field, ... FROM Object
    [WHERE cond AND cond ...] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

with `cond` one of `=, !=, <>, <, <=, >, >=, LIKE, IN (...), NOT IN (...)` against a string, number,
boolean, null, date or datetime literal. Anything else (OR, NOT, parentheses, sub-queries,
aggregates, date literals such as TODAY, bind variables) raises `SoqlSyntaxError` naming the
construct, which the sandbox answers as Salesforce does: 400 MALFORMED_QUERY.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

Operator = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "IN", "NOT IN"]
LiteralValue = str | Decimal | bool | date | datetime | None


class SoqlSyntaxError(ValueError):
    """The query is not SOQL, or uses SOQL this subset does not understand."""

    def __init__(self, problem: str, query: str, position: int) -> None:
        self.problem = problem
        self.position = position
        line_start = query.rfind("\n", 0, position) + 1
        self.row = query.count("\n", 0, position) + 1
        self.column = position - line_start + 1
        super().__init__(f"ERROR at Row:{self.row}:Column:{self.column}\n{problem}")


# --- rendering (the connector side) ----------------------------------------------------------

_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
            "\f": "\\f"}


def literal(value: str | int | Decimal | bool | date | datetime | None) -> str:
    """Render a Python value as a SOQL literal. Floats are refused: money and hours are Decimal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(f"cannot render {value} in SOQL")
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("SOQL datetimes must carry a timezone")
        moment = value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"
    raise TypeError(f"cannot render {type(value).__name__} as a SOQL literal")


# --- parsing (the sandbox side) --------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    path: str  # field name, possibly dotted through relationships: "Account.Name"
    operator: Operator
    value: LiteralValue | tuple[LiteralValue, ...]
    position: int


@dataclass(frozen=True)
class OrderItem:
    path: str
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class SoqlQuery:
    fields: tuple[str, ...]
    sobject: str
    conditions: tuple[Condition, ...]
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


@dataclass(frozen=True)
class _Token:
    kind: str  # NAME, STRING, NUMBER, DATE, DATETIME, OP, PUNCT, BIND, EOF
    text: str
    position: int
    value: LiteralValue = None


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
  | (?P<number>[+-]?\d+(?:\.\d+)?)(?![\w.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<string>')
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<bind>:)
""", re.VERBOSE)

_STRING_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f",
                   "%": "\\%", "_": "\\_"}

_UNSUPPORTED_KEYWORDS = {
    "OR": "OR between conditions",
    "NOT": "NOT before a condition (only NOT IN is supported)",
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "WITH": "WITH clauses",
    "FOR": "FOR VIEW/REFERENCE/UPDATE",
    "USING": "USING SCOPE",
    "TYPEOF": "TYPEOF",
    "INCLUDES": "INCLUDES (multi-select picklists)",
    "EXCLUDES": "EXCLUDES (multi-select picklists)",
}
_CLAUSE_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "LIMIT", "OFFSET", "ASC", "DESC",
                    "NULLS", "FIRST", "LAST", "IN", "LIKE", "NOT", "OR", "TRUE", "FALSE", "NULL"}
_AGGREGATES = {"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX", "FIELDS", "FORMAT", "TOLABEL",
               "CONVERTCURRENCY", "CALENDAR_YEAR", "CALENDAR_MONTH", "DAY_ONLY", "GROUPING"}


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None:
            raise SoqlSyntaxError(f"unexpected character {query[pos]!r}", query, pos)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "ws":
            pos = match.end()
            continue
        if kind == "string":
            value, end = _read_string(query, pos)
            tokens.append(_Token("STRING", query[pos:end], pos, value))
            pos = end
            continue
        if kind == "datetime":
            tokens.append(_Token("DATETIME", text, pos, _parse_datetime(text, query, pos)))
        elif kind == "date":
            try:
                tokens.append(_Token("DATE", text, pos, date.fromisoformat(text)))
            except ValueError:
                raise SoqlSyntaxError(f"invalid date: {text}", query, pos) from None
        elif kind == "number":
            tokens.append(_Token("NUMBER", text, pos, Decimal(text)))
        else:
            tokens.append(_Token(kind.upper(), text, pos))
        pos = match.end()
    tokens.append(_Token("EOF", "<EOF>", len(query)))
    return tokens


def _read_string(query: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    pos = start + 1
    while pos < len(query):
        ch = query[pos]
        if ch == "'":
            return "".join(out), pos + 1
        if ch == "\\":
            nxt = query[pos + 1: pos + 2]
            if nxt not in _STRING_ESCAPES:
                raise SoqlSyntaxError(f"invalid escape sequence \\{nxt} in string literal", query, pos)
            out.append(_STRING_ESCAPES[nxt])
            pos += 2
            continue
        out.append(ch)
        pos += 1
    raise SoqlSyntaxError("unterminated string literal", query, start)


def _parse_datetime(text: str, query: str, pos: int) -> datetime:
    normal = text[:-1] + "+00:00" if text.endswith("Z") else text
    if re.search(r"[+-]\d{4}$", normal):
        normal = normal[:-2] + ":" + normal[-2:]
    try:
        return datetime.fromisoformat(normal).astimezone(UTC)
    except ValueError:
        raise SoqlSyntaxError(f"invalid datetime: {text}", query, pos) from None


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokens(query)
        self.index = 0

    # token plumbing ----------------------------------------------------------------------
    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "EOF":
            self.index += 1
        return token

    def is_keyword(self, *words: str) -> bool:
        token = self.current
        return token.kind == "NAME" and token.text.upper() in words

    def expect_keyword(self, word: str) -> _Token:
        if not self.is_keyword(word):
            self.fail(f"expected {word}")
        return self.advance()

    def fail(self, problem: str, token: _Token | None = None) -> None:
        token = token or self.current
        raise SoqlSyntaxError(f"{problem}, found '{token.text}'", self.query, token.position)

    def unsupported(self, what: str, token: _Token | None = None) -> None:
        token = token or self.current
        raise SoqlSyntaxError(f"unsupported SOQL: {what} is outside the supported subset", self.query,
                              token.position)

    def check_unsupported_keyword(self) -> None:
        token = self.current
        if token.kind == "NAME" and token.text.upper() in _UNSUPPORTED_KEYWORDS:
            upper = token.text.upper()
            if upper == "NOT" and self.tokens[self.index + 1].text.upper() == "IN":
                return
            self.unsupported(_UNSUPPORTED_KEYWORDS[upper])

    # grammar -----------------------------------------------------------------------------
    def parse(self) -> SoqlQuery:
        self.expect_keyword("SELECT")
        fields = self.select_list()
        self.expect_keyword("FROM")
        sobject_token = self.advance()
        if sobject_token.kind != "NAME" or "." in sobject_token.text:
            self.fail("expected an object name after FROM", sobject_token)
        if self.current.kind == "PUNCT" and self.current.text == ",":
            self.unsupported("more than one object in FROM")
        conditions: list[Condition] = []
        order_by: list[OrderItem] = []
        limit: int | None = None
        offset: int | None = None
        self.check_unsupported_keyword()
        if self.is_keyword("WHERE"):
            self.advance()
            conditions.append(self.condition())
            while True:
                self.check_unsupported_keyword()
                if not self.is_keyword("AND"):
                    break
                self.advance()
                conditions.append(self.condition())
        self.check_unsupported_keyword()
        if self.is_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order_by.append(self.order_item())
            while self.current.kind == "PUNCT" and self.current.text == ",":
                self.advance()
                order_by.append(self.order_item())
        self.check_unsupported_keyword()
        if self.is_keyword("LIMIT"):
            self.advance()
            limit = self.integer("LIMIT")
        if self.is_keyword("OFFSET"):
            self.advance()
            offset = self.integer("OFFSET")
        self.check_unsupported_keyword()
        if self.current.kind != "EOF":
            self.fail("unexpected token")
        return SoqlQuery(tuple(fields), sobject_token.text, tuple(conditions), tuple(order_by), limit, offset)

    def select_list(self) -> list[str]:
        fields = [self.select_item()]
        while self.current.kind == "PUNCT" and self.current.text == ",":
            self.advance()
            fields.append(self.select_item())
        return fields

    def select_item(self) -> str:
        token = self.current
        if token.kind == "PUNCT" and token.text == "(":
            self.unsupported("a relationship sub-query in SELECT")
        self.check_unsupported_keyword()
        if token.kind != "NAME" or token.text.upper() in {"FROM", "WHERE"}:
            self.fail("expected a field name")
        self.advance()
        if self.current.kind == "PUNCT" and self.current.text == "(":
            self.unsupported(f"the function {token.text.upper()}()", token)
        if token.text.upper() in _AGGREGATES:
            self.unsupported(f"the function {token.text.upper()}()", token)
        if self.current.kind == "NAME" and not self.is_keyword("FROM"):
            self.unsupported("field aliases", self.current)
        return token.text

    def field_path(self, what: str) -> _Token:
        token = self.current
        if token.kind == "PUNCT" and token.text == "(":
            self.unsupported("parenthesised conditions")
        self.check_unsupported_keyword()
        if token.kind != "NAME" or token.text.upper() in _CLAUSE_KEYWORDS:
            self.fail(f"expected a field name in {what}")
        self.advance()
        if self.current.kind == "PUNCT" and self.current.text == "(":
            self.unsupported(f"the function {token.text.upper()}() in {what}", token)
        return token

    def condition(self) -> Condition:
        field = self.field_path("WHERE")
        op_token = self.current
        if op_token.kind == "OP":
            self.advance()
            text = "!=" if op_token.text == "<>" else op_token.text
            value = self.value()
            if value is None and text not in {"=", "!="}:
                self.fail(f"null can only be compared with = or !=, not {text}", op_token)
            return Condition(field.text, text, value, field.position)  # type: ignore[arg-type]
        if self.is_keyword("LIKE"):
            self.advance()
            value_token = self.current
            value = self.value()
            if not isinstance(value, str):
                self.fail("LIKE needs a quoted string pattern", value_token)
            return Condition(field.text, "LIKE", value, field.position)
        negated = False
        if self.is_keyword("NOT"):
            self.advance()
            negated = True
            if not self.is_keyword("IN"):
                self.unsupported("NOT other than NOT IN")
        if self.is_keyword("IN"):
            self.advance()
            if not (self.current.kind == "PUNCT" and self.current.text == "("):
                if self.current.kind == "BIND":
                    self.unsupported("bind variables")
                self.fail("expected ( after IN")
            self.advance()
            if self.is_keyword("SELECT"):
                self.unsupported("semi-join sub-queries")
            values = [self.value()]
            while self.current.kind == "PUNCT" and self.current.text == ",":
                self.advance()
                values.append(self.value())
            if not (self.current.kind == "PUNCT" and self.current.text == ")"):
                self.fail("expected ) to close the IN list")
            self.advance()
            return Condition(field.text, "NOT IN" if negated else "IN", tuple(values), field.position)
        self.check_unsupported_keyword()
        if self.is_keyword("INCLUDES", "EXCLUDES"):
            self.unsupported(self.current.text.upper())
        self.fail("expected a comparison operator")
        raise AssertionError("unreachable")

    def value(self) -> LiteralValue:
        token = self.current
        if token.kind in {"STRING", "NUMBER", "DATE", "DATETIME"}:
            self.advance()
            return token.value
        if token.kind == "NAME":
            upper = token.text.upper()
            if upper in {"TRUE", "FALSE"}:
                self.advance()
                return upper == "TRUE"
            if upper == "NULL":
                self.advance()
                return None
            self.unsupported(f"the date literal or identifier {token.text} as a value")
        if token.kind == "BIND":
            self.unsupported("bind variables")
        self.fail("expected a literal value")
        raise AssertionError("unreachable")

    def order_item(self) -> OrderItem:
        field = self.field_path("ORDER BY")
        descending = False
        if self.is_keyword("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls_last = descending
        if self.is_keyword("NULLS"):
            self.advance()
            if not self.is_keyword("FIRST", "LAST"):
                self.fail("expected FIRST or LAST after NULLS")
            nulls_last = self.advance().text.upper() == "LAST"
        return OrderItem(field.text, descending, nulls_last)

    def integer(self, clause: str) -> int:
        token = self.current
        if token.kind != "NUMBER" or not token.text.isdigit():
            self.fail(f"{clause} needs a non-negative whole number")
        self.advance()
        return int(token.text)


def parse(query: str) -> SoqlQuery:
    """Parse one SOQL query of the supported subset, or raise `SoqlSyntaxError`."""
    return _Parser(query).parse()
