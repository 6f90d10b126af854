"""Dataverse rows as the Web API returns them (lookups as `_x_value`, choices with their formatted label), for
the pure mapping tests; and the same deal as Salesforce records, to compare the two mappings' verdicts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from q2c.connectors.dynamics365_sales.settings import Dynamics365SalesSettings

F = "@OData.Community.Display.V1.FormattedValue"
EUR = "9a1d0f6e-1111-4c2b-9a51-5d7e2f000001"
USD = "9a1d0f6e-1111-4c2b-9a51-5d7e2f000002"
CURRENCIES = {EUR: "EUR", USD: "USD"}
OPP = "4f6c2a10-0b7e-4d4a-8a61-3c2d1e000001"
ACC = "4f6c2a10-0b7e-4d4a-8a61-3c2d1e0000a1"
PARENT = "4f6c2a10-0b7e-4d4a-8a61-3c2d1e0000a2"
LINE_FF = "4f6c2a10-0b7e-4d4a-8a61-3c2d1e0000b1"
LINE_MS = "4f6c2a10-0b7e-4d4a-8a61-3c2d1e0000b2"
MS_1 = "4f6c2a10-0b7e-4d4a-8a61-3c2d1e0000c1"
BILLING = {"Fixed Fee": 100000001, "Time and Materials": 100000000, "Retainer": 100000002, "Milestone": 100000003}


def settings(**given: Any) -> Dynamics365SalesSettings:
    base: dict[str, Any] = {"tenant_id": "00000000-0000-0000-0000-0000000000aa", "client_id": "app",
                            "client_secret": "s", "org_url": "https://contoso.crm.dynamics.com"}
    return Dynamics365SalesSettings(**{**base, **given})


def account(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "accountid": ACC, "name": "Initech GmbH", "accountnumber": "C-1001", "_parentaccountid_value": PARENT,
        "_transactioncurrencyid_value": EUR, "address1_country": "DE", "q2c_legalentity": "DE01",
        "q2c_taxid": "DE123456789", "q2c_taxcode": "DE-STD", "paymenttermscode": 1, "paymenttermscode" + F: "Net 30",
        "q2c_customernumber": None, "modifiedon": "2024-06-28T09:00:00Z"}
    return {**row, **over}


def line(line_id: str, billing: str, amount: Decimal, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "opportunityproductid": line_id, "_opportunityid_value": OPP, "productdescription": billing,
        "quantity": Decimal(1), "priceperunit": amount, "extendedamount": amount, "_transactioncurrencyid_value": EUR,
        "q2c_serviceoffering": "Assessment", "q2c_billingtype": BILLING[billing], "q2c_billingtype" + F: billing,
        "q2c_capamount": None}
    return {**row, **over}


def bundle(**over: Any) -> dict[str, Any]:
    """A won EUR deal of a fixed fee (12,000.10) and a milestone line (8,000) whose one milestone is accepted."""
    out: dict[str, Any] = {
        "opportunity": {
            "opportunityid": OPP, "name": "Initech migration", "_customerid_value": ACC,
            "_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account", "_parentaccountid_value": ACC,
            "statecode": 1, "statecode" + F: "Won", "statuscode": 3, "statuscode" + F: "Won",
            "actualclosedate": "2024-06-28", "estimatedclosedate": "2024-06-30", "_transactioncurrencyid_value": EUR,
            "totalamount": Decimal("20000.1"), "q2c_legalentity": "DE01", "q2c_startdate": "2024-07-01",
            "q2c_enddate": "2024-09-30", "q2c_contractid": None, "q2c_projectid": None,
            "modifiedon": "2024-06-28T09:15:02Z", "_modifiedby_value": "7e1a0000-0000-0000-0000-000000000001"},
        "account": account(),
        "parent_accounts": [account(accountid=PARENT, name="Initech Group", _parentaccountid_value=None,
                                    address1_country="US", _transactioncurrencyid_value=USD,
                                    q2c_legalentity="US01")],
        "line_items": [line(LINE_FF, "Fixed Fee", Decimal("12000.1")),
                       line(LINE_MS, "Milestone", Decimal(8000), q2c_serviceoffering="Cutover")],
        "milestones": [{"q2c_milestoneid": MS_1, "q2c_name": "Cutover done", "_q2c_opportunityid_value": OPP,
                        "q2c_lineitemid": LINE_MS, "q2c_amount": Decimal(8000), "q2c_duedate": "2024-09-15",
                        "q2c_status": 100000002, "q2c_status" + F: "Accepted", "q2c_completedon": "2024-09-12",
                        "modifiedon": "2024-09-12T16:00:00Z"}],
        "currencies": CURRENCIES,
    }
    out.update(over)
    return out


SF_OPP, SF_ACC, SF_PARENT = "006000000000001AAA", "001000000000001AAA", "001000000000002AAA"
SF_FF, SF_MS, SF_M1 = "00k000000000001AAA", "00k000000000002AAA", "a0M000000000001AAA"


def salesforce_bundle() -> dict[str, Any]:
    """The same deal as `bundle()`, as the Salesforce connector reads it."""
    def acc(**over: Any) -> dict[str, Any]:
        row = {"Id": SF_ACC, "Name": "Initech GmbH", "ParentId": SF_PARENT, "BillingCountry": "DE",
               "CurrencyIsoCode": "EUR", "Legal_Entity__c": "DE01", "Tax_Id__c": "DE123456789", "Tax_Code__c": "DE-STD",
               "Tax_Exempt__c": False, "Payment_Terms__c": "Net 30"}
        return {**row, **over}
    return {
        "opportunity": {"Id": SF_OPP, "Name": "Initech migration", "AccountId": SF_ACC, "StageName": "Closed Won",
                        "IsWon": True, "IsClosed": True, "CloseDate": "2024-06-28", "Amount": Decimal("20000.1"),
                        "CurrencyIsoCode": "EUR", "Legal_Entity__c": "DE01", "Start_Date__c": "2024-07-01",
                        "End_Date__c": "2024-09-30", "SystemModstamp": "2024-06-28T09:15:02.000+0000"},
        "account": acc(),
        "parent_accounts": [acc(Id=SF_PARENT, Name="Initech Group", ParentId=None, BillingCountry="US",
                                CurrencyIsoCode="USD", Legal_Entity__c="US01")],
        "line_items": [
            {"Id": SF_FF, "OpportunityId": SF_OPP, "Billing_Type__c": "Fixed Fee", "TotalPrice": Decimal("12000.1"),
             "Quantity": 1, "Service_Offering__c": "Assessment", "CurrencyIsoCode": "EUR"},
            {"Id": SF_MS, "OpportunityId": SF_OPP, "Billing_Type__c": "Milestone", "TotalPrice": Decimal(8000),
             "Quantity": 1, "Service_Offering__c": "Cutover", "CurrencyIsoCode": "EUR"}],
        "milestones": [{"Id": SF_M1, "Name": "Cutover done", "Opportunity__c": SF_OPP, "Line_Item_Id__c": SF_MS,
                        "Amount__c": Decimal(8000), "Due_Date__c": "2024-09-15", "Status__c": "Accepted",
                        "Completed_On__c": "2024-09-12", "CurrencyIsoCode": "EUR"}],
        "org_currency": None,
    }


def enter_deal(box: Any, *, name: str = "Hooli data platform", hours: int = 120, rate: int = 150,
               parent: str | None = None, win: bool = True) -> tuple[str, str, str]:
    """(account id, opportunity id, line id): a salesperson's USD deal with one Time and Materials product."""
    bind = {"parentaccountid@odata.bind": f"/accounts({parent})"} if parent else {}
    account = box.ui_create("account", {
        "name": f"{name} Inc", "q2c_legalentity": "US01", "q2c_taxid": "US-45-1234567", "paymenttermscode": 1,
        "address1_country": "US",
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({box.currency_id('USD')})", **bind})
    opportunity = box.ui_create("opportunity", {
        "name": name, "customerid_account@odata.bind": f"/accounts({account['accountid']})", "q2c_legalentity": "US01",
        "q2c_startdate": "2026-11-02", "q2c_enddate": "2027-03-31", "estimatedclosedate": "2026-11-02"})
    line = box.ui_create("opportunityproduct", {
        "opportunityid@odata.bind": f"/opportunities({opportunity['opportunityid']})", "productdescription": "Build",
        "quantity": hours, "priceperunit": rate, "q2c_billingtype": BILLING["Time and Materials"],
        "q2c_serviceoffering": "IMPL"})
    if win:
        box.win(opportunity["opportunityid"], actual_end="2026-11-02")
    return str(account["accountid"]), str(opportunity["opportunityid"]), str(line["opportunityproductid"])
