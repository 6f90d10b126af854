"""One scenario per way money was once lost or distorted, through the sandboxes and `q2c` commands.

Each docstring says what used to happen and what must happen instead, with the figures by hand.
(Late facts into a closed period, a correction that must stick, negative cap lines in revenue and the
exit code of `q2c sync` are in `test_three_months`; bad config, /health and out-of-range ids have their own
tests under tests/entrypoints.)
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from scenario_world import ScenarioWorld

from q2c.entrypoints.wiring import drain
from q2c.sandboxes.kit import Faults
from q2c.store import exceptions as exception_store
from q2c.store import records
from q2c.workflows.time_approved import poll_time

ALICE = "alice@q2c-demo.example"


def test_one_problem_of_four_entries_keeps_all_four_and_replay_posts_all_four(scenario: ScenarioWorld) -> None:
    """Alice has no NetSuite employee; she logs four approved days (8 h x 150 each). It used to become one
    exception "(4x)" holding only the last entry: replaying it posted one timebill, three were lost and the
    month's invoice was short. Now the one exception holds all four; once the employee exists, replaying it
    posts four timebills and the invoice is 4 x 1,200 = 4,800."""
    w = scenario
    w.q2c("sync")
    ns = w.netsuite.state
    alice_employee = next(r.id for r in ns.records["employee"].values() if r.values["email"] == ALICE)
    employee = ns.records["employee"].pop(alice_employee)
    entries = [w.log_time("alice", "BUILD", f"2026-11-1{d}", "8") for d in (0, 1, 2)]
    w.approve(*entries)
    w.q2c("sync")
    entries.append(w.log_time("alice", "BUILD", "2026-11-13", "8"))  # a fourth, in a later sync
    w.approve(entries[-1])
    w.q2c("sync")
    (held,) = w.open_exceptions()
    assert held["rule"] == "time.employee_missing" and held["record_id"] == ALICE
    assert sorted(r["id"] for r in held["records"]) == sorted(f"HV-{e}" for e in entries)
    assert ns.count("timebill") == 0

    ns.records["employee"][alice_employee] = employee  # HR creates the employee in NetSuite
    replayed = w.q2c("exceptions", "replay", str(held["id"]))
    assert replayed.exit_code == 0, replayed.output
    assert ns.count("timebill") == 4 and w.open_rules() == []
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    assert w.netsuite_invoices() == {f"INV-{w.contract_id()}-1-20261130": Decimal("4800.00")}


def test_late_time_after_a_period_close_is_billed_and_recognised_in_the_next_open_period(
        scenario: ScenarioWorld) -> None:
    """November: Alice 12 h x 150 = 1,800, invoiced and recognised; the controller closes November. Then
    52 h more of November time (7,800) is approved and `q2c close --date 2026-11-30` runs again. It used to
    grow the November invoice to 9,600 while refusing November's revenue; December then recognised 0 and
    7,800 was posted nowhere. Now: a new invoice of 7,800 dated 2026-12-01, November's invoice stays 1,800,
    November's revenue is refused, and December recognises 7,800 and posts it: 1,800 + 7,800 = 9,600 in the GL."""
    w = scenario
    w.q2c("sync")
    c = w.contract_id()
    first = [w.log_time("alice", "BUILD", f"2026-11-0{d}", h) for d, h in ((3, "8"), (4, "4"))]
    w.approve(*first)
    w.q2c("sync")
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    assert w.q2c("period", "close", "US01", "2026-11").exit_code == 0
    late = [w.log_time("alice", "BUILD", f"2026-11-{d}", h) for d, h in ((16, "8"), (17, "8"), (18, "8"),
                                                                           (19, "8"), (20, "8"), (23, "8"), (24, "4"))]
    w.approve(*late)
    w.q2c("sync")
    w.q2c("close", "--date", "2026-11-30")
    assert w.netsuite_invoices() == {f"INV-{c}-1-20261130": Decimal("1800.00"),
                                     f"INV-{c}-1-20261201": Decimal("7800.00")}
    assert w.netsuite_invoice_dates()[f"INV-{c}-1-20261201"] == "2026-12-01"
    assert w.open_rules() == ["revenue.period_closed"]
    assert w.q2c("close", "--date", "2026-12-31").exit_code == 0
    assert w.recognised(c, "2026-12") == Decimal("7800.00")
    assert w.netsuite_revenue() == {f"JE-REV-{c}-2026-11": Decimal("1800.00"),
                                    f"JE-REV-{c}-2026-12": Decimal("7800.00")}
    timebill_dates = sorted(str(t.values["trandate"]) for t in w.netsuite.state.records["timebill"].values())
    assert timebill_dates[-1] == "2026-11-24"  # a timebill keeps its work date


def test_a_correction_sticks_and_can_never_invent_a_record(scenario: ScenarioWorld, tmp_path: Path) -> None:
    """Dan's 5 h is replayed as Alice's and billed (750). The next poll used to see Harvest's "Dan" and raise a
    false `time.edited_after_billing` ("resource_id alice -> dan"); now the override holds. A corrected payload
    with a new entry id and 24 h used to put a timebill into NetSuite that never existed in Harvest; now it is
    refused and nothing is written."""
    w = scenario
    w.q2c("sync")
    dan = w.log_time("dan", "BUILD", "2026-11-10", "5")
    w.approve(dan)
    w.q2c("sync")
    (held,) = w.open_exceptions()
    shown = w.q2c("exceptions", "show", str(held["id"]))
    (entry,) = json.loads(shown.stdout[shown.stdout.index("{"):])["entries"]
    invented = tmp_path / "invented.json"
    invented.write_text(json.dumps({"entries": [{**entry, "id": "HV-99999999", "hours": "24",
                                                 "resource_id": ALICE}]}))
    refused = w.q2c("exceptions", "replay", str(held["id"]), "--payload", str(invented))
    assert refused.exit_code == 2 and "never add one" in refused.stderr
    assert w.netsuite.state.count("timebill") == 0
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({"entries": [{**entry, "resource_id": ALICE}]}))
    assert w.q2c("exceptions", "replay", str(held["id"]), "--payload", str(fixed)).exit_code == 0
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    assert list(w.netsuite_invoices().values()) == [Decimal("750.00")]
    assert w.q2c("sync").exit_code == 0 and w.open_rules() == []
    w.correct_entry(dan, "6")  # a real edit in Harvest, after billing
    w.q2c("sync")
    assert w.open_rules() == ["time.edited_after_billing"]


def test_a_deal_that_cannot_be_set_up_names_every_problem_and_writes_nothing(scenario: ScenarioWorld) -> None:
    """A fixed-fee line used to crash with `q2c.internal_error` (no estimated hours) after the NetSuite customer,
    job and sales order and the Harvest project were written; a deal missing five fields reported one; a deal
    without lines was reported as "Amount is empty". Now the whole deal, with the revenue contract and billing
    plan it implies, is checked first: every problem is its own exception naming record and field (here a fixed
    fee with no contract end to bill its instalments over, among five), and nothing reaches NetSuite or
    Harvest."""
    w = scenario
    org = w.salesforce.state
    bare = org.create("Account", {"Name": "Bare Corp", "CurrencyIsoCode": "USD"})  # no tax id, terms, entity
    broken = w.add_deal("Bare rollout", [
        {"Description": "Fixed fee", "Billing_Type__c": "Fixed Fee", "TotalPrice": 9000, "Quantity": 40,
         "Service_Offering__c": "IMPL"},
        {"Description": "Advice", "Billing_Type__c": "Time and Materials", "TotalPrice": 1000, "Quantity": 10}],
        account=bare, end=None, Legal_Entity__c=None)
    empty = w.add_deal("Nothing sold", [])
    assert w.q2c("sync").exit_code == 1
    found = {(e["rule"], e["record_id"].removeprefix("SF-"), e["field"]) for e in w.open_exceptions()}
    lines = [r["Id"] for r in org.records("OpportunityLineItem") if r["OpportunityId"] == broken]
    assert len(lines) == 2
    assert found == {
        ("customer.tax_id_missing", bare, "Account.Tax_Id__c"),
        ("customer.payment_terms_missing", bare, "Account.Payment_Terms__c"),
        ("customer.legal_entity_missing", bare, "Legal_Entity__c"),
        ("deal.end_date_missing", broken, "Opportunity.End_Date__c"),
        ("deal.offering_missing", lines[1], "OpportunityLineItem.Service_Offering__c"),
        ("salesforce.mapping.no_lines", empty, "OpportunityLineItem"),
    }
    assert not any("Amount" in (e["field"] or "") for e in w.open_exceptions())
    ns = w.netsuite.state
    assert ns.count("customer") == 1 and ns.count("salesorder") == 1  # only the scenario's own deal
    assert sum(1 for p in w.harvest.state.projects.values() if p["code"].startswith("P-")) == 1


def test_a_fixed_fee_without_milestones_is_billed_monthly_and_recognised_by_hours(scenario: ScenarioWorld) -> None:
    """Fixed fee 9,000 for 60 h, Nov 2 to Jan 31: billed in three monthly instalments of 3,000 on each month's
    last day; recognised by hours against the 60 sold. November: Alice 15 h on BUILD -> 15 / 60 = 25% -> 2,250
    recognised, 3,000 billed: a contract liability of 750."""
    w = scenario
    opp = w.add_deal("Acme assessment", [{"Description": "Assessment", "Billing_Type__c": "Fixed Fee",
                                          "TotalPrice": 9000, "Quantity": 60, "Service_Offering__c": "IMPL"}])
    assert w.q2c("sync").exit_code == 0
    code = w.project_code(opp)
    entries = [w.log_time("alice", "BUILD", f"2026-11-0{d}", h, project_code=code) for d, h in ((3, "8"), (4, "7"))]
    w.approve(*entries)
    w.q2c("sync")
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    contract = f"C-{opp[-12:]}"
    assert w.netsuite_invoices()[f"INV-{contract}-1-20261130"] == Decimal("3000.00")
    assert w.recognised(contract, "2026-11") == Decimal("2250.00")
    explained = w.q2c("revenue", "explain", contract, "2026-11", "--json")
    figures = json.loads(explained.stdout)
    assert Decimal(figures["revenue"]) == Decimal("2250.00") and figures["period"] == "2026-11"
    assert w.netsuite.state.count("timebill") == 2
    assert all(t.values["isbillable"] is False for t in w.netsuite.state.records["timebill"].values())


def test_each_line_gets_its_own_tasks_so_time_bills_on_its_own_phase(scenario: ScenarioWorld) -> None:
    """A milestone line before a T&M line of the same offering used to put every task on the milestone
    phase: the T&M time was synced, never invoiced, and no exception said so. Now the milestone phase has
    DESIGN/BUILD/INTERNAL and the T&M phase DESIGN-2/BUILD-2/INTERNAL-2: Alice's 8 h on BUILD-2 is invoiced
    (1,200) and her 8 h on BUILD (the milestone phase's) is not billed by the hour."""
    w = scenario
    opp = w.add_deal("Acme phase two", [
        {"Description": "Design milestones", "Billing_Type__c": "Milestone", "TotalPrice": 5000, "Quantity": 1,
         "Service_Offering__c": "IMPL", "milestones": [{"Name": "Design", "Amount__c": 5000}]},
        {"Description": "Build (T&M)", "Billing_Type__c": "Time and Materials", "TotalPrice": 10000,
         "Quantity": 60, "Service_Offering__c": "IMPL"}])
    assert w.q2c("sync").exit_code == 0
    code = w.project_code(opp)
    tm = w.log_time("alice", "BUILD-2", "2026-11-03", "8", project_code=code)
    fee = w.log_time("alice", "BUILD", "2026-11-04", "8", project_code=code)
    w.approve(tm, fee)
    w.q2c("sync")
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    contract = f"C-{opp[-12:]}"
    assert w.netsuite_invoices() == {f"INV-{contract}-2-20261130": Decimal("1200.00")}
    with w.hub().engine.connect() as conn:
        states = {r.canonical_id: r.state for r in records.list_records(conn, entity="time_entry")}
    assert states == {f"HV-{tm}": "billed", f"HV-{fee}": "synced"}


def test_a_garbled_erp_answer_never_marks_a_posted_entry_invalid(scenario: ScenarioWorld) -> None:
    """NetSuite garbles the answers to three timebill writes after making them (the one-by-one path: fewer
    entries than the bulk threshold). Those entries used to stay in NetSuite while q2c marked them invalid
    under a non-retryable exception; now q2c reads them back, and all twelve are posted once each."""
    w = scenario
    w.q2c("sync")
    entries = [w.log_time("alice", "BUILD", f"2026-11-{d:02d}", "4") for d in range(2, 14)]
    w.approve(*entries)
    hub = w.hub()
    poll_time(hub)
    w.servers["netsuite"].sandbox.set_faults(Faults(malformed_next=3))  # the next three answers, after the write
    drain(hub)
    assert w.open_rules() == []
    assert w.netsuite.state.count("timebill") == 12 and w.netsuite.state.created("timebill") == 12
    with w.hub().engine.connect() as conn:
        assert records.count_by_state(conn, entity="time_entry") == {"synced": 12}


def test_a_note_shortened_to_fit_netsuite_is_a_warning_and_kept_whole_in_q2c(scenario: ScenarioWorld) -> None:
    """A 1 MB note used to reach NetSuite cut to 4,000 characters with no word. Now the timebill carries what
    fits, a `field.truncated` warning names the entry (visible with `exceptions list --all`), and q2c's record
    keeps the whole note."""
    w = scenario
    w.q2c("sync")
    note = ("cut-over rehearsal " * 55_000).strip()  # about 1 MB
    entry = w.log_time("alice", "BUILD", "2026-11-05", "6", notes=note)
    w.approve(entry)
    assert w.q2c("sync").exit_code == 0  # a warning needs no one
    (timebill,) = w.netsuite.state.records["timebill"].values()
    assert len(timebill.values["memo"].encode()) <= 4000
    listed = json.loads(w.q2c("exceptions", "list", "--all", "--json").stdout)
    (warning,) = [e for e in listed if e["rule"] == "field.truncated"]
    assert warning["status"] == "warning" and warning["record_id"] == f"HV-{entry}" and warning["field"] == "memo"
    with w.hub().engine.connect() as conn:
        kept = records.get_record(conn, entity="time_entry", canonical_id=f"HV-{entry}")
        assert exception_store.search(conn) == []
    assert kept is not None and kept.payload["entry"]["notes"] == note
