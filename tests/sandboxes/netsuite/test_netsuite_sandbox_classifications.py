"""Class, department and location: stored on timebills, transaction lines and journal lines, read back as
references, and an id that is none of the account's classification records refused in NetSuite's shape."""

from __future__ import annotations

from typing import Any

import pytest
from netsuite_sandbox_calls import Caller, first_detail

from q2c.sandboxes.netsuite.app import NetSuiteSandbox


def _ids(sandbox: NetSuiteSandbox) -> dict[str, str]:
    refs = sandbox.account_references()
    return {"class": refs["classes"]["IMPL"], "department": refs["departments"]["CONS"],
            "location": refs["locations"]["US01"]}


def _time(project: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"employee": {"id": project["employee"]}, "customer": {"id": project["job"]}, "hours": 1.5,
            "tranDate": "2026-11-02", **changes}


def test_a_timebill_keeps_its_classifications_and_reads_them_back_by_name(
        caller: Caller, project: dict[str, Any], sandbox: NetSuiteSandbox) -> None:
    ids = _ids(sandbox)
    written = caller.record("PUT", "timebill/eid:TE-1", _time(project, **{k: {"id": v} for k, v in ids.items()}))
    assert written.status_code == 204, written.text
    stored = sandbox.state.by_external_id("timebill", "TE-1")
    assert stored is not None and {k: stored.values[k] for k in ids} == ids
    read = caller.record("GET", "timebill/eid:TE-1").json()
    assert (read["class"]["refName"], read["department"]["refName"], read["location"]["refName"]) == (
        "IMPL", "CONS", "US01")


def test_journal_lines_keep_theirs(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    ids = _ids(sandbox)
    accounts = sandbox.state.reference_ids()["account"]
    lines = [{"account": {"id": accounts["1200"]}, "debit": 100, "location": {"id": ids["location"]}},
             {"account": {"id": accounts["4000"]}, "credit": 100, "class": {"id": ids["class"]},
              "location": {"id": ids["location"]}}]
    written = caller.record("PUT", "journalentry/eid:JE-1", {"subsidiary": {"id": "2"}, "tranDate": "2026-11-30",
                                                            "line": {"items": lines}})
    assert written.status_code == 204, written.text
    stored = sandbox.state.by_external_id("journalentry", "JE-1")
    assert stored is not None
    assert [(li.get("class"), li["location"]) for li in stored.values["line"]] == [
        (None, ids["location"]), (ids["class"], ids["location"])]


@pytest.mark.parametrize("field", ["class", "department", "location"])
def test_an_id_that_is_no_classification_record_is_refused(caller: Caller, project: dict[str, Any],
                                                           sandbox: NetSuiteSandbox, field: str) -> None:
    subsidiary = "2"  # a real record, but a subsidiary is not a class, department or location
    refused = caller.record("PUT", "timebill/eid:TE-1", _time(project, **{field: {"id": subsidiary}}))
    assert refused.status_code == 400
    detail = first_detail(refused)
    assert (detail["o:errorPath"], detail["o:errorCode"]) == (field, "NONEXISTENT_ID")
    assert f"Invalid Field Value {subsidiary}" in detail["detail"]
    assert sandbox.state.count("timebill") == 0


def test_a_sales_order_line_with_an_unknown_location_is_refused_naming_the_line(
        caller: Caller, project: dict[str, Any]) -> None:
    line = {"item": {"id": "10"}, "quantity": 1, "rate": 100, "amount": 100, "location": {"id": "999"}}
    refused = caller.record("PUT", "salesorder/eid:C-1", {"entity": {"id": project["customer"]},
                                                         "tranDate": "2026-11-02", "item": {"items": [line]}})
    assert refused.status_code == 400
    detail = first_detail(refused)
    assert detail["o:errorCode"] == "NONEXISTENT_ID" and detail["o:errorPath"].endswith("location")
