"""Microsoft's own Python client (`PowerPlatform.Dataverse.client.DataverseClient` with an azure-identity
credential) against the sandbox: if it cannot create, read, query, update, upsert, page and delete here,
the sandbox is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from azure.identity import ClientSecretCredential
from dynamics365_sales_sandbox_fixtures import Org
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.models.upsert import UpsertItem


@pytest.fixture()
def client(org: Org, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataverseClient]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(org.ca))  # requests lets this override a session's verify
    credential = ClientSecretCredential(org.box.tenant_id, org.box.client_id, org.box.client_secret,
                                        authority=org.url, connection_verify=str(org.ca),
                                        disable_instance_discovery=True)
    dataverse = DataverseClient(org.url, credential)
    yield dataverse
    dataverse.close()
    credential.close()


def test_create_read_update_delete_an_account(org: Org, client: DataverseClient) -> None:
    account_id = client.records.create("account", {"name": "Fabrikam", "accountnumber": "F-1",
                                                   "paymenttermscode": "Net 45"})
    record = client.records.retrieve("account", account_id, select=["name", "accountnumber", "paymenttermscode"])
    assert record is not None
    assert record["name"] == "Fabrikam"
    assert record["paymenttermscode"] == 3  # the client turned the label into the choice value
    client.records.update("account", account_id, {"telephone1": "555 0100"})
    row = org.box.read("account", account_id)
    assert row["telephone1"] == "555 0100"
    assert row["_modifiedby_value"] == org.box.application_user_id()
    client.records.delete("account", account_id)
    assert org.box.org.get("account", account_id) is None


def test_opportunities_with_lookups_and_money(org: Org, client: DataverseClient) -> None:
    account_id = client.records.create("account", {"name": "Contoso"})
    gbp = org.box.currency_id("GBP")
    opportunity_id = client.records.create("opportunity", {
        "name": "Rollout", "customerid_account@odata.bind": f"/accounts({account_id})",
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({gbp})", "estimatedvalue": 1234.5})
    client.records.create("opportunityproduct", {
        "opportunityid@odata.bind": f"/opportunities({opportunity_id})", "productdescription": "Delivery",
        "quantity": 10, "priceperunit": 150, "q2c_billingtype": "Time and Materials"})
    record = client.records.retrieve("opportunity", opportunity_id,
                                     select=["name", "totalamount", "_customerid_value"])
    assert record is not None
    assert record["_customerid_value"] == account_id
    assert Decimal(str(record["totalamount"])) == Decimal("1500.00")
    line = org.box.rows("opportunityproduct")[0]
    assert line["q2c_billingtype"] == 100000000


def test_query_with_filter_orderby_and_pages(org: Org, client: DataverseClient) -> None:
    ids = client.records.create("account", [{"name": f"Account {n:02d}", "address1_country": "UK" if n % 2 else "US"}
                                            for n in range(9)])
    assert len(ids) == 9
    pages = list(client.records.list_pages("account", select=["name"], filter="address1_country eq 'US'",
                                           orderby=["name desc"], page_size=2))
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r["name"] for p in pages for r in p] == [f"Account {n:02d}" for n in (8, 6, 4, 2, 0)]
    top = list(client.records.list("account", select=["name"], top=3, orderby=["name"]))
    assert [r["name"] for r in top] == ["Account 00", "Account 01", "Account 02"]


def test_upsert_by_alternate_key(org: Org, client: DataverseClient) -> None:
    client.records.upsert("account", [UpsertItem(alternate_key={"accountnumber": "ACME-1"}, record={"name": "Acme"})])
    client.records.upsert("account", [UpsertItem(alternate_key={"accountnumber": "ACME-1"},
                                                 record={"name": "Acme Corp"})])
    rows = [r for r in org.box.rows("account") if r["accountnumber"] == "ACME-1"]
    assert [r["name"] for r in rows] == ["Acme Corp"]
    client.records.upsert("account", [UpsertItem(alternate_key={"accountnumber": f"BULK-{n}"},
                                                 record={"name": f"Bulk {n}"}) for n in range(3)])
    assert len([r for r in org.box.rows("account") if str(r["accountnumber"]).startswith("BULK-")]) == 3


def test_batch_with_a_change_set(org: Org, client: DataverseClient) -> None:
    batch = client.batch.new()
    with batch.changeset() as change_set:
        account = change_set.records.create("account", {"name": "Batch Co"})
        change_set.records.create("opportunity", {"name": "Batch deal", "customerid_account@odata.bind": account})
    batch.records.create("account", {"name": "Outside"})
    result = batch.execute()
    assert not result.has_errors, [(r.status_code, r.error_message) for r in result.failed]
    assert len(result.entity_ids) == 3
    deal = org.box.rows("opportunity")[0]
    assert org.box.read("account", deal["_customerid_value"])["name"] == "Batch Co"

    failing = client.batch.new()
    with failing.changeset() as change_set:
        change_set.records.create("account", {"name": "Rolled back"})
        change_set.records.create("account", {"name": "Bad", "nosuchcolumn": 1})
    outcome = failing.execute()
    assert outcome.has_errors and outcome.failed[0].error_code == "0x80060888"
    assert not [r for r in org.box.rows("account") if r["name"] == "Rolled back"]
