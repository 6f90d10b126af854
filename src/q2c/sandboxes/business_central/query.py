"""OData query options over stored rows: `$filter`, `$orderby`, `$select` and `$expand`.

`$filter` takes the comparison operators `eq ne gt ge lt le`, `and`, `or`, `not`, parentheses, `in (...)`
and the functions `contains`, `startswith`, `endswith` (documented in "Using filter expressions in OData
URIs", which also says `in` works only with `$schemaversion=2.1`: without it `in` is refused here). Literals are
'quoted strings' ('' escapes a quote), numbers, true/false/null, bare GUIDs, dates and datetimes; a literal
is read as the kind of the property it is compared with.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from q2c.sandboxes.business_central.schema import BOOL, DATE, DATETIME, DEC, GUID, INT, EntitySet
from q2c.sandboxes.business_central.wire import BcError, bad_request

Predicate = Callable[[dict[str, Any]], bool]
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[^\s(),']+))")
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}


def coerce(kind: str, raw: Any, where: str) -> Any:
    """A literal or a JSON value as a value of `kind`; a clear 400 when it is not one."""
    if raw is None:
        return None
    try:
        if kind == DEC:
            if isinstance(raw, bool):
                raise ValueError
            return Decimal(str(raw)) if not isinstance(raw, Decimal) else raw
        if kind == INT:
            if isinstance(raw, bool) or (isinstance(raw, Decimal) and raw != raw.to_integral_value()):
                raise ValueError
            return int(raw)
        if kind == BOOL:
            if isinstance(raw, bool):
                return raw
            if raw in ("true", "false"):
                return raw == "true"
            raise ValueError
        if kind == DATE:
            return raw if isinstance(raw, date) and not isinstance(raw, datetime) else date.fromisoformat(str(raw))
        if kind == DATETIME:
            value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            if value.tzinfo is None:
                raise ValueError
            return value
        if kind == GUID:
            text = str(raw).strip("{}").lower()
            if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text):
                raise ValueError
            return text
        if not isinstance(raw, str):
            raise ValueError
        return raw
    except (ValueError, InvalidOperation, TypeError):
        edm = {DEC: "Edm.Decimal", INT: "Edm.Int32", BOOL: "Edm.Boolean", DATE: "Edm.Date",
               DATETIME: "Edm.DateTimeOffset", GUID: "Edm.Guid"}.get(kind, "Edm.String")
        raise bad_request(f"Cannot convert the literal '{raw}' to the expected type '{edm}' ({where}).") from None


@dataclass
class _Literal:
    text: str
    quoted: bool


class _Parser:
    def __init__(self, spec: EntitySet, text: str, schema_version: str) -> None:
        self.spec = spec
        self.text = text
        self.schema_version = schema_version
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise self.error(pos)
            kind = match.lastgroup or "word"
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.at = 0

    def error(self, pos: int | None = None) -> BcError:
        where = pos if pos is not None else self.at
        return bad_request(f"Syntax error at position {where} in '{self.text}'.")

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise self.error(len(self.text))
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        if self.take()[1] != text:
            raise self.error()

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.at != len(self.tokens):
            raise self.error()
        return predicate

    def disjunction(self) -> Predicate:
        left = self.conjunction()
        while self.peek() == "or":
            self.take()
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Predicate:
        left = self.unary()
        while self.peek() == "and":
            self.take()
            left = _both(left, self.unary())
        return left

    def unary(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            inner = self.unary()
            return lambda row: not inner(row)
        if self.peek() == "(":
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.comparison()

    def property(self, name: str) -> str:
        if self.spec.prop(name) is None:
            raise bad_request(f"Could not find a property named '{name}' on type 'Microsoft.NAV.{self.spec.entity}'.")
        return name

    def literal(self) -> _Literal:
        kind, text = self.take()
        if kind == "str":
            return _Literal(text[1:-1].replace("''", "'"), True)
        if kind != "word":
            raise self.error()
        return _Literal(text, False)

    def value(self, name: str, literal: _Literal) -> Any:
        prop = self.spec.prop(name)
        assert prop is not None
        if not literal.quoted and literal.text == "null":
            return None
        return coerce(prop.kind, literal.text, f"$filter on {name}")

    def comparison(self) -> Predicate:
        kind, word = self.take()
        if kind != "word":
            raise self.error()
        if word in ("contains", "startswith", "endswith"):
            self.expect("(")
            name = self.property(self.take()[1])
            self.expect(",")
            needle = self.literal().text.lower()
            self.expect(")")
            test: Callable[[str], bool] = {"contains": lambda v: needle in v, "startswith": lambda v: v.startswith(
                needle), "endswith": lambda v: v.endswith(needle)}[word]
            return lambda row: test(str(row.get(name, "")).lower())
        name = self.property(word)
        op = self.take()[1]
        if op == "in":
            if self.schema_version != "2.1":
                raise bad_request(f"The 'in' operator in '{self.text}' is only supported with $schemaversion=2.1.")
            self.expect("(")
            values = [self.value(name, self.literal())]
            while self.peek() == ",":
                self.take()
                values.append(self.value(name, self.literal()))
            self.expect(")")
            return lambda row: _norm(row.get(name)) in [_norm(v) for v in values]
        if op not in _COMPARE:
            raise self.error()
        wanted = self.value(name, self.literal())
        return lambda row: _compare(op, row.get(name), wanted)


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda row: a(row) or b(row)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda row: a(row) and b(row)


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(op: str, have: Any, wanted: Any) -> bool:
    have, wanted = _norm(have), _norm(wanted)
    if op == "eq":
        return bool(have == wanted)
    if op == "ne":
        return bool(have != wanted)
    if have is None or wanted is None:
        return False
    try:
        return bool({"gt": have > wanted, "ge": have >= wanted, "lt": have < wanted, "le": have <= wanted}[op])
    except TypeError:
        return False


def parse_filter(spec: EntitySet, text: str, schema_version: str = "") -> Predicate:
    return _Parser(spec, text, schema_version).parse()


def order_rows(spec: EntitySet, rows: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Rows sorted by `$orderby` (stable, so equal keys keep the table's order)."""
    for clause in reversed([c.strip() for c in text.split(",") if c.strip()]):
        parts = clause.split()
        name = parts[0]
        if spec.prop(name) is None or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
            raise bad_request(f"Could not find a property named '{name}' on type 'Microsoft.NAV.{spec.entity}'.")
        rows.sort(key=_sort_key(name), reverse=len(parts) == 2 and parts[1] == "desc")
    return rows


def _sort_key(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda row: (row.get(name) is None, _norm(row.get(name)))


def parse_select(spec: EntitySet, text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if spec.prop(name) is None:
            raise bad_request(f"Could not find a property named '{name}' on type 'Microsoft.NAV.{spec.entity}'.")
    return names


def split_top(text: str, sep: str) -> list[str]:
    """`text` split at `sep` outside parentheses (`$expand=a($select=x;$expand=b),c`)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise bad_request(f"Syntax error in '{text}': unbalanced parentheses.")
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_expand(text: str) -> dict[str, dict[str, str]]:
    """Navigation property -> its nested options (`$select`, `$filter`, `$expand`)."""
    out: dict[str, dict[str, str]] = {}
    for item in split_top(text, ","):
        name, _, rest = item.partition("(")
        options: dict[str, str] = {}
        if rest:
            for option in split_top(rest[:-1], ";"):
                key, _, value = option.partition("=")
                options[key.strip()] = value.strip()
        out[name.strip()] = options
    return out
