"""`GuardRegistry.watch_requests`: every guard the registry made, before or after the listener came, tells it
each request's status and duration; a listener that fails is logged and never reaches the request; a guard
made outside a registry tells no one. (Through the real HTTP path against a sandbox:
tests/entrypoints/test_metrics_endpoint.py.)"""

from __future__ import annotations

import logging

import pytest

from q2c.engine.resilience import EndpointGuard, Exchange, GuardRegistry


def test_guards_made_before_and_after_the_listener_tell_it(caplog: pytest.LogCaptureFixture) -> None:
    guards = GuardRegistry()
    early = guards.get("netsuite", "record")
    heard: list[Exchange] = []

    def fails(exchange: Exchange) -> None:
        raise RuntimeError("listener is broken")

    guards.watch_requests(fails)
    guards.watch_requests(heard.append)
    late = guards.get("harvest", "account:1")
    with caplog.at_level(logging.ERROR, logger="q2c.resilience"):
        early.exchanged(204, 0.12)
        late.exchanged(None, 5.0)
        late.exchanged(429, 0.01)

    assert heard == [Exchange("netsuite", "record", 204, 0.12), Exchange("harvest", "account:1", None, 5.0),
                     Exchange("harvest", "account:1", 429, 0.01)]
    assert [r.getMessage() for r in caplog.records] == ["request listener failed on netsuite record",
                                                        "request listener failed on harvest account:1",
                                                        "request listener failed on harvest account:1"]


def test_a_guard_of_no_registry_tells_no_one() -> None:
    guards = GuardRegistry()
    heard: list[Exchange] = []
    guards.watch_requests(heard.append)
    EndpointGuard("netsuite", "record").exchanged(200, 0.1)
    assert heard == []
