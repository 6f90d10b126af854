"""The story hooks the demo and the delivery trials use (`SandboxSpec.scenario`, a `CrmScenario`): records
made as the salesperson, readable through the Web API as a connector would read them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dynamics365_sales_sandbox_fixtures import Org

from q2c.sandboxes.registry import sandbox_spec


def test_the_story_as_a_salesperson_makes_it(org: Org) -> None:
    spec = sandbox_spec("dynamics365_sales")
    assert spec.scenario is not None
    crm, box = spec.scenario(), org.box
    terms = {"payment_terms": "Net 30", "currency": "USD", "country": "US", "legal_entity": "US01"}
    holding = crm.account(box, name="Globex Holdings", parent=None, tax_id="US-12-3456789", tax_code="US-CA-STD",
                          **terms)
    digital = crm.account(box, name="Globex Digital", parent=holding, tax_id=None, tax_code=None, **terms)
    deal = crm.deal(box, name="Globex Digital ERP rollout", account=digital, won=True, close_date="2026-11-02",
                    currency="USD", legal_entity="US01", start="2026-11-02", end="2027-04-30")
    crm.line(box, deal, description="Implementation (T&M)", offering="IMPL", billing="time_and_materials",
             quantity=Decimal(300), amount=Decimal(48000), cap=Decimal(50000), currency="USD")
    design = crm.line(box, deal, description="Solution design", offering="IMPL", billing="milestone",
                      quantity=Decimal(3), amount=Decimal("10000.00"), currency="USD")
    signoff = crm.milestone(box, deal, design, name="Design sign-off", amount=Decimal(10000), due="2026-11-20",
                            currency="USD")
    opportunity = org.api.get(f"opportunities({deal})", params={
        "$select": "statecode,statuscode,actualclosedate,totalamount,_customerid_value,q2c_startdate",
        "$expand": "product_opportunities($select=extendedamount,q2c_billingtype,q2c_capamount)"},
        headers={"Prefer": 'odata.include-annotations="*"'}).json()
    assert (opportunity["statecode"], opportunity["statuscode"], opportunity["actualclosedate"]) == (1, 3, "2026-11-02")
    assert opportunity["_customerid_value"] == digital
    assert Decimal(str(opportunity["totalamount"])) == Decimal("58000.00")
    amounts = sorted(Decimal(str(line["extendedamount"])) for line in opportunity["product_opportunities"])
    assert amounts == [Decimal("10000.00"), Decimal("48000.00")]  # 10000 / 3 rounds; the discount evens it
    account = org.api.get(f"accounts({digital})", params={"$select": "paymenttermscode,_parentaccountid_value"},
                          headers={"Prefer": 'odata.include-annotations="*"'}).json()
    assert account["paymenttermscode@OData.Community.Display.V1.FormattedValue"] == "Net 30"
    assert account["_parentaccountid_value"] == holding
    crm.complete_milestone(box, signoff, on="2026-11-20")
    milestone = org.api.get(f"q2c_milestones({signoff})", params={"$select": "q2c_status,q2c_completedon"},
                            headers={"Prefer": 'odata.include-annotations="*"'}).json()
    assert milestone["q2c_status@OData.Community.Display.V1.FormattedValue"] == "Completed"
    assert milestone["q2c_completedon"] == "2026-11-20"
    crm.overwrite_contract_id(box, deal, "K-OVERWRITTEN")
    row = box.read("opportunity", deal)
    assert row["q2c_contractid"] == "K-OVERWRITTEN" and row["_modifiedby_value"] == box.salesperson_id
    open_deal = crm.deal(box, name="Umbrella pilot", account=holding, won=False, close_date="2026-12-15",
                         currency="USD", legal_entity=None)
    assert box.read("opportunity", open_deal)["statecode"] == 0
    with pytest.raises(ValueError, match="paymenttermscode has no option 'Net 7'"):
        crm.account(box, name="X", parent=None, tax_id=None, tax_code=None, payment_terms="Net 7", currency="USD",
                    country="US", legal_entity="US01")
