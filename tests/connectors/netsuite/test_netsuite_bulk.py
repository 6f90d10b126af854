"""Bulk time through q2c's RESTlet under NetSuite's account-wide concurrency limit."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from netsuite_fixtures import ClientFactory, seed_project

from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.kit import Faults, VendorLimits
from q2c.sandboxes.netsuite.app import NetSuiteSandbox


def _timebills(ids: dict[str, Any], count: int, *, prefix: str = "TE") -> list[dict[str, Any]]:
    return [{"externalId": f"{prefix}-{n:06d}", "employee": {"id": ids["employees"][n % len(ids["employees"])]},
             "customer": {"externalId": "PRJ-1", "type": "job"},
             "caseTaskEvent": {"externalId": "PRJ-1-DEV", "type": "projecttask"},
             "hours": Decimal("1.25"), "rate": Decimal("150.00"), "tranDate": "2026-11-02", "isBillable": True,
             "memo": f"entry {n}"} for n in range(count)]


def _assert_each_once(sandbox: NetSuiteSandbox, records: list[dict[str, Any]]) -> None:
    state = sandbox.state
    assert state.count("timebill") == len(records)
    assert set(state.external["timebill"]) == {r["externalId"] for r in records}
    assert state.created("timebill") == len(records)


def test_thousand_timebills_never_exceed_the_account_limit(make_client: ClientFactory, sandbox: NetSuiteSandbox
                                                           ) -> None:
    ids = seed_project(sandbox, employees=3)
    sandbox.set_limits(VendorLimits(concurrency=2))
    sandbox.set_faults(Faults(latency_ms=20))
    client = make_client(concurrency_limit=2)
    records = _timebills(ids, 1000)
    results = client.bulk_upsert("timebill", records)
    assert [r.external_id for r in results] == [r["externalId"] for r in records]
    assert {r.status for r in results} == {"created"}
    assert sandbox.state.max_in_flight == 2  # two chunks at a time, never three
    assert sum(sandbox.state.over_limit.values()) == 0
    # chunks of 160: each fits one call's 5,000 usage units at 30 a time entry, so no call is spent on a rest
    assert sandbox.state.restlet_calls == 7
    _assert_each_once(sandbox, records)
    stored = sandbox.state.by_external_id("timebill", "TE-000007")
    assert stored is not None and stored.values["customer"] == ids["job"]
    assert stored.values["casetaskevent"] == ids["task"]
    again = client.bulk_upsert("timebill", records)
    assert {r.status for r in again} == {"updated"}
    assert sandbox.state.count("timebill") == 1000


def test_over_limit_answers_from_the_account_are_absorbed(make_client: ClientFactory, sandbox: NetSuiteSandbox
                                                          ) -> None:
    """Another integration holds part of the account's limit: NetSuite refuses, q2c waits and retries."""
    ids = seed_project(sandbox)
    sandbox.set_limits(VendorLimits(concurrency=2))
    sandbox.set_faults(Faults(latency_ms=20, throttle_rate=0.2, seed=7))
    client = make_client(concurrency_limit=4)  # more than the account allows
    records = _timebills(ids, 1600)
    results = client.bulk_upsert("timebill", records)
    assert all(r.status == "created" for r in results)
    assert sandbox.state.max_in_flight <= 2
    assert sandbox.state.over_limit["restlet"] > 0 or sandbox.stats.throttled > 0
    assert client.guard.stats.rate_limited > 0
    _assert_each_once(sandbox, records)


def test_bad_records_fail_alone_with_the_field_named(make_client: ClientFactory, sandbox: NetSuiteSandbox) -> None:
    """A field is named where the script met the problem setting it; what NetSuite refuses on save (the
    closed project, hours out of range) names none, as the script under Node.js answers too."""
    ids = seed_project(sandbox)
    seed_project(sandbox, customer="CUST-2", project="PRJ-CLOSED", employees=0)
    sandbox.state.close_job(sandbox.state.external["job"]["PRJ-CLOSED"])
    client = make_client(bulk_threshold=10)
    records = _timebills(ids, 300)
    records[5]["customer"] = {"externalId": "PRJ-CLOSED", "type": "job"}
    records[5].pop("caseTaskEvent")
    records[17]["customer"] = {"externalId": "PRJ-NEVER-SYNCED", "type": "job"}
    records[250]["hours"] = Decimal("30")
    results = client.bulk_upsert("timebill", records)
    failed = {r.external_id: r.error for r in results if r.status == "error"}
    assert set(failed) == {"TE-000005", "TE-000017", "TE-000250"}
    closed, missing, too_long = failed["TE-000005"], failed["TE-000017"], failed["TE-000250"]
    assert closed is not None and closed.field is None and closed.rule == "netsuite.USER_ERROR"
    assert "closed" in closed.message
    assert missing is not None and missing.rule == "netsuite.Q2C_REFERENCE_NOT_FOUND"
    assert missing.field == "customer" and "PRJ-NEVER-SYNCED" in missing.message
    assert too_long is not None and too_long.rule == "netsuite.INVALID_FLD_VALUE" and too_long.field is None
    assert "hours" in too_long.message and too_long.record_id == "TE-000250"
    assert sandbox.state.count("timebill") == 297


def test_small_batches_go_record_by_record_through_rest(make_client: ClientFactory, sandbox: NetSuiteSandbox
                                                       ) -> None:
    ids = seed_project(sandbox)
    client = make_client(bulk_threshold=50)
    records = _timebills(ids, 12)
    records[3]["employee"] = {"id": "424242"}
    results = client.bulk_upsert("timebill", records)
    assert [r.status for r in results].count("upserted") == 11
    assert results[3].status == "error" and results[3].error is not None
    assert results[3].error.field == "employee"
    assert sandbox.state.restlet_calls == 0
    assert sandbox.state.count("timebill") == 11


def test_two_clients_in_one_process_share_the_account_guard(make_client: ClientFactory, sandbox: NetSuiteSandbox
                                                            ) -> None:
    ids = seed_project(sandbox)
    sandbox.set_limits(VendorLimits(concurrency=3))
    sandbox.set_faults(Faults(latency_ms=10))
    guards = GuardRegistry()
    first, second = make_client(guards=guards, concurrency_limit=3), make_client(guards=guards, concurrency_limit=3)
    assert first.guard is second.guard
    batches = [_timebills(ids, 600, prefix="A"), _timebills(ids, 600, prefix="B")]
    threads = [threading.Thread(target=c.bulk_upsert, args=("timebill", b))
               for c, b in zip((first, second), batches, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sandbox.state.max_in_flight <= 3
    assert sum(sandbox.state.over_limit.values()) == 0
    assert sandbox.state.count("timebill") == 1200
