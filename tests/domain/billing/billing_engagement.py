"""A small consulting engagement to bill: one contract with a T&M, a milestone, a fixed-fee and a
retainer phase, a USD rate card with a resource override and a mid-year rate change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from q2c.domain.billing import RatedTime, Rounding, RoundingPolicy, RoundingScope, rate_time_entry
from q2c.domain.model import (
    BillingType,
    Contract,
    ContractPhase,
    Milestone,
    MilestoneStatus,
    RateCard,
    RateCardLine,
    TimeEntry,
    TimeEntryStatus,
)
from q2c.domain.money import Money


def usd(amount: str | int) -> Money:
    return Money.of(amount, "USD")


def eur(amount: str | int) -> Money:
    return Money.of(amount, "EUR")


RATE_CARD = RateCard(id="RC-1", currency="USD", lines=(
    RateCardLine(role="Consultant", rate=usd("150.00"), cost_rate=usd("80.00"), effective_from=date(2026, 1, 1),
                 effective_to=date(2026, 6, 30)),
    RateCardLine(role="Consultant", rate=usd("160.00"), cost_rate=usd("85.00"), effective_from=date(2026, 7, 1)),
    RateCardLine(role="Consultant", resource_id="R-STAR", rate=usd("200.00"), cost_rate=usd("120.00"),
                 effective_from=date(2026, 3, 1), effective_to=date(2026, 3, 31)),
    RateCardLine(role="Architect", rate=usd("210.00"), effective_from=date(2026, 1, 1)),
))

TM_PHASE = ContractPhase(id="PH-TM", name="Build", billing_type=BillingType.TIME_AND_MATERIALS,
                         amount=usd("20000.00"), cap=usd("2000.00"))
MILESTONES = (
    Milestone(id="MS-1", name="Design signed off", amount=usd("5000.00"), status=MilestoneStatus.ACCEPTED,
              completed_on=date(2026, 2, 10)),
    Milestone(id="MS-2", name="Go-live", amount=usd("7500.00"), status=MilestoneStatus.PENDING),
    Milestone(id="MS-3", name="Training", amount=usd("2500.00"), status=MilestoneStatus.COMPLETED,
              completed_on=date(2026, 3, 20)),
)
MS_PHASE = ContractPhase(id="PH-MS", name="Rollout", billing_type=BillingType.MILESTONE, amount=usd("15000.00"),
                         milestones=MILESTONES)
FF_PHASE = ContractPhase(id="PH-FF", name="Discovery", billing_type=BillingType.FIXED_FEE, amount=usd("10000.00"))
HOURS_RETAINER = ContractPhase(id="PH-RH", name="Support hours", billing_type=BillingType.RETAINER,
                               amount=usd("4000.00"), retainer_hours=Decimal(20), overage_rate=usd("220.00"))
AMOUNT_RETAINER = ContractPhase(id="PH-RA", name="Advisory budget", billing_type=BillingType.RETAINER,
                                amount=usd("3000.00"))

CONTRACT = Contract(
    id="C-1", customer_id="CUST-1", opportunity_id="OPP-1", name="Acme rollout", legal_entity="US01", currency="USD",
    start_date=date(2026, 1, 1), phases=(TM_PHASE, MS_PHASE, FF_PHASE, HOURS_RETAINER, AMOUNT_RETAINER),
    rate_card=RATE_CARD)

STAMP = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


def entry(entry_id: str, hours: str, work_date: date, *, resource: str = "R-1", task: str = "BUILD",
          project: str = "P-1", status: TimeEntryStatus = TimeEntryStatus.APPROVED, billable: bool = True) -> TimeEntry:
    return TimeEntry(id=entry_id, project_id=project, task_code=task, resource_id=resource, work_date=work_date,
                     hours=Decimal(hours), status=status, billable=billable, source_updated_at=STAMP)


# --- generated time for property tests -------------------------------------------------------------

def generated_card(rates: list[Decimal]) -> RateCard:
    return RateCard(id="RC-GEN", currency="USD", lines=tuple(
        RateCardLine(role=f"Role{i}", rate=usd(str(rate)), cost_rate=usd(str(rate / 2)),
                     effective_from=date(2026, 1, 1))
        for i, rate in enumerate(rates)))


@st.composite
def rated_times(draw: st.DrawFn, *, min_size: int = 0, max_size: int = 12,
                policy: RoundingPolicy = RoundingPolicy()) -> list[RatedTime]:
    """Approved time on one project, some of it not billable, at sub-cent rates to stress rounding."""
    rates = draw(st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("400"), places=3),
                          min_size=1, max_size=3))
    card = generated_card(rates)
    count = draw(st.integers(min_value=min_size, max_value=max_size))
    found: list[RatedTime] = []
    for n in range(count):
        hours = draw(st.decimals(min_value=Decimal(0), max_value=Decimal(12), places=2))
        day = date(2026, 3, 1) + timedelta(days=draw(st.integers(min_value=0, max_value=27)))
        role = draw(st.integers(min_value=0, max_value=len(rates) - 1))
        billable = n % 3 != 0 or draw(st.booleans())  # mostly billable
        item = entry(f"E-{n:03d}", str(hours), day, billable=billable)
        found.append(rate_time_entry(item, role=f"Role{role}", rate_card=card, policy=policy))
    return found


policies = st.builds(RoundingPolicy, mode=st.sampled_from(list(Rounding)), scope=st.sampled_from(list(RoundingScope)))


def caps_for(time: list[RatedTime], billed: Decimal = Decimal(0)) -> st.SearchStrategy[Decimal | None]:
    """No cap, any cap, or a cap just around where the billable time would reach it (the edge cases)."""
    running = billed
    edges = [billed]
    for item in sorted(time, key=lambda t: (t.work_date, t.entry_id)):
        if item.billable:
            running += item.amount.amount
            edges.append(running)
    near = st.tuples(st.sampled_from(edges), st.sampled_from([Decimal("-0.01"), Decimal(0), Decimal("0.01"),
                                                              Decimal("0.50"), Decimal("7.77")]))
    return st.one_of(
        st.none(),
        st.decimals(min_value=Decimal(0), max_value=Decimal(6000), places=2),
        near.map(lambda pair: max(pair[0] + pair[1], Decimal(0))),
    )
