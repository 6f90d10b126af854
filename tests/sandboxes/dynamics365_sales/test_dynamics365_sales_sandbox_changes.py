"""Change tracking: `Prefer: odata.track-changes` gives a delta link; following it gives the rows changed
since (current values, once each), `$deletedEntity` entries, and a fresh delta link."""

from __future__ import annotations

from typing import Any

import pytest
from dynamics365_sales_sandbox_fixtures import Org

TRACK = {"Prefer": "odata.track-changes"}


def _start(org: Org, entity_set: str = "accounts", select: str = "name,_modifiedby_value") -> dict[str, Any]:
    answer = org.api.get(entity_set, params={"$select": select}, headers=TRACK)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Preference-Applied"] == "odata.track-changes"
    return dict(answer.json())


def test_the_first_request_returns_every_row_and_a_delta_link(org: Org) -> None:
    org.account("Contoso")
    org.account("Fabrikam")
    body = _start(org)
    assert sorted(r["name"] for r in body["value"]) == ["Contoso", "Fabrikam"]
    link = body["@odata.deltaLink"]
    assert link.startswith(f"{org.url}/api/data/v9.2/accounts?$select=name,_modifiedby_value&$deltatoken=")


def test_the_delta_link_returns_changes_and_deletions_once(org: Org) -> None:
    kept, edited, removed = org.account("Kept"), org.account("Edited"), org.account("Removed")
    link = _start(org)["@odata.deltaLink"]
    org.box.ui_update("account", edited, {"name": "Edited once"})
    org.api.patch(f"accounts({edited})", json={"name": "Edited twice"})
    added = org.account("Added")
    org.box.ui_delete("account", removed)
    transient = org.account("Transient")
    org.box.ui_delete("account", transient)
    body = org.api.get(link).json()
    assert body["@odata.context"].endswith("$metadata#accounts(name,_modifiedby_value)/$delta")
    changed = [r for r in body["value"] if "@odata.context" not in r]
    assert [(r["accountid"], r["name"]) for r in changed] == [(edited, "Edited twice"), (added, "Added")]
    assert changed[0]["_modifiedby_value"] == org.box.application_user_id()
    assert changed[1]["_modifiedby_value"] == org.box.salesperson_id
    deleted = [r for r in body["value"] if "@odata.context" in r]
    assert deleted == [{"@odata.context": f"{org.url}/api/data/v9.2/$metadata#accounts/$deletedEntity",
                        "id": i, "reason": "deleted"} for i in (removed, transient)]
    assert kept not in {r.get("accountid") for r in body["value"]}
    quiet = org.api.get(body["@odata.deltaLink"]).json()
    assert quiet["value"] == []
    assert quiet["@odata.deltaLink"] != link


def test_child_rows_and_milestones_are_tracked_too(org: Org) -> None:
    opportunity = org.deal(org.account())
    link = _start(org, "opportunities", "name,totalamount")["@odata.deltaLink"]
    milestones = _start(org, "q2c_milestones", "q2c_name,q2c_status")["@odata.deltaLink"]
    org.box.ui_create("q2c_milestone", {"q2c_name": "Kick-off", "q2c_amount": "5000.00", "q2c_status": 100000000,
                                        "q2c_opportunityid@odata.bind": f"/opportunities({opportunity})"})
    line = org.box.org.table_rows("opportunityproduct")[0]
    org.box.ui_update("opportunityproduct", line["opportunityproductid"], {"quantity": "2"})
    assert [r["opportunityid"] for r in org.api.get(link).json()["value"]] == [opportunity]  # total recalculated
    assert [r["q2c_name"] for r in org.api.get(milestones).json()["value"]] == ["Kick-off"]


@pytest.mark.parametrize("option", ["$filter=name eq 'x'", "$orderby=name", "$top=1",
                                    "$expand=parentaccountid($select=name)"])
def test_query_options_change_tracking_does_not_support(org: Org, option: str) -> None:
    answer = org.api.get(f"accounts?$select=name&{option}", headers=TRACK)
    assert answer.status_code == 400
    name = option.split("=")[0]
    assert answer.json()["error"]["message"] == (f'The "{name}" query parameter isn\'t supported when Change '
                                                 "Tracking is enabled.")


def test_an_expired_or_invalid_delta_token_is_refused(org: Org) -> None:
    link = _start(org)["@odata.deltaLink"]
    org.box.advance_clock(8 * 24 * 3600)
    expired = org.api.get(link)
    assert expired.status_code == 400
    assert expired.json()["error"]["message"] == ("Version stamp associated with the client has expired. Please "
                                                  "perform a full sync.")
    invalid = org.api.get("accounts", params={"$select": "name", "$deltatoken": "garbage"})
    assert invalid.status_code == 400
    assert org.api.get(_start(org)["@odata.deltaLink"]).status_code == 200  # a full sync starts again


def test_tables_without_change_tracking_refuse_it(org: Org) -> None:
    assert org.api.get("systemusers", headers=TRACK).status_code == 400


def test_tracked_answers_are_paged_and_only_the_last_page_has_the_delta_link(org: Org) -> None:
    ids = [org.account(f"Account {n}") for n in range(5)]
    prefer = {"Prefer": "odata.track-changes,odata.maxpagesize=2"}
    first = org.api.get("accounts", params={"$select": "name"}, headers=prefer).json()
    assert len(first["value"]) == 2 and "@odata.deltaLink" not in first
    org.box.ui_update("account", ids[0], {"name": "Account 0 edited"})  # changed while the pages are read
    seen = [r["name"] for r in first["value"]]
    link = first["@odata.nextLink"]
    while True:
        body = org.api.get(link, headers=prefer).json()
        seen += [r["name"] for r in body["value"]]
        if "@odata.deltaLink" in body:
            break
        link = body["@odata.nextLink"]
    assert set(seen) >= {f"Account {n}" for n in range(1, 5)}
    assert "Account 0 edited" in seen
    delta = body["@odata.deltaLink"]
    for row_id in ids[1:4]:
        org.box.ui_delete("account", row_id)
    org.box.ui_update("account", ids[4], {"name": "Account 4 edited"})
    changes: list[dict[str, Any]] = []
    link = delta
    while True:
        body = org.api.get(link, headers=prefer).json()
        assert len(body["value"]) <= 2
        changes += body["value"]
        if "@odata.deltaLink" in body:
            break
        link = body["@odata.nextLink"]
    names = [c.get("name") for c in changes if "name" in c]
    assert "Account 0 edited" in names and "Account 4 edited" in names  # at least once
    assert [c["id"] for c in changes if "reason" in c] == ids[1:4]
