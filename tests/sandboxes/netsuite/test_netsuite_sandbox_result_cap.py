"""A result holds at most 100,000 rows on at most 1,000 pages (lowered here): past that it ends as if complete."""

from __future__ import annotations

from typing import Any

import pytest
from netsuite_sandbox_calls import Caller

from q2c.sandboxes.netsuite.app import NetSuiteSandbox
from q2c.sandboxes.netsuite.paging import MAX_PAGES, MAX_RESULTS


@pytest.fixture
def customers(sandbox: NetSuiteSandbox) -> list[str]:
    us01 = sandbox.state.reference_ids()["subsidiary"]["US01 Consulting Inc."]
    return [sandbox.state.seed("customer", {"companyName": f"Customer {n}", "subsidiary": us01}) for n in range(7)]


def _page(caller: Caller, *, limit: int, offset: int) -> tuple[list[str], bool, int]:
    answer = caller.suiteql("SELECT id FROM customer ORDER BY id", limit=limit, offset=offset)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return [item["id"] for item in body["items"]], body["hasMore"], body["totalResults"]


def test_the_account_caps_results_as_netsuite_documents(sandbox: NetSuiteSandbox) -> None:
    assert (sandbox.state.max_results, sandbox.state.max_pages) == (MAX_RESULTS, MAX_PAGES) == (100_000, 1000)


def test_a_suiteql_result_ends_at_the_row_cap(caller: Caller, sandbox: NetSuiteSandbox, customers: list[str]) -> None:
    assert _page(caller, limit=5, offset=0) == (customers[:5], True, 7)
    sandbox.state.max_results = 5
    assert _page(caller, limit=2, offset=0) == (customers[:2], True, 5)
    assert _page(caller, limit=2, offset=4) == (customers[4:5], False, 5)
    assert _page(caller, limit=2, offset=6) == ([], False, 5)  # the rest is not to be had by this query
    assert _page(caller, limit=1000, offset=0)[0] == customers[:5]
    rows = caller.rows(f"SELECT id FROM customer WHERE id > {customers[4]} ORDER BY id")
    assert [row["id"] for row in rows] == customers[5:]  # a query that starts after the last id read


def test_a_smaller_page_reaches_fewer_rows(caller: Caller, sandbox: NetSuiteSandbox, customers: list[str]) -> None:
    sandbox.state.max_pages = 2
    assert _page(caller, limit=2, offset=2) == (customers[2:4], False, 4)
    assert _page(caller, limit=5, offset=5) == (customers[5:7], False, 7)
    listed = caller.record("GET", "customer", params={"limit": "2", "offset": "2"}).json()
    assert (listed["count"], listed["hasMore"], listed["totalResults"]) == (2, False, 4)  # record lists too
