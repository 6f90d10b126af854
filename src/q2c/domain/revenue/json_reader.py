"""Reading the JSON the revenue engine stores (recognition snapshots, revenue contract versions): typed
access to one object that names the key path in every refusal.

Amounts and other Decimals are strings (never floats), dates ISO, fractions "n/d", enums by value. A
strict reader (`done`) also refuses keys it did not read, so nothing a writer put there is silently
dropped; each document names its own error (`bad`), so a refusal says which document it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from q2c.domain.money import Money, check_currency

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)
Bad = Callable[[str, str], Exception]


class JsonReader:
    """Typed access to one JSON object, naming the key path in every refusal; it remembers the keys read so
    that `done` can refuse the ones left over."""

    def __init__(self, data: object, path: str, *, bad: Bad, strict: bool = True) -> None:
        if not isinstance(data, Mapping):
            raise bad(path or "(top)", f"expected an object, got {type(data).__name__}")
        self.data = data
        self.path = path
        self.bad = bad
        self.strict = strict
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def done(self) -> None:
        if not self.strict:
            return
        extra = sorted(str(k) for k in self.data if k not in self.seen)
        if extra:
            raise self.bad(self.key(extra[0]), "not a key of this format")

    def raw(self, name: str) -> object:
        if name not in self.data:
            raise self.bad(self.key(name), "missing")
        self.seen.add(name)
        return self.data[name]

    def is_null(self, name: str) -> bool:
        return self.raw(name) is None

    def text(self, name: str) -> str:
        value = self.raw(name)
        if not isinstance(value, str):
            raise self.bad(self.key(name), f"expected a string, got {type(value).__name__}")
        return value

    def opt_text(self, name: str) -> str | None:
        return None if self.is_null(name) else self.text(name)

    def integer(self, name: str) -> int:
        value = self.raw(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.bad(self.key(name), f"expected an integer, got {type(value).__name__}")
        return value

    def opt_integer(self, name: str) -> int | None:
        return None if self.is_null(name) else self.integer(name)

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if not isinstance(value, bool):
            raise self.bad(self.key(name), f"expected true or false, got {type(value).__name__}")
        return value

    def decimal(self, name: str) -> Decimal:
        value = self.raw(name)
        if not isinstance(value, str):
            raise self.bad(self.key(name), f"expected the number as a string (exact), got {type(value).__name__}")
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise self.bad(self.key(name), f"{value!r} is not a decimal number") from None
        if not parsed.is_finite():
            raise self.bad(self.key(name), f"{value!r} is not a finite number")
        return parsed

    def opt_decimal(self, name: str) -> Decimal | None:
        return None if self.is_null(name) else self.decimal(name)

    def day(self, name: str) -> date:
        text = self.text(name)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise self.bad(self.key(name), f"{text!r} is not an ISO date") from None

    def opt_date(self, name: str) -> date | None:
        return None if self.is_null(name) else self.day(name)

    def opt_fraction(self, name: str) -> Fraction | None:
        return None if self.is_null(name) else self.fraction(name)

    def fraction(self, name: str) -> Fraction:
        text = self.text(name)
        num, sep, den = text.partition("/")
        try:
            if not sep:
                raise ValueError(text)
            return Fraction(int(num), int(den))
        except (ValueError, ZeroDivisionError):
            raise self.bad(self.key(name), f"{text!r} is not a fraction n/d") from None

    def enum(self, name: str, kind: type[E], what: str) -> E:
        text = self.text(name)
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise self.bad(self.key(name), f"{text!r} is not {what} ({allowed})") from None

    def currency(self, name: str) -> str:
        code = self.text(name)
        try:
            checked = check_currency(code)
        except ValueError as exc:
            raise self.bad(self.key(name), str(exc)) from None
        if checked != code:
            raise self.bad(self.key(name), f"{code!r} is not an upper-case ISO 4217 code")
        return checked

    def money(self, name: str) -> Money:
        inner = self.obj(name)
        money = Money(amount=inner.decimal("amount"), currency=inner.currency("currency"))
        inner.done()
        return money

    def opt_money(self, name: str) -> Money | None:
        return None if self.is_null(name) else self.money(name)

    def obj(self, name: str) -> JsonReader:
        return self._at(self.raw(name), self.key(name))

    def _at(self, data: object, path: str) -> JsonReader:
        return JsonReader(data, path, bad=self.bad, strict=self.strict)

    def opt_obj(self, name: str) -> JsonReader | None:
        return None if self.is_null(name) else self.obj(name)

    def items(self, name: str, read: Callable[[JsonReader], T]) -> tuple[T, ...]:
        value = self.raw(name)
        if not isinstance(value, list):
            raise self.bad(self.key(name), f"expected a list, got {type(value).__name__}")
        return tuple(read(self._at(item, f"{self.key(name)}[{i}]")) for i, item in enumerate(value))

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.raw(name)
        if not isinstance(value, list):
            raise self.bad(self.key(name), f"expected a list of strings, got {type(value).__name__}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.bad(f"{self.key(name)}[{i}]", f"expected a string, got {type(item).__name__}")
        return tuple(value)
