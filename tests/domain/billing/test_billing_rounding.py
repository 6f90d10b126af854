"""Rounding per line or per invoice, half-up or banker's, and the bound between the two scopes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from billing_engagement import usd
from hypothesis import given, settings
from hypothesis import strategies as st

from q2c.domain.billing import NotInMinorUnits, Rounding, RoundingPolicy, RoundingScope
from q2c.domain.billing.rounding import minor_unit, require_minor_units, settle_lines, value_under
from q2c.domain.money import Money

PER_LINE = RoundingPolicy()
PER_INVOICE = RoundingPolicy(scope=RoundingScope.PER_INVOICE)

amounts = st.lists(st.decimals(min_value=Decimal("-500"), max_value=Decimal("5000"), places=4), max_size=25)
currencies = st.sampled_from(["USD", "JPY", "BHD"])
policies = st.builds(RoundingPolicy, mode=st.sampled_from(list(Rounding)), scope=st.sampled_from(list(RoundingScope)))


def test_per_line_rounds_each_line_and_adds_them() -> None:
    lines, total = settle_lines([Decimal("10.005"), Decimal("10.005"), Decimal("10.005")], "USD", PER_LINE)
    assert lines == (Decimal("10.01"),) * 3 and total == Decimal("30.03")


def test_per_invoice_rounds_the_total_once_and_spreads_it_by_largest_remainder() -> None:
    lines, total = settle_lines([Decimal("10.005"), Decimal("10.005"), Decimal("10.005")], "USD", PER_INVOICE)
    assert total == Decimal("30.02")  # 30.015 rounded half-up
    assert lines == (Decimal("10.00"), Decimal("10.01"), Decimal("10.01"))  # a tie moves the earlier line
    lines, total = settle_lines([Decimal("1.004"), Decimal("1.004"), Decimal("1.004")], "USD", PER_INVOICE)
    assert total == Decimal("3.01") and lines == (Decimal("1.01"), Decimal("1.00"), Decimal("1.00"))


def test_bankers_rounds_ties_to_even() -> None:
    bankers = RoundingPolicy(mode=Rounding.BANKERS)
    assert settle_lines([Decimal("0.125"), Decimal("0.135")], "USD", bankers)[0] == (Decimal("0.12"),
                                                                                       Decimal("0.14"))
    assert settle_lines([Decimal("0.125"), Decimal("0.135")], "USD", PER_LINE)[0] == (Decimal("0.13"),
                                                                                        Decimal("0.14"))


def test_half_up_is_symmetric_so_a_credit_mirrors_its_invoice() -> None:
    assert settle_lines([Decimal("-0.005")], "USD", PER_LINE)[1] == Decimal("-0.01")


def test_currency_minor_units_are_respected() -> None:
    assert settle_lines([Decimal("100.5")], "JPY", PER_LINE)[1] == Decimal("101")
    assert settle_lines([Decimal("1.0005")], "BHD", PER_LINE)[1] == Decimal("1.001")
    assert minor_unit("JPY") == Decimal(1) and minor_unit("BHD") == Decimal("0.001")


def test_contract_amounts_with_sub_cent_decimals_are_refused() -> None:
    require_minor_units(usd("10.01"), what="cap")
    with pytest.raises(NotInMinorUnits, match=r"phase PH-1 field cap is 10\.005 USD"):
        require_minor_units(usd("10.005"), what="phase PH-1 field cap")
    with pytest.raises(NotInMinorUnits):
        require_minor_units(Money.of("1.5", "JPY"), what="fee")


def test_policy_describes_itself_for_explanations() -> None:
    assert PER_LINE.describe() == "half-up, per line"
    assert RoundingPolicy(mode=Rounding.BANKERS, scope=RoundingScope.PER_INVOICE).describe() == (
        "banker's (half-even), once per invoice")


@settings(max_examples=200, deadline=None)
@given(exact=amounts, currency=currencies, policy=policies)
def test_lines_always_add_up_to_the_total_and_stay_within_one_unit(exact: list[Decimal], currency: str,
                                                                     policy: RoundingPolicy) -> None:
    lines, total = settle_lines(exact, currency, policy)
    unit = minor_unit(currency)
    assert sum(lines, Decimal(0)) == total == value_under(exact, currency, policy)
    for line, a in zip(lines, exact, strict=True):
        assert line == line.quantize(unit)
        assert abs(line - a) < unit
    if policy.scope is RoundingScope.PER_INVOICE:
        assert abs(total - sum(exact, Decimal(0))) <= unit / 2


@settings(max_examples=200, deadline=None)
@given(exact=amounts, currency=currencies, mode=st.sampled_from(list(Rounding)))
def test_per_line_and_per_invoice_totals_differ_by_at_most_half_a_unit_per_line_plus_half(
        exact: list[Decimal], currency: str, mode: Rounding) -> None:
    per_line = settle_lines(exact, currency, RoundingPolicy(mode=mode))[1]
    per_invoice = settle_lines(exact, currency, RoundingPolicy(mode=mode, scope=RoundingScope.PER_INVOICE))[1]
    assert abs(per_line - per_invoice) <= minor_unit(currency) * ((len(exact) + 1) // 2)


def test_the_bound_is_reached() -> None:
    exact = [Decimal("0.015")] * 3  # banker's: each line 0.02, total 0.045 -> 0.04
    bankers = RoundingPolicy(mode=Rounding.BANKERS)
    per_line = settle_lines(exact, "USD", bankers)[1]
    per_invoice = settle_lines(exact, "USD", bankers.model_copy(update={"scope": RoundingScope.PER_INVOICE}))[1]
    assert per_line - per_invoice == Decimal("0.02") == Decimal("0.01") * ((3 + 1) // 2)
