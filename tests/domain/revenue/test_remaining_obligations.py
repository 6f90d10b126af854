"""Remaining performance obligations at a period end: allocated price less revenue recognised, with the timing
where the schedule gives it.

The contract: support SUP, straight line by month over Jan 2026 - Dec 2027 (24 months), SSP 24,000; rollout MS
by milestones (M1 2,000, M2 4,000), SSP 6,000; time and materials TM, recognised as invoiced. Fixed price
30,000 allocated on the SSPs: SUP 24,000 (1,000 a month), MS 6,000; TM has no allocated price.
"""

from __future__ import annotations

from datetime import date

import pytest
from revenue_builders import contract, obligation, usd

from q2c.domain.revenue import MilestoneReached, MilestoneTarget, Period, RecognitionMethod, RevenueError
from q2c.domain.revenue.remaining import RemainingPerformance, remaining_obligations
from q2c.domain.revenue.schedule import recognise_periods

RC = contract([
    obligation("SUP", RecognitionMethod.RATABLE_MONTHLY, 24000, start=date(2026, 1, 1), end=date(2027, 12, 31)),
    obligation("MS", RecognitionMethod.OUTPUT_MILESTONES, 6000, milestones=(
        MilestoneTarget("M1", "Design", usd(2000)), MilestoneTarget("M2", "Build", usd(4000)))),
    obligation("TM", RecognitionMethod.RIGHT_TO_INVOICE, 5000),
], 30000)
M1 = MilestoneReached(id="M1:completed", obligation_id="MS", on=date(2026, 2, 10), milestone_id="M1")


def _figures(found: RemainingPerformance) -> list[tuple[object, ...]]:
    """(obligation, recognised, remaining, within twelve months, later) per obligation listed."""
    return [(x.obligation_id, x.recognised.amount, x.remaining.amount,
             None if x.within_12_months is None else x.within_12_months.amount,
             None if x.later is None else x.later.amount) for x in found.obligations]


def test_a_straight_line_obligation_is_split_at_twelve_months_and_progress_shows_its_total() -> None:
    """Recognised Jan-Mar 2026: SUP 3 x 1,000 = 3,000, MS M1 = 2,000. At the end of Mar 2026 SUP has 21,000
    left: Apr 2026 - Mar 2027 (12 months) 12,000 within twelve months, Apr - Dec 2027 (9 months) 9,000 later.
    MS has 4,000 left, timing unknown (it follows milestones). TM is left out under the expedient."""
    (*_, march) = recognise_periods(RC, [M1], first=Period(2026, 1), last=Period(2026, 3))
    found = remaining_obligations(RC, march, as_of=Period(2026, 3))
    assert _figures(found) == [("SUP", 3000, 21000, 12000, 9000), ("MS", 2000, 4000, None, None)]
    assert found.right_to_invoice == ("TM",)
    assert found.obligations[0].allocated == usd(24000) and found.currency == "USD"


def test_periods_not_yet_recognised_fall_within_twelve_months() -> None:
    """At the end of Jun 2026 with revenue posted only to Mar: SUP still 21,000 left; the plan puts Jul 2026 -
    Jun 2027 (12,000) within the horizon and Jul - Dec 2027 (6,000) beyond it, so later is 6,000 and within is
    21,000 - 6,000 = 15,000 (Apr - Jun, 3,000, are still to be recognised and come first)."""
    (*_, march) = recognise_periods(RC, [M1], first=Period(2026, 1), last=Period(2026, 3))
    found = remaining_obligations(RC, march, as_of=Period(2026, 6))
    assert _figures(found)[0] == ("SUP", 3000, 21000, 15000, 6000)


def test_before_anything_is_recognised_the_whole_allocation_remains() -> None:
    """Dec 2025, nothing recognised: SUP 24,000 (2026: 12,000 within, 2027: 12,000 later), MS 6,000."""
    found = remaining_obligations(RC, None, as_of=Period(2025, 12))
    assert _figures(found) == [("SUP", 0, 24000, 12000, 12000), ("MS", 0, 6000, None, None)]


def test_a_satisfied_obligation_has_nothing_remaining_and_is_not_listed() -> None:
    """M1 Feb 10 and M2 Mar 20: MS recognised 6,000 of 6,000 by March; only SUP remains."""
    m2 = MilestoneReached(id="M2:completed", obligation_id="MS", on=date(2026, 3, 20), milestone_id="M2")
    (*_, march) = recognise_periods(RC, [M1, m2], first=Period(2026, 1), last=Period(2026, 3))
    assert [x.obligation_id for x in remaining_obligations(RC, march, as_of=Period(2026, 3)).obligations] == ["SUP"]


def test_a_recognition_after_the_period_end_or_of_another_contract_is_refused() -> None:
    (*_, march) = recognise_periods(RC, [M1], first=Period(2026, 1), last=Period(2026, 3))
    with pytest.raises(RevenueError, match="revenue contract RC-1: the recognition given is for 2026-03, after the "
                                           "period end 2026-02"):
        remaining_obligations(RC, march, as_of=Period(2026, 2))
    other = contract(list(RC.obligations), 30000, rc_id="RC-2")
    with pytest.raises(RevenueError, match="revenue contract RC-2: the recognition given is of RC-1"):
        remaining_obligations(other, march, as_of=Period(2026, 3))
