"""The sandbox's RESTlet against the real script: the same calls, the same answers.

Each case seeds one sandbox account, runs its calls through the script under Node.js (stand-ins for
N/record, N/search, N/runtime and N/error written from the SuiteScript 2.x API docs) and through the
sandbox's emulation (`q2c.sandboxes.netsuite.restlet`), and holds the two to the same HTTP status,
the same error code of a refused call, and per record the same status, internal id, error code and
field, in order. Records written must hold the same values for the fields the call sent.
Messages are not compared: they are NetSuite's words, which neither side can quote.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from netsuite_fixtures import references
from netsuite_records import customer
from netsuite_restlet_cases import edited, raw_request, request, sales_order, seed_account, tasks, timebills
from netsuite_restlet_node import ScriptUnderNode, account_of

from q2c.connectors.netsuite.mapping import customer_to_netsuite
from q2c.sandboxes.netsuite.app import NetSuiteSandbox
from q2c.sandboxes.netsuite.restlet import answer

Calls = Callable[[NetSuiteSandbox, dict[str, str]], list[bytes]]


def _time(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    return [request("timebill", timebills(ids, 3))]


def _time_twice(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    return _time(sandbox, ids) * 2


def _bad_time(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    bodies = edited(timebills(ids, 14), {
        1: lambda b: b.update(customer={"externalId": "P-NEVER-SYNCED", "type": "job"}),
        2: lambda b: b.update(colour="blue"),
        3: lambda b: b.update(tranDate="2026-02-30"),
        4: lambda b: b.pop("tranDate"),
        5: lambda b: b.update(employee={"id": "424242"}),
        6: lambda b: b.update(customer={"externalId": "P-2", "type": "job"}),
        7: lambda b: b.update(memo="x" * 4001),
        8: lambda b: b.pop("externalId"),
        9: lambda b: b.update(customer={"externalId": "P-1", "type": "jobstatus"}),  # not a record type
        10: lambda b: b.update(customer={"externalId": "EMP-1", "type": "employee"}),  # found, but not a project
        11: lambda b: b.update(hours=Decimal("30")),
        12: lambda b: b.update(isBillable="yes", tranDate="3 Nov"),  # the first value set is the one named
        13: lambda b: b.update(caseTaskEvent={"externalId": "P-1-PM", "type": "projecttask"}, tranDate=None),
    })
    return [raw_request({"recordType": "timebill", "records": [*bodies, "not a record", None]})]


def _full_chunk(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    bodies = timebills(ids, 200)
    return [request("timebill", bodies), request("timebill", bodies[164:])]


def _refused_calls(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    return [raw_request(body) for body in (
        {"recordType": "journalentry", "records": []}, {"recordType": "timebill"}, {"records": []}, [1],
        {"recordType": "TimeBill", "records": [{"externalId": str(n)} for n in range(201)]})]


def _empty(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    return [request("timebill", []), request("invoice", [])]


def _tasks(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    return [request("projecttask", tasks() + tasks("P-NEVER-SYNCED", ("QA",))), request("projecttask", tasks())]


def _sales_orders(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    order = sales_order(sandbox)
    line = order["item"]["items"][0]

    def with_lines(external_id: str, *lines: Any) -> dict[str, Any]:
        return {**order, "externalId": external_id, "item": {"items": list(lines)}}

    return [request("salesorder", [
        with_lines("C-1", line, line),
        with_lines("C-2", {**line, "colour": "blue"}),
        with_lines("C-3", "a line"),
        with_lines("C-4", {k: v for k, v in line.items() if k != "item"}),
        with_lines("C-5", {**line, "item": {"id": "999"}}),
        with_lines("C-6", {**line, "item": {"id": "999"}}, {k: v for k, v in line.items() if k != "item"}),
        {**order, "externalId": "C-7", "item": [line]},
        {**with_lines("C-8", line), "job": {"externalId": "P-9", "type": "job"}},
    ]), request("salesorder", [with_lines("C-1", line)])]


def _billed_time(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    bodies = timebills(ids, 2)
    sandbox.state.seed("timebill", {**bodies[0], "employee": {"id": ids["employee"]}})
    sandbox.state.lock("timebill", sandbox.state.external["timebill"]["HV-1"])
    return [request("timebill", bodies)]


def _customers(sandbox: NetSuiteSandbox, ids: dict[str, str]) -> list[bytes]:
    refs = references(sandbox)
    parent = customer_to_netsuite(customer("9"), refs=refs)
    child = customer_to_netsuite(customer("91").model_copy(update={"parent_id": "SF-0019"}), refs=refs)
    return [request("customer", [parent, child]), request("customer", [parent, child])]


CASES: dict[str, Calls] = {
    "time": _time, "time sent twice": _time_twice, "bad time": _bad_time, "a full chunk": _full_chunk,
    "refused calls": _refused_calls, "empty batches": _empty, "project tasks": _tasks,
    "sales order lines": _sales_orders, "billed time": _billed_time,
    "a parent in the same call": _customers,
}


def _answers(status: int, body: Any) -> Any:
    if status != 200:
        return status, body["error"]["code"]
    return status, [(r["externalId"], r["status"], r["internalId"], (r.get("error") or {}).get("code"),
                     (r.get("error") or {}).get("field")) for r in body["results"]]


def _same(value: Any) -> Any:
    """Values as both sides store them: numbers exact, dates as YYYY-MM-DD, ids as text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return Decimal(value).normalize()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_same(v) for v in value]
    if isinstance(value, dict):
        return {k: _same(v) for k, v in value.items()}
    raise TypeError(type(value))


def _sent_fields(raw: bytes) -> dict[str, set[str]]:
    """Per external id, the fields a call sent (what both sides must then hold alike)."""
    body = json.loads(raw)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return {}
    return {r["externalId"]: {k.lower() for k in r if k.lower() != "externalid"}
            for r in body["records"] if isinstance(r, dict) and isinstance(r.get("externalId"), str)}


def _record_type(raw: bytes) -> str | None:
    body = json.loads(raw)
    kind = body.get("recordType") if isinstance(body, dict) else None
    return str(kind).lower() if kind else None


@pytest.mark.parametrize("name", list(CASES))
def test_script_and_sandbox_answer_the_same(script: ScriptUnderNode, sandbox: NetSuiteSandbox, name: str) -> None:
    ids = seed_account(sandbox.state)
    calls = CASES[name](sandbox, ids)
    under_node = script.run(account_of(sandbox.state), calls)
    assert not any(a.crashed for a in under_node.answers), [a.body for a in under_node.answers]
    emulated = [answer(sandbox.state, raw) for raw in calls]
    for n, (node_answer, (status, body)) in enumerate(zip(under_node.answers, emulated, strict=True)):
        assert _answers(node_answer.status, node_answer.body) == _answers(status, body), f"call {n}"
    record_type = next((t for raw in calls for t in [_record_type(raw)] if t), None)
    for external, fields in {k: v for raw in calls for k, v in _sent_fields(raw).items()}.items():
        stored = sandbox.state.by_external_id(record_type, external) if record_type else None
        in_node = under_node.stored(record_type, external) if record_type else None
        assert (stored is None) == (in_node is None), external
        if stored is not None and in_node is not None:
            keep = fields & set(in_node["values"])
            ours = {k: _same(v) for k, v in stored.values.items() if k in keep}
            theirs = {k: _same(v) for k, v in in_node["values"].items() if k in keep}
            assert ours == theirs, external
