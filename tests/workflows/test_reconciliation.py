"""Reconciliation across the systems, through the service layer against in-memory systems: each drift kind
planted as a person or a fault would, found, traced to its cause, healed, and a second run clean.

November as in `test_invoice_status.november`: Alice BUILD Nov 3 and 4, 8 h x 150 = 1,200 each (HV-1, HV-2);
Bob DESIGN Nov 4, 6 h x 200 = 1,200 (HV-3): 22 h, T&M 3,600. Blueprint completed Nov 20: 5,000. Two invoices,
8,600 in all; revenue November 8,600 (T&M 3,600 + Blueprint 5,000). The deal books 35,000.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from fakes import FakeWorld
from test_invoice_status import TM, november

from q2c.domain.model import InvoiceStatus, TimeEntryStatus
from q2c.entrypoints.wiring import drain
from q2c.store import audit, drifts, time_entries
from q2c.store import exceptions as exception_store
from q2c.workflows.contract_changes import poll_contract_changes
from q2c.workflows.reconcile import Report, reconcile
from q2c.workflows.reconcile_heal import HealError, heal
from q2c.workflows.time_approved import poll_time


def one_drift(report: Report, pair: str) -> int:
    """The one drift of `pair` (the others clean); returns its exception id."""
    found = [t for t in report.drifts if t.drift.pair == pair]
    assert len(found) == 1, [t.drift for t in report.drifts]
    assert len(report.drifts) == 1, [t.drift for t in report.drifts]
    assert found[0].exception_id is not None
    return found[0].exception_id


def healed(w: FakeWorld, exception_id: int) -> str:
    done = heal(w.hub, exception_id, actor="controller@example.com")
    drain(w.hub)
    return done


def clean(w: FakeWorld) -> Report:
    report = reconcile(w.hub)
    assert report.clean, [(t.drift, t.trace.cause) for t in report.drifts]
    return report


def test_a_month_that_adds_up_reconciles_clean_with_totals_on_each_side(tmp_path: Path, db_url: str) -> None:
    """Every pair matches; the totals are the month's figures on both sides: 22 h and 3,600 of time, 8,600
    invoiced, 8,600 recognised and posted, 35,000 booked."""
    w, _ = november(tmp_path, db_url)
    report = clean(w)
    pairs = {p.pair: p for p in report.pairs}
    assert {k: (p.compared, p.matched) for k, p in pairs.items()} == {
        "bookings": (1, 1), "time": (3, 3), "invoices": (2, 2), "revenue": (1, 1)}
    assert pairs["time"].totals["the time tracker"] == {"hours": Decimal(22), "amount USD": Decimal("3600.00")}
    assert pairs["time"].totals["the ERP"] == pairs["time"].totals["the time tracker"]
    assert pairs["invoices"].totals["the ERP"] == {"total USD": Decimal("8600.00")}
    assert pairs["revenue"].totals["the ERP"] == {"revenue USD": Decimal("8600.00")}
    assert pairs["bookings"].totals["the CRM"] == {"amount USD": Decimal("35000.00")}
    with w.hub.engine.connect() as conn:
        run = drifts.get_run(conn, report.run_id or 0)
    assert run is not None and run.status == "clean" and run.stats["compared"] == 7 and run.stats["drifts"] == 0


def test_hours_changed_in_the_erp_are_traced_to_the_erp_and_written_back(tmp_path: Path, db_url: str) -> None:
    """Someone edits HV-1 in the ERP to 6 h: tracker 8 h x 150 = 1,200, ERP 6 h x 150 = 900. q2c's record says
    8 h as posted, so the ERP changed it; the heal writes the timebill again and the next run is clean."""
    w, _ = november(tmp_path, db_url)
    bill = w.erp.records["timebill"]["HV-1"]
    w.erp.records["timebill"]["HV-1"] = type(bill)(bill.entry.model_copy(update={"hours": Decimal(6)}), bill.rated,
                                                   bill.task_id)
    report = reconcile(w.hub)
    exception_id = one_drift(report, "time")
    drift = report.drifts[0]
    assert drift.drift.kind == "different"
    assert [(d.field, d.left, d.right) for d in drift.drift.differences] == [
        ("hours", Decimal(8), Decimal(6)), ("amount", Decimal("1200.00"), Decimal("900.00"))]
    assert "changed in the ERP" in drift.trace.cause and drift.trace.owner == "q2c"
    pair = next(p for p in report.pairs if p.pair == "time")
    assert pair.totals["the ERP"]["amount USD"] == Decimal("3300.00")
    with w.hub.engine.connect() as conn:
        row = exception_store.get(conn, exception_id)
    assert row is not None and row.violation.rule == "reconcile.time.different" and row.violation.record_id == "HV-1"
    assert "HV-1" in healed(w, exception_id)
    assert w.erp.records["timebill"]["HV-1"].entry.hours == Decimal(8)
    clean(w)
    with w.hub.engine.connect() as conn:
        trail = [e for e in audit.history(conn, record_id="HV-1") if e["action"] == "heal"]
    assert trail and trail[0]["actor"] == "controller@example.com"


def test_a_timebill_deleted_in_the_erp_is_written_again(tmp_path: Path, db_url: str) -> None:
    """HV-3 (Bob, 6 h, 1,200) disappears from the ERP: in the tracker only, and q2c holds it as posted with a
    link, so it was deleted in the ERP. The heal writes it again (same id: an upsert); the second run is clean."""
    w, _ = november(tmp_path, db_url)
    del w.erp.records["timebill"]["HV-3"]
    report = reconcile(w.hub)
    exception_id = one_drift(report, "time")
    assert report.drifts[0].drift.kind == "missing_right"
    assert "deleted in the ERP" in report.drifts[0].trace.cause
    pair = next(p for p in report.pairs if p.pair == "time")
    assert pair.totals["the ERP"] == {"hours": Decimal(16), "amount USD": Decimal("2400.00")}
    healed(w, exception_id)
    assert "HV-3" in w.erp.records["timebill"]
    clean(w)


def test_an_entry_deleted_or_unapproved_in_the_tracker_after_sync_is_named_and_left_to_its_owner(
        tmp_path: Path, db_url: str) -> None:
    """HV-2 is deleted in the tracker after it was posted and billed: the ERP holds a timebill the tracker no
    longer has. The tracker owns it, so heal refuses and says who acts (and that the invoice must be credited).
    HV-1's approval is withdrawn: the tracker lists it as submitted; the normal time path then holds it with
    its own exception, which accounts for it, so reconciliation counts it as held, not as a second drift."""
    w, _ = november(tmp_path, db_url)
    del w.tracker.entries["HV-2"]
    report = reconcile(w.hub)
    exception_id = one_drift(report, "time")
    drift = report.drifts[0]
    assert drift.drift.kind == "missing_left"
    assert "deleted in the time tracker" in drift.trace.cause and TM in drift.trace.cause
    assert drift.trace.owner == "tracker" and drift.trace.fix is None
    try:
        heal(w.hub, exception_id, actor="controller@example.com")
    except HealError as exc:
        assert "tracker" in str(exc)
    else:
        raise AssertionError("a drift the tracker owns was healed")
    w.tracker.change("HV-1", status=TimeEntryStatus.SUBMITTED)
    poll_time(w.hub)
    drain(w.hub)
    report = reconcile(w.hub)
    pair = next(p for p in report.pairs if p.pair == "time")
    assert pair.held == 1 and [t.drift.key for t in report.drifts] == ["HV-2"]


def test_a_change_in_the_tracker_q2c_never_read_is_delivered_by_the_heal(tmp_path: Path, db_url: str) -> None:
    """HV-1 is corrected to 7 h in the tracker, but q2c has not polled since: tracker 7 h, ERP 8 h, and q2c's
    record holds 8 h, so the tracker changed it after q2c posted it. HV-1 is billed (the T&M invoice), so the
    heal's delivery is the normal path's: an edit after billing waits for a person, under its own exception,
    and reconciliation then counts HV-1 as held."""
    w, _ = november(tmp_path, db_url)
    w.tracker.change("HV-1", hours=Decimal(7))
    report = reconcile(w.hub)
    exception_id = one_drift(report, "time")
    assert "changed in the time tracker after q2c posted" in report.drifts[0].trace.cause
    healed(w, exception_id)
    with w.hub.engine.connect() as conn:
        held = exception_store.open_subject_ids(conn, entity=time_entries.ENTITY, record_ids=["HV-1"])
    assert held == {"HV-1"}
    report = clean(w)
    assert next(p for p in report.pairs if p.pair == "time").held == 1


def test_an_invoice_deleted_or_paid_in_the_erp(tmp_path: Path, db_url: str) -> None:
    """The T&M invoice (3,600) vanishes from the ERP: q2c 8,600 vs ERP 5,000 invoiced; the heal writes it again.
    Then the customer pays it in the ERP: status posted in q2c vs paid in the ERP, owned by the ERP; the heal
    reads the status, and the second run is clean."""
    w, _ = november(tmp_path, db_url)
    del w.erp.records["invoice"][TM]
    report = reconcile(w.hub)
    exception_id = one_drift(report, "invoices")
    pair = next(p for p in report.pairs if p.pair == "invoices")
    assert pair.totals["q2c"] == {"total USD": Decimal("8600.00")}
    assert pair.totals["the ERP"] == {"total USD": Decimal("5000.00")}
    healed(w, exception_id)
    clean(w)
    w.erp.pay(TM, date(2026, 12, 10))
    report = reconcile(w.hub)
    exception_id = one_drift(report, "invoices")
    assert [(d.field, d.left, d.right) for d in report.drifts[0].drift.differences] == [
        ("status", "posted", "paid")]
    assert report.drifts[0].trace.owner == "erp"
    healed(w, exception_id)
    with w.hub.engine.connect() as conn:
        from q2c.store import records

        rec = records.get_record(conn, entity="invoice", canonical_id=TM)
    assert rec is not None and rec.state == InvoiceStatus.PAID.value
    clean(w)


def test_a_journal_entry_lost_in_the_erp_is_posted_again(tmp_path: Path, db_url: str) -> None:
    """November's revenue entry is deleted in the ERP: engine 8,600 recognised, ERP 0 on the revenue accounts
    (the contract's period has no entry there). The heal posts q2c's journal entries again."""
    w, _ = november(tmp_path, db_url)
    journals = w.erp.records["journalentry"]
    lost = sorted(journals)
    for key in lost:
        del journals[key]
    report = reconcile(w.hub)
    exception_id = one_drift(report, "revenue")
    assert report.drifts[0].drift.key == "C-006A:2026-11" and report.drifts[0].drift.kind == "missing_right"
    assert "no longer holds" in report.drifts[0].trace.cause
    healed(w, exception_id)
    assert sorted(journals) == lost
    clean(w)


def test_a_deal_changed_in_the_crm_is_traced_to_the_change_it_awaits(tmp_path: Path, db_url: str) -> None:
    """The CRM raises the deal to 40,000 (T&M line 20,000 -> 25,000) after setup, not yet approved there; q2c
    has not compared since: CRM 40,000 vs ERP 35,000, traced to the comparison not made, which the heal queues.
    The change then waits for the CRM's approval: it accounts for the difference (held, not a drift), as
    `q2c changes list` and the close readiness show it. Approved in the CRM, the next check applies it: the
    sales order says 40,000 and the run is clean."""
    w, _ = november(tmp_path, db_url)
    opp = w.crm.opportunities["SF-006A"]
    lines = (opp.lines[0].model_copy(update={"amount": opp.lines[0].amount.model_copy(
        update={"amount": Decimal("25000.00")})}), *opp.lines[1:])
    w.crm.opportunities["SF-006A"] = opp.model_copy(update={
        "amount": opp.amount.model_copy(update={"amount": Decimal("40000.00")}), "lines": lines})
    w.crm.approved["SF-006A"] = False
    report = reconcile(w.hub)
    exception_id = one_drift(report, "bookings")
    assert [(d.field, d.left, d.right) for d in report.drifts[0].drift.differences] == [
        ("amount", Decimal("40000.00"), Decimal("35000.00"))]
    assert "has not compared them since" in report.drifts[0].trace.cause
    healed(w, exception_id)
    report = clean(w)  # the change q2c now holds accounts for the CRM's new terms until it is decided
    assert next(p for p in report.pairs if p.pair == "bookings").held == 1
    w.crm.approved["SF-006A"] = True
    poll_contract_changes(w.hub)
    drain(w.hub)
    [order] = w.erp.documents("contract", ["C-006A"])
    assert order.total == Decimal("40000.00")
    clean(w)


def test_a_won_deal_never_set_up_is_set_up_by_the_heal(tmp_path: Path, db_url: str) -> None:
    """A second won deal SF-007A reached the CRM after the last poll: booked in the CRM, no sales order."""
    w, _ = november(tmp_path, db_url)
    opp = w.crm.opportunities["SF-006A"]
    w.crm.opportunities["SF-007A"] = opp.model_copy(update={"id": "SF-007A", "name": "Acme phase 2"})
    report = reconcile(w.hub)
    exception_id = one_drift(report, "bookings")
    assert report.drifts[0].drift.key == "SF-007A" and "never set up" in report.drifts[0].trace.cause
    healed(w, exception_id)
    assert "C-007A" in w.erp.records["salesorder"]
    clean(w)


def test_drift_is_kept_per_run_and_its_exception_closes_when_it_is_gone(tmp_path: Path, db_url: str) -> None:
    """A drift found twice is one open exception (two occurrences) and a drift row per run; fixed outside q2c,
    the next run resolves the exception by itself."""
    w, _ = november(tmp_path, db_url)
    bill = w.erp.records["timebill"].pop("HV-3")
    first, second = reconcile(w.hub), reconcile(w.hub)
    assert first.drifts[0].exception_id == second.drifts[0].exception_id
    with w.hub.engine.connect() as conn:
        assert [d.run_id for d in drifts.history(conn, pair="time", record_id="HV-3")] == [first.run_id,
                                                                                            second.run_id]
    w.erp.records["timebill"]["HV-3"] = bill
    clean(w)
    with w.hub.engine.connect() as conn:
        row = exception_store.get(conn, first.drifts[0].exception_id or 0)
    assert row is not None and row.status == exception_store.RESOLVED


def test_the_declared_invariants_say_which_pairs_run_after_each_step(tmp_path: Path) -> None:
    """Defaults: after a sync the bookings and the time; after billing the invoices; after a close the time and
    the revenue; on the schedule all four. An unknown invariant is refused by name."""
    from q2c.config import ReconciliationSettings

    settings = ReconciliationSettings()
    assert settings.pairs_after("sync") == ["bookings", "time"]
    assert settings.pairs_after("billing") == ["invoices"]
    assert settings.pairs_after("close") == ["time", "revenue"]
    assert settings.pairs_after("schedule") == ["bookings", "time", "invoices", "revenue"]
    quiet = ReconciliationSettings.model_validate({"invariants": {"time_posted": {"after": ["schedule"]}}})
    assert quiet.pairs_after("sync") == [] and quiet.pairs_after("schedule") == ["time"]
    try:
        ReconciliationSettings.model_validate({"invariants": {"cash_matches": {"after": ["sync"]}}})
    except ValueError as exc:
        assert "cash_matches" in str(exc) and "time_posted" in str(exc)
    else:
        raise AssertionError("an unknown invariant was accepted")


def test_check_invariants_runs_the_pairs_of_a_step(tmp_path: Path, db_url: str) -> None:
    """After billing only the invoices are compared: a timebill lost in the ERP is not looked at then, but is
    after the close."""
    from q2c.workflows.reconcile import check_invariants

    w, _ = november(tmp_path, db_url)
    del w.erp.records["timebill"]["HV-3"]
    billing = check_invariants(w.hub, "billing")
    assert billing is not None and [p.pair for p in billing.pairs] == ["invoices"] and billing.clean
    closing = check_invariants(w.hub, "close")
    assert closing is not None and [t.drift.key for t in closing.drifts] == ["HV-3"]


def test_serve_reconciles_the_scheduled_invariants(tmp_path: Path, db_url: str) -> None:
    """`q2c serve`'s scheduler with `reconciliation.every_seconds` due at once: one round reconciles the four
    pairs and finds the timebill lost in the ERP, as an open exception naming it."""
    import threading
    import time

    from q2c.config import ReconciliationSettings
    from q2c.entrypoints.wiring import schedule

    w, _ = november(tmp_path, db_url)
    w.hub.config = w.hub.config.model_copy(update={"reconciliation": ReconciliationSettings(every_seconds=1e-6)})
    del w.erp.records["timebill"]["HV-3"]
    stop = threading.Event()
    thread = threading.Thread(target=schedule, args=(w.hub, stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    try:
        while True:
            with w.hub.engine.connect() as conn:
                found = drifts.runs_list(conn)
            if found:
                break
            assert time.monotonic() < deadline, "the scheduler ran no reconciliation"
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=30)
    run = found[0]
    assert run.status == "drift" and set(run.stats["pairs"]) == {"bookings", "time", "invoices", "revenue"}
    with w.hub.engine.connect() as conn:
        [row] = exception_store.search(conn, rule="reconcile.time.missing_right")
    assert row.violation.record_id == "HV-3"
