"""Remaining performance obligations: the transaction price allocated to what is not yet satisfied.

What a controller discloses at a period end (ASC 606-10-50-13 / IFRS 15.120): per obligation, the
allocated price less the revenue recognised to date, and when it is expected to be recognised. The
timing is only given where the pattern is known, which is a straight-line obligation's schedule:
what the plan puts more than twelve periods after the period end is "later", the rest (any catch-up
of a period not yet recognised included) "within twelve months". Progress-based obligations
(hours, cost, milestones, units) and those satisfied at a point in time show the total only.

Obligations recognised as invoiced (the right-to-invoice expedient, 606-10-55-18 / IFRS 15.B16)
have no allocated price; the disclosure may leave them out (606-10-50-14(b) / IFRS 15.121(b)), and
they are listed apart so the report says which were left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from q2c.domain.money import Money
from q2c.domain.revenue.errors import RevenueError
from q2c.domain.revenue.obligations import RecognitionMethod, RevenueContract
from q2c.domain.revenue.periods import Period
from q2c.domain.revenue.recognition import Recognition
from q2c.domain.revenue.schedule import planned_schedule

HORIZON = 12  # periods after the period end that count as "within twelve months"


@dataclass(frozen=True)
class RemainingObligation:
    contract_id: str
    obligation_id: str
    name: str
    method: RecognitionMethod
    allocated: Money
    recognised: Money  # to the end of the last period recognised on or before the period end
    remaining: Money
    within_12_months: Money | None  # None: the timing depends on progress still to come
    later: Money | None


@dataclass(frozen=True)
class RemainingPerformance:
    """One contract's remaining performance obligations as of a period end."""

    contract_id: str
    currency: str
    as_of: Period
    obligations: tuple[RemainingObligation, ...]  # only those with something left to recognise
    right_to_invoice: tuple[str, ...]  # obligations left out under the practical expedient


def remaining_obligations(rc: RevenueContract, recognised: Recognition | None, *,
                          as_of: Period) -> RemainingPerformance:
    """`rc`'s remaining obligations after `recognised` (the last recognition posted on or before `as_of`;
    None when nothing was recognised yet). `rc` is the version the recognition was made under."""
    if recognised is not None:
        if recognised.revenue_contract_id != rc.id:
            raise RevenueError(f"revenue contract {rc.id}: the recognition given is of "
                               f"{recognised.revenue_contract_id}")
        if recognised.period > as_of:
            raise RevenueError(f"revenue contract {rc.id}: the recognition given is for {recognised.period}, after "
                               f"the period end {as_of}")
    horizon = Period.from_index(as_of.index + HORIZON)
    beyond: dict[str, Money] = {}
    scheduled: set[str] = set()
    for plan in planned_schedule(rc):
        if plan.period is None:
            continue
        scheduled.add(plan.obligation_id)
        if plan.period > horizon:
            beyond[plan.obligation_id] = beyond.get(plan.obligation_id, Money.zero(rc.currency)) + plan.amount
    done = {ob.obligation_id: ob.cumulative for ob in (recognised.obligations if recognised is not None else ())}
    out: list[RemainingObligation] = []
    expedient: list[str] = []
    for ob in rc.obligations:
        allocated = rc.allocation.allocated(ob.id)
        if allocated is None:
            expedient.append(ob.id)
            continue
        to_date = done.get(ob.id, Money.zero(rc.currency))
        remaining = allocated - to_date
        if remaining.amount == 0:
            continue
        within = later = None
        if ob.id in scheduled:
            later = beyond.get(ob.id, Money.zero(rc.currency))
            later = Money.zero(rc.currency) if remaining.amount <= 0 else min(later, remaining)
            within = remaining - later
        out.append(RemainingObligation(rc.contract_id, ob.id, ob.name, ob.method, allocated, to_date, remaining,
                                       within, later))
    return RemainingPerformance(rc.contract_id, rc.currency, as_of, tuple(out), tuple(expedient))
