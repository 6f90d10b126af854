"""Contract changes through the real path: the Salesforce, Harvest and NetSuite sandboxes over HTTP, and only
`q2c` commands. One modification of each treatment, each with its plan shown before and its effect after, and
a change that reaches into a closed period held until a second person approves it.

The org records the contract-change process on the opportunity: `Change_Approved__c` (the checkbox that
approves a change of terms) and `Change_Effective_Date__c`, named in the config. Every figure is computed
by hand in the test's docstring.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from scenario_world import ScenarioWorld

from q2c.config import parse_config


class ChangeWorld(ScenarioWorld):
    def start(self, *, database: str | None = None) -> ChangeWorld:
        super().start(database=database)
        self.settings["systems"]["crm"].update(change_approval_field="Change_Approved__c",
                                               change_effective_date_field="Change_Effective_Date__c")
        self.config = parse_config(self.settings, base_dir=self.workdir)
        self.config_path = self.write_config(self.workdir / "q2c.yaml")
        return self

    def lines(self, opportunity: str) -> list[dict[str, Any]]:
        return [li for li in self.salesforce.state.records("OpportunityLineItem")
                if li["OpportunityId"] == opportunity]

    def change_terms(self, opportunity: str, *, effective: str, approved: bool = True,
                     line: str | None = None, **values: Any) -> None:
        """Sales edits a line (or, without `line`, the opportunity) and records the approval, as in the UI."""
        org = self.salesforce.state
        if line is not None:
            org.update("OpportunityLineItem", line, values)
        elif values:
            org.update("Opportunity", opportunity, values)
        org.update("Opportunity", opportunity, {"Change_Approved__c": approved,
                                                "Change_Effective_Date__c": effective})

    def changes(self, *args: str) -> list[dict[str, Any]]:
        result = self.q2c("changes", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return list(json.loads(result.stdout))

    def sales_order_lines(self, contract_id: str) -> list[Decimal]:
        (order,) = [r for r in self.netsuite.state.records["salesorder"].values()
                    if r.values["externalid"] == contract_id]
        return [Decimal(str(line["amount"])) for line in order.values["item"]]


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[ChangeWorld]:
    w = ChangeWorld(tmp_path).start(database=db_url)
    yield w
    w.stop()


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def test_a_fixed_fee_repriced_after_a_closed_month_is_caught_up_in_the_open_one_after_two_approvals(
        world: ChangeWorld) -> None:
    """Cumulative catch-up (ASC 606-10-25-13(b)) that reaches into a closed period.

    "Acme data platform": one fixed-fee line, USD 20,000 for 100 hours, Nov 2, 2026 to Jan 31, 2027, recognised
    by hours against the estimate and billed monthly: 6,666.67 + 6,666.67 + 6,666.66.
    November: Alice BUILD Nov 2-6, 5 x 8 h = 40 h. Close Nov 30: instalment 1 6,666.67; revenue 40/100 x 20,000
    = 8,000. November is closed.
    December: Alice Dec 1-4, 4 x 8 h = 32 h (72 h to date). Sales raises the fee to 25,000 and the estimate to
    150 h, approved, effective Dec 10. Alice Dec 14-15, 2 x 8 h = 16 h (88 h to date).
    Plan for December: on the terms in force 88/100 x 20,000 = 17,600, less 8,000 posted: 9,600; with the
    change 88/150 x 25,000 = 14,666.67, less 8,000: 6,666.67; difference -2,933.33. Of it, the catch-up restates
    the 8,000 posted for closed November on the new terms, 40/150 x 25,000 = 6,666.67: -1,333.33; progress in
    December (88 - 40)/150 x 25,000 = 8,000. Left to recognise after December: 20,000 - 17,600 = 2,400 on the
    old terms, 25,000 - 14,666.67 = 10,333.33 with the change. It re-measures what closed November holds, so
    it needs two people: Carol approves (still held), Dave approves (applied: revenue contract version 2, the
    NetSuite sales order line 25,000).
    Close Dec 31: the schedule keeps November's 6,666.67 and spreads 25,000 - 6,666.67 = 18,333.33 over
    December and January: 9,166.67 now; revenue December 6,666.67; November stays 8,000.
    January: Alice Jan 4-8 5 x 8 h, Jan 11-12 2 x 8 h, Jan 13 6 h = 62 h (150 h). Close Jan 31: instalment
    9,166.66; revenue 25,000 - 14,666.67 = 10,333.33. Billed 6,666.67 + 9,166.67 + 9,166.66 = 25,000 =
    recognised 8,000 + 6,666.67 + 10,333.33, in q2c and in NetSuite's journal."""
    w = world
    opp = w.add_deal("Acme data platform", [{"Description": "Data platform", "Service_Offering__c": "IMPL",
                                             "Billing_Type__c": "Fixed Fee", "Quantity": 100, "TotalPrice": 20000}])
    _ok(w.q2c("sync"))
    code = w.project_code(opp)
    contract = code.replace("P-", "C-", 1)
    nov = [w.log_time("alice", "BUILD", f"2026-11-0{d}", "8", project_code=code) for d in (2, 3, 4, 5, 6)]
    w.approve(*nov)
    _ok(w.q2c("sync"))
    _ok(w.q2c("close", "--date", "2026-11-30"))
    assert w.recognised(contract, "2026-11") == Decimal("8000.00")
    assert w.netsuite_invoices()[f"INV-{contract}-1-20261130"] == Decimal("6666.67")
    _ok(w.q2c("period", "close", "US01", "2026-11"))

    dec = [w.log_time("alice", "BUILD", f"2026-12-0{d}", "8", project_code=code) for d in (1, 2, 3, 4)]
    w.approve(*dec)
    (line,) = w.lines(opp)
    w.change_terms(opp, line=line["Id"], effective="2026-12-10", TotalPrice=25000, Quantity=150)
    later = [w.log_time("alice", "BUILD", f"2026-12-{d}", "8", project_code=code) for d in (14, 15)]
    w.approve(*later)
    assert w.q2c("sync").exit_code == 1  # the held change is an open exception until it is approved
    assert w.open_rules() == ["contract.change_held"]

    (held,) = [c for c in w.changes() if c["contract_id"] == contract]
    assert held["state"] == "needs_second_approval"
    plan = held["plan"]
    assert plan["amendments"] == [f"line SF-{line['Id']} amount: USD 20,000.00 -> USD 25,000.00",
                                  f"line SF-{line['Id']} estimated_hours: 100 -> 150"]
    assert plan["treatment"] == "cumulative_catch_up" and plan["paragraph"] == "ASC 606-10-25-13(b) / IFRS 15.21(b)"
    assert plan["revenue"] == {**plan["revenue"], "period": "2026-12", "old_terms": "9600.00",
                               "new_terms": "6666.67", "difference": "-2933.33", "catch_up": "-1333.33"}
    assert plan["closed_periods_touched"] == ["2026-11"]
    assert plan["schedule"] == [  # left after December: 20,000 - 17,600 on the old terms, 25,000 - 14,666.67 new
        {"period": "2026-11", "posted": "8000.00", "closed": True},
        {"period": "2026-12", "old_terms": "9600.00", "new_terms": "6666.67"},
        {"period": "after 2026-12", "old_terms": "2400.00", "new_terms": "10333.33"}]
    assert [(a["side"], a["allocated"]) for a in plan["allocation"]] == [("before", "20000.00"),
                                                                        ("after", "25000.00")]
    assert w.sales_order_lines(contract) == [Decimal("20000.00")]  # nothing applied yet
    shown = _ok(w.q2c("changes", "show", held["id"])).stdout
    assert "revenue of 2026-12: 9600.00 on the terms in force, 6666.67 with the change" in shown
    assert "reaches into closed period(s): 2026-11" in shown
    assert "revenue schedule per period" in shown and "10333.33" in shown

    first = w.q2c("changes", "apply", held["id"], "--actor", "carol")
    assert first.exit_code == 1, first.output
    assert "a second person (approved by cli:carol)" in first.stdout
    _ok(w.q2c("changes", "apply", held["id"], "--actor", "dave"))
    (applied,) = [c for c in w.changes("--all") if c["contract_id"] == contract]
    assert applied["state"] == "applied" and applied["applied"]["version"] == 2
    assert [a["by"] for a in applied["approvals"]] == ["cli:carol", "cli:dave"]
    assert w.sales_order_lines(contract) == [Decimal("25000.00")]

    _ok(w.q2c("close", "--date", "2026-12-31"))
    assert w.netsuite_invoices()[f"INV-{contract}-1-20261231"] == Decimal("9166.67")
    assert w.recognised(contract, "2026-12") == Decimal("6666.67")
    assert w.recognised(contract, "2026-11") == Decimal("8000.00")
    explained = _ok(w.q2c("revenue", "explain", contract, "2026-12")).stdout
    assert f"CHG-{contract}-1" in explained

    jan = [w.log_time("alice", "BUILD", f"2027-01-{d:02d}", "8", project_code=code) for d in (4, 5, 6, 7, 8, 11, 12)]
    jan.append(w.log_time("alice", "BUILD", "2027-01-13", "6", project_code=code))
    w.approve(*jan)
    _ok(w.q2c("sync"))
    _ok(w.q2c("close", "--date", "2027-01-31"))
    assert w.netsuite_invoices()[f"INV-{contract}-1-20270131"] == Decimal("9166.66")
    assert w.recognised(contract, "2027-01") == Decimal("10333.33")
    billed = sum(v for k, v in w.netsuite_invoices().items() if k.startswith(f"INV-{contract}-"))
    assert billed == Decimal("25000.00")
    journal = sum(v for k, v in w.netsuite_revenue().items() if contract in k)
    assert journal == Decimal("25000.00")
    assert w.open_rules() == []


def test_a_time_and_materials_line_added_at_the_rate_card_is_a_separate_contract(world: ChangeWorld) -> None:
    """Separate contract (ASC 606-10-25-12): distinct services priced at their standalone selling prices.

    The seeded deal (T&M cap 12,000; milestones Blueprint 5,000 and Go-live 10,000). Sales adds a T&M line
    "Data migration" (IMPL, 40 h, USD 6,000, cap 6,000), approved, effective Dec 1: hours billed at the rate
    card, the firm's standalone prices, so a separate contract; applied by itself on the next sync (nothing
    closed, nothing caught up). The new phase C-...-3 gets its own tasks, DESIGN-3/BUILD-3/INTERNAL-3, in
    NetSuite and in Harvest; the allocation of the rest stays: milestones 15,000.
    December: Alice BUILD-3 Dec 3 10 h x 150 = 1,500. Close Dec 31: invoice INV-<C>-3-20261231 1,500; revenue
    December 1,500 (as invoiced)."""
    w = world
    _ok(w.q2c("sync"))
    c = w.contract_id()
    opp = w.ids["opportunity"]
    w.salesforce.state.create("OpportunityLineItem", {
        "OpportunityId": opp, "Description": "Data migration", "Service_Offering__c": "IMPL",
        "Billing_Type__c": "Time and Materials", "Quantity": 40, "TotalPrice": 6000, "Cap_Amount__c": 6000,
        "CurrencyIsoCode": "USD"})
    w.change_terms(opp, effective="2026-12-01")
    _ok(w.q2c("sync"))
    (applied,) = w.changes("--all")
    assert applied["state"] == "applied", applied.get("why_held")
    plan = applied["plan"]
    assert plan["treatment"] == "separate_contract" and plan["paragraph"] == "ASC 606-10-25-12 / IFRS 15.20"
    assert "time and materials is billed at the rate card" in " ".join(plan["facts"])
    assert plan["added_tasks"] == ["BUILD-3", "DESIGN-3", "INTERNAL-3"]
    after = [(a["obligation"], a["allocated"]) for a in plan["allocation"] if a["side"] == "after"]
    assert after == [(f"{c}-1", None), (f"{c}-2", "15000.00"), (f"{c}-3", None)]
    assert w.sales_order_lines(c) == [Decimal("20000.00"), Decimal("15000.00"), Decimal("6000.00")]
    assert w.netsuite.state.count("projecttask") == 9
    assert {t["name"] for t in w.harvest.state.tasks.values()} >= {"BUILD-3", "DESIGN-3", "INTERNAL-3"}

    entry = w.log_time("alice", "BUILD-3", "2026-12-03", "10")
    w.approve(entry)
    _ok(w.q2c("sync"))
    _ok(w.q2c("close", "--date", "2026-12-31"))
    assert w.netsuite_invoices()[f"INV-{c}-3-20261231"] == Decimal("1500.00")
    assert w.recognised(c, "2026-12") == Decimal("1500.00")
    assert w.open_rules() == []


def test_a_repriced_milestone_with_an_added_fee_is_prospective_when_the_controller_says_so(
        world: ChangeWorld) -> None:
    """Termination and a new contract, prospectively (ASC 606-10-25-13(a)), chosen by the controller.

    The seeded deal; Blueprint completed Nov 20; close Nov 30: Blueprint billed 5,000 and recognised 5,000.
    Sales reprices Go-live 10,000 -> 8,000 (the line 15,000 -> 13,000) and adds "Hypercare", a fixed fee of
    3,000 for 20 h, approved, effective Dec 1. New lines with changed ones: the facts do not decide
    (25-13(c)), so it waits for the controller, who chooses the prospective treatment (the remaining services
    are distinct from the blueprint delivered).
    At Dec 1 the milestone obligation earned 5,000 (Blueprint): that part is closed at 5,000. The price is
    15,000 - 2,000 + 3,000 = 16,000; not yet recognised 16,000 - 5,000 = 11,000, allocated on standalone
    selling prices: Go-live's remaining SSP is the inception SSP pro rata, 15,000 x 10,000/15,000 = 10,000,
    Hypercare's 3,000: Go-live 11,000 x 10/13 = 8,461.54, Hypercare 11,000 - 8,461.54 = 2,538.46.
    December: Alice BUILD-3 (Hypercare) Dec 2 10 h: 10/20 x 2,538.46 = 1,269.23. Close Dec 31: Hypercare's
    instalments for Nov and Dec, 1,000 + 1,000 = 2,000; revenue 1,269.23.
    January: Alice BUILD-3 Jan 5 10 h (20 h, done); Go-live completed Jan 15. Close Jan 31: Go-live 8,000,
    Hypercare 1,000; revenue 8,461.54 + 1,269.23 = 9,730.77. Billed 5,000 + 2,000 + 9,000 = 16,000 =
    recognised 5,000 + 1,269.23 + 9,730.77."""
    w = world
    _ok(w.q2c("sync"))
    c = w.contract_id()
    opp = w.ids["opportunity"]
    w.complete("blueprint", "2026-11-20")
    _ok(w.q2c("close", "--date", "2026-11-30"))
    assert w.recognised(c, "2026-11") == Decimal("5000.00")

    org = w.salesforce.state
    org.update("Opportunity_Milestone__c", w.ids["milestone:go_live"], {"Amount__c": 8000})
    org.update("OpportunityLineItem", w.ids["line:milestones"], {"TotalPrice": 13000})
    org.create("OpportunityLineItem", {"OpportunityId": opp, "Description": "Hypercare", "Service_Offering__c": "IMPL",
                                       "Billing_Type__c": "Fixed Fee", "Quantity": 20, "TotalPrice": 3000,
                                       "CurrencyIsoCode": "USD"})
    w.change_terms(opp, effective="2026-12-01")
    sync = w.q2c("sync")
    assert sync.exit_code == 1  # the held change is an open exception
    (held,) = w.changes()
    assert held["state"] == "needs_treatment"
    assert "25-13(c)" in held["why_held"]
    assert w.open_rules() == ["contract.change_held"]
    refused = w.q2c("changes", "apply", held["id"], "--actor", "carol")
    assert refused.exit_code == 2 and "needs its treatment chosen" in refused.stderr

    _ok(w.q2c("changes", "apply", held["id"], "--actor", "carol", "--treatment", "termination_and_new_contract",
              "--reason", "go-live support and hypercare are distinct from the blueprint delivered"))
    (applied,) = w.changes("--all")
    plan = applied["plan"]
    assert applied["state"] == "applied" and plan["treatment"] == "termination_and_new_contract"
    assert plan["reason"].startswith("chosen by cli:carol (go-live support and hypercare are distinct")
    after = {a["obligation"]: a["allocated"] for a in plan["allocation"] if a["side"] == "after"}
    assert after == {f"{c}-1": None, f"{c}-2": "5000.00", f"{c}-2/{held['id']}": "8461.54", f"{c}-3": "2538.46"}
    assert w.open_rules() == []

    entry = w.log_time("alice", "BUILD-3", "2026-12-02", "10")
    w.approve(entry)
    _ok(w.q2c("sync"))
    _ok(w.q2c("close", "--date", "2026-12-31"))
    assert w.netsuite_invoices()[f"INV-{c}-3-20261231"] == Decimal("2000.00")
    assert w.recognised(c, "2026-12") == Decimal("1269.23")

    entry = w.log_time("alice", "BUILD-3", "2027-01-05", "10")
    w.approve(entry)
    w.complete("go_live", "2027-01-15")
    _ok(w.q2c("sync"))
    _ok(w.q2c("close", "--date", "2027-01-31"))
    assert w.netsuite_invoices()["INV-SF-" + w.ids["milestone:go_live"]] == Decimal("8000.00")
    assert w.netsuite_invoices()[f"INV-{c}-3-20270131"] == Decimal("1000.00")
    assert w.recognised(c, "2027-01") == Decimal("9730.77")
    billed = sum(w.netsuite_invoices().values())
    assert billed == Decimal("16000.00") == sum(w.recognised(c, p) for p in ("2026-11", "2026-12", "2027-01"))
    assert sum(w.netsuite_revenue().values()) == Decimal("16000.00")
    assert w.open_rules() == []


def test_a_won_change_order_opportunity_amends_the_deal_it_names(world: ChangeWorld) -> None:
    """The org sells scope changes as change-order opportunities: "Acme cloud migration CO-1" names the deal in
    Original_Opportunity__c (named in the config as `change_order_field`) and sells a T&M line of 30 h, USD
    4,500, cap 4,500. When it is won it is not a second engagement (NetSuite keeps one project and one sales
    order): it is a change of the deal, a separate contract (T&M at the rate card), applied on the sync: phase
    C-...-3 with its own tasks; the sales order gets a third line of 4,500.
    Alice BUILD-3 Dec 7 6 h x 150 = 900: invoice INV-<C>-3-20261231 900, revenue December 900."""
    w = world
    w.settings["systems"]["crm"]["change_order_field"] = "Original_Opportunity__c"
    w.config_path = w.write_config(w.workdir / "q2c.yaml")
    _ok(w.q2c("sync"))
    c = w.contract_id()
    co = w.add_deal("Acme cloud migration CO-1", [{
        "Description": "More migration", "Service_Offering__c": "IMPL", "Billing_Type__c": "Time and Materials",
        "Quantity": 30, "TotalPrice": 4500, "Cap_Amount__c": 4500}],
        Original_Opportunity__c=w.ids["opportunity"], Change_Effective_Date__c="2026-12-01")
    _ok(w.q2c("sync"))
    (applied,) = w.changes("--all")
    assert applied["state"] == "applied" and applied["source"] == f"change order SF-{co}"
    assert applied["plan"]["treatment"] == "separate_contract"
    assert w.netsuite.state.count("job") == 1 and w.netsuite.state.count("salesorder") == 1
    assert w.sales_order_lines(c) == [Decimal("20000.00"), Decimal("15000.00"), Decimal("4500.00")]
    entry = w.log_time("alice", "BUILD-3", "2026-12-07", "6")
    w.approve(entry)
    _ok(w.q2c("sync"))
    _ok(w.q2c("close", "--date", "2026-12-31"))
    assert w.netsuite_invoices()[f"INV-{c}-3-20261231"] == Decimal("900.00")
    assert w.recognised(c, "2026-12") == Decimal("900.00")
    assert w.open_rules() == []
