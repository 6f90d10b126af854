"""The admin API under `/__sandbox/dynamics365_sales/`: what a salesperson does in the app (as that user, not
as q2c's app), and levers a test needs; none of it counts as a Web API request."""

from __future__ import annotations

import httpx
from dynamics365_sales_sandbox_fixtures import Org

PREFIX = "/__sandbox/dynamics365_sales"


def test_a_salesperson_creates_edits_and_wins_a_deal(org: Org) -> None:
    with httpx.Client(base_url=org.url + PREFIX, verify=org.verify()) as admin:
        _story(org, admin)


def _story(org: Org, admin: httpx.Client) -> None:
    info = admin.get("/org").json()
    assert info["application_user_id"] == org.box.application_user_id()
    account = admin.post("/tables/accounts", json={"name": "Contoso", "accountnumber": "C-1"})
    assert account.status_code == 201
    account_id = account.json()["accountid"]
    assert account.json()["_createdby_value"] == info["salesperson_id"]
    opportunity = admin.post("/tables/opportunity", json={
        "name": "Rollout", "customerid_account@odata.bind": f"/accounts({account_id})",
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({info['currencies']['GBP']})"}).json()
    admin.post("/tables/opportunityproducts", json={
        "opportunityid@odata.bind": f"/opportunities({opportunity['opportunityid']})", "productdescription": "Work",
        "quantity": 2, "priceperunit": 100.25})
    edited = admin.patch(f"/tables/opportunities/{opportunity['opportunityid']}", json={"description": "Phase 1"})
    assert edited.json()["description"] == "Phase 1"
    won = admin.post(f"/opportunities/{opportunity['opportunityid']}/win", json={"actualend": "2027-01-15"})
    assert (won.json()["statecode"], won.json()["actualclosedate"]) == (1, "2027-01-15")
    assert '"totalamount":200.50' in won.text
    listed = admin.get("/tables/opportunityproducts").json()["value"]
    assert [line["productdescription"] for line in listed] == ["Work"]
    bad = admin.post("/tables/accounts", json={"nosuch": 1})
    assert bad.status_code == 400 and "nosuch" in bad.json()["error"]["message"]
    assert admin.delete(f"/tables/accounts/{account_id}").status_code == 204
    assert admin.get(f"/tables/accounts/{account_id}").status_code == 404
    assert org.box.stats.by_path.get("GET /__sandbox/dynamics365_sales/org") is None


def test_levers_expire_tokens_and_advance_the_clock(org: Org) -> None:
    with httpx.Client(base_url=org.url + PREFIX, verify=org.verify()) as admin:
        assert admin.post("/tokens/expire").status_code == 200
        assert org.api.get("accounts").status_code == 401
        before = org.box.org.clock()
        admin.post("/clock", json={"advance_seconds": 3600})
    assert (org.box.org.clock() - before).total_seconds() >= 3600

