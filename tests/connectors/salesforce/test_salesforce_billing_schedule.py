"""A Fixed Fee line's billing schedule from Salesforce: Billing_Schedule_Line__c records (Opportunity__c,
Line_Item_Id__c, Name, Percent__c, Bill_Date__c) hung off the line as milestones are, read only in an org that
has the object (its describe answers), so an org without it reads and bills exactly as before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from salesforce_fixtures import FAST_RETRY, seed_deal

from q2c.connectors.salesforce import MappingError, SalesforceClient, opportunity_from_salesforce
from q2c.connectors.salesforce.crm import SalesforceCrm
from q2c.connectors.salesforce.settings import SalesforceSettings
from q2c.domain.model import ScheduledBilling
from q2c.engine.errors import Rejected
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.salesforce.app import SalesforceSandbox

OPP = "006Dn0000000010IAA"
ACC = "001Dn0000000002IAA"
LINE = "00kDn0000000011IAA"
S1, S2 = "a1SDn0000000001IAA", "a1SDn0000000002IAA"


def bundle(*schedule: dict[str, Any], **extra: Any) -> dict[str, Any]:
    item = {"Id": LINE, "OpportunityId": OPP, "Billing_Type__c": "Fixed Fee", "TotalPrice": 50000, "Quantity": 200.0,
            "Service_Offering__c": "IMPL", "CurrencyIsoCode": "USD"}
    return {"opportunity": {"Id": OPP, "Name": "Acme data platform", "AccountId": ACC, "StageName": "Closed Won",
                            "IsWon": True, "CloseDate": "2026-11-02", "Amount": 50000, "CurrencyIsoCode": "USD",
                            "Start_Date__c": "2026-11-02", "End_Date__c": "2027-01-31"},
            "line_items": [item], "milestones": [], "billing_schedules": list(schedule), **extra}


def step(record: str, percent: Any, when: Any, name: Any = "Signature", line: str = LINE) -> dict[str, Any]:
    return {"Id": record, "Name": name, "Opportunity__c": OPP, "Line_Item_Id__c": line, "Percent__c": percent,
            "Bill_Date__c": when}


def test_the_schedule_records_become_the_lines_billing_schedule() -> None:
    (line,) = opportunity_from_salesforce(bundle(step(S1, 30.0, "2026-11-02"),
                                                 step(S2, 70.0, "2027-01-31", "Go-live"))).lines
    assert line.billing_schedule == (
        ScheduledBilling(id=f"SF-{S1}", name="Signature", bill_date=date(2026, 11, 2), percent=Decimal("30.0")),
        ScheduledBilling(id=f"SF-{S2}", name="Go-live", bill_date=date(2027, 1, 31), percent=Decimal("70.0")))


def test_a_bundle_without_schedules_maps_as_before() -> None:
    without = bundle()
    del without["billing_schedules"]
    (line,) = opportunity_from_salesforce(without).lines
    assert line.billing_schedule == ()


def test_each_broken_schedule_record_is_named_by_record_and_field() -> None:
    with pytest.raises(MappingError) as caught:
        opportunity_from_salesforce(bundle(step(S1, None, "15/11/2026"), step(S2, 70.0, "2027-01-31",
                                                                             line="00kDn0000000099IAA"),
                                           billing_schedule_object="Payment_Plan__c"))
    found = [(v.object, v.record_id, v.field, v.rule) for v in caught.value.violations]
    assert found == [("Payment_Plan__c", S2, "Line_Item_Id__c", "salesforce.mapping.reference"),
                     ("Payment_Plan__c", S1, "Percent__c", "salesforce.mapping.required"),
                     ("Payment_Plan__c", S1, "Bill_Date__c", "salesforce.mapping.date")]


@pytest.fixture()
def without_object(config: SalesforceSettings, guards: GuardRegistry) -> Iterator[SalesforceClient]:
    """A client whose settings name a schedule object this org never deployed."""
    settings = config.model_copy(update={"billing_schedule_object": "Payment_Plan__c"})
    with SalesforceClient(settings, guards, retry=FAST_RETRY) as connected:
        yield connected


def test_a_schedule_entered_in_the_org_reaches_the_deal_with_its_names(client: SalesforceClient,
                                                                       sandbox: SalesforceSandbox) -> None:
    """The seeded Fixed Fee line (EUR 12,500.50, Jul 1 to Dec 31, 2024): 25% on Jul 1, 75% on Dec 31."""
    deal = seed_deal(sandbox)
    org = sandbox.state
    first = org.create("Billing_Schedule_Line__c", {"Name": "Kick-off", "Opportunity__c": deal.opportunity_id,
                                                    "Line_Item_Id__c": deal.fixed_fee_line, "Percent__c": 25,
                                                    "Bill_Date__c": "2024-07-01"})
    last = org.create("Billing_Schedule_Line__c", {"Name": "Close-out", "Opportunity__c": deal.opportunity_id,
                                                   "Line_Item_Id__c": deal.fixed_fee_line, "Percent__c": 75,
                                                   "Bill_Date__c": "2024-12-31"})
    won = SalesforceCrm(client).deal(f"SF-{deal.opportunity_id}")
    by_id = {line.id: line for line in won.opportunity.lines}
    assert [(s.id, s.name, s.bill_date, s.percent) for s in by_id[f"SF-{deal.fixed_fee_line}"].billing_schedule] == [
        (f"SF-{first}", "Kick-off", date(2024, 7, 1), Decimal(25)),
        (f"SF-{last}", "Close-out", date(2024, 12, 31), Decimal(75))]
    assert by_id[f"SF-{deal.tm_line}"].billing_schedule == ()
    assert won.field_names["billing_schedule.percent"] == "Billing_Schedule_Line__c.Percent__c"


def test_an_org_without_the_object_reads_deals_exactly_as_before(without_object: SalesforceClient,
                                                                 client: SalesforceClient,
                                                                 sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    bundle_read = without_object.opportunity_bundle(deal.opportunity_id)
    assert "billing_schedules" not in bundle_read and "billing_schedule_object" not in bundle_read
    assert without_object.billing_schedule_fields() is None
    plain = SalesforceCrm(without_object).deal(f"SF-{deal.opportunity_id}").opportunity
    assert all(line.billing_schedule == () for line in plain.lines)
    assert plain == SalesforceCrm(client).deal(f"SF-{deal.opportunity_id}").opportunity  # no records: same deal
    queried = [key for key in sandbox.stats.by_path if "Payment_Plan__c" in key]
    assert queried == ["GET /services/data/v59.0/sobjects/Payment_Plan__c/describe"]  # asked once, never queried


def test_a_schedule_field_the_integration_user_cannot_read_is_named(client: SalesforceClient,
                                                                    sandbox: SalesforceSandbox,
                                                                    server: SandboxServer) -> None:
    deal = seed_deal(sandbox)
    answer = httpx.put(f"{server.url}/__sandbox/salesforce/fields/Billing_Schedule_Line__c/Percent__c/access",
                       json={"access": "none"})
    assert answer.status_code == 200, answer.text
    with pytest.raises(Rejected) as caught:
        SalesforceCrm(client).deal(f"SF-{deal.opportunity_id}")
    assert [(v.object, v.field, v.rule) for v in caught.value.violations] == [
        ("Billing_Schedule_Line__c", "Percent__c", "salesforce.setup.missing")]
