"""SuiteQL: paging with hasMore, the supported subset, and refusals of the rest."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.connectors.netsuite import suiteql, wire
from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.engine.errors import RecordRejected
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import SUITEQL_PATH, NetSuiteSandbox


def _employees(sandbox: NetSuiteSandbox, count: int) -> None:
    for n in range(count):
        sandbox.state.seed("employee", {"firstName": "E", "lastName": str(n), "email": f"e{n}@firm.example",
                                        "externalId": f"EMP-{n:05d}", "isInactive": n % 10 == 0})


def test_paging_follows_has_more_until_the_last_page(client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    _employees(sandbox, 2345)
    rows = list(client.suiteql("SELECT id, externalid, email FROM employee ORDER BY externalid", page_size=1000))
    assert len(rows) == 2345
    assert [r["externalid"] for r in rows] == [f"EMP-{n:05d}" for n in range(2345)]
    assert len({r["id"] for r in rows}) == 2345
    assert all("links" not in r for r in rows)
    assert sandbox.stats.by_path[f"POST {SUITEQL_PATH}"] == 3


def test_page_shape_and_limits(server: SandboxServer, client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    _employees(sandbox, 5)
    client.get("currency", "1")
    token = next(iter(sandbox.state.tokens))
    headers = {"Authorization": f"Bearer {token}", "Prefer": "transient"}
    page = httpx.post(server.url + SUITEQL_PATH, params={"limit": 2, "offset": 2}, headers=headers,
                      json={"q": "SELECT id, isinactive FROM employee ORDER BY id"}).json()
    assert (page["count"], page["hasMore"], page["offset"], page["totalResults"]) == (2, True, 2, 5)
    assert {link["rel"] for link in page["links"]} >= {"next", "self"}
    next_link = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert next_link.endswith("limit=2&offset=4")
    assert page["items"][0]["links"] == [] and page["items"][0]["isinactive"] in ("T", "F")
    too_big = httpx.post(server.url + SUITEQL_PATH, params={"limit": 1001}, headers=headers,
                         json={"q": "SELECT id FROM employee"})
    assert too_big.status_code == 400
    assert too_big.json()["o:errorDetails"][0]["o:errorQueryParam"] == "limit"
    no_prefer = httpx.post(server.url + SUITEQL_PATH, headers={"Authorization": f"Bearer {token}"},
                           json={"q": "SELECT id FROM employee"})
    assert no_prefer.status_code == 400


@pytest.mark.parametrize("query", [
    "SELECT id FROM employee WHERE email = 'a' OR email = 'b'",
    "SELECT e.id FROM employee e JOIN job j ON j.id = e.id",
    "SELECT id FROM nosuchtable",
    "SELECT shoe_size FROM employee",
    "SELECT COUNT(*) FROM employee",
])
def test_unsupported_queries_are_refused_in_netsuite_error_shape(client: NetSuiteClient, query: str) -> None:
    with pytest.raises(RecordRejected) as rejected:
        list(client.suiteql(query))
    assert rejected.value.violation.rule == "netsuite.INVALID_PARAMETER"
    assert "Invalid search query" in rejected.value.violation.message


def test_employees_and_active_emails(client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    _employees(sandbox, 20)
    staff = client.employees()
    assert len(staff) == 20 and sum(e.inactive for e in staff) == 2
    by_email = client.employee_ids_by_email()
    assert len(by_email) == 18 and "e0@firm.example" not in by_email


def _rows() -> list[dict[str, object]]:
    return [
        {"id": 1, "name": "Ann O'Neil", "hours": Decimal("1.5"), "status": suiteql.Ref("2", "In Progress"),
         "day": date(2026, 5, 31), "flag": True},
        {"id": 2, "name": "Bob", "hours": Decimal("8"), "status": suiteql.Ref("1", "Closed"), "flag": False},
        {"id": 10, "name": "Cy", "hours": None, "status": suiteql.Ref("2", "In Progress"), "flag": False},
    ]


def _run(text: str) -> list[dict[str, str]]:
    return suiteql.run(suiteql.parse(text), columns=["id", "name", "hours", "status", "day", "flag"],
                       rows=_rows)


def test_evaluator_conditions_order_and_display_names() -> None:
    assert [r["id"] for r in _run("SELECT id FROM t WHERE hours > 1 AND status <> '1'")] == ["1"]
    assert [r["id"] for r in _run("SELECT id FROM t WHERE hours IS NULL")] == ["10"]
    assert [r["id"] for r in _run("SELECT id FROM t WHERE id IN ('2', '10') ORDER BY id DESC")] == ["10", "2"]
    assert [r["id"] for r in _run("SELECT id FROM t ORDER BY id")] == ["1", "2", "10"]
    ann = suiteql.quote("Ann O'Neil")
    assert ann == "'Ann O''Neil'"
    assert [r["id"] for r in _run(f"SELECT id FROM t WHERE name = {ann}")] == ["1"]
    assert [r["id"] for r in _run("SELECT id FROM t WHERE flag = 'T'")] == ["1"]
    first = _run("SELECT id, BUILTIN.DF(status) AS statusname, status, day, hours FROM t ORDER BY id")[0]
    assert first == {"id": "1", "statusname": "In Progress", "status": "2", "day": "5/31/2026", "hours": "1.5"}
    assert "hours" not in _run("SELECT hours FROM t WHERE id = '10'")[0]  # nulls are left out, as NetSuite does


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False, places=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12))
def test_wire_json_round_trips_decimals_exactly(value: object) -> None:
    decoded = wire.loads(wire.dumps(value))

    def same(a: object, b: object) -> bool:
        if isinstance(a, Decimal):
            return isinstance(b, Decimal | int) and Decimal(b) == a
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        return a == b and type(a) is type(b)

    assert same(value, decoded)


def test_wire_refuses_floats() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        wire.dumps({"rate": 187.5})
