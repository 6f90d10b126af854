"""Three months of one deal through the service layer, against in-memory systems: every invoice and
revenue figure to the cent, and the controller's rules checked after every step.

The deal (see `fakes.deal`): T&M line, cap USD 12,000, Alice (Consultant) 150/h, Bob (Architect) 200/h;
milestone line USD 15,000: Blueprint 5,000 and Go-live 10,000. Contract C-006A, project P-006A; the T&M
phase's tasks are DESIGN/BUILD/INTERNAL, the milestone phase's DESIGN-2/BUILD-2/INTERNAL-2.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import FakeWorld, fake_world, usd

from q2c.domain.model import Invoice
from q2c.domain.revenue import Period
from q2c.engine.replay import CorrectionRefused, replay
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store
from q2c.store import records
from q2c.workflows.handlers import corrections
from q2c.workflows.integrity import all_violations
from q2c.workflows.periods import set_period_state
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.revenue_close import account_map, posted_revenue

P, C = "P-006A", "C-006A"






def invoices(w: FakeWorld) -> dict[str, Invoice]:
    with w.hub.engine.connect() as conn:
        return {r.canonical_id: Invoice.model_validate(r.payload) for r in records.list_records(conn, entity="invoice")}


def revenue(w: FakeWorld, period: str) -> Decimal:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="revenue_recognition", canonical_id=f"{C}:{period}")
    assert rec is not None, f"no revenue posted for {period}"
    return Decimal(rec.payload["recognised"])


def open_rules(w: FakeWorld) -> list[str]:
    with w.hub.engine.connect() as conn:
        return sorted(r.violation.rule for r in exception_store.search(conn))


def rules_hold(w: FakeWorld) -> None:
    """Nothing lost, billing adds up (checked on the hub's records), and the GL equals the engine."""
    with w.hub.engine.connect() as conn:
        assert all_violations(conn) == []
        latest = max((r for r in records.list_records(conn, entity="revenue_recognition")),
                     key=lambda r: r.payload["period"], default=None)
        if latest is not None:
            assert posted_revenue(conn, C, "USD", account_map(w.hub)) == usd(latest.payload["cumulative"])


def test_three_months_of_a_deal(tmp_path: Path) -> None:
    """November: Alice BUILD Nov 3-6 4 x 8 h = 32 h x 150 = 4,800; Bob DESIGN Nov 4-5 2 x 6 h x 200 = 2,400;
    Bob DESIGN-2 (milestone phase) 10 h: not billed by the hour; Dan BUILD Nov 10 5 h: Dan is not on the
    rate card -> exception; replayed with the resource corrected to Alice: 5 x 150 = 750.
    Blueprint completed Nov 20. Close Nov 30: T&M invoice 4,800 + 2,400 + 750 = 7,950; milestone 5,000.
    Revenue Nov: T&M as invoiced 7,950 + milestones 5,000 / 15,000 of 15,000 = 5,000 -> 12,950.
    The controller closes November. Alice's Nov 27 4 h (600) is approved late; billing re-run for Nov 30
    dates its invoice 2026-12-01 (the first open day) and November's revenue close is refused.
    December: Alice Dec 1-3 3 x 8 h (1,200 each), Bob Dec 2 8 h (1,600). Cap room 12,000 - 8,550 = 3,450:
    Dec 1 1,200, Dec 2 Alice 1,200, Bob 1,600 crosses (550 held back), Dec 3 wholly over (1,200).
    Close Dec 31: T&M invoice 3,450. Revenue Dec: 600 + 3,450 = 4,050 (the refused November close is resolved by
    it). Over-cap: 550 + 1,200 = 1,750.
    January: Alice Jan 5 8 h (1,200) wholly over; Go-live completed Jan 15. Close Jan 31: milestone 10,000,
    no T&M invoice; revenue Jan 10,000; over-cap 2,950. Recognised 12,950 + 4,050 + 10,000 = 27,000 =
    billed 7,950 + 5,000 + 600 + 3,450 + 10,000."""
    w = fake_world(tmp_path)
    hub, tracker = w.hub, w.tracker
    poll_won_deals(hub)
    drain(hub)
    assert open_rules(w) == []
    assert [t.code for t in w.erp.kind("job")[P].tasks] == ["DESIGN", "BUILD", "INTERNAL", "DESIGN-2", "BUILD-2",
                                                             "INTERNAL-2"]

    # --- November ---------------------------------------------------------------------------------------
    alice = [tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, d), "8") for d in (3, 4, 5, 6)]
    bob = [tracker.log(P, "DESIGN", "bob@example.com", date(2026, 11, d), "6") for d in (4, 5)]
    fee_time = tracker.log(P, "DESIGN-2", "bob@example.com", date(2026, 11, 6), "10")
    dan = tracker.log(P, "BUILD", "dan@example.com", date(2026, 11, 10), "5")
    tracker.approve(*alice, *bob, fee_time, dan)
    w.sync()
    assert open_rules(w) == ["time.resource_unknown"]
    assert not w.erp.kind("timebill")[fee_time].rated.billable  # covered by the milestone fee
    rules_hold(w)

    with hub.engine.connect() as conn:
        (row,) = exception_store.search(conn)
    raw = dict(row.payload["entries"][0])
    with pytest.raises(CorrectionRefused, match="field hours"):
        replay(hub.engine, [row], actor="controller", corrected_payload={"entries": [{**raw, "hours": "9"}]},
               corrections=corrections())
    replay(hub.engine, [row], actor="controller",
           corrected_payload={"entries": [{**raw, "resource_id": "alice@example.com"}]}, corrections=corrections())
    drain(hub)
    assert open_rules(w) == []
    assert w.erp.kind("timebill")[dan].rated.amount == usd("750.00")
    w.sync()  # the tracker still says Dan: the override holds, no false edit
    assert open_rules(w) == []

    w.crm.complete_milestone("SF-006A", "SF-M1", date(2026, 11, 20))
    w.close(date(2026, 11, 30))
    assert {i: v.total for i, v in invoices(w).items()} == {
        f"INV-{C}-1-20261130": usd("7950.00"), "INV-SF-M1": usd("5000.00")}
    assert revenue(w, "2026-11") == Decimal("12950.00")
    rules_hold(w)

    assert set_period_state(hub, legal_entity="US01", period=Period(2026, 11), closed=True, actor="controller")
    late = tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 27), "4")
    tracker.approve(late)
    w.sync()
    w.close(date(2026, 11, 30))
    late_invoice = invoices(w)[f"INV-{C}-1-20261201"]
    assert late_invoice.invoice_date == date(2026, 12, 1) and late_invoice.total == usd("600.00")
    assert invoices(w)[f"INV-{C}-1-20261130"].total == usd("7950.00")  # the closed month's invoice is untouched
    assert open_rules(w) == ["revenue.period_closed"]
    assert revenue(w, "2026-11") == Decimal("12950.00")
    rules_hold(w)

    # --- December ---------------------------------------------------------------------------------------
    dec = [tracker.log(P, "BUILD", "alice@example.com", date(2026, 12, 1), "8"),
           tracker.log(P, "BUILD", "alice@example.com", date(2026, 12, 2), "8"),
           tracker.log(P, "DESIGN", "bob@example.com", date(2026, 12, 2), "8"),
           tracker.log(P, "BUILD", "alice@example.com", date(2026, 12, 3), "8")]
    tracker.approve(*dec)
    w.sync()
    w.close(date(2026, 12, 31))
    december = invoices(w)[f"INV-{C}-1-20261231"]
    assert december.total == usd("3450.00")
    assert december.lines[-1].amount == usd("-550.00") and december.lines[-1].time_entry_ids == (dec[2],)
    assert revenue(w, "2026-12") == Decimal("4050.00")
    with hub.engine.connect() as conn:
        (over,) = exception_store.search(conn, rule="time.over_cap")
    assert "USD 1,750.00" in over.violation.message
    assert sorted(s.record_id for s in over.open_subjects) == sorted([dec[2], dec[3]])
    assert open_rules(w) == ["time.over_cap"]  # December's close recognised what November's refused
    rules_hold(w)

    # --- January ----------------------------------------------------------------------------------------
    jan = tracker.log(P, "BUILD", "alice@example.com", date(2027, 1, 5), "8")
    tracker.approve(jan)
    w.sync()
    w.crm.complete_milestone("SF-006A", "SF-M2", date(2027, 1, 15))
    w.close(date(2027, 1, 31))
    assert invoices(w)["INV-SF-M2"].total == usd("10000.00")
    assert f"INV-{C}-1-20270131" not in invoices(w)
    assert revenue(w, "2027-01") == Decimal("10000.00")
    with hub.engine.connect() as conn:
        (over,) = exception_store.search(conn, rule="time.over_cap")
    assert "USD 2,950.00" in over.violation.message and len(over.open_subjects) == 3
    rules_hold(w)
    total_billed = sum((i.total.amount for i in invoices(w).values()), Decimal(0))
    assert total_billed == Decimal("27000.00") == sum(revenue(w, p) for p in ("2026-11", "2026-12", "2027-01"))


def test_time_over_the_cap_is_billed_and_its_exception_closes_once_the_cap_is_raised(tmp_path: Path) -> None:
    """Cap 3,000. Alice 5 x 8 h x 150 = 6,000 in November: 3,000 billed (the third entry crosses, 600 held back),
    entries four and five wholly over: `time.over_cap` 3,000 on three entries. The cap is then raised to 7,000
    (as an approved change order does): December's run releases the 600 first, then bills 1,200 + 1,200:
    3,000 more, 6,000 in all, and the exception closes by itself."""
    from fakes import deal

    from q2c.domain.model import Contract
    from q2c.engine.hashing import content_hash

    w = fake_world(tmp_path, opportunity=deal(cap="3000.00"))
    poll_won_deals(w.hub)
    drain(w.hub)
    week = [w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, d), "8") for d in (2, 3, 4, 5, 6)]
    w.tracker.approve(*week)
    w.sync()
    w.close(date(2026, 11, 30))
    with w.hub.engine.connect() as conn:
        (over,) = exception_store.search(conn, rule="time.over_cap")
    assert "USD 3,000.00" in over.violation.message and len(over.open_subjects) == 3
    rules_hold(w)

    with w.hub.engine.begin() as conn:
        stored = records.get_record(conn, entity="contract", canonical_id=C)
        assert stored is not None
        contract = Contract.model_validate(stored.payload)
        phases = (contract.phases[0].model_copy(update={"cap": usd("7000.00")}), *contract.phases[1:])
        payload = contract.model_copy(update={"phases": phases}).model_dump(mode="json")
        records.upsert_records(conn, [records.Record("contract", C, stored.aggregate, stored.state,
                                                     stored.schema_version, content_hash(payload), payload)])
    w.close(date(2026, 12, 31))
    december = invoices(w)[f"INV-{C}-1-20261231"]
    assert december.total == usd("3000.00")
    assert [line.amount for line in december.lines] == [usd("600.00"), usd("1200.00"), usd("1200.00")]
    assert "Released from the not-to-exceed cap" in december.lines[0].description
    assert open_rules(w) == []
    assert sum((i.total.amount for i in invoices(w).values()), Decimal(0)) == Decimal("6000.00")
    rules_hold(w)
