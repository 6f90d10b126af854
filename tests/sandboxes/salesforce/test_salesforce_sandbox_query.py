"""SOQL run against the org: over HTTP (paging, relationships, error codes) and in process (semantics)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from salesforce_org_fixtures import V, seed_deal

from q2c.sandboxes.salesforce.app import SalesforceSandbox
from q2c.sandboxes.salesforce.errors import ApiFault
from q2c.sandboxes.salesforce.org import SalesforceOrg


def rows(org: SalesforceOrg, soql: str) -> list[dict[str, Any]]:
    page = org.query(soql, version="59.0")
    assert page["done"] is True
    return list(page["records"])


def test_query_pages_with_batch_size_and_next_records_url(http: httpx.Client, sandbox: SalesforceSandbox,
                                                          headers: dict[str, str]) -> None:
    for n in range(450):
        sandbox.state.create("Account", {"Name": f"Customer {n:03d}", "BillingCountry": "US" if n % 2 else "CA"})
    batched = {**headers, "Sforce-Query-Options": "batchSize=200"}
    first = http.get(f"{V}/query/", params={"q": "SELECT Id, Name FROM Account ORDER BY Name"},
                     headers=batched).json()
    assert first["totalSize"] == 450 and first["done"] is False and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith(f"{V}/query/01g") and first["nextRecordsUrl"].endswith("-200")
    names = [r["Name"] for r in first["records"]]
    page = first
    while not page["done"]:
        page = http.get(page["nextRecordsUrl"], headers=batched).json()
        names += [r["Name"] for r in page["records"]]
    assert names == [f"Customer {n:03d}" for n in range(450)]
    assert "nextRecordsUrl" not in page
    tiny = http.get(f"{V}/query", params={"q": "SELECT Id FROM Account"},
                    headers={**headers, "Sforce-Query-Options": "batchSize=5"}).json()
    assert len(tiny["records"]) == 200  # Salesforce never pages below 200
    default = http.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}, headers=headers).json()
    assert default["done"] is True and len(default["records"]) == 450
    bogus = http.get(f"{V}/query/01gDn0000000999AAA-200", headers=headers)
    assert bogus.status_code == 400 and bogus.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_follows_lookups_into_nested_records(http: httpx.Client, sandbox: SalesforceSandbox,
                                                   headers: dict[str, str]) -> None:
    deal = seed_deal(sandbox.state)
    other = sandbox.state.create("Opportunity", {"Name": "Small deal", "StageName": "Prospecting",
                                                 "CloseDate": "2024-03-01"})
    found = http.get(f"{V}/query", headers=headers, params={"q": (
        "SELECT Id, Name, Account.Name, Account.Parent.Name FROM Opportunity "
        "WHERE IsWon = true AND Amount > 1000 AND CloseDate >= 2024-06-01 AND Name LIKE 'hooli%'")}).json()
    assert found["totalSize"] == 1
    [row] = found["records"]
    assert row["Id"] == deal.opportunity_id
    assert row["Account"]["Name"] == "Hooli Europe BV" and row["Account"]["Parent"]["Name"] == "Hooli Holdings"
    assert row["Account"]["attributes"] == {"type": "Account", "url": f"{V}/sobjects/Account/{deal.account_id}"}
    orphan = http.get(f"{V}/query", headers=headers, params={
        "q": f"SELECT Id, Account.Name FROM Opportunity WHERE Id = '{other}'"}).json()["records"][0]
    assert orphan["Account"] is None
    lines = http.get(f"{V}/query", headers=headers, params={"q": (
        f"SELECT Id, TotalPrice FROM OpportunityLineItem WHERE OpportunityId = '{deal.opportunity_id}' "
        "ORDER BY TotalPrice DESC LIMIT 2")}).json()["records"]
    assert [li["TotalPrice"] for li in lines] == [30000.0, 9000.25]
    milestones = http.get(f"{V}/query", headers=headers, params={"q": (
        "SELECT Name, Opportunity__r.Name FROM Opportunity_Milestone__c WHERE Status__c IN ('Completed')")}).json()
    assert milestones["records"][0]["Opportunity__r"]["Name"] == "Hooli data platform"


@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id FROM Opportunity WHERE IsWon = true OR Amount > 5", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Invoice__c", "INVALID_TYPE"),
    ("SELECT Id, Colour__c FROM Account", "INVALID_FIELD"),
    ("SELECT Id, Owner.Name FROM Account", "INVALID_FIELD"),
    ("SELECT Id, Name, name FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE IsWon = 'true'", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE IsWon > false", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE Amount = '5'", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE Name = 5", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE CloseDate > 2024-01-01T00:00:00Z", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE SystemModstamp > 2024-01-01", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE Amount LIKE '5%'", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
])
def test_bad_queries_are_refused_with_the_right_code(http: httpx.Client, headers: dict[str, str], soql: str,
                                                     code: str) -> None:
    response = http.get(f"{V}/query", params={"q": soql}, headers=headers)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


def test_a_query_needs_q(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.get(f"{V}/query", headers=headers)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_text_compares_without_case_and_ids_in_either_length() -> None:
    org = SalesforceOrg()
    deal = seed_deal(org)
    assert [r["Id"] for r in rows(org, "SELECT Id FROM Account WHERE Name = 'HOOLI HOLDINGS'")] == [deal.group_id]
    by_15 = rows(org, f"SELECT Id FROM Opportunity WHERE Id = '{deal.opportunity_id[:15]}'")
    assert [r["Id"] for r in by_15] == [deal.opportunity_id]
    children = rows(org, f"SELECT Id FROM Account WHERE ParentId IN ('{deal.group_id[:15]}', '001Dn000000zzzz')")
    assert [r["Id"] for r in children] == [deal.account_id]
    assert rows(org, "SELECT Id FROM Account WHERE ParentId = null")[0]["Id"] == deal.group_id
    assert rows(org, "SELECT Id FROM Account WHERE Name LIKE '%europe%'")[0]["Id"] == deal.account_id


def test_nulls_sort_first_unless_nulls_last() -> None:
    org = SalesforceOrg()
    for name, country in (("b", "NZ"), ("a", None), ("c", "AU")):
        org.create("Account", {"Name": name, "BillingCountry": country})
    assert [r["Name"] for r in rows(org, "SELECT Name FROM Account ORDER BY BillingCountry")] == ["a", "c", "b"]
    assert [r["Name"] for r in rows(org, "SELECT Name FROM Account ORDER BY BillingCountry DESC")] == ["a", "b", "c"]
    assert [r["Name"] for r in rows(org, "SELECT Name FROM Account ORDER BY BillingCountry DESC NULLS LAST")] == [
        "b", "c", "a"]
    assert [r["Name"] for r in rows(org, "SELECT Name FROM Account ORDER BY Name LIMIT 1 OFFSET 1")] == ["b"]


def test_a_filter_on_an_empty_lookup_matches_nothing_but_null() -> None:
    org = SalesforceOrg()
    seed_deal(org)
    org.create("Opportunity", {"Name": "Orphan", "StageName": "Prospecting", "CloseDate": "2024-01-01"})
    assert [r["Name"] for r in rows(org, "SELECT Name FROM Opportunity WHERE Account.Name LIKE '%'")] == [
        "Hooli data platform"]
    assert [r["Name"] for r in rows(org, "SELECT Name FROM Opportunity WHERE Account.Name = null")] == ["Orphan"]


def test_a_refused_query_is_an_api_fault_in_process() -> None:
    with pytest.raises(ApiFault) as caught:
        SalesforceOrg().query("SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b'", version="59.0")
    assert caught.value.status == 400 and caught.value.body[0]["errorCode"] == "MALFORMED_QUERY"
