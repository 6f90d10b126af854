"""Writing through the Web API: create (204 + OData-EntityId, or 201 with `return=representation`), update,
upsert by alternate key with `If-Match: *` / `If-None-Match: *`, ETag concurrency, `@odata.bind`, delete,
the rules Dataverse applies on save, and `WinOpportunity`."""

from __future__ import annotations

from decimal import Decimal

from dynamics365_sales_sandbox_fixtures import Org


def _id(entity_id: str) -> str:
    return entity_id.rsplit("(", 1)[1].rstrip(")")


def test_create_answers_204_with_the_entity_id_or_201_with_the_row(org: Org) -> None:
    plain = org.api.post("accounts", json={"name": "Fabrikam", "accountnumber": "F-1"})
    assert plain.status_code == 204 and plain.content == b""
    assert plain.headers["OData-EntityId"].startswith(f"{org.url}/api/data/v9.2/accounts(")
    rich = org.api.post("accounts", params={"$select": "name,accountnumber"}, json={"name": "Tailspin"},
                        headers={"Prefer": "return=representation"})
    assert rich.status_code == 201
    assert rich.json()["name"] == "Tailspin" and rich.json()["accountnumber"] is None
    assert set(rich.json()) == {"@odata.context", "@odata.etag", "name", "accountnumber", "accountid"}
    assert org.box.read("account", _id(plain.headers["OData-EntityId"]))["accountnumber"] == "F-1"


def test_lookups_are_set_with_odata_bind_and_read_back_as_value(org: Org) -> None:
    parent = org.account("Contoso Group")
    gbp = org.box.currency_id("GBP")
    created = org.api.post("accounts", json={"name": "Contoso UK", "parentaccountid@odata.bind": f"/accounts({parent})",
                                             "transactioncurrencyid@odata.bind": f"transactioncurrencies({gbp})"},
                           headers={"Prefer": "return=representation"}).json()
    assert created["_parentaccountid_value"] == parent
    assert created["_transactioncurrencyid_value"] == gbp
    by_key = org.api.post("accounts", json={"name": "Contoso US",
                                            "parentaccountid@odata.bind": "/accounts(accountnumber='none')"})
    assert by_key.status_code == 404
    cleared = org.api.patch(f"accounts({created['accountid']})", json={"parentaccountid@odata.bind": None})
    assert cleared.status_code == 204
    assert org.box.read("account", created["accountid"])["_parentaccountid_value"] is None


def test_bad_bodies_are_refused_naming_the_field(org: Org) -> None:
    account = org.account()
    direct = org.api.patch(f"accounts({account})", json={"_parentaccountid_value": account})
    assert direct.status_code == 400 and direct.json()["error"]["code"] == "0x80060888"
    assert "Navigation properties" in direct.json()["error"]["message"]
    unknown = org.api.post("accounts", json={"name": "X", "nosuchcolumn": 1})
    assert unknown.status_code == 400
    assert "'nosuchcolumn' does not exist on type 'Microsoft.Dynamics.CRM.account'" in unknown.json()["error"][
        "message"]
    too_long = org.api.post("accounts", json={"name": "X" * 161})
    assert too_long.status_code == 400 and "'name' attribute of the 'account'" in too_long.json()["error"]["message"]
    bad_choice = org.api.post("accounts", json={"name": "X", "paymenttermscode": 99})
    assert bad_choice.status_code == 400 and "paymenttermscode" in bad_choice.json()["error"]["message"]
    read_only = org.api.post("opportunities", json={"name": "X", "totalamount": 5})
    assert read_only.status_code == 400 and "totalamount" in read_only.json()["error"]["message"]
    missing = org.api.patch("accounts(00000000-0000-0000-0000-0000000000aa)", json={"name": "X"},
                            headers={"If-Match": "*"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80040217"


def test_upsert_by_alternate_key(org: Org) -> None:
    created = org.api.patch("accounts(accountnumber='ACME-1')", json={"name": "Acme"})
    assert created.status_code == 204
    account_id = _id(created.headers["OData-EntityId"])
    again = org.api.patch("accounts(accountnumber='ACME-1')", json={"name": "Acme Corp"},
                          headers={"Prefer": "return=representation"})
    assert again.status_code == 200 and again.json()["accountid"] == account_id
    assert again.json()["name"] == "Acme Corp"
    assert len([r for r in org.box.rows("account") if r["accountnumber"] == "ACME-1"]) == 1
    update_only = org.api.patch("accounts(accountnumber='ACME-2')", json={"name": "Nope"}, headers={"If-Match": "*"})
    assert update_only.status_code == 404
    assert not [r for r in org.box.rows("account") if r["accountnumber"] == "ACME-2"]
    create_only = org.api.patch("accounts(accountnumber='ACME-1')", json={"name": "Dup"},
                                headers={"If-None-Match": "*"})
    assert create_only.status_code == 412 and create_only.json()["error"]["code"] == "0x80040237"
    fresh = org.api.patch("accounts(accountnumber='ACME-3')", json={"name": "New"}, headers={"If-None-Match": "*"},
                          params={"$select": "accountnumber"})
    assert fresh.status_code == 204
    duplicate = org.api.post("accounts", json={"name": "Clash", "accountnumber": "acme-1"})
    assert duplicate.status_code == 412 and duplicate.json()["error"]["code"] == "0x80060892"
    not_a_key = org.api.patch("accounts(name='Acme')", json={"telephone1": "1"})
    assert not_a_key.status_code == 400


def test_patch_by_id_creates_the_row_when_missing(org: Org) -> None:
    row_id = "1a2b3c4d-0000-4000-8000-000000000123"
    assert org.api.patch(f"accounts({row_id})", json={"name": "Made by PATCH"}).status_code == 204
    assert org.box.read("account", row_id)["name"] == "Made by PATCH"


def test_etags_guard_concurrent_updates_and_deletes(org: Org) -> None:
    account = org.account("Contoso")
    first = org.api.get(f"accounts({account})", params={"$select": "name"})
    tag = first.json()["@odata.etag"]
    assert first.headers["ETag"] == tag
    assert org.api.get(f"accounts({account})", headers={"If-None-Match": tag}).status_code == 304
    org.box.ui_update("account", account, {"telephone1": "555 0100"})
    stale = org.api.patch(f"accounts({account})", json={"name": "Mine"}, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "0x80060882"
    current = org.api.get(f"accounts({account})").json()["@odata.etag"]
    assert current != tag
    fresh = org.api.patch(f"accounts({account})", json={"name": "Mine"}, headers={"If-Match": current})
    assert fresh.status_code == 204
    assert org.api.delete(f"accounts({account})", headers={"If-Match": current}).status_code == 412
    assert org.api.delete(f"accounts({account})").status_code == 204
    assert org.api.get(f"accounts({account})").status_code == 404


def test_salesperson_edits_and_app_writes_are_told_apart_by_modifiedby(org: Org) -> None:
    account = org.account("Contoso")
    assert org.box.read("account", account)["_modifiedby_value"] == org.box.salesperson_id
    org.api.patch(f"accounts({account})", json={"q2c_customernumber": "C0001"})
    row = org.box.read("account", account)
    assert row["_modifiedby_value"] == org.box.application_user_id()
    assert row["_createdby_value"] == org.box.salesperson_id


def test_products_roll_up_into_the_opportunity_total(org: Org) -> None:
    opportunity = org.deal(org.account())
    lines = org.api.get("opportunityproducts", params={
        "$filter": f"_opportunityid_value eq {opportunity}", "$select": "extendedamount,_transactioncurrencyid_value",
        "$orderby": "extendedamount"}).json()["value"]
    assert [Decimal(str(line["extendedamount"])) for line in lines] == [Decimal("12000.00"), Decimal("18000.00")]
    line_id = lines[0]["opportunityproductid"]
    org.api.patch(f"opportunityproducts({line_id})", json={"priceperunit": 13000.5})
    total = org.api.get(f"opportunities({opportunity})", params={"$select": "totalamount"}).json()["totalamount"]
    assert Decimal(str(total)) == Decimal("31000.50")


def test_win_opportunity_closes_the_deal(org: Org) -> None:
    opportunity = org.deal(org.account())
    won = org.api.post("WinOpportunity", json={"Status": 3, "OpportunityClose": {
        "subject": "Won the rollout",  # an absolute URL binds too, as in Microsoft's example
        "opportunityid@odata.bind": f"{org.url}/api/data/v9.2/opportunities({opportunity})",
        "actualrevenue": 30000, "actualend": "2027-01-15"}})
    assert won.status_code == 204, won.text
    row = org.api.get(f"opportunities({opportunity})", params={
        "$select": "statecode,statuscode,actualclosedate,actualvalue"}).json()
    assert (row["statecode"], row["statuscode"], row["actualclosedate"]) == (1, 3, "2027-01-15")
    assert Decimal(str(row["actualvalue"])) == Decimal("30000.00")
    closes = org.api.get("opportunitycloses", params={"$filter": f"_opportunityid_value eq {opportunity}"}).json()
    assert [c["subject"] for c in closes["value"]] == ["Won the rollout"]
    again = org.api.post("WinOpportunity", json={"Status": 3, "OpportunityClose": {
        "opportunityid@odata.bind": f"/opportunities({opportunity})"}})
    assert again.status_code == 400
    bad_status = org.api.post("WinOpportunity", json={"Status": 4, "OpportunityClose": {
        "opportunityid@odata.bind": f"/opportunities({org.deal(org.account('B'))})"}})
    assert bad_status.status_code == 400
    assert org.api.post("WinOpportunity", json={"Status": 3}).status_code == 400


def test_state_rules_of_a_won_opportunity(org: Org) -> None:
    opportunity = org.deal(org.account())
    assert org.api.patch(f"opportunities({opportunity})", json={"statecode": 1, "statuscode": 3}).status_code == 400
    org.box.win(opportunity)
    # the ERP's ids are written back to the won deal: its columns stay writable through the API
    assert org.api.patch(f"opportunities({opportunity})", json={"q2c_contractid": "K-1"}).status_code == 204
    line = org.api.get("opportunityproducts", params={"$filter": f"_opportunityid_value eq {opportunity}"}).json()
    locked = org.api.patch(f"opportunityproducts({line['value'][0]['opportunityproductid']})", json={"quantity": 2})
    assert locked.status_code == 400 and "closed" in locked.json()["error"]["message"]
    reopened = org.api.patch(f"opportunities({opportunity})", json={"statecode": 0})
    assert reopened.status_code == 204
    row = org.box.read("opportunity", opportunity)
    assert (row["statecode"], row["statuscode"], row["q2c_contractid"]) == (0, 1, "K-1")


def test_bulk_actions_the_microsoft_client_sends(org: Org) -> None:
    created = org.api.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": f"Bulk {n}"} for n in range(3)]})
    assert created.status_code == 200
    ids = created.json()["Ids"]
    assert len(ids) == 3
    account = "Microsoft.Dynamics.CRM.account"
    assert org.api.post("accounts/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": [
        {"@odata.type": account, "accountid": i, "telephone1": "1"} for i in ids]}).status_code == 204
    assert {org.box.read("account", i)["telephone1"] for i in ids} == {"1"}
    upserted = org.api.post("accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": [
        {"@odata.type": account, "@odata.id": "accounts(accountnumber='U-1')", "name": "Upserted"},
        {"@odata.type": account, "@odata.id": f"accounts({ids[0]})", "name": "Renamed"}]})
    assert upserted.status_code == 204 and upserted.content == b""
    assert org.box.read("account", ids[0])["name"] == "Renamed"
    assert [r["name"] for r in org.box.rows("account") if r["accountnumber"] == "U-1"] == ["Upserted"]
    untyped = org.api.post("accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": [{"name": "X"}]})
    assert untyped.status_code == 400 and "@odata.type" in untyped.json()["error"]["message"]
    failed = org.api.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [
        {"@odata.type": account, "name": "Fine"}, {"@odata.type": account, "name": "Broken", "nosuch": 1}]})
    assert failed.status_code == 400
    assert not [r for r in org.box.rows("account") if r["name"] == "Fine"]  # all or nothing


def test_a_client_chosen_primary_key_is_kept_and_checked(org: Org) -> None:
    chosen = "0f0e0d0c-0b0a-4909-8807-060504030201"
    assert org.api.post("accounts", json={"accountid": chosen.upper(), "name": "Chosen"}).status_code == 204
    assert org.box.read("account", chosen)["name"] == "Chosen"
    again = org.api.post("accounts", json={"accountid": chosen, "name": "Twice"})
    assert again.status_code == 412 and again.json()["error"]["code"] == "0x80040237"
    bad = org.api.post("accounts", json={"accountid": "not-a-guid", "name": "Bad"})
    assert bad.status_code == 400 and "account.accountid" in bad.json()["error"]["message"]


def test_the_opportunitys_erp_owned_copy_is_a_text_column_of_1000_characters(org: Org) -> None:
    """The firm's q2c_erpownedcopy (Single line of text, 1,000): written like any column, in the same PATCH as the
    ids, read back as written, described by the metadata, and a longer text refused naming it."""
    deal = org.deal(org.account())
    copy = '{"q2c_contractid":"C-1","q2c_projectid":"P-1"}'
    written = org.api.patch(f"opportunities({deal})", json={"q2c_contractid": "C-1", "q2c_projectid": "P-1",
                                                            "q2c_erpownedcopy": copy}, headers={"If-Match": "*"})
    assert written.status_code == 204
    read = org.api.get(f"opportunities({deal})", params={"$select": "q2c_contractid,q2c_erpownedcopy"}).json()
    assert (read["q2c_contractid"], read["q2c_erpownedcopy"]) == ("C-1", copy)
    too_long = org.api.patch(f"opportunities({deal})", json={"q2c_erpownedcopy": "x" * 1001})
    assert too_long.status_code == 400
    assert "'q2c_erpownedcopy' attribute of the 'opportunity'" in too_long.json()["error"]["message"]
    attribute = org.api.get("EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='q2c_erpownedcopy')")
    assert attribute.status_code == 200
    assert (attribute.json()["AttributeType"], attribute.json()["MaxLength"]) == ("String", 1000)
    names = {a["LogicalName"] for a in org.api.get("EntityDefinitions(LogicalName='opportunity')/Attributes",
                                                   params={"$select": "LogicalName"}).json()["value"]}
    assert "q2c_erpownedcopy" in names
    assert org.api.get("accounts", params={"$select": "q2c_erpownedcopy"}).status_code == 400  # opportunity only
