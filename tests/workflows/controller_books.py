"""Two months of two contracts through the service layer, the books the controller's reports are read from.

Contract C-006A (USD, legal entity US01, project P-006A; Nov 2, 2026 to Jun 30, 2027):
  phase C-006A-1 time and materials (Alice, Consultant, 150/h at cost 70; Bob, Architect, 200/h at cost 95);
  phase C-006A-2 milestones: Blueprint SF-M1 5,000, Go-live SF-M2 10,000;
  phase C-006A-3 fixed fee 10,000 for 50 hours on its tasks (BUILD-3, ...), billed 50% on Nov 2 and 50% on
  Jan 15, recognised by hours. Revenue contract: T&M as invoiced (no allocated price); the price 15,000 +
  10,000 = 25,000 is allocated on the phase amounts: milestones 15,000, fixed fee 10,000.
Contract C-007B (GBP, legal entity UK01, project P-007B): time and materials only (Alice 120/h at cost 60,
  Bob 160/h at cost 80).

November: Alice BUILD Nov 3 and Nov 4, 8 h each (1,200 at cost 560 each); Bob DESIGN Nov 5, 6 h (1,200 at
  cost 570); Alice BUILD-3 Nov 6 8 h and Nov 9 2 h (10 h on the fee: not billable by the hour). Blueprint
  completed Nov 20. Close Nov 30: INV-C-006A-1-20261130 3,600; INV-C-006A-3-20261130 5,000 (50% of the fee);
  INV-SF-M1 5,000. Revenue Nov: C-006A 3,600 + 5,000 + 10/50 x 10,000 = 2,000 -> 10,600; C-007B 0.
December: Bob's Nov 5 entry is changed to 5 h and re-billed on Dec 8: CN-1-INV-C-006A-1-20261130 -1,200 and
  INV-C-006A-1-20261208 5 x 200 = 1,000 (at cost 475). Alice BUILD Dec 1 and Dec 2, 8 h each (1,200 at cost
  560 each); Bob DESIGN Dec 3, 4 h (800 at cost 380); Alice BUILD-3 Dec 4 6 h and Dec 7 4 h (20 h on the fee
  to date). C-007B: Bob DESIGN Dec 10, 5 h (GBP 800 at cost 400); Alice BUILD Dec 11, 7.5 h (GBP 900 at cost
  450). INV-SF-M1 is paid in the ERP on Dec 10. Close Dec 31: INV-C-006A-1-20261231 3,200 and
  INV-C-007B-1-20261231 GBP 1,700; no fee instalment (Jan 15 is not due) and no milestone. Revenue Dec:
  C-006A T&M -1,200 + 1,000 + 3,200 = 3,000, fee 20/50 x 10,000 - 2,000 = 2,000 -> 5,000 (15,600 to date);
  C-007B 1,700.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from fakes import FakeWorld, customer, fake_world, usd

from q2c.config import LegalEntity, RateCardSetting, RateSetting
from q2c.domain.model import BillingType, Milestone, Opportunity, OpportunityLine, ScheduledBilling
from q2c.domain.money import Money
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store
from q2c.workflows.rebill import request_rebill

A, B = "C-006A", "C-007B"
PA, PB = "P-006A", "P-007B"


def gbp(amount: str) -> Money:
    return Money.of(amount, "GBP")


def acme() -> Opportunity:
    return Opportunity(
        id="SF-006A", name="Acme cloud migration", customer_id="SF-001A", stage="Closed Won", is_won=True,
        close_date=date(2026, 11, 2), start_date=date(2026, 11, 2), end_date=date(2027, 6, 30),
        amount=usd("45000.00"), legal_entity="US01", lines=(
            OpportunityLine(id="SF-00kT", service_offering="IMPL", billing_type=BillingType.TIME_AND_MATERIALS,
                            amount=usd("20000.00"), estimated_hours=Decimal(100), cap=usd("20000.00")),
            OpportunityLine(id="SF-00kM", service_offering="IMPL", billing_type=BillingType.MILESTONE,
                            amount=usd("15000.00"), milestones=(
                                Milestone(id="SF-M1", name="Blueprint", amount=usd("5000.00")),
                                Milestone(id="SF-M2", name="Go-live", amount=usd("10000.00")))),
            OpportunityLine(id="SF-00kF", service_offering="IMPL", billing_type=BillingType.FIXED_FEE,
                            amount=usd("10000.00"), estimated_hours=Decimal(50), billing_schedule=(
                                ScheduledBilling(id="SF-BS1", name="Signature", bill_date=date(2026, 11, 2),
                                                 percent=Decimal(50)),
                                ScheduledBilling(id="SF-BS2", name="Handover", bill_date=date(2027, 1, 15),
                                                 percent=Decimal(50))))))


def globex() -> Opportunity:
    return Opportunity(
        id="SF-007B", name="Globex support", customer_id="SF-002B", stage="Closed Won", is_won=True,
        close_date=date(2026, 11, 2), start_date=date(2026, 11, 2), end_date=date(2027, 3, 31),
        amount=gbp("10000.00"), legal_entity="UK01", lines=(
            OpportunityLine(id="SF-00kG", service_offering="IMPL", billing_type=BillingType.TIME_AND_MATERIALS,
                            amount=gbp("10000.00"), estimated_hours=Decimal(80)),))


def with_uk_entity(w: FakeWorld) -> None:
    """The firm's UK company and its GBP rate card, beside the US one."""
    cfg = w.hub.config
    card = RateCardSetting(id="RC-GBP", currency="GBP", lines=(
        RateSetting(role="Consultant", rate=Decimal("120.00"), cost_rate=Decimal("60.00"),
                    effective_from=date(2026, 1, 1)),
        RateSetting(role="Architect", rate=Decimal("160.00"), cost_rate=Decimal("80.00"),
                    effective_from=date(2026, 1, 1))))
    w.hub.config = cfg.model_copy(update={
        "legal_entities": (*cfg.legal_entities, LegalEntity(code="UK01", name="UK01 Ltd", currency="GBP",
                                                             timezone="Europe/London")),
        "rate_cards": (*cfg.rate_cards, card)})
    w.crm.customers["SF-002B"] = customer().model_copy(update={"id": "SF-002B", "name": "Globex",
                                                               "legal_entity": "UK01"})
    w.crm.opportunities["SF-007B"] = globex()


def controller_books(tmp: Path, database: str | None = None) -> FakeWorld:
    """The two months above, closed; no exception is left open."""
    w = fake_world(tmp, database, opportunity=acme())
    with_uk_entity(w)
    w.set_up()
    t = w.tracker
    november = [t.log(PA, "BUILD", "alice@example.com", date(2026, 11, 3), "8"),
                t.log(PA, "BUILD", "alice@example.com", date(2026, 11, 4), "8"),
                t.log(PA, "DESIGN", "bob@example.com", date(2026, 11, 5), "6"),
                t.log(PA, "BUILD-3", "alice@example.com", date(2026, 11, 6), "8"),
                t.log(PA, "BUILD-3", "alice@example.com", date(2026, 11, 9), "2")]
    t.approve(*november)
    w.sync()
    w.crm.complete_milestone("SF-006A", "SF-M1", date(2026, 11, 20))
    w.close(date(2026, 11, 30))

    t.change(november[2], hours=Decimal(5))
    w.sync()
    with w.hub.engine.connect() as conn:
        (edited,) = exception_store.search(conn)
    request_rebill(w.hub, edited.id, on=date(2026, 12, 8), actor="controller")
    drain(w.hub)
    december = [t.log(PA, "BUILD", "alice@example.com", date(2026, 12, 1), "8"),
                t.log(PA, "BUILD", "alice@example.com", date(2026, 12, 2), "8"),
                t.log(PA, "DESIGN", "bob@example.com", date(2026, 12, 3), "4"),
                t.log(PA, "BUILD-3", "alice@example.com", date(2026, 12, 4), "6"),
                t.log(PA, "BUILD-3", "alice@example.com", date(2026, 12, 7), "4"),
                t.log(PB, "DESIGN", "bob@example.com", date(2026, 12, 10), "5"),
                t.log(PB, "BUILD", "alice@example.com", date(2026, 12, 11), "7.5")]
    t.approve(*december)
    w.sync()
    w.erp.pay("INV-SF-M1", date(2026, 12, 10))
    w.close(date(2026, 12, 31))
    with w.hub.engine.connect() as conn:
        left = exception_store.search(conn)
    assert left == [], [e.violation.message for e in left]
    return w
