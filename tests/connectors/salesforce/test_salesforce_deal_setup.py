"""A won deal set up end to end, from a multicurrency org and from a single-currency one.

The demo's three sandboxes (Salesforce, Harvest, NetSuite) on loopback and the real hub: the
Salesforce org is emptied and set up either way, one won deal is entered as sales operations
would, and project setup runs through the workflow. In the single-currency org no record has
CurrencyIsoCode and every query naming it would be refused (400 INVALID_FIELD), so the deal can
only reach NetSuite if the connector built its queries from the describe and took the currency from
Organization.DefaultCurrencyIsoCode (Object Reference, "Organization", "CurrencyType"; Salesforce
Help, "Considerations for Enabling Multiple Currencies").
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from q2c.entrypoints.demo import DemoWorld
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store
from q2c.workflows.project_setup import poll_won_deals


@pytest.fixture(params=["multicurrency", "single-currency"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DemoWorld]:
    started = DemoWorld(tmp_path).start()
    org = started.salesforce.state
    org.reset()  # the demo's own deals out: this test's one in
    if request.param == "single-currency":
        org.configure(multicurrency=False, currency="USD")
    yield started
    started.stop()


def enter_won_deal(world: DemoWorld) -> tuple[str, str]:
    org = world.salesforce.state
    currency: dict[str, Any] = {"CurrencyIsoCode": "USD"} if org.multicurrency else {}
    account = org.create("Account", {"Name": "Vandelay Industries", "BillingCountry": "US", "Legal_Entity__c": "US01",
                                     "Tax_Id__c": "US-55-1234567", "Tax_Code__c": "US-CA-STD",
                                     "Payment_Terms__c": "Net 30", **currency})
    opportunity = org.create("Opportunity", {"Name": "Vandelay import platform", "AccountId": account,
                                             "StageName": "Negotiation/Review", "CloseDate": "2026-11-02",
                                             "Legal_Entity__c": "US01", "Start_Date__c": "2026-11-02",
                                             "End_Date__c": "2027-02-26", **currency})
    org.create("OpportunityLineItem", {"OpportunityId": opportunity, "Description": "Implementation (T&M)",
                                       "Service_Offering__c": "IMPL", "Billing_Type__c": "Time and Materials",
                                       "Quantity": 120, "TotalPrice": 18000, **currency})
    org.update("Opportunity", opportunity, {"StageName": "Closed Won"})
    return account, opportunity


def test_a_won_deal_is_set_up_in_the_erp_and_the_tracker(world: DemoWorld) -> None:
    account, opportunity = enter_won_deal(world)
    assert ("CurrencyIsoCode" in world.salesforce.state.record("Opportunity", opportunity)  # type: ignore[operator]
            ) == world.salesforce.state.multicurrency
    hub = world.hub()
    assert poll_won_deals(hub).enqueued == 1
    drain(hub)
    with hub.engine.connect() as conn:
        assert [e.violation.headline() for e in exception_store.search(conn)] == []
    ns = world.netsuite.state
    assert (ns.count("customer"), ns.count("salesorder"), ns.count("job")) == (1, 1, 1)
    [order] = [r.values for r in ns.records["salesorder"].values()]
    assert sum(Decimal(str(line["amount"])) for line in order["item"]) == Decimal("18000.00")
    assert sum(1 for p in world.harvest.state.projects.values() if p["code"].startswith("P-")) == 1
    written = world.salesforce.state.record("Opportunity", opportunity)
    assert written is not None and written["ERP_Contract_Id__c"] and written["ERP_Project_Id__c"]
    assert world.salesforce.state.record("Account", account)["ERP_Customer_Number__c"]  # type: ignore[index]
