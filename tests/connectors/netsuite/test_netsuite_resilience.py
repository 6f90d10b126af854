"""Trouble on NetSuite's side: 5xx retried in place, an outage surfaces as a transient error."""

from __future__ import annotations

from decimal import Decimal

import pytest
from netsuite_fixtures import ClientFactory, seed_project

from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.engine.errors import TransientError
from q2c.sandboxes.kit import Faults, SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox


def test_injected_server_errors_are_retried_and_nothing_is_duplicated(
        make_client: ClientFactory, sandbox: NetSuiteSandbox) -> None:
    ids = seed_project(sandbox)
    client = make_client(bulk_threshold=1000)
    client.get("currency", "1")  # token first, so the faults hit the writes
    sandbox.set_faults(Faults(error_rate=0.3, seed=11))
    records = [{"externalId": f"TE-{n}", "employee": {"id": ids["employees"][0]}, "customer": {"id": ids["job"]},
                "hours": Decimal("2"), "tranDate": "2026-11-04"} for n in range(40)]
    results = client.bulk_upsert("timebill", records)
    assert all(r.status == "upserted" for r in results)
    assert sandbox.stats.injected_errors > 0
    assert client.guard.stats.retries > 0
    assert sandbox.state.count("timebill") == 40


def test_down_account_raises_transient_error_after_the_retries(client: NetSuiteClient, sandbox: NetSuiteSandbox
                                                               ) -> None:
    client.get("currency", "1")
    sandbox.set_faults(Faults(down=True))
    before = sandbox.stats.requests
    with pytest.raises(TransientError) as failure:
        client.upsert("customer", "C-1", {"companyName": "Acme", "subsidiary": {"id": "2"}})
    assert "503" in str(failure.value)
    assert sandbox.stats.requests - before == client.guard.retry.max_attempts
    sandbox.set_faults(Faults())
    assert client.upsert("customer", "C-1", {"companyName": "Acme", "subsidiary": {"id": "2"}})
    assert sandbox.state.count("customer") == 1


def test_unreachable_account_raises_transient_error(make_client: ClientFactory, server: SandboxServer) -> None:
    client = make_client()
    server.stop()
    with pytest.raises(TransientError):
        client.get("currency", "1")


def test_truncated_json_is_transient_not_a_crash(client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    client.get("currency", "1")
    sandbox.set_faults(Faults(malformed_rate=1.0))
    with pytest.raises(TransientError, match="malformed JSON"):
        client.get("currency", "2")
