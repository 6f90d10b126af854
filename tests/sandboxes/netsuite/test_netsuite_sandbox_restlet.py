"""q2c's bulk-upsert RESTlet as deployed, and the account-wide concurrency limit it shares with REST."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from netsuite_sandbox_calls import Caller, first_detail

from q2c.sandboxes.kit import Faults, VendorLimits
from q2c.sandboxes.netsuite.app import RECORD_PATH, NetSuiteSandbox


def _entry(project: dict[str, Any], external_id: str, **changes: Any) -> dict[str, Any]:
    entry = {"externalId": external_id, "employee": {"id": project["employee"]},
             "customer": {"externalId": "PRJ-1", "type": "job"},
             "caseTaskEvent": {"externalId": "PRJ-1-DEV", "type": "projecttask"},
             "hours": 1.25, "rate": 150, "tranDate": "2026-11-02", "isBillable": True}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def test_each_record_is_upserted_and_answered_in_order(caller: Caller, sandbox: NetSuiteSandbox,
                                                       project: dict[str, Any]) -> None:
    records = [_entry(project, f"TE-{n}") for n in range(3)]
    first = caller.restlet({"recordType": "timebill", "records": records})
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
    results = first.json()["results"]
    assert [(r["externalId"], r["status"]) for r in results] == [(f"TE-{n}", "created") for n in range(3)]
    assert all(r["internalId"] == sandbox.state.external["timebill"][r["externalId"]] for r in results)
    stored = sandbox.state.by_external_id("timebill", "TE-1")
    assert stored is not None and (stored.values["customer"], stored.values["casetaskevent"]) == (
        project["job"], project["task"])
    again = caller.restlet({"recordType": "TimeBill", "records": records}).json()["results"]
    assert {r["status"] for r in again} == {"updated"} and sandbox.state.count("timebill") == 3
    assert sandbox.state.restlet_calls == 2


def test_a_bad_record_fails_alone_with_the_script_s_code_and_field(caller: Caller, sandbox: NetSuiteSandbox,
                                                                   project: dict[str, Any]) -> None:
    records: list[Any] = [
        _entry(project, "TE-ok"),
        _entry(project, "TE-ref", customer={"externalId": "PRJ-NEVER-SYNCED", "type": "job"}),
        _entry(project, "TE-field", colour="blue"),
        _entry(project, "TE-date", tranDate=None),
        _entry(project, "", hours=2),
        "not a record",
        _entry(project, "TE-type", customer={"externalId": "PRJ-1", "type": "jobstatus"}),
    ]
    results = caller.restlet({"recordType": "timebill", "records": records}).json()["results"]
    assert [r["status"] for r in results] == ["created"] + ["error"] * 6
    errors = [(r["externalId"], r["error"]["code"], r["error"]["field"]) for r in results[1:]]
    assert errors == [("TE-ref", "Q2C_REFERENCE_NOT_FOUND", "customer"), ("TE-field", "Q2C_UNKNOWN_FIELD", "colour"),
                      ("TE-date", "USER_ERROR", None), ("", "Q2C_MISSING_EXTERNAL_ID", "externalid"),
                      (None, "Q2C_BAD_RECORD", None),
                      ("TE-type", "Q2C_REFERENCE_NOT_FOUND", "customer")]  # the script looks up record types only
    assert "PRJ-NEVER-SYNCED" in results[1]["error"]["message"]
    assert sandbox.state.count("timebill") == 1


def test_a_malformed_call_is_refused_whole(caller: Caller, project: dict[str, Any]) -> None:
    too_many = caller.restlet({"recordType": "timebill", "records": [{"externalId": str(n)} for n in range(201)]})
    assert too_many.status_code == 400 and too_many.json() == {"error": {
        "code": "Q2C_BATCH_TOO_LARGE", "message": "At most 200 records per call; got 201."}}
    for body in ({"recordType": "journalentry", "records": []}, {"recordType": "timebill"}, [1]):
        refused = caller.restlet(body)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "Q2C_BAD_REQUEST"
    raw = httpx.post(caller.url + "/app/site/hosting/restlet.nl", params={
        "script": "customscript_q2c_bulk_upsert", "deploy": "customdeploy_q2c_bulk_upsert"},
        headers={**caller.headers, "Content-Type": "application/json"}, content=b"{\"records\": [")
    assert raw.json()["error"]["code"] == "SYNTAX_ERROR"


def test_the_deployment_and_the_token_are_checked_first(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    unknown = caller.restlet({}, params={"script": "customscript_x", "deploy": "1"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "SSS_INVALID_SCRIPTLET_ID"
    anonymous = caller.restlet({"recordType": "timebill", "records": []}, signed=False)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "INVALID_LOGIN_ATTEMPT"
    assert sandbox.state.restlet_calls == 0


def test_rest_and_restlet_share_one_limit_and_refuse_in_their_own_shapes(caller: Caller,
                                                                        sandbox: NetSuiteSandbox) -> None:
    sandbox.set_limits(VendorLimits(concurrency=0))  # the account's slots are all held by others
    rest = caller.suiteql("SELECT id FROM currency")
    assert rest.status_code == 429 and first_detail(rest)["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    assert "Retry-After" not in rest.headers  # NetSuite documents none
    restlet = caller.restlet({"recordType": "timebill", "records": []})
    assert restlet.status_code == 400 and restlet.json()["error"]["code"] == "SSS_REQUEST_LIMIT_EXCEEDED"
    assert sandbox.state.over_limit == {"rest": 1, "restlet": 1}
    sandbox.set_limits(VendorLimits(concurrency=5))
    sandbox.set_faults(Faults(throttle_rate=1.0))  # the kit's injected throttle takes each surface's shape too
    assert caller.restlet({"recordType": "timebill", "records": []}).json()["error"]["code"] == \
        "SSS_REQUEST_LIMIT_EXCEEDED"
    assert caller.record("GET", "currency/1").status_code == 429


def test_requests_in_flight_never_exceed_the_limit(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    sandbox.set_limits(VendorLimits(concurrency=2))
    sandbox.set_faults(Faults(latency_ms=600))
    barrier = threading.Barrier(5)
    statuses: list[int] = []

    def call() -> None:
        barrier.wait()
        statuses.append(httpx.get(f"{caller.url}{RECORD_PATH}/currency/1", headers=caller.headers).status_code)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sandbox.state.max_in_flight == 2 and sandbox.state.in_flight == 0
    assert sorted(statuses) == [200, 200, 429, 429, 429]
    assert sandbox.state.over_limit["rest"] == 3
