"""SuiteQL through the client: paging with hasMore, refusals in NetSuite's error shape, and the wire's JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.connectors.netsuite import wire
from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.engine.errors import RecordRejected
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
