"""Contract changes through the service layer, against in-memory systems: what is held, what is applied, and
that nothing of a change reaches billing or revenue before it is applied.

The deal (see `fakes.deal`): T&M line USD 20,000 estimate, cap 12,000; milestone line USD 15,000: Blueprint
5,000 and Go-live 10,000; Alice (Consultant) 150/h. Contract C-006A, project P-006A (tasks DESIGN/BUILD/INTERNAL
on the T&M phase C-006A-1, DESIGN-2/BUILD-2/INTERNAL-2 on the milestone phase C-006A-2).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import FakeWorld, fake_world, usd
from fakes import deal as fakes_deal

from q2c.domain.model import Contract, Invoice, Milestone, MilestoneStatus
from q2c.domain.revenue import ModificationTreatment, Period
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store
from q2c.store import records
from q2c.workflows import contract_changes
from q2c.workflows.contract_changes import ChangeError, State
from q2c.workflows.contract_versions import versions
from q2c.workflows.integrity import all_violations
from q2c.workflows.periods import set_period_state
from q2c.workflows.revenue_close import account_map, posted_revenue

P, C, OPP = "P-006A", "C-006A", "SF-006A"


def invoices(w: FakeWorld) -> dict[str, Decimal]:
    with w.hub.engine.connect() as conn:
        return {r.canonical_id: Invoice.model_validate(r.payload).total.amount
                for r in records.list_records(conn, entity="invoice")}


def revenue(w: FakeWorld, period: str) -> Decimal:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="revenue_recognition", canonical_id=f"{C}:{period}")
    assert rec is not None, f"no revenue posted for {period}"
    return Decimal(rec.payload["recognised"])


def contract(w: FakeWorld) -> Contract:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="contract", canonical_id=C)
    assert rec is not None
    return Contract.model_validate(rec.payload)


def changes(w: FakeWorld) -> list[records.Record]:
    with w.hub.engine.connect() as conn:
        return contract_changes.list_changes(conn, include_ended=True)


def check(w: FakeWorld) -> None:
    contract_changes.poll_contract_changes(w.hub)
    drain(w.hub)


def rules_hold(w: FakeWorld) -> None:
    with w.hub.engine.connect() as conn:
        assert all_violations(conn) == []
        latest = max((r for r in records.list_records(conn, entity="revenue_recognition")),
                     key=lambda r: r.payload["period"], default=None)
        if latest is not None:
            assert posted_revenue(conn, C, "USD", account_map(w.hub)) == usd(latest.payload["cumulative"])


def amend(w: FakeWorld, *, cap: str = "20000.00", end: date = date(2027, 2, 28), cutover: bool = True) -> None:
    """The scope change as sales records it: cap raised, end date a month later, a 5,000 milestone added."""
    opp = w.crm.opportunities[OPP]
    tm, ms = opp.lines
    milestones = (*ms.milestones, Milestone(id="SF-M3", name="Cutover", amount=usd("5000.00"))) if cutover \
        else ms.milestones
    w.crm.opportunities[OPP] = opp.model_copy(update={"end_date": end, "lines": (
        tm.model_copy(update={"cap": usd(cap)}),
        ms.model_copy(update={"amount": usd("20000.00") if cutover else ms.amount, "milestones": milestones}))})


def add_fee_and_raise_cap(w: FakeWorld) -> None:
    """New lines and changed ones at once: a fixed-fee line (USD 8,000, 40 h) added and the cap raised to 15,000."""
    from q2c.domain.model import BillingType, OpportunityLine

    opp = w.crm.opportunities[OPP]
    w.crm.opportunities[OPP] = opp.model_copy(update={"lines": (
        opp.lines[0].model_copy(update={"cap": usd("15000.00")}), opp.lines[1],
        OpportunityLine(id="SF-00kF", service_offering="IMPL", billing_type=BillingType.FIXED_FEE,
                        amount=usd("8000.00"), estimated_hours=Decimal(40)))})


def test_a_change_waits_for_approval_and_its_milestone_is_neither_billed_nor_recognised_before(
        tmp_path: Path) -> None:
    """November: Alice BUILD 4 x 8 h x 150 = 4,800; Blueprint completed Nov 20. Close Nov 30: T&M 4,800,
    Blueprint 5,000, revenue 9,800; November closed.
    December: sales raises the cap 12,000 -> 20,000, moves the end to Feb 28 and adds Cutover (5,000), not yet
    approved in the CRM; Cutover is completed Dec 10 all the same. Alice Dec 1-8 6 x 8 h = 48 h x 150 = 7,200 +
    Dec 9 8 h (1,200): the old cap leaves 12,000 - 4,800 = 7,200, so 1,200 is over it. Close Dec 31: T&M
    7,200, no Cutover invoice, revenue 7,200 (Cutover is not a term yet).
    The change is approved in the CRM, effective Jan 4. Treatment: cumulative catch-up (T&M and milestone
    terms changed), catch-up 0 (milestones weigh their amounts: Blueprint 5,000 of 20,000 x 20,000 = 5,000,
    as before). Close Jan 31: the raised cap releases the 1,200; Cutover (reached Dec 10, a late fact) is billed
    5,000 and recognised in January: revenue 1,200 + 5,000 = 6,200. November stays 9,800."""
    w = fake_world(tmp_path)
    w.set_up()
    w.crm.approved[OPP] = False
    nov = [w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, d), "8") for d in (3, 4, 5, 6)]
    w.tracker.approve(*nov)
    w.sync()
    w.crm.complete_milestone(OPP, "SF-M1", date(2026, 11, 20))
    w.close(date(2026, 11, 30))
    assert revenue(w, "2026-11") == Decimal("9800.00")
    assert set_period_state(w.hub, legal_entity="US01", period=Period(2026, 11), closed=True, actor="controller")

    amend(w)
    w.crm.complete_milestone(OPP, "SF-M3", date(2026, 12, 10))
    check(w)
    (held,) = changes(w)
    assert held.state == State.PENDING_APPROVAL
    assert held.payload["plan"]["amendments"] == [
        "deal end_date: 2027-01-31 -> 2027-02-28", "line SF-00kT cap: USD 12,000.00 -> USD 20,000.00",
        "line SF-00kM amount: USD 15,000.00 -> USD 20,000.00",
        "line SF-00kM milestone SF-M3 added (Cutover, USD 5,000.00)"]
    assert contract(w).phases[0].cap == usd("12000.00") and contract(w).end_date == date(2027, 1, 31)

    dec = [w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 12, d), "8") for d in (1, 2, 3, 4, 7, 8, 9)]
    w.tracker.approve(*dec)
    w.sync()
    w.close(date(2026, 12, 31))
    assert invoices(w) == {f"INV-{C}-1-20261130": Decimal("4800.00"), "INV-SF-M1": Decimal("5000.00"),
                           f"INV-{C}-1-20261231": Decimal("7200.00")}
    assert revenue(w, "2026-12") == Decimal("7200.00")
    rules_hold(w)

    w.crm.approved[OPP] = True
    w.crm.effective[OPP] = date(2027, 1, 4)
    check(w)
    (applied,) = changes(w)
    assert applied.state == State.APPLIED, applied.payload.get("why_held")
    plan = applied.payload["plan"]
    assert plan["treatment"] == ModificationTreatment.CUMULATIVE_CATCH_UP
    assert plan["revenue"]["catch_up"] == "0.00" and plan["closed_periods_touched"] == []
    amended = contract(w)
    assert amended.phases[0].cap == usd("20000.00") and amended.end_date == date(2027, 2, 28)
    assert [m.id for m in amended.phases[1].milestones] == ["SF-M1", "SF-M2", "SF-M3"]
    assert w.erp.kind("salesorder")[C].phases[0].cap == usd("20000.00")
    with w.hub.engine.connect() as conn:
        assert [v.version for v in versions(conn, C)] == [1, 2]

    w.close(date(2027, 1, 31))
    assert invoices(w)[f"INV-{C}-1-20270131"] == Decimal("1200.00")
    assert invoices(w)["INV-SF-M3"] == Decimal("5000.00")
    assert revenue(w, "2027-01") == Decimal("6200.00")
    assert revenue(w, "2026-11") == Decimal("9800.00")
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn) == []
    rules_hold(w)
    check(w)  # nothing changed since: no new change
    assert [c.state for c in changes(w)] == [State.APPLIED]


def test_a_change_the_facts_do_not_decide_waits_for_the_controller_and_a_rejection_is_remembered(
        tmp_path: Path) -> None:
    """A new fixed-fee line (USD 8,000, 40 h) together with the raised cap: new lines and changed ones at once,
    which the controller decides (ASC 606-10-25-13(c)). Held as `needs_treatment`, an open exception names the
    change; apply without a treatment is refused; rejected, it is not raised again for the same terms."""
    w = fake_world(tmp_path)
    w.set_up()
    add_fee_and_raise_cap(w)
    check(w)
    (held,) = changes(w)
    assert held.state == State.NEEDS_TREATMENT
    with w.hub.engine.connect() as conn:
        (exc,) = exception_store.search(conn)
    assert exc.violation.rule == "contract.change_held" and exc.open_subjects[0].record_id == held.canonical_id
    with pytest.raises(ChangeError, match="needs its treatment chosen"):
        contract_changes.approve(w.hub, held.canonical_id, actor="carol")
    contract_changes.reject(w.hub, held.canonical_id, actor="carol", reason="sales to split it into two changes")
    check(w)
    assert [c.state for c in changes(w)] == [State.REJECTED]
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn) == []
    assert len(contract(w).phases) == 2


def test_a_milestone_repriced_with_nothing_recognised_yet_is_applied_and_recognised_on_the_new_terms(
        tmp_path: Path) -> None:
    """Go-live 10,000 -> 12,000 (line 15,000 -> 17,000) before any close: catch-up treatment, version 2.
    Blueprint and Go-live completed in November: revenue 5,000 + 12,000 = 17,000, billed 17,000."""
    w = fake_world(tmp_path)
    w.set_up()
    opp = w.crm.opportunities[OPP]
    ms = opp.lines[1]
    w.crm.opportunities[OPP] = opp.model_copy(update={"lines": (opp.lines[0], ms.model_copy(update={
        "amount": usd("17000.00"), "milestones": (ms.milestones[0], ms.milestones[1].model_copy(
            update={"amount": usd("12000.00")}))}))})
    w.crm.effective[OPP] = date(2026, 11, 10)
    check(w)
    assert [c.state for c in changes(w)] == [State.APPLIED]
    w.crm.complete_milestone(OPP, "SF-M1", date(2026, 11, 20))
    w.crm.complete_milestone(OPP, "SF-M2", date(2026, 11, 25))
    w.close(date(2026, 11, 30))
    assert invoices(w) == {"INV-SF-M1": Decimal("5000.00"), "INV-SF-M2": Decimal("12000.00")}
    assert revenue(w, "2026-11") == Decimal("17000.00")
    assert all(m.status is MilestoneStatus.PENDING for m in contract(w).phases[1].milestones)  # status stays live
    rules_hold(w)


def test_a_won_change_order_amends_its_deal_instead_of_being_set_up(tmp_path: Path) -> None:
    """A change-order opportunity SF-006B, linked to SF-006A, adds a T&M line (USD 4,000, cap 4,000) and is won:
    it is not set up as a second engagement; it becomes change CHG-C-006A-1 adding phase C-006A-3 (a separate
    contract: T&M at the rate card) with tasks DESIGN-3/BUILD-3/INTERNAL-3. Alice logs 8 h on BUILD-3 Nov 12:
    1,200, billed on the new phase's invoice. A later poll of SF-006A sees no change: the change order's line
    stays part of the terms in force."""
    from q2c.domain.model import BillingType, Opportunity, OpportunityLine

    w = fake_world(tmp_path)
    w.set_up()
    w.crm.opportunities["SF-006B"] = Opportunity(
        id="SF-006B", name="Acme cloud migration: data", customer_id="SF-001A", stage="Closed Won", is_won=True,
        close_date=date(2026, 11, 10), amount=usd("4000.00"), legal_entity="US01", amends_id=OPP, lines=(
            OpportunityLine(id="SF-00kD", service_offering="IMPL", billing_type=BillingType.TIME_AND_MATERIALS,
                            amount=usd("4000.00"), estimated_hours=Decimal(20), cap=usd("4000.00")),))
    w.crm.effective["SF-006A"] = date(2026, 11, 10)
    w.set_up()
    with w.hub.engine.connect() as conn:
        assert [r.canonical_id for r in records.list_records(conn, entity="contract")] == [C]
    (applied,) = changes(w)
    assert applied.state == State.APPLIED and applied.payload["source"] == "change order SF-006B"
    assert applied.payload["plan"]["treatment"] == ModificationTreatment.SEPARATE_CONTRACT
    assert [p.id for p in contract(w).phases] == [f"{C}-1", f"{C}-2", f"{C}-3"]
    assert {t.code for t in w.erp.kind("job")[P].tasks} >= {"DESIGN-3", "BUILD-3", "INTERNAL-3"}
    entry = w.tracker.log(P, "BUILD-3", "alice@example.com", date(2026, 11, 12), "8")
    w.tracker.approve(entry)
    w.sync()
    w.close(date(2026, 11, 30))
    assert invoices(w) == {f"INV-{C}-3-20261130": Decimal("1200.00")}
    check(w)
    assert [c.state for c in changes(w)] == [State.APPLIED]
    rules_hold(w)


def test_the_api_lists_shows_approves_and_rejects_changes(tmp_path: Path) -> None:
    """The same rules over HTTP: 404 for an unknown change, 409 for an approval without the treatment the
    change waits for, 202 for an approval (applied once the queue is drained), 422 for an unknown treatment."""
    from fastapi.testclient import TestClient

    from q2c.entrypoints.api_changes import changes_router
    from q2c.entrypoints.http_api import create_app
    from q2c.store.users import Role
    from support.api_auth import bearer

    w = fake_world(tmp_path)
    w.set_up()
    add_fee_and_raise_cap(w)
    check(w)
    (held,) = changes(w)
    app = create_app(w.hub.engine, webhook_secret="whsec-test", routers=[changes_router(w.hub)])
    dave = bearer(w.hub.engine, Role.CONTROLLER, "dave")
    with TestClient(app, headers=bearer(w.hub.engine, Role.CONTROLLER, "carol")) as client:
        listed = client.get("/changes").json()
        assert [c["id"] for c in listed] == [held.canonical_id] and listed[0]["state"] == "needs_treatment"
        assert client.get("/changes/CHG-nope").status_code == 404
        refused = client.post(f"/changes/{held.canonical_id}/apply", json={})
        assert refused.status_code == 409 and refused.json()["error"]["field"] == "treatment"
        bad = client.post(f"/changes/{held.canonical_id}/apply", json={"treatment": "guess"})
        assert bad.status_code == 422
        accepted = client.post(f"/changes/{held.canonical_id}/apply", json={
            "treatment": "termination_and_new_contract", "reason": "distinct remaining services"})
        assert accepted.status_code == 202
        drain(w.hub)
        shown = client.get(f"/changes/{held.canonical_id}").json()
        assert shown["state"] == "applied" and shown["approvals"][0]["by"] == "carol"
        assert client.get("/changes").json() == []
        assert len(client.get("/changes", params={"all": "true"}).json()) == 1
        again = client.post(f"/changes/{held.canonical_id}/reject", json={"reason": "late"}, headers=dave)
        assert again.status_code == 409
        assert "/changes/{change_id}/apply" in client.get("/openapi.json").json()["paths"]
    assert len(contract(w).phases) == 3


def test_a_change_event_of_a_set_up_deal_checks_it_at_once_and_the_scheduler_polls_all_only_when_due(
        tmp_path: Path) -> None:
    """The CRM reports an edit of SF-006A (not a win, not q2c's own write): its contract is checked at once and
    the raised cap is applied. The scheduler's full poll runs once per `contract_changes.poll_seconds`."""
    from q2c.workflows.crm_changes import consume_crm_changes
    from q2c.workflows.ports import CrmChange

    w = fake_world(tmp_path)
    w.set_up()
    amend(w, cutover=False)
    w.crm.changes.append(CrmChange(opportunity_ids=(OPP,), changed_fields=("Cap_Amount__c",), values={},
                                   origin="a user", by_q2c=False, position=1))
    stats = consume_crm_changes(w.hub)
    assert stats.terms_checked == 1
    drain(w.hub)
    assert [c.state for c in changes(w)] == [State.APPLIED]
    assert contract(w).phases[0].cap == usd("20000.00")
    assert contract_changes.poll_contract_changes_when_due(w.hub) == 1
    assert contract_changes.poll_contract_changes_when_due(w.hub) == 0  # not due again for an hour
    assert contract_changes.poll_contract_changes(w.hub) == 1  # `q2c sync` always compares


def test_a_later_end_date_does_not_stretch_a_retainer_whose_line_did_not_change(tmp_path: Path) -> None:
    """A retainer line of USD 9,000 with no term months runs to the deal's end as set up (Nov 2026 to Jan 2027,
    three months of 3,000). Sales moves the deal's end to Feb 28: a change of dates only, applied; the contract
    ends Feb 28 but the retainer still ends Jan 31, so its fee stays 3,000 a month."""
    from q2c.domain.model import BillingType, OpportunityLine

    opp = fakes_deal().model_copy(update={"amount": usd("9000.00"), "lines": (
        OpportunityLine(id="SF-00kR", service_offering="IMPL", billing_type=BillingType.RETAINER,
                        amount=usd("9000.00")),)})
    w = fake_world(tmp_path, opportunity=opp)
    w.set_up()
    (phase,) = contract(w).phases
    assert (phase.term_start, phase.term_end) == (date(2026, 11, 2), date(2027, 1, 31))
    w.crm.opportunities[OPP] = w.crm.opportunities[OPP].model_copy(update={"end_date": date(2027, 2, 28)})
    check(w)
    (applied,) = changes(w)
    assert applied.state == State.APPLIED and applied.payload["plan"]["amendments"] == [
        "deal end_date: 2027-01-31 -> 2027-02-28"]
    amended = contract(w)
    assert amended.end_date == date(2027, 2, 28)
    assert (amended.phases[0].term_start, amended.phases[0].term_end) == (date(2026, 11, 2), date(2027, 1, 31))
    w.close(date(2026, 11, 30))
    assert invoices(w) == {f"INV-{C}-1-20261130": Decimal("3000.00")}
    rules_hold(w)
