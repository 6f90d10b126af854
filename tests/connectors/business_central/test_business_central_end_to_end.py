"""Business Central as the firm's ERP, end to end through the CLI: `q2c sync`, `q2c close`, `q2c reconcile`
and `q2c doctor` against the Salesforce, Harvest and Business Central sandboxes (`systems.erp.type:
business_central`, the config `q2c sandbox up` writes).

The demo firm's rate card prices a Consultant at 150.00 USD and an Architect at 200.00. Hooli wins a T&M
deal (IMPL, 120 h, USD 18,000) in US01. By hand:

    Alice (Consultant) BUILD   Tue 3 Nov   8.00 h x 150.00 = 1,200.00
    Alice (Consultant) BUILD   Wed 4 Nov   8.00 h x 150.00 = 1,200.00
    Bob (Architect)    DESIGN  Thu 5 Nov   6.00 h x 200.00 = 1,200.00
                                          22.00 h            3,600.00

All three are approved, so three time entries reach Business Central with those hours and unit prices.
`q2c close --date 2026-11-30` bills them on one invoice of 3,600.00 (posted: status Open) and recognises
November's revenue, 3,600.00, as a journal entry posted from the Q2C batch (4000 Services Revenue credited
3,600.00). `q2c reconcile` then finds every pair matching.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from q2c.entrypoints import cli
from q2c.entrypoints.demo import PEOPLE
from q2c.entrypoints.sandbox_up import RunningSandboxes, start_sandboxes
from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.harvest.scenario import HarvestScenario

SYSTEMS = {"crm": "salesforce", "tracker": "harvest", "erp": "business_central"}


def q2c(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"Q2C_CONFIG": None})


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningSandboxes]:
    started = start_sandboxes(tmp_path / "firm", sandboxes=SYSTEMS)
    yield started
    started.stop()


def _won_deal(running: RunningSandboxes) -> str:
    org = running.salesforce.state
    account = org.create("Account", {"Name": "Hooli", "Tax_Id__c": "US-45-1234567", "Tax_Code__c": "US-CA-STD",
                                     "Payment_Terms__c": "Net 30", "CurrencyIsoCode": "USD", "BillingCountry": "US",
                                     "Legal_Entity__c": "US01"})
    opportunity = org.create("Opportunity", {"Name": "Hooli data platform", "AccountId": account,
                                             "StageName": "Closed Won", "CloseDate": "2026-11-02",
                                             "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01",
                                             "Start_Date__c": "2026-11-02", "End_Date__c": "2027-03-31"})
    org.create("OpportunityLineItem", {"OpportunityId": opportunity, "Description": "Implementation (T&M)",
                                       "Service_Offering__c": "IMPL", "Billing_Type__c": "Time and Materials",
                                       "Quantity": 120, "TotalPrice": 18000, "CurrencyIsoCode": "USD"})
    return str(opportunity)


def test_business_central_quote_to_cash_through_the_cli(running: RunningSandboxes) -> None:
    config = str(running.config_path)
    written = yaml.safe_load(running.config_path.read_text())
    assert written["systems"]["erp"]["type"] == "business_central"
    assert "local_currencies" not in written["systems"]["erp"]  # read from companyInformation
    box = running.boxes["erp"]
    assert isinstance(box, BusinessCentralSandbox)
    us01 = box.company_ids()["US01"]
    harvest, people = HarvestScenario(), {}
    for number, (given, surname, email, _role) in enumerate(PEOPLE[:2], start=1):
        box.add_employee(us01, f"E{number:04d}", given, surname, email=email, status="Active")
        people[given.lower()] = harvest.person(running.harvest, first=given, last=surname, email=email)
    opportunity = _won_deal(running)

    synced = q2c("sync", "--config", config)
    assert synced.exit_code == 0, synced.output
    project_id, contract_id = f"P-{opportunity[-12:]}", f"C-{opportunity[-12:]}"
    (customer,) = [c for c in box.records(us01, "customers") if c["displayName"] == "Hooli"]
    # Code fields: Business Central keeps them in capitals
    assert [p["number"] for p in box.records(us01, "projects")] == [project_id.upper()]
    assert {t["jobTaskNumber"] for t in box.records(us01, "jobTasks") if t["jobNumber"] == project_id.upper()} >= {
        "DESIGN", "BUILD"}
    (order,) = [o for o in box.records(us01, "salesOrders") if o["externalDocumentNumber"] == contract_id.upper()]
    assert order["customerNumber"] == customer["number"]

    entries = [harvest.log_time(running.harvest, person=people["alice"], project_code=project_id, task="BUILD",
                                day=day, hours=Decimal("8")) for day in ("2026-11-03", "2026-11-04")]
    entries.append(harvest.log_time(running.harvest, person=people["bob"], project_code=project_id, task="DESIGN",
                                    day="2026-11-05", hours=Decimal("6")))
    harvest.approve(running.harvest, entries)
    second = q2c("sync", "time", "--config", config)
    assert second.exit_code == 0, second.output
    time = box.records(us01, "timeEntries")
    assert sorted((str(t["postingDate"]), t["employeeNumber"], t["quantity"], t["unitPrice"]) for t in time) == [
        ("2026-11-03", "E0001", Decimal("8"), Decimal("150.00")),
        ("2026-11-04", "E0001", Decimal("8"), Decimal("150.00")),
        ("2026-11-05", "E0002", Decimal("6"), Decimal("200.00"))]
    assert sum(t["quantity"] * t["unitPrice"] for t in time) == Decimal("3600.00")

    closed = q2c("close", "--date", "2026-11-30", "--config", config)
    assert closed.exit_code == 0, closed.output
    (invoice,) = box.records(us01, "salesInvoices")
    assert (invoice["status"], invoice["totalAmountExcludingTax"]) == ("Open", Decimal("3600.00"))
    revenue = [e for e in box.records(us01, "generalLedgerEntries") if e["accountNumber"] == "4000"]
    assert sum(e["creditAmount"] - e["debitAmount"] for e in revenue) == Decimal("3600.00")

    reconciled = q2c("reconcile", "--config", config)
    assert reconciled.exit_code == 0, reconciled.output
    assert "every pair matches" in reconciled.output

    healthy = q2c("doctor", "--config", config)
    assert healthy.exit_code == 0, healthy.output
    assert "ok: token for client" in healthy.output and "has no jobs page" not in healthy.output
