"""A fixed fee billed on the schedule sales entered in Salesforce (percentages on dates), through the real path:
the Salesforce, Harvest and NetSuite sandboxes over HTTP, and only `q2c` commands. Every figure is computed by
hand in the test's docstring.
"""

from __future__ import annotations

from decimal import Decimal

from scenario_world import ScenarioWorld


def test_a_fixed_fee_is_billed_by_its_schedule_and_recognised_by_hours(scenario: ScenarioWorld) -> None:
    """"Acme data platform": one fixed-fee line, USD 50,000 for 200 hours, Nov 2, 2026 to Jan 31, 2027, with a
    billing schedule of three Billing_Schedule_Line__c records: 30% on signature (Nov 2), 40% on Dec 15, 30% at
    the end (Jan 31). Instalments: 50,000 x 30% = 15,000; 50,000 x 40% = 20,000; the last 50,000 - 35,000 =
    15,000. Revenue is by hours against the 200 sold, whatever the schedule.

    November: Alice BUILD Nov 2-6, 5 x 8 h = 40 h. Close Nov 30: due by then only Nov 2's 15,000 (one invoice,
    one line); revenue 40/200 x 50,000 = 10,000. Billed 15,000 against 10,000 recognised: a contract liability
    of 5,000.
    December: Alice Dec 1-4 and 7-10, 8 x 8 h = 64 h (104 h to date). Close Dec 31: Dec 15's 20,000 (November's
    is billed); revenue 104/200 x 50,000 = 26,000 to date, less 10,000: 16,000. Billed 35,000,
    recognised 26,000: liability 9,000.
    January: Alice Jan 4-8, 11-15 and 18-19, 12 x 8 h = 96 h (200 h). Close Jan 31: the last 15,000; revenue
    50,000 - 26,000 = 24,000. Billed 15,000 + 20,000 + 15,000 = 50,000 = recognised 10,000 + 16,000 + 24,000,
    in q2c and in NetSuite's journal."""
    w = scenario
    org = w.salesforce.state
    opp = w.add_deal("Acme data platform", [{"Description": "Data platform", "Service_Offering__c": "IMPL",
                                             "Billing_Type__c": "Fixed Fee", "Quantity": 200, "TotalPrice": 50000}])
    (line,) = [li["Id"] for li in org.records("OpportunityLineItem") if li["OpportunityId"] == opp]
    for name, percent, day in (("Signature", 30, "2026-11-02"), ("Design approved", 40, "2026-12-15"),
                               ("Handover", 30, "2027-01-31")):
        org.create("Billing_Schedule_Line__c", {"Name": name, "Opportunity__c": opp, "Line_Item_Id__c": line,
                                                "Percent__c": percent, "Bill_Date__c": day})
    assert w.q2c("sync").exit_code == 0
    code = w.project_code(opp)
    contract = code.replace("P-", "C-", 1)

    def work(*days: str) -> None:
        w.approve(*(w.log_time("alice", "BUILD", day, "8", project_code=code) for day in days))
        assert w.q2c("sync").exit_code == 0

    def invoices() -> dict[str, Decimal]:
        return {k: v for k, v in w.netsuite_invoices().items() if k.startswith(f"INV-{contract}-")}

    work(*(f"2026-11-0{d}" for d in (2, 3, 4, 5, 6)))
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    assert invoices() == {f"INV-{contract}-1-20261130": Decimal("15000.00")}
    (november,) = [r for r in w.netsuite.state.records["invoice"].values()
                   if r.values["externalid"] == f"INV-{contract}-1-20261130"]
    assert len(november.values["item"]) == 1  # one instalment: December's is not due yet
    assert w.recognised(contract, "2026-11") == Decimal("10000.00")

    work(*(f"2026-12-{d:02d}" for d in (1, 2, 3, 4, 7, 8, 9, 10)))
    assert w.q2c("close", "--date", "2026-12-31").exit_code == 0
    assert invoices()[f"INV-{contract}-1-20261231"] == Decimal("20000.00")
    assert w.recognised(contract, "2026-12") == Decimal("16000.00")

    work(*(f"2027-01-{d:02d}" for d in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18, 19)))
    assert w.q2c("close", "--date", "2027-01-31").exit_code == 0
    assert invoices() == {f"INV-{contract}-1-20261130": Decimal("15000.00"),
                          f"INV-{contract}-1-20261231": Decimal("20000.00"),
                          f"INV-{contract}-1-20270131": Decimal("15000.00")}
    assert w.recognised(contract, "2027-01") == Decimal("24000.00")
    assert sum(invoices().values()) == Decimal("50000.00")
    assert sum(v for k, v in w.netsuite_revenue().items() if contract in k) == Decimal("50000.00")
    assert w.open_rules() == []


def test_a_schedule_that_does_not_add_up_is_named_and_nothing_is_set_up(scenario: ScenarioWorld) -> None:
    """The same deal with 30% on Nov 2 and 40% on Feb 15, after the contract ends Jan 31: 70%, not 100, and a
    date outside the term. Both are exceptions naming the record and field; NetSuite gets no sales order for
    it (only the seeded deal's) and nothing is billed."""
    w = scenario
    org = w.salesforce.state
    opp = w.add_deal("Acme data platform", [{"Description": "Data platform", "Service_Offering__c": "IMPL",
                                             "Billing_Type__c": "Fixed Fee", "Quantity": 200, "TotalPrice": 50000}])
    (line,) = [li["Id"] for li in org.records("OpportunityLineItem") if li["OpportunityId"] == opp]
    first = org.create("Billing_Schedule_Line__c", {"Name": "Signature", "Opportunity__c": opp, "Line_Item_Id__c": line,
                                                    "Percent__c": 30, "Bill_Date__c": "2026-11-02"})
    late = org.create("Billing_Schedule_Line__c", {"Name": "Handover", "Opportunity__c": opp, "Line_Item_Id__c": line,
                                                   "Percent__c": 40, "Bill_Date__c": "2027-02-15"})
    assert w.q2c("sync").exit_code == 1
    found = {(e["rule"], e["record_id"].removeprefix("SF-"), e["field"]) for e in w.open_exceptions()}
    assert found == {("deal.billing_schedule_term", late, "Billing_Schedule_Line__c.Bill_Date__c"),
                     ("deal.billing_schedule_total", line, "Billing_Schedule_Line__c")}
    assert first not in {record for _, record, _ in found}
    assert w.netsuite.state.count("salesorder") == 1  # the seeded deal's only
