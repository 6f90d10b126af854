"""Crash safety and outages: a worker killed with SIGKILL mid-sync, the ERP down for a while, and a mix of
its faults (5xx, throttling, answers lost after the ERP did the work), against each ERP q2c connects.

Either way, when the dust settles the ERP holds every approved time entry exactly once, the hub's
records agree, nothing went to the dead-letter queue, and the audit chain is intact.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from q2c.engine.worker import Worker
from q2c.entrypoints.demo import DemoWorld
from q2c.entrypoints.wiring import drain, worker_for
from q2c.sandboxes.kit import Faults
from q2c.store import audit, queue, records
from q2c.store import exceptions as exception_store
from q2c.workflows.hub import Hub
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.time_approved import poll_time

pytestmark = pytest.mark.slow


@pytest.fixture(params=["netsuite", "business_central"])
def world(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Iterator[DemoWorld]:
    """The demo world with each ERP in turn (Salesforce and Harvest around it)."""
    w = DemoWorld(tmp_path, systems={"crm": "salesforce", "tracker": "harvest", "erp": request.param})
    w.start(database=db_url)
    yield w
    w.stop()


def _log_many(world: DemoWorld, n: int) -> list[int]:
    """n approved entries by Alice and Bob on the demo project, spread over distinct days."""
    ids = [world.log_time(("alice", "bob")[i % 2], "BUILD", (date(2026, 11, 2) + timedelta(days=i % 28)).isoformat(),
                          str(Decimal("0.25") * (1 + i % 16))) for i in range(n)]
    world.approve(*ids)
    return ids


def _set_up_with_time(world: DemoWorld, n: int) -> Hub:
    """The demo deal set up, and n approved entries logged on its project (not yet polled)."""
    hub = world.hub()
    poll_won_deals(hub)
    drain(hub)
    _log_many(world, n)
    return hub


def _fast_worker(hub: Hub) -> Worker:
    worker = worker_for(hub)
    worker.policy.base_seconds, worker.policy.cap_seconds = 0.05, 0.5
    return worker


def _assert_exactly_once(world: DemoWorld, n: int) -> None:
    erp = world.scenario["erp"]
    external_ids = erp.timebill_ids(world.erp)
    assert len(external_ids) == n, f"{world.label('erp')} holds {len(external_ids)} time records, expected {n}"
    assert len(set(external_ids)) == n, "a time entry was posted twice"
    assert erp.created(world.erp, "timebill") == n


def _settled(world: DemoWorld, n: int, engine: object) -> None:
    _assert_exactly_once(world, n)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        assert records.count_by_state(conn, entity="time_entry") == {"synced": n}
        # The only exception is the demo's deal with no tax id: no time entry was lost to the dead letters.
        assert [e.violation.rule for e in exception_store.search(conn)] == ["customer.tax_id_missing"]
        assert audit.verify(conn).ok


def _write_config(world: DemoWorld, path: Path, **delivery: float) -> Path:
    """The world's config as a firm writes it (secrets in clear), beside the world's key file."""
    raw = copy.deepcopy(world.settings)
    raw["delivery"].update(delivery)
    target = world.workdir / path.name
    target.write_text(yaml.safe_dump(raw))
    return target


def test_worker_killed_mid_sync_then_restarted_posts_every_entry_once(world: DemoWorld, tmp_path: Path) -> None:
    n = 3000
    hub = _set_up_with_time(world, n)
    world.erp.set_faults(Faults(latency_ms=40))  # slow enough to be caught in the middle
    poll_time(hub)
    config = _write_config(world, tmp_path / "q2c.yaml", lease_seconds=2.0)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "q2c.entrypoints.cli", "worker", "--config", str(config)]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while world.erp_count("timebill") < n // 4:
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else "worker exited"
        assert time.monotonic() < deadline, "the worker never got going"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    posted_at_kill = world.erp_count("timebill")
    assert 0 < posted_at_kill < n, "the kill must land in the middle of the sync"

    second = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while True:
            with hub.engine.connect() as conn:
                if queue.unfinished(conn) == 0:
                    break
            assert second.poll() is None, second.stderr.read().decode() if second.stderr else "worker exited"
            assert time.monotonic() < deadline, "the restarted worker did not finish"
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    _settled(world, n, hub.engine)


def test_erp_outage_queues_work_that_drains_by_itself(world: DemoWorld) -> None:
    n = 600
    hub = _set_up_with_time(world, n)
    server = world.servers[world.systems["erp"]]
    server.stop()  # connection refused: the ERP is down
    poll_time(hub)
    worker = _fast_worker(hub)
    done = threading.Event()

    def work() -> None:
        worker.run_until_idle(max_seconds=120)
        done.set()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    time.sleep(3)
    with hub.engine.connect() as conn:
        waiting = queue.counts(conn)
    assert not done.is_set(), "work must wait for the ERP, not give up"
    assert waiting.get("pending", 0) + waiting.get("running", 0) == 1, waiting  # the time batch, waiting
    assert worker.stats.retried > 0
    server.start()  # the ERP is back on the same address
    assert done.wait(timeout=120), "queued work did not drain after the ERP came back"
    _settled(world, n, hub.engine)


def test_intermittent_erp_faults_are_absorbed(world: DemoWorld) -> None:
    n = 1200
    hub = _set_up_with_time(world, n)
    world.erp.set_faults(Faults(error_rate=0.2, throttle_rate=0.1, malformed_rate=0.05, seed=7))
    poll_time(hub)
    worker = _fast_worker(hub)
    worker.run_until_idle(max_seconds=120)
    world.erp.set_faults(Faults())
    _settled(world, n, hub.engine)
