"""/health and the vendor endpoints' circuits, as `q2c serve` wires them: the real `endpoint_health` of
the wiring over the real connectors' guards. The Harvest sandbox goes down, the circuit breaker opens
after its failures, half-opens after the cool-down and closes on the first call that goes through;
/health says so at each step. On SQLite and on PostgreSQL through the `db` fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from q2c.engine.errors import TransientError
from q2c.engine.resilience import CircuitBreaker, GuardRegistry, RateLimit, RetryPolicy
from q2c.entrypoints.demo import DemoWorld
from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.wiring import build_hub, endpoint_health
from q2c.sandboxes.kit import Faults
from q2c.workflows.time_approved import poll_time
from support.api_auth import bearer

SECRET = "whsec-health"


def health(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/health")
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_an_open_circuit_degrades_health_until_the_vendor_is_back(tmp_path: Path, db: Engine, db_url: str) -> None:
    world = DemoWorld(tmp_path).start(database=db_url)
    try:
        monotonic = [1000.0]  # the breaker's clock, so the cool-down passes when the test says
        guards = GuardRegistry()
        guards.get("harvest", "account:100001", limit=RateLimit(requests=100, window_seconds=15),
                   retry=RetryPolicy(max_attempts=4, base_seconds=0.001, cap_seconds=0.002),
                   breaker=CircuitBreaker(threshold=3, reset_seconds=30, clock=lambda: monotonic[0]))
        hub = build_hub(world.config, guards=guards, engine=db)
        with TestClient(create_app(db, webhook_secret=SECRET, health_extra=lambda: endpoint_health(hub)),
                        headers=bearer(db)) as c:
            status, body = health(c)
            assert (status, body["status"], body["reasons"]) == (200, "ok", [])

            world.harvest.set_faults(Faults(down=True))
            with pytest.raises(TransientError):
                poll_time(hub)
            status, body = health(c)
            assert status == 200 and body["status"] == "degraded"
            assert body["reasons"] == ["harvest endpoint account:100001: circuit open, calls fail fast until it "
                                       "cools down (3 transient failures since the service started)"]
            (harvest,) = [e for e in body["endpoints"] if e["system"] == "harvest"]
            assert harvest == {"system": "harvest", "endpoint": "account:100001", "circuit": "open", "requests": 3,
                               "throttled": 0, "transient_failures": 3, "retries": 3}
            assert all(e["circuit"] == "closed" for e in body["endpoints"] if e["system"] != "harvest")

            monotonic[0] += 31
            assert health(c)[1]["reasons"] == ["harvest endpoint account:100001: circuit half-open, the next call "
                                               "probes whether it has recovered"]

            world.harvest.set_faults(Faults())
            poll_time(hub)  # the probe goes through, the circuit closes
            status, body = health(c)
            assert (status, body["status"], body["reasons"]) == (200, "ok", [])
    finally:
        world.stop()
