"""The REST record service: 204 + Location, upsert by external id, references and numbers read back,
and refusals in NetSuite's error shape naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from netsuite_sandbox_calls import Caller, first_detail

from q2c.sandboxes.netsuite.app import RECORD_PATH, NetSuiteSandbox
from q2c.sandboxes.netsuite.wire import loads


def _time(project: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A time entry's body as a client sends it (numbers as JSON numbers)."""
    body = {"employee": {"id": project["employee"]}, "customer": {"id": project["job"]}, "hours": 1.5,
            "tranDate": "2026-11-02"}
    body.update(changes)
    return body


def test_create_answers_204_with_the_location_of_the_new_record(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    answer = caller.record("POST", "customer", {"companyName": "Acme", "externalId": "C-9", "subsidiary": {"id": "2"}})
    assert answer.status_code == 204 and answer.content == b""
    location = answer.headers["Location"]
    assert location.startswith(f"{caller.url}{RECORD_PATH}/customer/")
    read = caller.record("GET", "customer/" + location.rsplit("/", 1)[1])
    assert read.headers["content-type"].startswith("application/vnd.oracle.resource+json; type=singular")
    body = read.json()
    assert body["companyName"] == "Acme" and body["externalId"] == "C-9"
    assert body["subsidiary"] == {"id": "2", "refName": "US01 Consulting Inc.",
                                  "links": [{"rel": "self", "href": f"{caller.url}{RECORD_PATH}/subsidiary/2"}]}
    assert body["links"] == [{"rel": "self", "href": location}]
    assert body["createdDate"].endswith("Z") and sandbox.state.created("customer") == 1
    again = caller.record("POST", "customer", {"companyName": "Beta", "externalId": "C-9", "subsidiary": {"id": "2"}})
    assert again.status_code == 400 and first_detail(again)["o:errorPath"] == "externalId"


def test_put_on_an_external_id_creates_then_updates_the_same_record(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    first = caller.record("PUT", "customer/eid:C-1", {"companyName": "Acme", "subsidiary": {"id": "2"}})
    second = caller.record("PUT", "customer/eid:C-1", {"companyName": "Acme Corp"})
    assert first.status_code == second.status_code == 204
    assert first.headers["Location"] == second.headers["Location"]
    assert sandbox.state.count("customer") == 1
    assert (sandbox.state.created("customer"), sandbox.state.updated("customer")) == (1, 1)
    assert caller.record("GET", "customer/eid:C-1").json()["companyName"] == "Acme Corp"
    differing = caller.record("PUT", "customer/eid:C-1", {"externalId": "C-2", "companyName": "x"})
    assert differing.status_code == 400 and first_detail(differing)["o:errorCode"] == "INVALID_VALUE"
    by_id = caller.record("PUT", "customer/" + first.headers["Location"].rsplit("/", 1)[1], {"companyName": "x"})
    assert by_id.status_code == 405


def test_an_external_id_with_reserved_characters_travels_percent_encoded(caller: Caller,
                                                                          sandbox: NetSuiteSandbox) -> None:
    assert caller.record("PUT", "customer/eid:SF%2F001%20A", {"companyName": "Slash",
                                                              "subsidiary": {"id": "2"}}).status_code == 204
    assert sandbox.state.by_external_id("customer", "SF/001 A") is not None


def test_patch_changes_but_never_creates(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    missing = caller.record("PATCH", "customer/eid:NOPE", {"companyName": "x"})
    assert missing.status_code == 404 and first_detail(missing)["o:errorCode"] == "NONEXISTENT_ID"
    assert sandbox.state.count("customer") == 0
    caller.record("PUT", "customer/eid:C-1", {"companyName": "Acme", "subsidiary": {"id": "2"}})
    assert caller.record("PATCH", "customer/eid:C-1", {"email": "ap@acme.example"}).status_code == 204
    assert sandbox.state.by_external_id("customer", "C-1").values["email"] == "ap@acme.example"  # type: ignore[union-attr]


def test_numbers_are_json_numbers_both_ways(caller: Caller, project: dict[str, Any]) -> None:
    written = caller.record("PUT", "timebill/eid:TE-5", _time(project, hours=2.11, rate=187.3333))
    assert written.status_code == 204
    raw = caller.record("GET", "timebill/eid:TE-5").content
    assert b'"hours":2.11' in raw and b'"rate":187.3333' in raw
    read = loads(raw)
    assert read["hours"] == Decimal("2.11") and read["tranDate"] == "2026-11-02"
    as_text = caller.record("PUT", "timebill/eid:TE-6", _time(project, hours="2"))
    assert as_text.status_code == 400 and first_detail(as_text)["o:errorPath"] == "hours"


def test_unknown_fields_are_refused_only_when_the_caller_asks(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    body = {"companyName": "x", "subsidiary": {"id": "2"}, "colour": "blue"}
    refused = caller.record("PUT", "customer/eid:C-1", body, strict=True)
    assert refused.status_code == 400
    assert (first_detail(refused)["o:errorCode"], first_detail(refused)["o:errorPath"]) == ("USER_ERROR", "colour")
    assert caller.record("PUT", "customer/eid:C-1", body, strict=False).status_code == 204
    assert "colour" not in sandbox.state.by_external_id("customer", "C-1").values  # type: ignore[union-attr]


@pytest.mark.parametrize(("change", "path", "code", "said"), [
    ({"tranDate": None}, "tranDate", "USER_ERROR", "Please enter value(s) for: Date"),
    ({"employee": {"id": "999999"}}, "employee", "NONEXISTENT_ID", "Invalid Field Value 999999"),
    ({"memo": "\u00e9" * 2001}, "memo", "USER_ERROR", "maximum number ( 4000 )"),
    ({"hours": 30}, "hours", "INVALID_VALUE", "at most 24 hours"),
    ({"tranDate": "02/11/2026"}, "tranDate", "INVALID_VALUE", "YYYY-MM-DD"),
    ({"customer": {"externalId": "PRJ-1", "type": "job"}}, "customer", "INVALID_VALUE", "{\"id\""),
], ids=["required", "reference", "bytes", "hours", "date", "external reference"])
def test_refusals_name_the_field_in_netsuite_s_words(caller: Caller, project: dict[str, Any], sandbox: NetSuiteSandbox,
                                                     change: dict[str, Any], path: str, code: str, said: str) -> None:
    body = {k: v for k, v in _time(project, **change).items() if v is not None}
    refused = caller.record("PUT", "timebill/eid:TE-1", body)
    assert refused.status_code == 400
    assert refused.json()["type"] == "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1"
    detail = first_detail(refused)
    assert (detail["o:errorPath"], detail["o:errorCode"]) == (path, code) and said in detail["detail"]
    assert sandbox.state.count("timebill") == 0


def test_what_the_account_refuses_on_save(caller: Caller, project: dict[str, Any], sandbox: NetSuiteSandbox) -> None:
    other = sandbox.state.seed("job", {"companyName": "Other", "parent": project["customer"]})
    wrong_task = caller.record("PUT", "timebill/eid:TE-1", _time(project, customer={"id": other},
                                                                 caseTaskEvent={"id": project["task"]}))
    assert first_detail(wrong_task)["o:errorPath"] == "caseTaskEvent"
    sandbox.state.close_job(project["job"])
    closed = caller.record("PUT", "timebill/eid:TE-1", _time(project))
    assert first_detail(closed)["o:errorPath"] == "customer" and "closed" in first_detail(closed)["detail"]
    written = caller.record("PUT", "timebill/eid:TE-2", _time(project, customer={"id": other}))
    internal = written.headers["Location"].rsplit("/", 1)[1]
    sandbox.state.lock("timebill", internal)
    billed = caller.record("PATCH", f"timebill/{internal}", {"hours": 3})
    assert billed.status_code == 400 and "billed" in first_detail(billed)["detail"]
    assert caller.record("DELETE", f"timebill/{internal}").status_code == 400
    assert sandbox.state.get("timebill", internal).values["hours"] == Decimal("1.5")  # type: ignore[union-attr]


def test_a_journal_entry_must_balance(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    ids = sandbox.state.reference_ids()
    lines = [{"account": {"id": ids["account"]["1200"]}, "debit": 10},
             {"account": {"id": ids["account"]["4000"]}, "credit": 9.99}]
    body = {"subsidiary": {"id": "2"}, "tranDate": "2026-11-30", "line": {"items": lines}}
    refused = caller.record("PUT", "journalentry/eid:JE-1", body)
    assert first_detail(refused)["o:errorPath"] == "line" and "must equal" in first_detail(refused)["detail"]
    lines[1]["credit"] = 10
    assert caller.record("PUT", "journalentry/eid:JE-1", body).status_code == 204
    assert caller.record("PATCH", "journalentry/eid:JE-1", {"memo": "checked"}).status_code == 204  # lines kept
    read = caller.record("GET", "journalentry/eid:JE-1").json()
    assert read["tranId"].startswith("JE") and read["status"]["refName"] == "Approved for Posting"


def test_sublists_are_links_unless_expanded(caller: Caller, project: dict[str, Any]) -> None:
    items = {"items": [{"item": {"id": "10"}, "quantity": 7.5, "rate": 180, "custcol_q2c_phase_id": "PH-2"},
                       {"item": {"id": "11"}, "amount": 25000}]}
    body = {"entity": {"id": project["customer"]}, "tranDate": "2026-11-01", "job": {"id": project["job"]},
            "item": items}
    assert caller.record("PUT", "salesorder/eid:CON-1", body).status_code == 204
    plain = caller.record("GET", "salesorder/eid:CON-1").json()
    assert set(plain["item"]) == {"links"}
    order = loads(caller.record("GET", "salesorder/eid:CON-1", params={"expandSubResources": "true"}).content)
    lines = order["item"]["items"]
    assert order["item"]["count"] == 2 and [line["line"] for line in lines] == [1, 2]
    assert lines[0]["amount"] == Decimal("1350.0") and lines[1]["quantity"] == 1
    assert [line["item"]["refName"] for line in lines] == ["Professional Services", "Fixed Fee Services"]
    assert order["total"] == Decimal("26350.0") and order["status"] == {"id": "B", "refName": "Pending Fulfillment"}
    assert order["job"]["refName"] == "Acme rollout" and order["tranId"].startswith("SO")


def test_record_types_the_account_lacks_or_keeps_for_administrators(caller: Caller) -> None:
    unknown = caller.record("GET", "spaceship/1")
    assert unknown.status_code == 404 and first_detail(unknown)["o:errorCode"] == "INVALID_RCRD_TYPE"
    assert caller.record("PUT", "currency/eid:XAU", {"name": "Gold", "symbol": "XAU"}).status_code == 405
    assert caller.record("GET", "currency/1").json()["symbol"] == "USD"


def test_a_body_that_is_not_json_is_refused(caller: Caller) -> None:
    for raw in (b"{\"companyName\": ", b"[1, 2]", b"{\"hours\": NaN}"):
        answer = caller.record("PUT", "customer/eid:C-1", raw)
        assert answer.status_code == 400 and first_detail(answer)["o:errorCode"] == "INVALID_CONTENT"


def test_collections_page_with_links(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    for n in range(5):
        sandbox.state.seed("employee", {"firstName": "E", "lastName": str(n)})
    page = caller.record("GET", "employee", params={"limit": "2", "offset": "2"})
    assert page.headers["content-type"].startswith("application/vnd.oracle.resource+json; type=collection")
    body = page.json()
    assert (body["count"], body["hasMore"], body["offset"], body["totalResults"]) == (2, True, 2, 5)
    assert {link["rel"] for link in body["links"]} == {"previous", "first", "next", "last", "self"}
    assert set(body["items"][0]) == {"links", "id"}
    bad = caller.record("GET", "employee", params={"limit": "0"})
    assert bad.status_code == 400 and first_detail(bad)["o:errorQueryParam"] == "limit"


def test_delete_answers_204_and_the_record_is_gone(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    caller.record("PUT", "customer/eid:C-1", {"companyName": "Acme", "subsidiary": {"id": "2"}})
    internal = sandbox.state.external["customer"]["C-1"]
    assert caller.record("DELETE", f"customer/{internal}").status_code == 204
    assert caller.record("GET", "customer/eid:C-1").status_code == 404
    assert sandbox.state.writes[("customer", "deleted")] == 1 and "C-1" not in sandbox.state.external["customer"]
