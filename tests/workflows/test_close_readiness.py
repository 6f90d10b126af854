"""Close readiness per legal entity and period: each kind of blocker refuses the close, and the close goes
through once it is resolved (or when forced with a reason, which the audit trail keeps).

The deal (see `fakes.deal`): contract C-006A for US01, T&M at 150/h (Alice) and 200/h (Bob), milestones
Blueprint 5,000 and Go-live 10,000. Eight checks; the readiness score is the share that are clear.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fakes import FakeWorld, fake_world

from q2c.config import BillingSettings
from q2c.domain.model import TimeEntryStatus
from q2c.domain.revenue import Period
from q2c.entrypoints.wiring import drain
from q2c.store import audit
from q2c.workflows import invoice_review
from q2c.workflows.close_readiness import CHECKS, CloseRefused, close_period, readiness
from q2c.workflows.contract_changes import list_changes, poll_contract_changes, reject
from q2c.workflows.reconcile import reconcile
from q2c.workflows.reconcile_heal import heal
from q2c.workflows.time_approved import poll_time

P, C, NOV = "P-006A", "C-006A", Period(2026, 11)


def blocked(w: FakeWorld) -> dict[str, list[str]]:
    return {k: [b.record_id for b in v] for k, v in readiness(w.hub, "US01", NOV).by_check().items() if v}


def sync(w: FakeWorld) -> None:
    poll_time(w.hub)
    drain(w.hub)


def test_each_blocker_refuses_the_close_until_it_is_resolved(tmp_path: Path, db_url: str) -> None:
    """Set up, nothing else: only November's revenue close is missing (7 of 8 clear: 88%). Alice logs 8 h on
    Nov 3 (HV-1), not approved: unapproved time. Approved and synced: unbilled time (8 h x 150 = 1,200). The
    billing and revenue close (with review on, the T&M invoice waits as a draft): a draft invoice. Released:
    ready (100%). Then a timebill lost in the ERP: a reconciliation drift until healed. Then the CRM changes
    the deal without approval: a pending change until rejected. The close then goes through."""
    w = fake_world(tmp_path, db_url)
    w.hub.config = w.hub.config.model_copy(update={"billing": BillingSettings(release="review")})
    w.set_up()
    assert blocked(w) == {"revenue_not_closed": [C]}
    assert readiness(w.hub, "US01", NOV).score == 88
    entry = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    sync(w)
    assert blocked(w)["unapproved_time"] == [entry]
    with pytest.raises(CloseRefused):
        close_period(w.hub, "US01", NOV, actor="controller")
    w.tracker.approve(entry)
    sync(w)
    assert "unapproved_time" not in blocked(w) and blocked(w)["unbilled_time"] == [entry]
    w.close(date(2026, 11, 30))
    assert blocked(w) == {"draft_invoices": [f"INV-{C}-1-20261130"]}
    invoice_review.approve(w.hub, f"INV-{C}-1-20261130", actor="reviewer")
    drain(w.hub)
    assert blocked(w) == {} and readiness(w.hub, "US01", NOV).score == 100
    del w.erp.records["timebill"][entry]
    found = reconcile(w.hub)
    assert blocked(w) == {"reconciliation_drifts": [entry]}
    heal(w.hub, found.drifts[0].exception_id or 0, actor="controller")
    reconcile(w.hub)
    assert blocked(w) == {}
    opp = w.crm.opportunities["SF-006A"]
    w.crm.opportunities["SF-006A"] = opp.model_copy(update={"end_date": date(2027, 3, 31)})
    w.crm.approved["SF-006A"] = False
    poll_contract_changes(w.hub)
    drain(w.hub)
    assert blocked(w) == {"pending_changes": [C]}
    with w.hub.engine.connect() as conn:
        [change] = list_changes(conn)
    reject(w.hub, change.canonical_id, actor="controller", reason="not agreed")
    assert blocked(w) == {}
    changed, _ = close_period(w.hub, "US01", NOV, actor="controller")
    assert changed and readiness(w.hub, "US01", NOV).closed


def test_an_open_exception_blocks_and_a_forced_close_keeps_its_reason(tmp_path: Path, db_url: str) -> None:
    """Carol is not an employee in the ERP: her approved 5 h on Nov 9 is held by `time.employee_missing`, an
    open exception on the project. A forced close without a reason is refused; with one it closes, and the audit
    trail keeps the reason and the blockers it overrode. Time dated in December does not block November."""
    w = fake_world(tmp_path, db_url)
    w.set_up()
    w.close(date(2026, 11, 30))
    december = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 12, 1), "4")
    w.tracker.approve(december)
    w.hub.erp.employees.discard("bob@example.com")  # type: ignore[attr-defined]
    held = w.tracker.log(P, "DESIGN", "bob@example.com", date(2026, 11, 9), "5")
    w.tracker.approve(held)
    sync(w)
    found = blocked(w)
    assert list(found) == ["open_exceptions"] and found["open_exceptions"] == ["bob@example.com"]
    with pytest.raises(ValueError):
        close_period(w.hub, "US01", NOV, actor="controller", force=True, reason=" ")
    changed, state = close_period(w.hub, "US01", NOV, actor="controller", force=True,
                                  reason="Bob's 5 h go to December")
    assert changed and state.score == 88
    with w.hub.engine.connect() as conn:
        [entry] = [e for e in audit.history(conn, record_id="US01:2026-11") if e["action"] == "period_forced"]
    assert entry["after"]["reason"] == "Bob's 5 h go to December"
    assert entry["after"]["blockers"][0]["check"] == "open_exceptions"


def test_a_missing_fx_rate_blocks_the_close(tmp_path: Path, db_url: str) -> None:
    """US01 keeps its books in EUR and no USD->EUR rate is known: the USD contract cannot be translated."""
    w = fake_world(tmp_path, db_url, functional="EUR")
    w.set_up()
    entry = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(entry)
    sync(w)
    w.close(date(2026, 11, 30))
    found = blocked(w)
    assert found["missing_fx_rates"] == [C]
    assert set(found) <= set(CHECKS)


def test_status_of_withdrawn_time_is_named(tmp_path: Path, db_url: str) -> None:
    """An approval withdrawn after posting (Nov 5, 3 h) is an open exception naming the entry, dated in
    November: it blocks November's close."""
    w = fake_world(tmp_path, db_url)
    w.set_up()
    entry = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 5), "3")
    w.tracker.approve(entry)
    sync(w)
    w.tracker.change(entry, status=TimeEntryStatus.SUBMITTED)
    sync(w)
    assert blocked(w)["open_exceptions"] == [entry]
