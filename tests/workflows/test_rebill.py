"""Credit note and re-bill after an edit to billed time, through the service layer against in-memory systems.

The deal (see `fakes.deal`): T&M line, cap USD 12,000, Alice (Consultant) 150/h, Bob (Architect) 200/h;
milestone line USD 15,000. Contract C-006A, T&M phase C-006A-1.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import FakeWorld, fake_world, usd

from q2c.domain.model import Invoice
from q2c.domain.revenue import Period
from q2c.entrypoints.wiring import drain
from q2c.store import audit, records, time_entries
from q2c.store import exceptions as exception_store
from q2c.workflows.integrity import all_violations
from q2c.workflows.periods import set_period_state
from q2c.workflows.rebill import RebillRefused, rebill_standing, request_rebill
from q2c.workflows.revenue_close import account_map, posted_revenue

P, C = "P-006A", "C-006A"
TM = f"INV-{C}-1-20261130"


def revenue(w: FakeWorld, period: str) -> Decimal:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="revenue_recognition", canonical_id=f"{C}:{period}")
    assert rec is not None
    return Decimal(rec.payload["recognised"])


def edited(tmp_path: Path, db_url: str) -> tuple[FakeWorld, list[str], int]:
    """Alice BUILD Nov 3 and 4 8 h x 150 = 1,200 each; Bob DESIGN Nov 5 6 h x 200 = 1,200. Close Nov 30:
    INV-C-006A-1-20261130 3,600, revenue Nov 3,600. Then Alice's Nov 4 is changed to 6 h in the tracker."""
    w = fake_world(tmp_path, db_url)
    w.set_up()
    entries = [w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, d), "8") for d in (3, 4)]
    entries.append(w.tracker.log(P, "DESIGN", "bob@example.com", date(2026, 11, 5), "6"))
    w.tracker.approve(*entries)
    w.sync()
    w.close(date(2026, 11, 30))
    assert revenue(w, "2026-11") == Decimal("3600.00")
    w.tracker.change(entries[1], hours=Decimal(6))
    w.sync()
    with w.hub.engine.connect() as conn:
        (row,) = exception_store.search(conn)
    assert row.violation.rule == "time.edited_after_billing"
    return w, entries, row.id


def test_an_edit_after_billing_is_credited_to_the_cent_and_billed_again(tmp_path: Path, db_url: str) -> None:
    """The controller closes November and re-bills on Dec 3: credit note CN-1-INV-C-006A-1-20261130 takes back
    Alice's Nov 4 line, -1,200 (8 h x 150), and nothing else; the corrected 6 h x 150 = 900 is billed on
    INV-C-006A-1-20261203. Both reach the ERP; the exception closes. Close Dec 31: T&M as invoiced, revenue
    Dec = -1,200 + 900 = -300; recognised to date 3,600 - 300 = 3,300 = billed 3,600 - 1,200 + 900."""
    w, (alice_3, alice_4, bob), exception_id = edited(tmp_path, db_url)
    set_period_state(w.hub, legal_entity="US01", period=Period(2026, 11), closed=True, actor="controller")
    asked = request_rebill(w.hub, exception_id, on=date(2026, 12, 3), actor="maria")
    assert asked.state == "requested" and asked.entry_ids == (alice_4,)
    drain(w.hub)

    note = w.erp.kind("creditmemo")[f"CN-1-{TM}"]
    assert note.total == usd("-1200.00") and [ln.time_entry_ids for ln in note.lines] == [(alice_4,)]
    assert w.erp.kind("invoice")[f"INV-{C}-1-20261203"].total == usd("900.00")
    done = rebill_standing(w.hub, exception_id)
    assert done is not None and done.state == "done" and done.credit_notes == (f"CN-1-{TM}",)
    assert done.invoices == (f"INV-{C}-1-20261203",)
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn) == []
        assert exception_store.get(conn, exception_id).status == "resolved"  # type: ignore[union-attr]
        billed = {r.canonical_id: r.payload.get("invoice_id") for r in time_entries.of_project(conn, P)}
        rated = records.get_record(conn, entity=time_entries.ENTITY, canonical_id=alice_4)
        trail = [e["action"] for e in audit.history(conn, limit=30)]
        assert all_violations(conn) == []
    assert billed == {alice_3: TM, alice_4: f"INV-{C}-1-20261203", bob: TM}
    assert rated is not None and rated.payload["rated"]["amount"] == {"amount": "900.00", "currency": "USD"}
    assert {"rebill_requested", "credit_note", "replay", "rebill"} <= set(trail)
    assert w.erp.kind("timebill")[alice_4].rated.hours == Decimal("6")

    again = request_rebill(w.hub, exception_id, on=date(2026, 12, 3), actor="maria")
    assert again.state == "done"  # asked twice, done once
    w.close(date(2026, 12, 31))
    assert revenue(w, "2026-12") == Decimal("-300.00")
    with w.hub.engine.connect() as conn:
        assert posted_revenue(conn, C, "USD", account_map(w.hub)) == usd("3300.00")
        credit = Invoice.model_validate(records.get_record(conn, entity="invoice",
                                                           canonical_id=f"CN-1-{TM}").payload)
    assert credit.invoice_date == date(2026, 12, 3)


def test_a_rebill_is_refused_with_the_reason(tmp_path: Path, db_url: str) -> None:
    """Not an edit after billing, not an exception, a date before the invoice: each refused naming the field."""
    w, _, exception_id = edited(tmp_path, db_url)
    with pytest.raises(RebillRefused, match="does not exist"):
        request_rebill(w.hub, 999, on=date(2026, 12, 3), actor="maria")
    with pytest.raises(RebillRefused, match="field date"):
        request_rebill(w.hub, exception_id, on=date(2026, 11, 20), actor="maria")
    dan = w.tracker.log(P, "BUILD", "dan@example.com", date(2026, 11, 10), "5")
    w.tracker.approve(dan)
    w.sync()
    with w.hub.engine.connect() as conn:
        (other,) = exception_store.search(conn, rule="time.resource_unknown")
    with pytest.raises(RebillRefused, match=r"field rule is 'time\.resource_unknown'"):
        request_rebill(w.hub, other.id, on=date(2026, 12, 3), actor="maria")
