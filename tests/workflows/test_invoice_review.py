"""Review before release, through the service layer against in-memory systems (`billing.release: review`).

The deal (see `fakes.deal`): T&M line, cap USD 12,000, Alice (Consultant) 150/h, Bob (Architect) 200/h;
milestone line USD 15,000: Blueprint 5,000 and Go-live 10,000. Contract C-006A, T&M phase C-006A-1.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import FakeWorld, fake_world, usd

from q2c.config import BillingSettings
from q2c.entrypoints.wiring import drain
from q2c.store import audit, records, time_entries
from q2c.store import exceptions as exception_store
from q2c.workflows import invoice_review
from q2c.workflows.integrity import all_violations
from q2c.workflows.invoice_review import ReviewRefused, approve, list_invoices, reject

P, C = "P-006A", "C-006A"
TM = f"INV-{C}-1-20261130"


def reviewing(tmp_path: Path, db_url: str) -> FakeWorld:
    w = fake_world(tmp_path, db_url)
    w.hub.config = w.hub.config.model_copy(update={"billing": BillingSettings(release="review")})
    w.set_up()
    return w


def standing(w: FakeWorld) -> dict[str, tuple[str, Decimal]]:
    return {v.invoice.id: (v.standing, v.invoice.total.amount) for v in list_invoices(w.hub)}


def revenue(w: FakeWorld, period: str) -> Decimal:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="revenue_recognition", canonical_id=f"{C}:{period}")
    assert rec is not None
    return Decimal(rec.payload["recognised"])


def entry_states(w: FakeWorld, *ids: str) -> list[str]:
    with w.hub.engine.connect() as conn:
        found = records.get_records(conn, entity=time_entries.ENTITY, canonical_ids=list(ids))
    return [found[i].state for i in ids]


def test_a_draft_is_rejected_corrected_and_released(tmp_path: Path, db_url: str) -> None:
    """Alice BUILD Nov 3 8 h x 150 = 1,200; Bob DESIGN Nov 4 6 h x 200 = 1,200; Blueprint completed Nov 20.
    Close Nov 30: drafts INV-C-006A-1-20261130 2,400 and INV-SF-M1 5,000, nothing in the ERP. Revenue Nov:
    milestones are recognised on completion, 5,000 / 15,000 of the 15,000 allocated = 5,000; T&M is recognised
    as invoiced, and a draft is not invoiced: 0. Total 5,000.
    The reviewer rejects the T&M draft (Bob worked 4 h, not 6): both entries are unbilled again. Bob's entry is
    corrected to 4 h: 4 x 200 = 800. Close Nov 30 again: a new draft INV-C-006A-1-20261130-2 (the rejected id
    is never reused) = 1,200 + 800 = 2,000; the Blueprint draft still holds its milestone, so no second one.
    Both are approved and released. Close again: revenue Nov = 2,000 + 5,000 = 7,000."""
    w = reviewing(tmp_path, db_url)
    alice = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    bob = w.tracker.log(P, "DESIGN", "bob@example.com", date(2026, 11, 4), "6")
    w.tracker.approve(alice, bob)
    w.sync()
    w.crm.complete_milestone("SF-006A", "SF-M1", date(2026, 11, 20))
    w.close(date(2026, 11, 30))
    assert standing(w) == {TM: ("in_review", Decimal("2400.00")), "INV-SF-M1": ("in_review", Decimal("5000.00"))}
    assert w.erp.kind("invoice") == {}
    assert revenue(w, "2026-11") == Decimal("5000.00")
    assert entry_states(w, alice, bob) == ["billed", "billed"]

    with pytest.raises(ReviewRefused, match="field reason"):
        reject(w.hub, TM, actor="maria", reason="  ")
    rejection = reject(w.hub, TM, actor="maria", reason="Bob worked 4 h on Nov 4, not 6")
    assert rejection.unbilled == tuple(sorted((alice, bob)))
    assert entry_states(w, alice, bob) == ["synced", "synced"]
    assert standing(w)[TM] == ("rejected", Decimal("2400.00"))
    with w.hub.engine.connect() as conn:
        assert all_violations(conn) == []
        (entry,) = [e for e in audit.history(conn, record_id=TM) if e["action"] == "reject"]
    assert entry["actor"] == "maria" and entry["after"]["reason"] == "Bob worked 4 h on Nov 4, not 6"
    with pytest.raises(ReviewRefused, match="field status is 'rejected'"):
        approve(w.hub, TM, actor="maria")

    w.tracker.change(bob, hours=Decimal(4))
    w.sync()
    w.close(date(2026, 11, 30))
    assert standing(w) == {TM: ("rejected", Decimal("2400.00")),
                           f"{TM}-2": ("in_review", Decimal("2000.00")),
                           "INV-SF-M1": ("in_review", Decimal("5000.00"))}

    for invoice_id in (f"{TM}-2", "INV-SF-M1"):
        approve(w.hub, invoice_id, actor="maria")
    drain(w.hub)
    assert {i: v.total for i, v in w.erp.kind("invoice").items()} == {f"{TM}-2": usd("2000.00"),
                                                                      "INV-SF-M1": usd("5000.00")}
    assert standing(w)[f"{TM}-2"] == ("released", Decimal("2000.00"))
    with pytest.raises(ReviewRefused, match="in the ERP already"):
        approve(w.hub, f"{TM}-2", actor="maria")
    w.close(date(2026, 11, 30))
    assert revenue(w, "2026-11") == Decimal("7000.00")
    assert standing(w)[f"{TM}-2"] == ("posted", Decimal("2000.00"))
    with w.hub.engine.connect() as conn:
        assert all_violations(conn) == []
        assert audit.verify(conn).ok
        released = [e for e in audit.history(conn, record_id="INV-SF-M1") if e["action"] == "release"]
    assert released[0]["actor"] == "maria"


def test_a_rejected_milestone_is_billed_again_and_an_erp_refusal_waits_for_a_replay(tmp_path: Path,
                                                                                     db_url: str) -> None:
    """Blueprint (5,000) completed Nov 20: draft INV-SF-M1. Rejected (wrong PO number on it): the milestone is
    billable again, and the next run drafts INV-SF-M1-2 for 5,000. The ERP refuses its release once (a voided
    invoice of that id there): the release is an exception naming the invoice, the draft stays in review."""
    w = reviewing(tmp_path, db_url)
    w.crm.complete_milestone("SF-006A", "SF-M1", date(2026, 11, 20))
    w.close(date(2026, 11, 30))
    reject(w.hub, "INV-SF-M1", actor="maria", reason="wrong PO number")
    w.close(date(2026, 11, 30))
    assert standing(w) == {"INV-SF-M1": ("rejected", Decimal("5000.00")),
                           "INV-SF-M1-2": ("in_review", Decimal("5000.00"))}
    w.erp.void("INV-SF-M1-2", date(2026, 11, 30))  # the ERP holds a voided invoice of that id
    approve(w.hub, "INV-SF-M1-2", actor="maria")
    drain(w.hub)
    with w.hub.engine.connect() as conn:
        (held,) = exception_store.search(conn, rule="erp.voided")
    assert [s.record_id for s in held.open_subjects] == ["INV-SF-M1-2"]
    assert standing(w)["INV-SF-M1-2"] == ("in_review", Decimal("5000.00"))
    del w.erp.invoice_events["INV-SF-M1-2"]
    from q2c.engine.replay import replay

    replay(w.hub.engine, [held], actor="maria")
    drain(w.hub)
    assert standing(w)["INV-SF-M1-2"] == ("released", Decimal("5000.00"))
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn) == []


def test_auto_release_is_the_default_and_records_the_invoice_released(tmp_path: Path, db_url: str) -> None:
    """Without a billing policy the run releases at once: Alice Nov 3 8 h x 150 = 1,200 is in the ERP after the
    close and recognised in November (T&M as invoiced): 1,200."""
    w = fake_world(tmp_path, db_url)
    assert w.hub.config.billing.release == "auto"
    w.set_up()
    alice = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(alice)
    w.sync()
    w.close(date(2026, 11, 30))
    assert {i: v.total for i, v in w.erp.kind("invoice").items()} == {TM: usd("1200.00")}
    assert standing(w) == {TM: ("posted", Decimal("1200.00"))}
    assert revenue(w, "2026-11") == Decimal("1200.00")
    with pytest.raises(ReviewRefused, match="field status is 'posted'"):
        invoice_review.reject(w.hub, TM, actor="maria", reason="too late")
