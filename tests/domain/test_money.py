"""Money: ISO 4217 currencies only, no binary float error, no silent FX, rounding by minor unit."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from q2c.domain.money import (
    Money,
    Rounding,
    UnknownCurrency,
    check_currency,
    currency_exponent,
    quantize,
    to_decimal,
)

CURRENCIES = ["USD", "EUR", "GBP", "JPY", "BHD", "KWD", "CLP"]

currencies = st.sampled_from(CURRENCIES)
plain_amounts = st.decimals(min_value=Decimal("-1000000000"), max_value=Decimal("1000000000"), places=4,
                            allow_nan=False, allow_infinity=False)
roundings = st.sampled_from(list(Rounding))


def unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


# --- currencies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "exponent"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("CLP", 0), ("BHD", 3),
                                                ("KWD", 3)])
def test_currency_exponent_is_the_iso_minor_unit(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


def test_lower_case_code_is_normalised() -> None:
    assert check_currency("usd") == "USD"
    assert check_currency("Eur") == "EUR"
    assert Money.of("1", "jpy").currency == "JPY"


def test_unknown_code_is_refused_by_name() -> None:
    with pytest.raises(UnknownCurrency, match="'XYZ' is not an ISO 4217 currency code"):
        check_currency("XYZ")


@pytest.mark.parametrize("code", ["XAU", "XDR", "XAG"])
def test_metals_and_funds_are_not_invoiceable(code: str) -> None:
    with pytest.raises(UnknownCurrency, match=f"'{code}' has no minor unit and cannot be invoiced"):
        check_currency(code)


@pytest.mark.parametrize("code", ["US", "USDD", "U$D", "U1D", "", " USD"])
def test_code_must_be_three_letters(code: str) -> None:
    with pytest.raises(UnknownCurrency, match="three-letter ISO 4217"):
        check_currency(code)


@pytest.mark.parametrize("code", [None, 840, b"USD"])
def test_non_string_code_is_refused(code: Any) -> None:
    with pytest.raises(UnknownCurrency):
        check_currency(code)


def test_unknown_currency_is_a_value_error_so_pydantic_reports_it() -> None:
    assert issubclass(UnknownCurrency, ValueError)
    with pytest.raises(ValidationError, match="XYZ"):
        Money(amount=Decimal(1), currency="XYZ")
    with pytest.raises(ValidationError, match="cannot be invoiced"):
        Money.of(1, "XAU")


# --- parsing amounts ----------------------------------------------------------------------------


def test_float_from_a_payload_keeps_the_decimal_the_vendor_meant() -> None:
    vendor_hours = 2.11
    assert Decimal(vendor_hours) != Decimal("2.11")  # the trap being avoided
    parsed = to_decimal(2.11)
    assert parsed == Decimal("2.11")
    assert parsed.as_tuple() == Decimal("2.11").as_tuple()
    assert Money.of(0.1, "USD").amount + Money.of(0.2, "USD").amount == Decimal("0.3")
    assert Money(amount=vendor_hours, currency="USD").amount == Decimal("2.11")


def test_strings_keep_their_scale_and_may_carry_whitespace() -> None:
    assert to_decimal(" 12.50 ").as_tuple() == Decimal("12.50").as_tuple()
    assert to_decimal("1E+3") == Decimal(1000)
    assert to_decimal(7) == Decimal(7)


def test_decimal_is_passed_through_unchanged() -> None:
    value = Decimal("3.1400")
    assert to_decimal(value) is value


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_refused_naming_the_field(value: bool) -> None:
    with pytest.raises(ValueError, match=r"^hours must be a number, got a boolean$"):
        to_decimal(value, what="hours")
    with pytest.raises(ValidationError, match="amount must be a number, got a boolean"):
        Money(amount=value, currency="USD")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "NaN", "Infinity", "-inf", "sNaN",
                                   Decimal("NaN"), Decimal("-Infinity")])
def test_nan_and_infinity_are_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^rate must be finite, got "):
        to_decimal(value, what="rate")


@pytest.mark.parametrize("value", ["", "abc", "12,50", "1.2.3"])
def test_text_that_is_not_a_number_is_refused_with_its_value(value: str) -> None:
    with pytest.raises(ValueError, match=f"^unit price '{value}' is not a number$"):
        to_decimal(value, what="unit price")


@pytest.mark.parametrize(("value", "kind"), [(None, "NoneType"), ([1], "list"), ({"amount": 1}, "dict")])
def test_other_types_are_refused_naming_the_type(value: Any, kind: str) -> None:
    with pytest.raises(ValueError, match=f"^amount must be a number, got {kind}$"):
        to_decimal(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_parses_to_its_shortest_repr(value: float) -> None:
    parsed = to_decimal(value)
    assert parsed == Decimal(repr(value))
    assert float(parsed) == value


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_text_parses_back_exactly(value: Decimal) -> None:
    assert to_decimal(str(value)).as_tuple() == value.as_tuple()


# --- arithmetic ---------------------------------------------------------------------------------


def test_arithmetic_keeps_full_precision_until_rounded() -> None:
    a = Money.of("10.005", "USD")
    b = Money.of("0.001", "USD")
    assert (a + b).amount == Decimal("10.006")
    assert (a - b).amount == Decimal("10.004")
    assert (-a).amount == Decimal("-10.005")
    assert a.times(Decimal("0.3333")).amount == Decimal("3.3346665")
    assert (a + b).currency == "USD"


def test_zero_is_the_additive_identity() -> None:
    assert Money.zero("JPY") == Money.of(0, "JPY")
    assert Money.of("5.5", "EUR") + Money.zero("EUR") == Money.of("5.5", "EUR")


@pytest.mark.parametrize("op", ["+", "-", "<", "<=", ">", ">="])
def test_mixed_currencies_are_refused_without_an_fx_rate(op: str) -> None:
    usd, eur = Money.of(1, "USD"), Money.of(1, "EUR")
    operations: dict[str, Callable[[], object]] = {
        "+": lambda: usd + eur, "-": lambda: usd - eur, "<": lambda: usd < eur,
        "<=": lambda: usd <= eur, ">": lambda: usd > eur, ">=": lambda: usd >= eur,
    }
    with pytest.raises(ValueError, match=r"cannot combine (USD with EUR|EUR with USD) without an FX rate"):
        operations[op]()


def test_comparison_within_one_currency() -> None:
    small, large = Money.of("1.00", "USD"), Money.of("1.01", "USD")
    assert small < large and small <= large and large > small and large >= small
    assert small <= Money.of("1", "USD")
    assert not large < small


def test_equality_is_by_value_and_currency() -> None:
    assert Money.of("1.0", "USD") == Money.of("1.00", "USD")
    assert hash(Money.of("1.0", "USD")) == hash(Money.of("1.00", "USD"))
    assert Money.of(1, "USD") != Money.of(1, "EUR")


def test_money_is_immutable() -> None:
    money = Money.of(1, "USD")
    with pytest.raises(ValidationError):
        money.amount = Decimal(2)  # type: ignore[misc]


@given(currencies, plain_amounts, plain_amounts, plain_amounts)
def test_addition_is_associative_and_commutative_within_one_currency(currency: str, x: Decimal, y: Decimal,
                                                                       z: Decimal) -> None:
    a, b, c = Money.of(x, currency), Money.of(y, currency), Money.of(z, currency)
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert a + b - b == a
    assert a - a == Money.zero(currency)
    negated = -a
    assert -negated == a and negated + a == Money.zero(currency)


@given(currencies, plain_amounts, plain_amounts)
def test_adding_a_non_negative_amount_never_decreases(currency: str, x: Decimal, y: Decimal) -> None:
    a, b = Money.of(x, currency), Money.of(abs(y), currency)
    assert a <= a + b


# --- rounding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "currency", "half_up", "bankers"), [
    ("0.125", "USD", "0.13", "0.12"),
    ("0.135", "USD", "0.14", "0.14"),
    ("-0.125", "USD", "-0.13", "-0.12"),
    ("0.124999", "USD", "0.12", "0.12"),
    ("2.5", "JPY", "3", "2"),
    ("3.5", "JPY", "4", "4"),
    ("1234.4", "JPY", "1234", "1234"),
    ("1.0005", "BHD", "1.001", "1.000"),
    ("1.0015", "BHD", "1.002", "1.002"),
    ("7", "BHD", "7.000", "7.000"),
])
def test_quantize_to_the_currency_minor_unit(amount: str, currency: str, half_up: str, bankers: str) -> None:
    up = quantize(Decimal(amount), currency, Rounding.HALF_UP)
    even = quantize(Decimal(amount), currency, Rounding.BANKERS)
    assert up.as_tuple() == Decimal(half_up).as_tuple()
    assert even.as_tuple() == Decimal(bankers).as_tuple()
    assert Money.of(amount, currency).rounded().amount.as_tuple() == Decimal(half_up).as_tuple()
    assert Money.of(amount, currency).rounded(Rounding.BANKERS).amount.as_tuple() == Decimal(bankers).as_tuple()


def test_half_up_is_the_default() -> None:
    assert quantize(Decimal("0.005"), "USD") == Decimal("0.01")
    assert Money.of("0.005", "USD").rounded() == Money.of("0.01", "USD")


def test_rounding_modes_map_to_decimal_modes() -> None:
    assert Rounding.HALF_UP.decimal_mode == "ROUND_HALF_UP"
    assert Rounding.BANKERS.decimal_mode == "ROUND_HALF_EVEN"
    assert Rounding("bankers") is Rounding.BANKERS


@given(currencies, plain_amounts, roundings)
def test_quantize_is_idempotent_and_within_half_a_minor_unit(currency: str, amount: Decimal,
                                                             rounding: Rounding) -> None:
    once = quantize(amount, currency, rounding)
    assert quantize(once, currency, rounding) == once
    assert once.as_tuple().exponent == -currency_exponent(currency)
    assert abs(once - amount) <= unit(currency) / 2


@given(currencies, plain_amounts, roundings)
def test_rounding_is_symmetric_around_zero(currency: str, amount: Decimal, rounding: Rounding) -> None:
    assert quantize(-amount, currency, rounding) == -quantize(amount, currency, rounding)


@given(currencies, plain_amounts)
def test_half_up_and_bankers_differ_only_on_ties_by_one_minor_unit(currency: str, amount: Decimal) -> None:
    up = quantize(amount, currency, Rounding.HALF_UP)
    even = quantize(amount, currency, Rounding.BANKERS)
    if up != even:
        assert abs(up - even) == unit(currency)
        assert abs(amount - even) == unit(currency) / 2  # a tie


@given(currencies, st.integers(min_value=-10**12, max_value=10**12))
def test_amounts_already_in_minor_units_are_unchanged(currency: str, minor: int) -> None:
    amount = Decimal(minor).scaleb(-currency_exponent(currency))
    assert quantize(amount, currency, Rounding.HALF_UP) == amount
    assert quantize(amount, currency, Rounding.BANKERS) == amount


# --- display and serialisation ------------------------------------------------------------------


def test_str_shows_the_currency_and_its_minor_unit() -> None:
    assert str(Money.of("1234.5", "USD")) == "USD 1,234.50"
    assert str(Money.of("1234", "JPY")) == "JPY 1,234"
    assert str(Money.of("1.25", "BHD")) == "BHD 1.250"
    assert str(Money.of("-10", "EUR")) == "EUR -10.00"


def test_str_of_an_unrounded_amount_agrees_with_the_invoiced_rounding() -> None:
    for amount, currency in [("0.125", "USD"), ("2.5", "JPY")]:
        money = Money.of(amount, currency)
        assert str(money) == str(money.rounded())


@given(currencies, st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=6,
                               allow_nan=False, allow_infinity=False))
def test_json_round_trip_keeps_the_exact_decimal(currency: str, amount: Decimal) -> None:
    money = Money.of(amount, currency)
    back = Money.model_validate_json(money.model_dump_json())
    assert back == money
    assert back.amount.as_tuple() == money.amount.as_tuple()
    assert money.model_dump(mode="json") == {"amount": str(amount), "currency": currency}
