"""Bad input through the whole path: each problem becomes a clear exception naming record and field,
and nothing else is disturbed (the good entries beside it still flow)."""

from __future__ import annotations

from decimal import Decimal

from q2c.entrypoints.demo import DemoWorld
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store
from q2c.store import records
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.time_approved import poll_time


def _set_up(world: DemoWorld) -> None:
    hub = world.hub()
    poll_won_deals(hub)
    drain(hub)


def _open(world: DemoWorld) -> dict[str, list[exception_store.ExceptionRow]]:
    hub = world.hub()
    with hub.engine.connect() as conn:
        rows = exception_store.search(conn)
    found: dict[str, list[exception_store.ExceptionRow]] = {}
    for row in rows:
        found.setdefault(row.violation.rule, []).append(row)
    return found


def test_time_on_a_project_closed_in_the_erp_is_one_exception_for_the_project(world: DemoWorld) -> None:
    _set_up(world)
    ns = world.netsuite.state
    (job,) = ns.records["job"].values()
    ns.close_job(job.id)
    ids = [world.log_time("alice", "BUILD", f"2026-11-{d:02d}", "4") for d in (10, 11, 12)]
    world.harvest.state.approve(ids)
    hub = world.hub()
    poll_time(hub)
    drain(hub)
    (row,) = _open(world)["time.project_closed"]
    v = row.violation
    assert (v.system, v.object, v.field) == ("netsuite", "job", "entityStatus")
    assert "3 entries" in v.message and "closed in NetSuite" in v.message and v.action.startswith("Reopen")
    assert ns.count("timebill") == 0
    with hub.engine.connect() as conn:
        assert records.count_by_state(conn, entity="time_entry") == {"invalid": 3}

    # Reopened in NetSuite: replaying the exception posts the three entries, and closes it.
    ns.records["job"][job.id].values["entitystatus"] = "2"
    hub.project_states.forget()
    from q2c.engine.replay import replay

    replay(hub.engine, [row], actor="test")
    drain(hub)
    assert ns.count("timebill") == 3
    assert "time.project_closed" not in _open(world)


def test_unapproved_time_waits_and_is_not_an_exception(world: DemoWorld) -> None:
    _set_up(world)
    world.log_time("bob", "DESIGN", "2026-11-10", "3")
    hub = world.hub()
    poll_time(hub)
    drain(hub)
    assert world.netsuite.state.count("timebill") == 0
    assert _open(world).keys() == {"customer.tax_id_missing"}
    with hub.engine.connect() as conn:
        assert records.count_by_state(conn, entity="time_entry") == {"pending_approval": 1}


def test_absurd_and_negative_hours_from_the_tracker_are_exceptions(world: DemoWorld) -> None:
    _set_up(world)
    good = world.log_time("alice", "BUILD", "2026-11-10", "7")
    absurd = world.log_time("alice", "BUILD", "2026-11-11", "7")
    negative = world.log_time("bob", "DESIGN", "2026-11-11", "2")
    world.harvest.state.approve([good, absurd, negative])
    # Data as a misbehaving upstream might deliver it (the Harvest UI itself refuses such values).
    entries = world.harvest.state._entries
    for entry_id, hours in ((absurd, Decimal(30)), (negative, Decimal(-2))):
        entries[entry_id].hours = hours
        entries[entry_id].cached = None
    world.harvest.state.version += 1
    hub = world.hub()
    poll_time(hub)
    drain(hub)
    hours_problems = {r.violation.record_id.removeprefix("HV-"): r.violation for rows in _open(world).values()
                      for r in rows if r.violation.field == "hours"}
    assert sorted(hours_problems) == sorted([str(absurd), str(negative)])
    assert "30" in hours_problems[str(absurd)].message and "-2" in hours_problems[str(negative)].message
    assert all(v.system == "harvest" and v.object == "time_entry" for v in hours_problems.values())
    assert world.netsuite.state.count("timebill") == 1  # the good one still went through

    # Fixed in Harvest, then replayed: the entry is read again and posted; its exception closes.
    entries[absurd].hours = Decimal(7)
    entries[absurd].cached = None
    world.harvest.state.version += 1
    from q2c.engine.replay import replay

    with hub.engine.connect() as conn:
        rows = [r for r in exception_store.search(conn) if r.violation.record_id.removeprefix("HV-") == str(absurd)]
    replay(hub.engine, rows, actor="test")
    drain(hub)
    assert world.netsuite.state.count("timebill") == 2
    assert str(absurd) not in {r.violation.record_id.removeprefix("HV-") for rows in _open(world).values()
                               for r in rows}


def test_a_deal_in_an_unknown_currency_names_the_field(world: DemoWorld) -> None:
    org = world.salesforce.state
    account = next(a for a in org.records("Account") if a["Name"] == "Globex Digital")
    opp = org.create("Opportunity", {"Name": "Zorkmid deal", "AccountId": account["Id"], "StageName": "Closed Won",
                                     "CloseDate": "2026-11-05", "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01"})
    org.create("OpportunityLineItem", {"OpportunityId": opp, "Description": "Implementation", "Quantity": 10,
                                       "Service_Offering__c": "IMPL", "Billing_Type__c": "Time and Materials",
                                       "TotalPrice": 1000, "CurrencyIsoCode": "USD"})
    # The org accepts only its enabled currencies: corrupt the stored value as a broken org would hold it.
    stored = next(r for r in org._records["Opportunity"].values() if r["Id"] == opp)
    stored["CurrencyIsoCode"] = "XYZ"
    _set_up(world)
    found = _open(world)
    currency = [r for rows in found.values() for r in rows if r.violation.record_id.endswith(opp)
                or r.violation.record_id == opp]
    assert currency, found.keys()
    assert any(r.violation.field and "CurrencyIsoCode" in r.violation.field for r in currency)
    assert any("XYZ" in r.violation.message for r in currency)
    assert world.netsuite.state.count("salesorder") == 1  # the good deal was still set up


def test_revenue_never_posts_into_a_closed_period(world: DemoWorld) -> None:
    from datetime import date

    from q2c.domain.revenue import Period
    from q2c.workflows.revenue_close import enqueue_revenue_close, set_period_state

    _set_up(world)
    hub = world.hub()
    assert set_period_state(hub, legal_entity="US01", period=Period(2026, 11), closed=True, actor="controller")
    assert not set_period_state(hub, legal_entity="US01", period=Period(2026, 11), closed=True, actor="controller")
    enqueue_revenue_close(hub, period_end=date(2026, 11, 30))
    drain(hub)
    (row,) = _open(world)["revenue.period_closed"]
    assert row.violation.record_id == "US01:2026-11" and "2026-12" in row.violation.action
    assert world.netsuite.state.count("journalentry") == 0
    # The controller reopens it; replaying the exception posts the close.
    assert set_period_state(hub, legal_entity="US01", period=Period(2026, 11), closed=False, actor="controller")
    from q2c.engine.replay import replay

    replay(hub.engine, [row], actor="controller")
    drain(hub)
    assert "revenue.period_closed" not in _open(world)
