"""Reading through the Web API: `$select`, `$filter`, `$expand`, `$orderby`, `$top`, `$count`, server-driven
paging with `Prefer: odata.maxpagesize`, and FormattedValue annotations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from dynamics365_sales_sandbox_fixtures import Org


def _values(org: Org, path: str, **params: str) -> list[dict[str, Any]]:
    answer = org.api.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["value"])


@pytest.fixture()
def accounts(org: Org) -> dict[str, str]:
    group = org.account("Contoso Group", accountnumber="CG-1", address1_country="United States")
    ids = {"group": group,
           "us": org.account("Contoso US", accountnumber="CUS-1", address1_country="United States",
                             **{"parentaccountid@odata.bind": f"/accounts({group})"}),
           "uk": org.account("Contoso UK", accountnumber="CUK-1", address1_country="United Kingdom",
                             paymenttermscode=3, **{"parentaccountid@odata.bind": f"/accounts({group})"}),
           "other": org.account("Northwind", address1_country="Germany")}
    return ids


def test_select_returns_the_columns_asked_for_plus_the_key_and_etag(org: Org, accounts: dict[str, str]) -> None:
    row = org.api.get(f"accounts({accounts['us']})", params={"$select": "name,_parentaccountid_value"}).json()
    assert set(row) == {"@odata.context", "@odata.etag", "name", "_parentaccountid_value", "accountid"}
    assert row["_parentaccountid_value"] == accounts["group"]
    assert row["@odata.etag"].startswith('W/"')
    assert row["@odata.context"].endswith("$metadata#accounts(name,_parentaccountid_value)/$entity")


@pytest.mark.parametrize(("expression", "expected"), [
    ("name eq 'contoso us'", {"us"}),  # case-insensitive, as Dataverse's collation
    ("name ne 'Contoso US' and startswith(name,'Contoso')", {"group", "uk"}),
    ("contains(name,'tos') or address1_country eq 'Germany'", {"group", "us", "uk", "other"}),
    ("not contains(name,'Contoso')", {"other"}),
    ("endswith(name,' UK')", {"uk"}),
    ("accountnumber eq null", {"other"}),
    ("accountnumber ne null and (address1_country eq 'United Kingdom' or name eq 'Contoso Group')", {"uk", "group"}),
    ("paymenttermscode eq 3", {"uk"}),
    ("paymenttermscode ge 3", {"uk"}),
    ("paymenttermscode lt 3", set()),
    ("name gt 'Contoso UK' and name le 'Northwind'", {"us", "other"}),
    ("Microsoft.Dynamics.CRM.In(PropertyName='accountnumber',PropertyValues=['CUS-1','CUK-1'])", {"us", "uk"}),
    ('Microsoft.Dynamics.CRM.In(PropertyName=\'accountnumber\',PropertyValues=["CUS-1","CG-1"])', {"us", "group"}),
    ('Microsoft.Dynamics.CRM.NotIn(PropertyName=\'paymenttermscode\',PropertyValues=["3"])', {"group", "us", "other"}),
    ("parentaccountid/name eq 'Contoso Group'", {"us", "uk"}),
    ("parentaccountid/accountnumber eq 'CG-1' and contains(parentaccountid/name,'group')", {"us", "uk"}),
    ("accountnumber eq name", set()),
    ("name eq 'O''Brien'", set()),
])
def test_filter_operators(org: Org, accounts: dict[str, str], expression: str, expected: set[str]) -> None:
    names = {v: k for k, v in accounts.items()}
    found = {names[r["accountid"]] for r in _values(org, "accounts", **{"$filter": expression, "$select": "name"})}
    assert found == expected


def test_filter_on_a_lookup_value_and_on_dates(org: Org, accounts: dict[str, str]) -> None:
    children = _values(org, "accounts", **{"$filter": f"_parentaccountid_value eq {accounts['group']}",
                                           "$select": "name"})
    assert sorted(r["name"] for r in children) == ["Contoso UK", "Contoso US"]
    assert len(_values(org, "accounts", **{"$filter": "createdon gt 2020-01-01T00:00:00Z"})) == 4
    assert _values(org, "accounts", **{"$filter": "modifiedon lt 2020-01-01"}) == []


def test_bad_filters_answer_400_naming_the_problem(org: Org, accounts: dict[str, str]) -> None:
    unknown = org.api.get("accounts", params={"$filter": "nosuch eq 1"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == ("Could not find a property named 'nosuch' on type "
                                                   "'Microsoft.Dynamics.CRM.account'.")
    wrong_type = org.api.get("accounts", params={"$filter": "paymenttermscode eq 'Net 30'"})
    assert wrong_type.status_code == 400 and "paymenttermscode" in wrong_type.json()["error"]["message"]
    assert org.api.get("accounts", params={"$filter": "name eq"}).status_code == 400


def test_orderby_top_and_count(org: Org, accounts: dict[str, str]) -> None:
    top = org.api.get("accounts", params={"$select": "name", "$orderby": "name desc", "$top": "3"}).json()
    assert [r["name"] for r in top["value"]] == ["Northwind", "Contoso US", "Contoso UK"]
    counted = org.api.get("accounts", params={"$select": "name", "$count": "true",
                                              "$filter": "startswith(name,'Contoso')"}).json()
    assert counted["@odata.count"] == 3 and len(counted["value"]) == 3
    annotated = org.api.get("accounts", params={"$count": "true"}, headers={
        "Prefer": 'odata.maxpagesize=1,odata.include-annotations="Microsoft.Dynamics.CRM.*"'}).json()
    assert (annotated["@odata.count"], annotated["@Microsoft.Dynamics.CRM.totalrecordcount"],
            annotated["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"], len(annotated["value"])) == (
        4, 4, False, 1)
    nulls_first = _values(org, "accounts", **{"$select": "accountnumber", "$orderby": "accountnumber asc"})
    assert [r["accountnumber"] for r in nulls_first] == [None, "CG-1", "CUK-1", "CUS-1"]


def test_server_driven_paging_with_maxpagesize_and_skiptoken(org: Org) -> None:
    for n in range(7):
        org.account(f"Account {n:02d}")
    prefer = {"Prefer": "odata.maxpagesize=3"}
    first = org.api.get("accounts", params={"$select": "name", "$orderby": "name"}, headers=prefer)
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=3"
    names = [r["name"] for r in first.json()["value"]]
    link = first.json()["@odata.nextLink"]
    assert "$skiptoken=" in link and "pagenumber" in link
    pages = 1
    while link:
        body = org.api.get(link, headers=prefer).json()
        names += [r["name"] for r in body["value"]]
        link = body.get("@odata.nextLink")
        pages += 1
    assert pages == 3
    assert names == [f"Account {n:02d}" for n in range(7)]
    assert "@odata.nextLink" not in org.api.get("accounts", params={"$top": "3"}).json()
    ignored = org.api.get("accounts", params={"$top": "3"}, headers={"Prefer": "odata.maxpagesize=5"}).json()
    assert len(ignored["value"]) == 5 and "@odata.nextLink" in ignored  # with maxpagesize, $top is ignored
    assert org.api.get("accounts/$count").text == "7"
    assert org.api.get("accounts", params={"$skip": "2"}).status_code == 400  # Dataverse has no $skip


def test_expand_single_valued_and_collection_navigation(org: Org, accounts: dict[str, str]) -> None:
    opportunity = org.deal(accounts["us"])
    row = org.api.get(f"opportunities({opportunity})", params={
        "$select": "name,totalamount",
        "$expand": "customerid_account($select=name,accountnumber;$expand=parentaccountid($select=name)),"
                   "product_opportunities($select=productdescription,extendedamount;$orderby=productdescription;"
                   "$filter=extendedamount gt 0)"}).json()
    assert row["customerid_account"]["name"] == "Contoso US"
    assert row["customerid_account"]["parentaccountid"]["name"] == "Contoso Group"
    lines = row["product_opportunities"]
    assert [(line["productdescription"], Decimal(str(line["extendedamount"]))) for line in lines] == [
        ("Delivery", Decimal("18000.00")), ("Discovery", Decimal("12000.00"))]
    assert Decimal(str(row["totalamount"])) == Decimal("30000.00")
    children = org.api.get(f"accounts({accounts['group']})", params={
        "$select": "name", "$expand": "account_parent_account($select=name)"}).json()
    assert sorted(a["name"] for a in children["account_parent_account"]) == ["Contoso UK", "Contoso US"]
    bad = org.api.get("accounts", params={"$expand": "nosuchnav"})
    assert bad.status_code == 400


def test_money_is_exact_in_the_json_text(org: Org, accounts: dict[str, str]) -> None:
    opportunity = org.deal(accounts["uk"], currency="GBP")
    text = org.api.get(f"opportunities({opportunity})", params={"$select": "totalamount"}).text
    assert '"totalamount":30000.00' in text


def test_formatted_values_and_lookup_annotations(org: Org, accounts: dict[str, str]) -> None:
    opportunity = org.deal(accounts["uk"], currency="GBP")
    plain = org.api.get(f"opportunities({opportunity})", params={"$select": "statecode"}).json()
    assert not any("@" in k for k in plain if not k.startswith("@"))
    row = org.api.get(f"opportunities({opportunity})", params={
        "$select": "statecode,statuscode,totalamount,_customerid_value,estimatedclosedate"},
        headers={"Prefer": 'odata.include-annotations="*"'})
    assert row.headers["Preference-Applied"] == 'odata.include-annotations="*"'
    body = row.json()
    assert body["statecode@OData.Community.Display.V1.FormattedValue"] == "Open"
    assert body["statuscode@OData.Community.Display.V1.FormattedValue"] == "In Progress"
    assert body["totalamount@OData.Community.Display.V1.FormattedValue"] == "£30,000.00"
    assert body["estimatedclosedate@OData.Community.Display.V1.FormattedValue"] == "1/31/2027"
    assert body["_customerid_value@OData.Community.Display.V1.FormattedValue"] == "Contoso UK"
    assert body["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert body["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "customerid_account"
    terms = org.api.get(f"accounts({accounts['uk']})", params={"$select": "paymenttermscode"},
                        headers={"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'})
    assert terms.json()["paymenttermscode@OData.Community.Display.V1.FormattedValue"] == "Net 45"
    two = org.api.get(f"accounts({accounts['uk']})", params={"$select": "paymenttermscode,_parentaccountid_value"},
                      headers=[("Prefer", "odata.maxpagesize=5"),
                               ("Prefer", 'odata.include-annotations="OData.Community.Display.V1.FormattedValue,'
                                          'Microsoft.Dynamics.CRM.lookuplogicalname"')]).json()
    assert two["paymenttermscode@OData.Community.Display.V1.FormattedValue"] == "Net 45"
    assert two["_parentaccountid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert "_parentaccountid_value@Microsoft.Dynamics.CRM.associatednavigationproperty" not in two


def test_metadata_the_client_reads(org: Org) -> None:
    found = _values(org, "EntityDefinitions", **{"$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
                                                 "$filter": "LogicalName eq 'q2c_milestone'"})
    assert found == [{"MetadataId": found[0]["MetadataId"], "LogicalName": "q2c_milestone",
                      "EntitySetName": "q2c_milestones", "PrimaryIdAttribute": "q2c_milestoneid"}]
    picklists = org.api.get("EntityDefinitions(LogicalName='opportunityproduct')/Attributes/"
                            "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
                            params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"}).json()
    billing = next(p for p in picklists["value"] if p["LogicalName"] == "q2c_billingtype")
    labels = {o["Value"]: o["Label"]["UserLocalizedLabel"]["Label"] for o in billing["OptionSet"]["Options"]}
    assert labels[100000001] == "Fixed Fee"
    assert org.api.get("$metadata").text.count("<EntitySet ") >= 6
    assert {s["name"] for s in org.api.get("").json()["value"]} >= {"accounts", "opportunities",
                                                                   "opportunityproducts", "q2c_milestones"}
