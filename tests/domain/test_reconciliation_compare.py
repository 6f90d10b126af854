"""`compare` on hand-made sides: every key is matched, held or a drift, and the totals are each side's own.

The pair throughout is a small time pair: (project, hours, amount, currency) by entry id, the tracker on
the left and the ERP on the right.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from q2c.domain.reconciliation import (
    DIFFERENT,
    MISSING_LEFT,
    MISSING_RIGHT,
    Difference,
    Measure,
    Side,
    compare,
)

FIELDS = ("project", "hours", "amount", "currency")
MEASURES = [Measure("hours"), Measure("amount", "currency")]


def row(project: str, hours: str, amount: str | None, currency: str) -> tuple[object, ...]:
    return (project, Decimal(hours), None if amount is None else Decimal(amount), currency)


def sides(left: dict[str, tuple[object, ...]], right: dict[str, tuple[object, ...]]) -> tuple[Side, Side]:
    return Side("Harvest", left), Side("NetSuite", right)


def test_equal_records_match_and_nothing_drifts() -> None:
    same = {"HV-1": row("P-1", "2.5", "375.00", "USD"), "HV-2": row("P-2", "1", "150.00", "EUR")}
    result = compare("time", FIELDS, *sides(dict(same), dict(same)))
    assert (result.matched, result.held, result.drifts, result.compared) == (2, 0, (), 2)
    assert (result.pair, result.left, result.right, result.fields) == ("time", "Harvest", "NetSuite", FIELDS)


def test_a_record_only_the_left_holds_is_missing_on_the_right() -> None:
    left = {"HV-1": row("P-1", "2.5", "375.00", "USD"), "HV-2": row("P-1", "1", "150.00", "USD")}
    right = {"HV-1": row("P-1", "2.5", "375.00", "USD")}
    result = compare("time", FIELDS, *sides(left, right))
    assert result.matched == 1
    [drift] = result.drifts
    assert (drift.pair, drift.key, drift.kind, drift.differences) == ("time", "HV-2", MISSING_RIGHT, ())
    assert drift.left == {"project": "P-1", "hours": Decimal("1"), "amount": Decimal("150.00"), "currency": "USD"}
    assert drift.right is None
    assert drift.headline("Harvest", "NetSuite") == "HV-2: in Harvest, missing in NetSuite"


def test_a_record_only_the_right_holds_is_missing_on_the_left() -> None:
    left = {"HV-1": row("P-1", "2.5", "375.00", "USD")}
    right = {"HV-1": row("P-1", "2.5", "375.00", "USD"), "HV-9": row("P-3", "4", None, "GBP")}
    [drift] = compare("time", FIELDS, *sides(left, right)).drifts
    assert (drift.key, drift.kind, drift.left, drift.differences) == ("HV-9", MISSING_LEFT, None, ())
    assert drift.right == {"project": "P-3", "hours": Decimal("4"), "amount": None, "currency": "GBP"}
    assert drift.headline("Harvest", "NetSuite") == "HV-9: in NetSuite, missing in Harvest"


def test_a_different_record_names_exactly_the_fields_that_differ_in_field_order() -> None:
    left = {"HV-1": row("P-1", "2.5", "375.00", "USD")}
    right = {"HV-1": row("P-1", "3", "450.00", "USD")}
    [drift] = compare("time", FIELDS, *sides(left, right)).drifts
    assert drift.kind == DIFFERENT
    assert drift.differences == (Difference("hours", Decimal("2.5"), Decimal("3")),
                                 Difference("amount", Decimal("375.00"), Decimal("450.00")))
    assert drift.left == {"project": "P-1", "hours": Decimal("2.5"), "amount": Decimal("375.00"), "currency": "USD"}
    assert drift.right == {"project": "P-1", "hours": Decimal("3"), "amount": Decimal("450.00"), "currency": "USD"}
    assert drift.headline("Harvest", "NetSuite") == ("HV-1: hours 2.5 in Harvest vs 3 in NetSuite, "
                                                     "amount 375.00 in Harvest vs 450.00 in NetSuite")


def test_a_value_one_side_lacks_is_a_difference_shown_as_none() -> None:
    left = {"HV-1": row("P-1", "2", None, "USD")}
    right = {"HV-1": row("P-1", "2", "300.00", "USD")}
    [drift] = compare("time", FIELDS, *sides(left, right)).drifts
    assert drift.differences == (Difference("amount", None, Decimal("300.00")),)
    assert drift.headline("Harvest", "NetSuite") == "HV-1: amount none in Harvest vs 300.00 in NetSuite"


def test_equal_values_of_different_spelling_match() -> None:
    """Decimal equality, not text: 2.50 hours in one system is 2.5 in the other."""
    left = {"HV-1": row("P-1", "2.50", "375.000", "USD")}
    right = {"HV-1": row("P-1", "2.5", "375", "USD")}
    assert compare("time", FIELDS, *sides(left, right)).matched == 1


@pytest.mark.parametrize("key", ["HV-2", "HV-3", "HV-4"], ids=["missing-right", "missing-left", "different"])
def test_a_held_record_is_counted_apart_from_the_drifts_whatever_its_kind(key: str) -> None:
    left = {"HV-1": row("P-1", "1", "150.00", "USD"), "HV-2": row("P-1", "2", "300.00", "USD"),
            "HV-4": row("P-1", "4", "600.00", "USD")}
    right = {"HV-1": row("P-1", "1", "150.00", "USD"), "HV-3": row("P-1", "3", "450.00", "USD"),
             "HV-4": row("P-1", "5", "750.00", "USD")}
    result = compare("time", FIELDS, *sides(left, right), held={key})
    assert (result.matched, result.held, result.compared) == (1, 1, 4)
    assert sorted(d.key for d in result.drifts) == sorted({"HV-2", "HV-3", "HV-4"} - {key})


def test_a_held_record_that_matches_counts_as_matched() -> None:
    same = {"HV-1": row("P-1", "1", "150.00", "USD")}
    result = compare("time", FIELDS, *sides(dict(same), dict(same)), held=["HV-1"])
    assert (result.matched, result.held) == (1, 0)


def test_drifts_of_every_kind_come_sorted_by_key_and_are_counted_by_kind() -> None:
    left = {"HV-5": row("P-1", "1", "150.00", "USD"), "HV-2": row("P-1", "2", "300.00", "USD"),
            "HV-7": row("P-1", "7", "1050.00", "USD")}
    right = {"HV-5": row("P-2", "1", "150.00", "USD"), "HV-1": row("P-1", "1", "150.00", "USD"),
             "HV-7": row("P-1", "7", "1050.00", "USD"), "HV-3": row("P-1", "3", "450.00", "USD")}
    result = compare("time", FIELDS, *sides(left, right))
    assert [(d.key, d.kind) for d in result.drifts] == [("HV-1", MISSING_LEFT), ("HV-2", MISSING_RIGHT),
                                                        ("HV-3", MISSING_LEFT), ("HV-5", DIFFERENT)]
    assert (result.count(MISSING_LEFT), result.count(MISSING_RIGHT), result.count(DIFFERENT)) == (2, 1, 1)
    assert (result.matched, result.compared) == (1, 5)


def test_totals_sum_each_side_on_its_own_per_currency_in_order_of_first_appearance() -> None:
    """Tracker: hours 2.5 + 1 + 4 + 0.5 = 8; amounts EUR 150.00, USD 375.00 + 50.00 = 425.00 (HV-3's
    amount is unknown and left out). ERP: hours 2.5 + 4 + 2 = 8.5; amounts USD 375.00, GBP 300.00; HV-3
    has no amount there either, so no EUR appears on the ERP side although HV-3's currency is EUR."""
    left = {"HV-2": row("P-2", "1", "150.00", "EUR"), "HV-1": row("P-1", "2.5", "375.00", "USD"),
            "HV-3": row("P-2", "4", None, "EUR"), "HV-4": row("P-1", "0.5", "50.00", "USD")}
    right = {"HV-1": row("P-1", "2.5", "375.00", "USD"), "HV-3": row("P-2", "4", None, "EUR"),
             "HV-5": row("P-3", "2", "300.00", "GBP")}
    result = compare("time", FIELDS, *sides(left, right), measures=MEASURES)
    assert result.totals == {
        "Harvest": {"hours": Decimal("8.0"), "amount EUR": Decimal("150.00"), "amount USD": Decimal("425.00")},
        "NetSuite": {"hours": Decimal("8.5"), "amount USD": Decimal("375.00"), "amount GBP": Decimal("300.00")}}
    assert list(result.totals["Harvest"]) == ["hours", "amount EUR", "amount USD"]
    assert list(result.totals["NetSuite"]) == ["hours", "amount USD", "amount GBP"]


def test_totals_of_an_empty_side_are_zero_without_currency_and_absent_per_currency() -> None:
    left = {"HV-1": row("P-1", "1", "150.00", "USD")}
    result = compare("time", FIELDS, *sides(left, {}), measures=MEASURES)
    assert result.totals["NetSuite"] == {"hours": Decimal(0)}
    assert result.totals["Harvest"] == {"hours": Decimal("1"), "amount USD": Decimal("150.00")}


def test_totals_leave_out_values_that_are_not_amounts() -> None:
    left = {"HV-1": ("P-1", "two", Decimal("300.00"), "USD"), "HV-2": ("P-1", Decimal("1"), 150, "USD")}
    result = compare("time", FIELDS, *sides(left, {}), measures=MEASURES)
    assert result.totals["Harvest"] == {"hours": Decimal("1"), "amount USD": Decimal("300.00")}


def test_a_measure_naming_a_field_the_pair_lacks_is_refused() -> None:
    with pytest.raises(ValueError):
        compare("time", FIELDS, *sides({}, {}), measures=[Measure("minutes")])
