"""Revenue schedules: a contract recognised period after period, and the planned pattern ahead.

`recognise_periods` chains `recognise` month by month, handing each period the previous one as
`prior`, which is exactly what a month-end close does (a close that runs once a month stores each
recognition's snapshot and passes it back the next month). Without `prior` the first period is the
first ever recognised for the contract. `planned_schedule` shows what the contract
will recognise in future periods where the pattern is known (straight-line obligations) and leaves
the rest of the allocated price as unscheduled, to be earned as progress is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from q2c.domain.money import Money
from q2c.domain.revenue.facts import ProgressFact
from q2c.domain.revenue.fx import FxTable
from q2c.domain.revenue.methods import ratable_schedule
from q2c.domain.revenue.minor_units import from_units, to_units
from q2c.domain.revenue.obligations import RevenueContract
from q2c.domain.revenue.periods import Period, PeriodCalendar, periods_between
from q2c.domain.revenue.recognition import Recognition, recognise


def recognise_periods(rc: RevenueContract, facts: Sequence[ProgressFact], *, first: Period, last: Period,
                      prior: Recognition | None = None, calendar: PeriodCalendar | None = None,
                      functional_currency: str | None = None, fx: FxTable | None = None) -> list[Recognition]:
    """One recognition per period from `first` to `last`, each built on the one before."""
    out: list[Recognition] = []
    for period in periods_between(first, last):
        current = recognise(rc, facts, period=period, prior=prior, calendar=calendar,
                            functional_currency=functional_currency, fx=fx)
        out.append(current)
        prior = current
    return out


@dataclass(frozen=True)
class PlannedRevenue:
    obligation_id: str
    period: Period | None  # None: not yet scheduled (depends on progress still to be reported)
    amount: Money


def planned_schedule(rc: RevenueContract) -> list[PlannedRevenue]:
    """The known pattern of every obligation: straight-line ones by period, the others unscheduled."""
    out: list[PlannedRevenue] = []
    allocation = rc.allocation
    for ob in rc.obligations:
        allocated = allocation.allocated(ob.id)
        if allocated is None:
            continue  # right to invoice: revenue follows invoices, nothing to plan
        if ob.method.ratable and ob.terminated_at is None:
            for period, units in ratable_schedule(ob, to_units(allocated, what="allocated")):
                out.append(PlannedRevenue(ob.id, period, from_units(units, rc.currency)))
        else:
            out.append(PlannedRevenue(ob.id, None, allocated))
    return out
