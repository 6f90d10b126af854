"""A changed billing schedule of a fixed fee is a change of terms; records re-entered alike, or renamed, are not."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from q2c.domain.amendments import AmendmentKind, amendments
from q2c.domain.model import BillingType, Opportunity, OpportunityLine, ScheduledBilling
from q2c.domain.money import Money


def entry(record: str, when: date, percent: str, name: str = "Instalment") -> ScheduledBilling:
    return ScheduledBilling(id=record, name=name, bill_date=when, percent=Decimal(percent))


SOLD = (entry("SF-a1S1", date(2026, 11, 2), "30"), entry("SF-a1S2", date(2026, 12, 15), "40"),
        entry("SF-a1S3", date(2027, 1, 31), "30"))
LINE = OpportunityLine(id="SF-00kFF", service_offering="IMPL", billing_type=BillingType.FIXED_FEE,
                       amount=Money.of("50000", "USD"), estimated_hours=Decimal(200), billing_schedule=SOLD)
DEAL = Opportunity(id="SF-006A", name="Acme data platform", customer_id="SF-001A", stage="Closed Won", is_won=True,
                   close_date=date(2026, 11, 2), amount=LINE.amount, lines=(LINE,))


def with_schedule(*schedule: ScheduledBilling) -> Opportunity:
    return DEAL.model_copy(update={"lines": (LINE.model_copy(update={"billing_schedule": schedule}),)})


def test_a_moved_date_and_new_percentages_are_one_amendment_of_the_schedule() -> None:
    moved = with_schedule(SOLD[0], entry("SF-a1S2", date(2027, 1, 15), "20"), entry("SF-a1S4", date(2027, 1, 20), "20"),
                          SOLD[2])
    (change,) = amendments(DEAL, moved)
    assert (change.kind, change.field, change.line_id) == (AmendmentKind.LINE_CHANGED, "billing_schedule", "SF-00kFF")
    assert change.describe() == ("line SF-00kFF billing_schedule: 30% on 2026-11-02, 40% on 2026-12-15, 30% on "
                                 "2027-01-31 -> 30% on 2026-11-02, 20% on 2027-01-15, 20% on 2027-01-20, 30% on "
                                 "2027-01-31")


def test_a_schedule_added_to_a_monthly_fee_reads_from_none() -> None:
    monthly = with_schedule()
    (change,) = amendments(monthly, DEAL)
    assert change.describe().startswith("line SF-00kFF billing_schedule: none -> 30% on 2026-11-02")


def test_records_re_entered_alike_or_renamed_change_no_terms() -> None:
    again = with_schedule(*(entry(f"SF-a1SX{n}", s.bill_date, f"{s.percent}.00", name="Renamed")
                            for n, s in enumerate(SOLD)))
    assert amendments(DEAL, again) == ()
