"""q2c's bulk RESTlet itself (`restlet/q2c_bulk_upsert.js`), run unchanged under Node.js.

The requests are the connector's own (see netsuite_restlet_cases.py); the SuiteScript modules are
stand-ins written from the SuiteScript 2.x API documentation in the NetSuite Help Center (N/record,
N/search, N/runtime, N/error; "SuiteScript 2.x API Governance" for usage units). What is asserted is
the script's contract as its header describes it: created and updated ids, upserts by externalId,
one result per record in order, per-record errors naming the field, refusals of the whole call,
and governance deferral.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from netsuite_restlet_cases import edited, raw_request, request, sales_order, seed_account, tasks, timebills
from netsuite_restlet_node import ScriptUnderNode, account_of

from q2c.connectors.netsuite.client import RESTLET_CHUNK
from q2c.sandboxes.netsuite.app import NetSuiteSandbox

# Usage units (SuiteScript 2.x API Governance): a search is runPaged 5 plus fetch 5 per page of hits; a
# time transaction costs 10 to create or load and 20 to save.
SEARCH, PAGE, TIME_WRITE = 5, 5, 10 + 20


def _only(case: Any) -> Any:
    (answer,) = case.answers
    assert not answer.crashed, answer.body
    return answer


def test_time_is_created_with_its_project_and_task_resolved_by_external_id(
        script: ScriptUnderNode, sandbox: NetSuiteSandbox) -> None:
    ids = seed_account(sandbox.state)
    first_new = sandbox.state.next_id
    case = script.run(account_of(sandbox.state), [request("timebill", timebills(ids, 3))])
    answer = _only(case)
    assert answer.results == [{"externalId": f"HV-{n}", "internalId": str(first_new + n - 1), "status": "created"}
                              for n in (1, 2, 3)]
    stored = case.stored("timebill", "HV-2")
    assert stored is not None
    values = stored["values"]
    assert (values["customer"], values["casetaskevent"], values["employee"]) == (ids["job"], ids["task"],
                                                                                 ids["employee"])
    assert (values["hours"], values["rate"], values["trandate"]) == (Decimal("1.5"), Decimal("180.00"), "2026-11-03")
    # one search for the batch's own external ids (no hits), one per referenced type (one page each)
    assert answer.units == SEARCH + 2 * (SEARCH + PAGE) + 3 * TIME_WRITE


def test_a_chunk_sent_again_updates_the_same_records(script: ScriptUnderNode, sandbox: NetSuiteSandbox) -> None:
    ids = seed_account(sandbox.state)
    body = request("timebill", timebills(ids, 3))
    first, again = script.run(account_of(sandbox.state), [body, body]).answers
    assert [r["status"] for r in again.results] == ["updated"] * 3
    assert [r["internalId"] for r in again.results] == [r["internalId"] for r in first.results]
    case = script.run(account_of(sandbox.state), [body, body])
    assert sum(1 for r in case.records if r["type"] == "timebill") == 3


def test_each_bad_record_fails_alone_with_the_code_and_the_field(script: ScriptUnderNode,
                                                                 sandbox: NetSuiteSandbox) -> None:
    ids = seed_account(sandbox.state)

    def drop(key: str) -> Any:
        return lambda body: body.pop(key)

    bodies = edited(timebills(ids, 9), {
        1: lambda b: b.update(customer={"externalId": "P-NEVER-SYNCED", "type": "job"}),
        2: lambda b: b.update(colour="blue"),
        3: lambda b: b.update(tranDate="2026-02-30"),  # no such day: refused, not rolled over to March
        4: drop("tranDate"),
        5: lambda b: b.update(employee={"id": "424242"}),
        6: lambda b: b.update(customer={"externalId": "P-2", "type": "job"}),  # a closed project
        7: lambda b: b.update(memo="x" * 4001),
        8: drop("externalId"),
    })
    results = _only(script.run(account_of(sandbox.state), [request("timebill", bodies)])).results
    assert results[0]["status"] == "created" and all(r["status"] == "error" for r in results[1:])
    assert [(r["externalId"], r["error"]["code"], r["error"]["field"]) for r in results[1:]] == [
        ("HV-2", "Q2C_REFERENCE_NOT_FOUND", "customer"),
        ("HV-3", "Q2C_UNKNOWN_FIELD", "colour"),
        ("HV-4", "INVALID_FLD_VALUE", "trandate"),
        ("HV-5", "USER_ERROR", None),  # mandatory, found on save: no field of the script's
        ("HV-6", "INVALID_KEY_OR_REF", None),  # a key that points nowhere, found on save
        ("HV-7", "USER_ERROR", None),  # the project is closed: refused on save
        ("HV-8", "USER_ERROR", "memo"),  # longer than the field: refused when set
        (None, "Q2C_MISSING_EXTERNAL_ID", "externalid"),
    ]
    assert "P-NEVER-SYNCED" in results[1]["error"]["message"] and "Date" in results[4]["error"]["message"]
    assert all(r["internalId"] is None for r in results[1:])


def test_records_that_are_not_objects_are_answered_in_their_place(script: ScriptUnderNode,
                                                                  sandbox: NetSuiteSandbox) -> None:
    ids = seed_account(sandbox.state)
    good = timebills(ids, 1)[0]
    body = raw_request({"recordType": "timebill", "records": ["not a record", None, good]})
    results = _only(script.run(account_of(sandbox.state), [body])).results
    assert [(r["externalId"], r["status"], r.get("error", {}).get("code")) for r in results] == [
        (None, "error", "Q2C_BAD_RECORD"), (None, "error", "Q2C_BAD_RECORD"), ("HV-1", "created", None)]


@pytest.mark.parametrize(("body", "code"), [
    ({"recordType": "journalentry", "records": []}, "Q2C_BAD_REQUEST"),  # journals go one by one through REST
    ({"recordType": "timebill"}, "Q2C_BAD_REQUEST"),
    ({"records": []}, "Q2C_BAD_REQUEST"),
    ([1, 2], "Q2C_BAD_REQUEST"),
    ({"recordType": "timebill", "records": [{"externalId": str(n)} for n in range(201)]}, "Q2C_BATCH_TOO_LARGE"),
], ids=["journalentry", "no records", "no type", "not an object", "201 records"])
def test_a_malformed_call_is_refused_whole(script: ScriptUnderNode, sandbox: NetSuiteSandbox, body: Any,
                                           code: str) -> None:
    answer = _only(script.run(account_of(sandbox.state), [raw_request(body)]))
    assert answer.status == 400 and answer.body["error"]["code"] == code and answer.units == 0


def test_post_is_the_only_entry_point(script: ScriptUnderNode, sandbox: NetSuiteSandbox) -> None:
    """A RESTlet answers 405 to a method it has no entry point for ("SuiteScript 2.x RESTlet Error Handling")."""
    for method in ("get", "put", "delete"):
        assert _only(script.run(account_of(sandbox.state), [b"{}"], method=method)).status == 405


def test_an_empty_batch_is_answered_cleanly_and_costs_nothing(script: ScriptUnderNode,
                                                              sandbox: NetSuiteSandbox) -> None:
    answer = _only(script.run(account_of(sandbox.state), [request("timebill", [])]))
    assert (answer.status, answer.body, answer.units) == (200, {"results": []}, 0)


def test_a_full_chunk_of_time_stops_before_the_usage_limit_and_the_rest_is_sent_again(
        script: ScriptUnderNode, sandbox: NetSuiteSandbox) -> None:
    """200 time transactions need 6,000 units at 30 each; a RESTlet has 5,000. The script keeps 60 in
    reserve, so after the searches (25) it writes 164 and defers the other 36, which the connector
    sends again in a call of their own."""
    ids = seed_account(sandbox.state)
    bodies = timebills(ids, 200)
    first = _only(script.run(account_of(sandbox.state), [request("timebill", bodies)]))
    written = [r for r in first.results if r["status"] == "created"]
    deferred = [r for r in first.results if r["status"] == "error"]
    assert (len(written), len(deferred)) == (164, 36) and first.units <= 5000
    assert {r["error"]["code"] for r in deferred} == {"Q2C_GOVERNANCE_DEFERRED"}
    assert [r["externalId"] for r in deferred] == [f"HV-{n}" for n in range(165, 201)]  # the tail, in order
    again = [b for b in bodies if b["externalId"] in {r["externalId"] for r in deferred}]
    case = script.run(account_of(sandbox.state), [request("timebill", bodies), request("timebill", again)])
    assert {r["status"] for r in case.answers[1].results} == {"created"}
    assert sum(1 for r in case.records if r["type"] == "timebill") == 200


def test_the_connector_s_chunk_of_time_fits_in_one_call(script: ScriptUnderNode, sandbox: NetSuiteSandbox) -> None:
    ids = seed_account(sandbox.state)
    answer = _only(script.run(account_of(sandbox.state), [request("timebill", timebills(ids, RESTLET_CHUNK))]))
    assert {r["status"] for r in answer.results} == {"created"}
    assert answer.units == SEARCH + 2 * (SEARCH + PAGE) + RESTLET_CHUNK * TIME_WRITE <= 5000 - 60


def test_project_tasks_reference_their_project(script: ScriptUnderNode, sandbox: NetSuiteSandbox) -> None:
    ids = seed_account(sandbox.state)
    case = script.run(account_of(sandbox.state), [request("projecttask", tasks())])
    assert [r["status"] for r in _only(case).results] == ["created", "created"]
    stored = case.stored("projecttask", "P-1-DEPLOY")
    assert stored is not None and stored["values"]["project"] == ids["job"]
    assert stored["values"]["nonbillabletask"] is False


def test_sales_order_lines_are_replaced_on_update(script: ScriptUnderNode, sandbox: NetSuiteSandbox) -> None:
    seed_account(sandbox.state)
    order = sales_order(sandbox)
    two_lines = {**order, "item": {"items": order["item"]["items"] * 2}}
    case = script.run(account_of(sandbox.state), [request("salesorder", [two_lines]), request("salesorder", [order])])
    assert [a.results[0]["status"] for a in case.answers] == ["created", "updated"]
    stored = case.stored("salesorder", "C-1")
    assert stored is not None
    (line,) = stored["values"]["item"]
    assert (line["custcol_q2c_phase_id"], line["rate"], line["quantity"]) == ("PH-1", Decimal("120000"), 1)
    assert stored["values"]["trandate"] == "2026-11-01" and stored["values"]["job"] is not None
