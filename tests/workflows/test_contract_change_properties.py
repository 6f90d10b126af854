"""Properties of the contract-change workflow over random lives of one deal: whatever sequence of scope changes,
approvals, time and closes happens, the controller's rules hold after every step.

* allocations add up to the transaction price of the revenue contract version in force;
* the GL equals the engine (revenue posted in the journal = the last recognition's cumulative);
* nothing is lost and billing adds up: billed + unbilled (and held over the cap) = approved billable hours x
  the rate in force on each work date (`all_violations`);
* nothing of a change reaches the contract before it is applied: the contract's terms are always those of
  the last applied change (or the set-up).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from fakes import FakeWorld, fake_world, usd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from q2c.domain.model import BillingType, Contract, Milestone, OpportunityLine
from q2c.domain.money import Money
from q2c.entrypoints.wiring import drain
from q2c.store import records
from q2c.workflows import contract_changes
from q2c.workflows.contract_changes import State
from q2c.workflows.contract_versions import stored_revenue_contract
from q2c.workflows.integrity import all_violations
from q2c.workflows.revenue_close import account_map, posted_revenue

P, C, OPP = "P-006A", "C-006A", "SF-006A"
MONTHS = ((2026, 11, 30), (2026, 12, 31), (2027, 1, 31))

steps = st.lists(st.one_of(
    st.tuples(st.just("cap"), st.sampled_from(["6000.00", "12000.00", "20000.00"])),
    st.tuples(st.just("golive"), st.sampled_from(["8000.00", "10000.00", "14000.00"])),
    st.tuples(st.just("milestone"), st.sampled_from(["2000.00", "5000.00"])),
    st.tuples(st.just("line"), st.sampled_from(["3000.00", "5000.00"])),
    st.tuples(st.just("fixed_fee"), st.sampled_from(["4000.00", "6000.00"])),
    st.tuples(st.just("fee"), st.sampled_from(["3000.00", "9000.00"])),
    st.tuples(st.just("period_close"), st.just(None)),
    st.tuples(st.just("time"), st.integers(min_value=1, max_value=10)),
    st.tuples(st.just("complete"), st.sampled_from(["SF-M1", "SF-M2", "SF-M3"])),
    st.tuples(st.just("treatment"), st.sampled_from(["termination_and_new_contract", "cumulative_catch_up"])),
), min_size=3, max_size=10)


def _contract(w: FakeWorld) -> Contract:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="contract", canonical_id=C)
    assert rec is not None
    return Contract.model_validate(rec.payload)


def _apply(w: FakeWorld, op: str, value: object, month: int) -> None:
    opp = w.crm.opportunities[OPP]
    tm, ms, *rest = opp.lines
    if op == "cap":
        w.crm.opportunities[OPP] = opp.model_copy(update={"lines": (tm.model_copy(update={"cap": usd(str(value))}),
                                                                   ms, *rest)})
    elif op == "golive":
        blueprint, golive, *more = ms.milestones
        total = sum((m.amount.amount for m in (blueprint, *more)), Decimal(value))  # type: ignore[arg-type]
        w.crm.opportunities[OPP] = opp.model_copy(update={"lines": (tm, ms.model_copy(update={
            "amount": usd(str(total)), "milestones": (blueprint, golive.model_copy(
                update={"amount": usd(str(value))}), *more)}), *rest)})
    elif op == "milestone" and len(ms.milestones) == 2:
        added = Milestone(id="SF-M3", name="Cutover", amount=usd(str(value)))
        w.crm.opportunities[OPP] = opp.model_copy(update={"lines": (tm, ms.model_copy(update={
            "amount": ms.amount + added.amount, "milestones": (*ms.milestones, added)}), *rest)})
    elif op == "line" and not rest:
        added_line = OpportunityLine(id="SF-00kX", service_offering="IMPL",
                                     billing_type=BillingType.TIME_AND_MATERIALS, amount=usd(str(value)),
                                     estimated_hours=Decimal(20), cap=usd(str(value)))
        w.crm.opportunities[OPP] = opp.model_copy(update={"lines": (tm, ms, added_line)})
    elif op == "fixed_fee" and not rest:  # with the cap raised at once: new and changed lines, for the controller
        fee = OpportunityLine(id="SF-00kX", service_offering="IMPL", billing_type=BillingType.FIXED_FEE,
                              amount=usd(str(value)), estimated_hours=Decimal(20))
        w.crm.opportunities[OPP] = opp.model_copy(update={"lines": (
            tm.model_copy(update={"cap": tm.cap + usd("1000.00") if tm.cap else usd("1000.00")}), ms, fee)})
    elif op == "fee" and rest and rest[0].billing_type is BillingType.FIXED_FEE:
        w.crm.opportunities[OPP] = opp.model_copy(update={"lines": (tm, ms, rest[0].model_copy(update={
            "amount": usd(str(value)), "estimated_hours": Decimal(30)}))})
    elif op == "period_close" and month > 0:
        from q2c.domain.revenue import Period
        from q2c.workflows.periods import set_period_state

        y, m, _ = MONTHS[month - 1]
        set_period_state(w.hub, legal_entity="US01", period=Period(y, m), closed=True, actor="controller")
    elif op == "time":
        y, m, _ = MONTHS[month]
        task = "BUILD-3" if "BUILD-3" in _task_codes(w) and int(str(value)) % 2 else "BUILD"
        entry = w.tracker.log(P, task, "alice@example.com", date(y, m, 3 + int(str(value))), str(value))
        w.tracker.approve(entry)
        w.sync()
    elif op == "complete":
        known = {m.id for line in opp.lines for m in line.milestones}
        if value in known:
            y, m, _ = MONTHS[month]
            w.crm.complete_milestone(OPP, str(value), date(y, m, 20))
    w.crm.effective[OPP] = date(*MONTHS[month][:2], 15)


def _task_codes(w: FakeWorld) -> set[str]:
    with w.hub.engine.connect() as conn:
        (rec,) = records.list_records(conn, entity="project", aggregate=f"contract:{C}")
    return {str(t["code"]) for t in rec.payload["tasks"]}


def _settle(w: FakeWorld, treatment: str) -> None:
    """Detect; a held change gets what it waits for (a treatment, a second approver)."""
    contract_changes.poll_contract_changes(w.hub)
    drain(w.hub)
    with w.hub.engine.connect() as conn:
        waiting = contract_changes.list_changes(conn)
    for change in waiting:
        if change.state == State.NEEDS_TREATMENT:
            from q2c.domain.revenue import ModificationTreatment

            contract_changes.approve(w.hub, change.canonical_id, actor="carol",
                                     treatment=ModificationTreatment(treatment))
        elif change.state == State.NEEDS_SECOND_APPROVAL:
            for person in ("carol", "dave"):
                contract_changes.approve(w.hub, change.canonical_id, actor=person)
        drain(w.hub)


def _rules_hold(w: FakeWorld) -> None:
    contract = _contract(w)
    with w.hub.engine.connect() as conn:
        assert all_violations(conn) == []
        rc = stored_revenue_contract(conn, contract)
        allocated = sum(((rc.allocation.allocated(ob.id) or Money.zero("USD")).amount for ob in rc.obligations),
                        Decimal(0))
        assert allocated == rc.allocation.transaction_price.amount
        latest = max((r for r in records.list_records(conn, entity="revenue_recognition", states=["posted"])),
                     key=lambda r: r.payload["period"], default=None)
        if latest is not None:
            assert posted_revenue(conn, C, "USD", account_map(w.hub)) == usd(latest.payload["cumulative"])
        applied = [c for c in contract_changes.list_changes(conn, include_ended=True) if c.state == State.APPLIED]
    if applied:
        last = max(applied, key=lambda c: int(c.payload["number"]))
        assert [p["amount"] for p in last.payload["plan"]["phases"]["after"]] == [
            str(p.amount.amount) for p in contract.phases]
    else:
        assert [p.amount for p in contract.phases] == [usd("20000.00"), usd("15000.00")]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(life=steps, treatment=st.sampled_from(["termination_and_new_contract", "cumulative_catch_up"]))
def test_after_any_life_of_changes_the_rules_hold(tmp_path_factory: object, life: list[tuple[str, object]],
                                                  treatment: str) -> None:
    tmp = Path(tmp_path_factory.mktemp("life"))  # type: ignore[attr-defined]
    w = fake_world(tmp)
    w.set_up()
    month = 0
    chosen = treatment
    for index, (op, value) in enumerate(life):
        if op == "treatment":
            chosen = str(value)
            continue
        _apply(w, op, value, month)
        _settle(w, chosen)
        _rules_hold(w)
        if index % 3 == 2 and month < len(MONTHS):
            w.close(date(*MONTHS[month]))
            _rules_hold(w)
            month = min(month + 1, len(MONTHS) - 1)
    w.close(date(*MONTHS[month]))
    _rules_hold(w)
