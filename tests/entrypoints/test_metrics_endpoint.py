"""/metrics over the real connectors and the sandboxes on loopback, as `q2c serve` wires it (`hub_sources` over
the hub's guards): a 429 from Harvest is a throttle answer of its endpoint, the same figure /health reports; every
request is timed; a circuit shows 2 while open, 1 half-open, 0 closed again; and with the database gone the
process's own figures are still served while the database's sources say they are down.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from q2c.engine.errors import RateLimited, TransientError
from q2c.engine.resilience import CircuitBreaker, GuardRegistry, RateLimit, RetryPolicy
from q2c.entrypoints.demo import DemoWorld
from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.metrics import MetricSources, hub_sources
from q2c.entrypoints.wiring import build_hub, drain, endpoint_health
from q2c.sandboxes.kit import Faults
from q2c.store.db import create_db_engine, migrate
from q2c.workflows.hub import Hub
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.time_approved import poll_time
from support.api_auth import bearer

SECRET = "whsec-metrics"
HARVEST = {"system": "harvest", "endpoint": "account:100001"}  # the demo's Harvest account: one budget, one guard

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: Samples, name: str, labels: dict[str, str]) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def endpoints(samples: Samples, name: str) -> dict[tuple[str, str], float]:
    return {(dict(labels)["system"], dict(labels)["endpoint"]): v for (n, labels), v in samples.items() if n == name}


def served(world: DemoWorld, guards: GuardRegistry) -> tuple[Hub, TestClient]:
    hub = build_hub(world.config, guards=guards)
    app = create_app(hub.engine, webhook_secret=SECRET, health_extra=lambda: endpoint_health(hub),
                     metrics=hub_sources(hub))
    return hub, TestClient(app)


def test_a_429_from_the_sandbox_is_a_throttle_answer_and_every_request_is_timed(tmp_path: Path) -> None:
    """Harvest answers 429 + Retry-After to everything; with one attempt allowed, the poll fails as rate-limited
    after one request: one throttle answer, as the sandbox counted it and as /health reports it. Harvest back,
    the won deal is set up (Salesforce, NetSuite, Harvest) and the poll waits out the Retry-After and goes
    through; each endpoint's latency histogram has timed every request its guard counted."""
    world = DemoWorld(tmp_path).start()
    try:
        guards = GuardRegistry()
        guards.get("harvest", "account:100001", limit=RateLimit(requests=100, window_seconds=15),
                   retry=RetryPolicy(max_attempts=1))
        hub, client = served(world, guards)
        with client:
            world.harvest.set_faults(Faults(throttle_rate=1.0))
            with pytest.raises(RateLimited):
                poll_time(hub)
            samples = scrape(client)
            assert value(samples, "q2c_vendor_throttled_total", HARVEST) == 1 == world.harvest.stats.throttled
            assert value(samples, "q2c_vendor_requests_total", HARVEST) == 1
            assert value(samples, "q2c_vendor_request_duration_seconds_count", HARVEST) == 1
            (harvest,) = [e for e in client.get("/health").json()["endpoints"] if e["system"] == "harvest"]
            assert (harvest["throttled"], harvest["requests"]) == (1, 1)  # one figure, two reports

            world.harvest.set_faults(Faults())
            poll_won_deals(hub)
            drain(hub)  # the won deal set up in NetSuite and Harvest, its ids written back to Salesforce
            poll_time(hub)  # after the Retry-After (1 s) the sandbox asked for
            samples = scrape(client)
        requests = endpoints(samples, "q2c_vendor_requests_total")
        assert {system for (system, _), n in requests.items() if n} == {"salesforce", "harvest", "netsuite"}
        assert requests[("harvest", "account:100001")] > 1
        assert endpoints(samples, "q2c_vendor_request_duration_seconds_count") == {k: v for k, v in requests.items()
                                                                                 if v}  # a series once timed
        assert all(v > 0 for v in endpoints(samples, "q2c_vendor_request_duration_seconds_sum").values())
        assert value(samples, "q2c_vendor_throttled_total", HARVEST) == 1
        assert value(samples, "q2c_circuit_state", HARVEST) == 0
    finally:
        world.stop()


def test_a_circuit_shows_2_while_open_1_half_open_and_0_once_closed(tmp_path: Path) -> None:
    """Harvest goes down: three transient failures open its circuit (2), the cool-down half-opens it (1), the
    first call that goes through closes it (0). The other endpoints stay closed throughout."""
    world = DemoWorld(tmp_path).start()
    try:
        monotonic = [1000.0]  # the breaker's clock, so the cool-down passes when the test says
        guards = GuardRegistry()
        guards.get("harvest", "account:100001", limit=RateLimit(requests=100, window_seconds=15),
                   retry=RetryPolicy(max_attempts=4, base_seconds=0.001, cap_seconds=0.002),
                   breaker=CircuitBreaker(threshold=3, reset_seconds=30, clock=lambda: monotonic[0]))
        hub, client = served(world, guards)
        with client:
            assert value(scrape(client), "q2c_circuit_state", HARVEST) == 0
            world.harvest.set_faults(Faults(down=True))
            with pytest.raises(TransientError):
                poll_time(hub)
            samples = scrape(client)
            assert value(samples, "q2c_circuit_state", HARVEST) == 2
            assert value(samples, "q2c_vendor_transient_failures_total", HARVEST) == 3
            assert {k: v for k, v in endpoints(samples, "q2c_circuit_state").items() if k[0] != "harvest"} == {
                k: 0 for k in endpoints(samples, "q2c_circuit_state") if k[0] != "harvest"}

            monotonic[0] += 31
            assert value(scrape(client), "q2c_circuit_state", HARVEST) == 1

            world.harvest.set_faults(Faults())
            poll_time(hub)
            assert value(scrape(client), "q2c_circuit_state", HARVEST) == 0
    finally:
        world.stop()


def test_with_the_database_gone_the_processs_own_figures_are_still_served(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The SQLite volume removed: each database source is down (logged once, however many scrapes find it so),
    and the circuit of the process's endpoint is still there."""
    folder = tmp_path / "volume"
    folder.mkdir()
    engine = create_db_engine(f"sqlite:///{folder / 'hub.sqlite'}")
    migrate(engine)
    guards = GuardRegistry()
    guards.get("netsuite", "record")
    try:
        with TestClient(create_app(engine, webhook_secret=SECRET, metrics=MetricSources(guards=guards)),
                        headers=bearer(engine)) as client:
            up = {dict(labels)["source"]: v for (n, labels), v in scrape(client).items()
                  if n == "q2c_metrics_source_up"}
            assert up == {"queue": 1, "exceptions": 1, "reconciliation": 1}

            shutil.rmtree(folder)
            engine.dispose()  # the pooled connections hold the removed file open; new ones find it gone
            with caplog.at_level(logging.ERROR, logger="q2c.metrics"):
                scrape(client)
                samples = scrape(client)
            assert sorted(r.getMessage() for r in caplog.records if r.name == "q2c.metrics") == [
                f"/metrics: the {source} figures could not be read" for source in
                ("exceptions", "queue", "reconciliation")]
            up = {dict(labels)["source"]: v for (n, labels), v in samples.items() if n == "q2c_metrics_source_up"}
            assert up == {"queue": 0, "exceptions": 0, "reconciliation": 0}
            assert value(samples, "q2c_circuit_state", {"system": "netsuite", "endpoint": "record"}) == 0
            assert not any(n.startswith("q2c_queue_") for n, _ in samples)
    finally:
        engine.dispose()
