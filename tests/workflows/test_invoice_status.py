"""Invoices coming back from the ERP (paid, voided), through the service layer against in-memory systems.

The deal (see `fakes.deal`): T&M line, cap USD 12,000, Alice (Consultant) 150/h, Bob (Architect) 200/h;
milestone line USD 15,000: Blueprint 5,000 and Go-live 10,000. Contract C-006A, T&M phase C-006A-1.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from fakes import FakeWorld, fake_world, usd

from q2c.domain.model import Invoice
from q2c.domain.revenue import Period
from q2c.entrypoints.wiring import drain
from q2c.store import audit, records, time_entries
from q2c.workflows.integrity import all_violations
from q2c.workflows.invoice_review import list_invoices
from q2c.workflows.invoice_status import poll_invoice_status
from q2c.workflows.periods import set_period_state
from q2c.workflows.revenue_close import account_map, posted_revenue

P, C = "P-006A", "C-006A"
TM = f"INV-{C}-1-20261130"


def documents(w: FakeWorld) -> dict[str, tuple[str, Decimal]]:
    return {v.invoice.id: (v.standing, v.invoice.total.amount) for v in list_invoices(w.hub)}


def revenue(w: FakeWorld, period: str) -> Decimal:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="revenue_recognition", canonical_id=f"{C}:{period}")
    assert rec is not None
    return Decimal(rec.payload["recognised"])


def refresh(w: FakeWorld) -> int:
    queued = poll_invoice_status(w.hub).queued
    drain(w.hub)
    return queued


def rules_hold(w: FakeWorld) -> None:
    with w.hub.engine.connect() as conn:
        assert all_violations(conn) == []
        latest = max(records.list_records(conn, entity="revenue_recognition"), key=lambda r: r.payload["period"])
        assert posted_revenue(conn, C, "USD", account_map(w.hub)) == usd(latest.payload["cumulative"])


def november(tmp_path: Path, db_url: str) -> tuple[FakeWorld, list[str]]:
    """Alice BUILD Nov 3 and 4, 8 h x 150 = 1,200 each; Bob DESIGN Nov 4 6 h x 200 = 1,200: T&M 3,600.
    Blueprint completed Nov 20: 5,000. Revenue Nov 3,600 + 5,000 = 8,600."""
    w = fake_world(tmp_path, db_url)
    w.set_up()
    entries = [w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, d), "8") for d in (3, 4)]
    entries.append(w.tracker.log(P, "DESIGN", "bob@example.com", date(2026, 11, 4), "6"))
    w.tracker.approve(*entries)
    w.sync()
    w.crm.complete_milestone("SF-006A", "SF-M1", date(2026, 11, 20))
    w.close(date(2026, 11, 30))
    assert revenue(w, "2026-11") == Decimal("8600.00")
    return w, entries


def test_paid_and_voided_come_back_and_a_void_reduces_revenue_at_the_next_close(tmp_path: Path,
                                                                                db_url: str) -> None:
    """November as in `november`. The customer pays the Blueprint invoice: it is paid, revenue unchanged.
    The ERP voids the T&M invoice (3,600): q2c books the reversal VOID-INV-C-006A-1-20261130 for -3,600 on the
    invoice's date, Nov 30 (November is open), and its three entries are unbilled. Bob's entry is then corrected
    6 h -> 4 h, a plain edit of unbilled time: 4 x 200 = 800. Close Dec 31: the time is billed again on
    INV-C-006A-1-20261231 = 1,200 + 1,200 + 800 = 3,200. Revenue Dec: the reversal, dated before December and
    reported after November was recognised, -3,600, plus the new invoice 3,200 = -400. In all recognised
    8,600 - 400 = 8,200 = billed 3,600 + 5,000 - 3,600 + 3,200."""
    w, (alice_3, alice_4, bob) = november(tmp_path, db_url)
    assert refresh(w) == 0  # the first poll sees everything, and nothing has moved
    w.erp.pay("INV-SF-M1", date(2026, 12, 1))
    assert refresh(w) == 1
    assert documents(w)["INV-SF-M1"] == ("paid", Decimal("5000.00"))

    w.erp.void(TM, date(2026, 12, 2))
    assert refresh(w) == 1
    assert documents(w) == {TM: ("voided", Decimal("3600.00")), f"VOID-{TM}": ("posted", Decimal("-3600.00")),
                            "INV-SF-M1": ("paid", Decimal("5000.00"))}
    with w.hub.engine.connect() as conn:
        reversal = Invoice.model_validate(records.get_record(conn, entity="invoice",
                                                             canonical_id=f"VOID-{TM}").payload)
        states = {r.canonical_id: r.state for r in time_entries.of_project(conn, P)}
        (void,) = [e for e in audit.history(conn, record_id=TM) if e["action"] == "invoice_status"
                   and e["after"]["status"] == "voided"]
        assert all_violations(conn) == []
    assert reversal.invoice_date == date(2026, 11, 30) and reversal.kind == "credit_note"
    assert states == {alice_3: "synced", alice_4: "synced", bob: "synced"}
    assert void["after"]["unbilled_entries"] == sorted([alice_3, alice_4, bob])
    assert refresh(w) == 0  # a second poll finds nothing new

    w.tracker.change(bob, hours=Decimal(4))
    w.sync()
    w.close(date(2026, 12, 31))
    assert w.erp.kind("invoice")[f"INV-{C}-1-20261231"].total == usd("3200.00")
    assert revenue(w, "2026-12") == Decimal("-400.00")
    rules_hold(w)


def test_a_voided_milestone_invoice_is_billed_again_and_a_closed_month_stays_closed(tmp_path: Path,
                                                                                    db_url: str) -> None:
    """November as in `november`; the controller closes November. The ERP then voids the Blueprint invoice
    (5,000): its reversal is dated Dec 1, the first open day, not Nov 30, and the milestone is billable again.
    Close Dec 31: the milestone is billed again as INV-SF-M1-2 (its first id belongs to the voided invoice).
    Milestones are recognised on completion, not on billing: revenue Dec 0. Billed to date
    3,600 + 5,000 - 5,000 + 5,000 = 8,600 = recognised 8,600."""
    w, _ = november(tmp_path, db_url)
    set_period_state(w.hub, legal_entity="US01", period=Period(2026, 11), closed=True, actor="controller")
    w.erp.void("INV-SF-M1", date(2026, 12, 2))
    assert refresh(w) == 1
    with w.hub.engine.connect() as conn:
        reversal = Invoice.model_validate(records.get_record(conn, entity="invoice",
                                                             canonical_id="VOID-INV-SF-M1").payload)
    assert reversal.invoice_date == date(2026, 12, 1) and reversal.total == usd("-5000.00")
    w.close(date(2026, 12, 31))
    assert w.erp.kind("invoice")["INV-SF-M1-2"].total == usd("5000.00")
    assert revenue(w, "2026-12") == Decimal("0.00")
    assert sum((v.invoice.total.amount for v in list_invoices(w.hub)), Decimal(0)) == Decimal("8600.00")
    rules_hold(w)


def test_a_credit_note_voided_in_the_erp_stays_in_force_and_is_named(tmp_path: Path, db_url: str) -> None:
    """Alice Nov 3 8 h x 150 = 1,200 billed Nov 30, then changed to 6 h and re-billed on Dec 3: credit 1,200,
    invoice 900. The ERP voids the credit memo: q2c keeps the credit (billed to date 1,200 - 1,200 + 900 = 900)
    and an `invoice.credit_voided` exception names the credit note, 1,200 apart from the ERP."""
    from q2c.store import exceptions as exception_store
    from q2c.workflows.rebill import request_rebill

    w = fake_world(tmp_path, db_url)
    w.set_up()
    alice = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(alice)
    w.sync()
    w.close(date(2026, 11, 30))
    w.tracker.change(alice, hours=Decimal(6))
    w.sync()
    with w.hub.engine.connect() as conn:
        (edited,) = exception_store.search(conn)
    request_rebill(w.hub, edited.id, on=date(2026, 12, 3), actor="maria")
    drain(w.hub)
    w.erp.void(f"CN-1-{TM}", date(2026, 12, 4))
    assert refresh(w) == 2  # the new invoice is posted now, the credit note voided
    assert documents(w)[f"CN-1-{TM}"] == ("voided", Decimal("-1200.00"))
    assert documents(w)[f"INV-{C}-1-20261203"] == ("posted", Decimal("900.00"))
    with w.hub.engine.connect() as conn:
        (named,) = exception_store.search(conn, rule="invoice.credit_voided")
        assert all_violations(conn) == []
    assert [s.record_id for s in named.open_subjects] == [f"CN-1-{TM}"]
    assert "(USD -1,200.00) was voided" in named.violation.message
    assert sum((v.invoice.total.amount for v in list_invoices(w.hub)), Decimal(0)) == Decimal("900.00")
