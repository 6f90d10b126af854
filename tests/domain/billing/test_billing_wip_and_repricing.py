"""WIP as of a date by project, and re-pricing unbilled time after a back-dated rate change."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_engagement import RATE_CARD, entry, eur, usd

from q2c.domain.billing import (
    CurrencyMismatch,
    NoRateInForce,
    RatedTime,
    StalePreview,
    apply_reprice,
    rate_time_entry,
    reprice_preview,
    wip,
)
from q2c.domain.model import RateCardLine


def rated(entry_id: str, hours: str, work_date: date, *, project: str = "P-1", role: str = "Consultant",
          billable: bool = True) -> RatedTime:
    return rate_time_entry(entry(entry_id, hours, work_date, project=project, billable=billable), role=role,
                           rate_card=RATE_CARD)


TIME = [
    rated("E-1", "2", date(2026, 3, 2)),
    rated("E-2", "3", date(2026, 3, 9)),
    rated("E-3", "1.5", date(2026, 3, 3), project="P-2"),
    rated("E-4", "1", date(2026, 3, 4), project="P-2", role="Architect"),  # no cost rate
    rated("E-5", "8", date(2026, 3, 5), billable=False),
    rated("E-6", "4", date(2026, 4, 2)),
]


def test_wip_by_project_at_bill_rate_and_cost() -> None:
    report = wip(TIME, billed_entry_ids={"E-2"}, as_of=date(2026, 3, 31))
    assert report.currency == "USD" and [p.project_id for p in report.projects] == ["P-1", "P-2"]
    p1, p2 = report.projects
    assert (p1.entry_count, p1.hours, p1.at_bill_rate, p1.at_cost) == (1, Decimal(2), usd("300.00"), usd("160.00"))
    assert (p2.hours, p2.at_bill_rate, p2.at_cost) == (Decimal("2.5"), usd("435.00"), usd("120.00"))
    assert p2.entries_without_cost == ("E-4",) and p2.oldest_work_date == date(2026, 3, 3)
    assert report.hours == Decimal("4.5") and report.at_bill_rate == usd("735.00") and report.at_cost == usd("280.00")


def test_wip_as_of_an_earlier_date_and_after_billing() -> None:
    early = wip(TIME, billed_entry_ids=set(), as_of=date(2026, 3, 2))
    assert [(p.project_id, p.hours) for p in early.projects] == [("P-1", Decimal(2))]
    later = wip(TIME, billed_entry_ids=set(), as_of=date(2026, 4, 30))
    assert later.projects[0].hours == Decimal(9)  # E-1, E-2, E-6; never the non-billable E-5
    empty = wip(TIME, billed_entry_ids={"E-1", "E-2", "E-3", "E-4", "E-6"}, as_of=date(2026, 4, 30))
    assert empty.projects == () and empty.currency is None and empty.at_bill_rate is None


def test_wip_refuses_mixed_currencies() -> None:
    euro = TIME[0].model_copy(update={"entry_id": "E-9", "rate": eur("150"), "amount": eur("300")})
    with pytest.raises(CurrencyMismatch, match="WIP as of 2026-03-31 mixes currencies EUR, USD"):
        wip([*TIME, euro], billed_entry_ids=set(), as_of=date(2026, 3, 31))


# --- re-pricing ---------------------------------------------------------------------------------------------

RAISED = RATE_CARD.model_copy(update={"lines": (
    *RATE_CARD.lines,
    RateCardLine(role="Consultant", rate=usd("155.00"), cost_rate=usd("80.00"), effective_from=date(2026, 3, 5),
                 effective_to=date(2026, 6, 30)),
)})


def test_preview_shows_each_unbilled_change_and_the_total_before_anything_changes() -> None:
    preview = reprice_preview(TIME, rate_card=RAISED, billed_entry_ids={"E-5"})
    # E-2 (3 h on 9 March) moves 150 -> 155; E-5 would too but is billed; E-6 is April: 155 too.
    assert [(c.entry_id, c.old_amount, c.new_amount, c.difference) for c in preview.changes] == [
        ("E-2", usd("450.00"), usd("465.00"), usd("15.00")),
        ("E-6", usd("600.00"), usd("620.00"), usd("20.00"))]
    assert preview.total_difference == usd("35.00")
    assert preview.billed_untouched_entry_ids == ("E-5",)
    assert set(preview.unchanged_entry_ids) == {"E-1", "E-3", "E-4"}
    assert preview.changes[0].new_rate == usd("155.00") and preview.changes[0].old_rate == usd("150.00")


def test_apply_swaps_in_exactly_the_previewed_figures_and_leaves_billed_time_alone() -> None:
    preview = reprice_preview(TIME, rate_card=RAISED, billed_entry_ids={"E-5"})
    after = apply_reprice(TIME, preview)
    by_id = {r.entry_id: r for r in after}
    assert by_id["E-2"].amount == usd("465.00") and by_id["E-2"].rate_effective_from == date(2026, 3, 5)
    assert by_id["E-5"] == TIME[4]  # billed: untouched
    assert by_id["E-1"] == TIME[0]
    assert [r.entry_id for r in after] == [r.entry_id for r in TIME]
    assert reprice_preview(after, rate_card=RAISED, billed_entry_ids={"E-5"}).changes == ()


def test_stale_preview_is_refused() -> None:
    preview = reprice_preview(TIME, rate_card=RAISED, billed_entry_ids=set())
    edited = [TIME[0], TIME[1].model_copy(update={"hours": Decimal(4)}), *TIME[2:]]
    with pytest.raises(StalePreview, match="time entry E-2 changed since the re-pricing preview for rate card RC-1"):
        apply_reprice(edited, preview)


def test_reprice_errors() -> None:
    shrunk = RATE_CARD.model_copy(update={"lines": RATE_CARD.lines[1:]})  # the Jan-Jun Consultant rate is gone
    with pytest.raises(NoRateInForce, match="2026-03-02"):
        reprice_preview(TIME, rate_card=shrunk, billed_entry_ids=set())
    in_euro = RATE_CARD.model_copy(update={"currency": "EUR"})
    with pytest.raises(CurrencyMismatch, match="time entry E-1 is rated in USD, rate card RC-1 is in EUR"):
        reprice_preview(TIME, rate_card=in_euro, billed_entry_ids=set())
