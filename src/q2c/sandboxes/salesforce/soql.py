"""SOQL as the sandbox reads it: the part of Salesforce's SELECT grammar q2c and simple-salesforce send.

From the SOQL and SOSL Reference ("SOQL SELECT Syntax", "fieldExpression Syntax", "Comparison
Operators", "ORDER BY", "LIMIT", "OFFSET"):

    SELECT fieldList FROM objectType
        [WHERE fieldExpression [AND fieldExpression ...]]
        [ORDER BY field [ASC | DESC] [NULLS FIRST | NULLS LAST], ...]
        [LIMIT n] [OFFSET n]

A field is a name or a path through lookups (`Account.Parent.Name`). A fieldExpression is
`field op value` with op one of = != < <= > >= (null only with = and !=), `field LIKE 'pattern'`,
or `field [NOT] IN (value, ...)`. Literals are in `soql_lexer.py`. Ascending is the default
order and nulls sort first unless NULLS LAST says otherwise.

Everything else SOQL has (OR, NOT, parentheses, sub-queries, functions and aggregates, date
literals such as TODAY, bind variables, GROUP BY, TYPEOF, USING SCOPE, WITH, FOR, `<>`,
INCLUDES/EXCLUDES) is refused with a `SoqlError` that names it: Salesforce runs such queries,
this sandbox does not guess at them, and q2c never sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NoReturn

from q2c.sandboxes.salesforce.soql_lexer import (
    LikePattern,
    SoqlError,
    Token,
    Value,
    decode_string,
    like_pattern,
    tokens,
)

Operator = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "IN", "NOT IN"]
_COMPARISON_OPERATORS: dict[str, Operator] = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
COMPARISONS = tuple(_COMPARISON_OPERATORS)
# SOQL's reserved words (none may name a field), and the clause words of the full grammar
RESERVED = frozenset({"AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES",
                      "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH", "ORDER",
                      "BY", "OFFSET", "TRUE", "FALSE", "USING", "TYPEOF", "FOR", "UPDATE"})
_REFUSED_CLAUSES = {"USING": "USING SCOPE", "WITH": "WITH clauses", "GROUP": "GROUP BY", "HAVING": "HAVING",
                    "FOR": "FOR VIEW, FOR REFERENCE and FOR UPDATE", "UPDATE": "UPDATE TRACKING/VIEWSTAT",
                    "OR": "OR between conditions", "TYPEOF": "TYPEOF"}

__all__ = ["Comparison", "LikePattern", "Operator", "Ordering", "Query", "SoqlError", "Value", "parse"]


@dataclass(frozen=True)
class Comparison:
    field: str
    operator: Operator
    value: Value | LikePattern | tuple[Value, ...]
    at: int


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool
    nulls_last: bool
    at: int = 0


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    sobject: str
    where: tuple[Comparison, ...]
    order_by: tuple[Ordering, ...]
    limit: int | None
    offset: int | None
    text: str = ""  # the query as sent, for errors that point at a row and column
    field_at: tuple[int, ...] = ()  # where each SELECT item starts in `text`


def parse(query: str) -> Query:
    """One query of the subset, or `SoqlError` saying what is wrong or outside the subset."""
    return _Parser(query).query()


class _Parser:
    """Recursive descent over the token list; one method per production."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokens(text)
        self.index = 0

    # --- plumbing -------------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self) -> Token:
        return self.tokens[min(self.index + 1, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.current
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def fail(self, problem: str, token: Token | None = None) -> NoReturn:
        token = token or self.current
        raise SoqlError(f"{problem}, found '{token.text}'", self.text, token.at)

    def refuse(self, construct: str, token: Token | None = None) -> NoReturn:
        token = token or self.current
        raise SoqlError(f"unsupported SOQL: {construct} is outside the sandbox's subset", self.text, token.at)

    def expect_word(self, word: str) -> Token:
        if not self.current.is_word(word):
            self.fail(f"expected {word}")
        return self.advance()

    def refuse_clause(self) -> None:
        for word, construct in _REFUSED_CLAUSES.items():
            if self.current.is_word(word):
                self.refuse(construct)

    # --- productions ----------------------------------------------------------------------
    def query(self) -> Query:
        self.expect_word("SELECT")
        starts = [self.current.at]
        fields = [self.select_item()]
        while self.current.is_symbol(","):
            self.advance()
            starts.append(self.current.at)
            fields.append(self.select_item())
        self.expect_word("FROM")
        sobject = self.object_name()
        where = self.where() if self.current.is_word("WHERE") else ()
        self.refuse_clause()
        order_by = self.order_by() if self.current.is_word("ORDER") else ()
        limit = self.count("LIMIT") if self.current.is_word("LIMIT") else None
        offset = self.count("OFFSET") if self.current.is_word("OFFSET") else None
        self.refuse_clause()
        if self.current.kind != "end":
            self.fail("unexpected token")
        return Query(tuple(fields), sobject, where, order_by, limit, offset, self.text, tuple(starts))

    def select_item(self) -> str:
        token = self.current
        if token.is_symbol("("):
            self.refuse("a relationship sub-query in SELECT")
        if token.is_word("TYPEOF"):
            self.refuse("TYPEOF")
        if token.kind == "word" and self.peek().is_symbol("("):
            self.refuse(f"the function {token.text.upper()}()")
        return self.field_path("SELECT")

    def object_name(self) -> str:
        token = self.advance()
        if token.kind != "word" or self.current.is_symbol("."):
            self.fail("expected an object name after FROM", token)
        if self.current.is_symbol(","):
            self.refuse("more than one object in FROM")
        self.refuse_clause()
        return token.text

    def field_path(self, clause: str) -> str:
        token = self.current
        if token.kind != "word" or token.text.upper() in RESERVED:
            self.fail(f"expected a field name in {clause}")
        parts = [self.advance().text]
        while self.current.is_symbol("."):
            self.advance()
            if self.current.kind != "word":
                self.fail(f"expected a field name after '.' in {clause}")
            parts.append(self.advance().text)
        return ".".join(parts)

    def where(self) -> tuple[Comparison, ...]:
        self.advance()
        conditions = [self.condition()]
        while self.current.is_word("AND"):
            self.advance()
            conditions.append(self.condition())
        return tuple(conditions)

    def condition(self) -> Comparison:
        token = self.current
        if token.is_symbol("("):
            self.refuse("parenthesised conditions")
        if token.is_word("NOT"):
            self.refuse("NOT before a condition (NOT IN is supported)")
        if token.kind == "word" and self.peek().is_symbol("("):
            self.refuse(f"the function {token.text.upper()}() in WHERE")
        field = self.field_path("WHERE")
        operator = self.current
        if operator.is_symbol(*COMPARISONS):
            self.advance()
            value = self.value()
            if value is None and operator.text not in {"=", "!="}:
                self.fail(f"null can only be compared with = or !=, not {operator.text}", operator)
            return Comparison(field, _COMPARISON_OPERATORS[operator.text], value, token.at)
        if operator.is_word("LIKE"):
            self.advance()
            return Comparison(field, "LIKE", self.pattern(), token.at)
        if operator.is_word("IN") or (operator.is_word("NOT") and self.peek().is_word("IN")):
            negated = self.advance().is_word("NOT")
            if negated:
                self.advance()
            return Comparison(field, "NOT IN" if negated else "IN", self.value_list(), token.at)
        self.refuse_operator(operator)

    def refuse_operator(self, token: Token) -> NoReturn:
        if token.is_symbol("<>"):
            self.refuse("the operator <> (SOQL's not-equals is !=)")
        if token.is_word("INCLUDES", "EXCLUDES"):
            self.refuse(f"{token.text.upper()} (multi-select picklists)")
        self.refuse_clause()
        self.fail("expected a comparison operator")

    def pattern(self) -> LikePattern:
        token = self.current
        if token.kind != "string":
            self.fail("LIKE needs a quoted string pattern")
        self.advance()
        return like_pattern(token, self.text)

    def value_list(self) -> tuple[Value, ...]:
        if self.current.is_symbol(":"):
            self.refuse("bind variables")
        if not self.current.is_symbol("("):
            self.fail("expected ( after IN")
        self.advance()
        if self.current.is_word("SELECT"):
            self.refuse("semi-join and anti-join sub-queries")
        values = [self.value()]
        while self.current.is_symbol(","):
            self.advance()
            values.append(self.value())
        if not self.current.is_symbol(")"):
            self.fail("expected ) to close the IN list")
        self.advance()
        return tuple(values)

    def value(self) -> Value:
        token = self.current
        if token.kind == "string":
            self.advance()
            return decode_string(token, self.text)
        if token.kind in {"number", "date", "datetime"}:
            self.advance()
            return token.value
        if token.is_word("TRUE", "FALSE", "NULL"):
            self.advance()
            return None if token.is_word("NULL") else token.is_word("TRUE")
        if token.is_symbol(":"):
            self.refuse("bind variables")
        if token.kind == "word":
            self.refuse(f"the date literal or field name {token.text} as a value")
        self.fail("expected a value")

    def order_by(self) -> tuple[Ordering, ...]:
        self.advance()
        self.expect_word("BY")
        items = [self.ordering()]
        while self.current.is_symbol(","):
            self.advance()
            items.append(self.ordering())
        return tuple(items)

    def ordering(self) -> Ordering:
        token = self.current
        if token.kind == "word" and self.peek().is_symbol("("):
            self.refuse(f"the function {token.text.upper()}() in ORDER BY")
        at = token.at
        field = self.field_path("ORDER BY")
        descending = self.advance().is_word("DESC") if self.current.is_word("ASC", "DESC") else False
        nulls_last = False
        if self.current.is_word("NULLS"):
            self.advance()
            if not self.current.is_word("FIRST", "LAST"):
                self.fail("expected FIRST or LAST after NULLS")
            nulls_last = self.advance().is_word("LAST")
        return Ordering(field, descending, nulls_last, at)

    def count(self, clause: str) -> int:
        self.advance()
        token = self.current
        if token.kind != "number" or not token.text.isdigit():
            self.fail(f"{clause} needs a whole number")
        self.advance()
        return int(token.text)
