"""The demo scenario end to end, asserting exact amounts in every system."""

from __future__ import annotations

from decimal import Decimal

from q2c.entrypoints.demo import DemoWorld, run_scenario, summary
from q2c.store import records


def test_quote_to_cash_end_to_end(world: DemoWorld) -> None:
    hub = world.hub()
    out = run_scenario(world, hub, console=None)
    figures = summary(world, hub)

    ns = world.netsuite.state
    # One customer hierarchy (parent + child), one contract, one project with three tasks per phase.
    assert figures["erp"]["customer"] == 2 and ns.count("customer") == 2
    assert figures["erp"]["contract"] == 1 and ns.count("salesorder") == 1
    assert figures["erp"]["project"] == 1 and figures["erp"]["task"] == 6 and ns.count("projecttask") == 6
    assert figures["tracker_projects"] == 1

    # 9 approved, valid entries posted, each exactly once; the correction updated its timebill. The one deleted
    # in NetSuite by hand was found by the reconciliation and written again: 10 created, 1 deleted, 9 held.
    timebills = [r.values for r in ns.records["timebill"].values()]
    assert len(timebills) == 9 and ns.created("timebill") == 10 and ns.writes[("timebill", "deleted")] == 1
    assert sorted((t["hours"], t["rate"], t["isbillable"]) for t in timebills) == sorted(
        [(Decimal("8.00"), Decimal("150.00"), True)] * 5
        + [(Decimal("6.00"), Decimal("200.00"), True), (Decimal("6.50"), Decimal("200.00"), True),
           (Decimal("6.00"), Decimal("200.00"), True),  # Bob's Nov 5 after the correction from 5.5 h
           (Decimal("1.50"), Decimal("150.00"), False)])  # internal meetings: a non-billable task
    assert ns.updated("timebill") == 1  # the correction updated the timebill it had created
    assert figures["time_states"] == {"billed": 8, "synced": 1, "invalid": 2, "pending_approval": 1}

    # T&M: Alice 40 h x 150 + Bob (6 + 6.5 + 6) h x 200 = 6,000 + 3,700; milestone: design sign-off 10,000.
    assert sorted(figures["invoices"].values()) == [Decimal("9700.00"), Decimal("10000.00")]
    invoices = [r.values for r in ns.records["invoice"].values()]
    assert sorted(sum((Decimal(str(line["amount"])) for line in inv["item"]), Decimal(0)) for inv in invoices) == \
        [Decimal("9700.00"), Decimal("10000.00")]

    # Revenue: T&M as invoiced (right to invoice) + the completed milestone.
    (revenue,) = figures["revenue"].values()
    assert Decimal(revenue["recognised"]) == Decimal("19700.00")
    journals = [r.values for r in ns.records["journalentry"].values()]
    assert journals, "the revenue close posts a journal entry"
    for j in journals:
        debit = sum((Decimal(str(x.get("debit") or 0)) for x in j["line"]), Decimal(0))
        credit = sum((Decimal(str(x.get("credit") or 0)) for x in j["line"]), Decimal(0))
        assert debit == credit

    # Every problem is an exception a person can act on, and nothing else is.
    rules = sorted(rule for rule, _, _ in figures["exceptions"])
    assert rules == ["customer.tax_id_missing", "ownership.conflict", "time.edited_after_billing",
                     "time.resource_unknown", "time.task_unknown"]
    # The ERP's ids went back to the CRM fields the ERP owns.
    opp = world.salesforce.state.record("Opportunity", world.ids["opportunity"])
    assert opp is not None and opp["ERP_Contract_Id__c"].startswith("C-") and opp["ERP_Project_Id__c"].startswith("P-")
    assert figures["audit"][0]

    # Reconciliation: after the heal every pair matches; what does not is held by the exceptions above (the
    # deal whose customer has no tax id; Carol's, the travel and the edited entry).
    final = out["reconciliation"]
    assert {p.pair: (p.matched, p.held, len(p.drifts)) for p in final.pairs} == {
        "bookings": (1, 1, 0), "time": (8, 3, 0), "invoices": (2, 0, 0), "revenue": (1, 0, 0)}


def test_running_the_same_syncs_again_changes_nothing(world: DemoWorld) -> None:
    hub = world.hub()
    run_scenario(world, hub, console=None)
    before = summary(world, hub)
    writes = sum(world.netsuite.state.writes.values())
    from q2c.entrypoints.wiring import drain
    from q2c.workflows.project_setup import poll_won_deals
    from q2c.workflows.time_approved import poll_time

    poll_won_deals(hub)
    poll_time(hub)
    drain(hub)
    after = summary(world, hub)
    assert after["invoices"] == before["invoices"]
    assert after["erp"] == before["erp"]
    assert sum(world.netsuite.state.writes.values()) == writes  # no needless writes either
    with hub.engine.connect() as conn:
        assert records.count_by_state(conn, entity="time_entry") == before["time_states"]


def test_a_controller_can_have_a_contract_explained(world: DemoWorld) -> None:
    from q2c.domain.revenue import Period
    from q2c.workflows.revenue_close import explain

    hub = world.hub()
    run_scenario(world, hub, console=None)
    with hub.engine.connect() as conn:
        (contract,) = records.list_records(conn, entity="contract")
    text = explain(hub, contract.canonical_id, Period(2026, 11))
    assert text is not None
    assert "revenue USD 19,700.00" in text
    assert "Design sign-off" in text and "right to invoice" in text
    assert explain(hub, "C-UNKNOWN", Period(2026, 11)) is None
