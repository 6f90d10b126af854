"""NetSuite down under load, then back: the work that piled up waits on NetSuite's circuit, not on backoffs of
its own, and drains within seconds of the circuit's probe going through, each time entry posted exactly once,
on SQLite and PostgreSQL.

The workers' durable backoff is set to minutes (base 60 s, cap 600 s): an item that backed off on its own
after the outage would hold its project far past the test's bound. A request is tried 6 times in place and
the breaker opens after 5 failures in a row (q2c's defaults), and cools down after 1 s, so its probe comes
about a second after NetSuite answers again.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

from q2c.engine.resilience import CircuitBreaker, GuardRegistry, RateLimit, RetryPolicy
from q2c.entrypoints.demo import DemoWorld
from q2c.entrypoints.wiring import build_hub, drain, worker_for
from q2c.sandboxes.kit import Faults
from q2c.store import exceptions as exception_store
from q2c.store import queue, records
from q2c.workflows.hub import Hub
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.time_approved import poll_time

pytestmark = pytest.mark.slow

RESET_SECONDS = 1.0
DRAIN_BOUND_SECONDS = 15.0  # probe after ~1 s, then the backlog; a backoff of its own would take minutes


def _log(world: DemoWorld, start: int, n: int) -> None:
    ids = [world.log_time(("alice", "bob")[i % 2], "BUILD", (date(2026, 11, 2) + timedelta(days=i % 28)).isoformat(),
                          str(Decimal("0.25") * (1 + i % 16))) for i in range(start, start + n)]
    world.approve(*ids)


def _hub(world: DemoWorld) -> Hub:
    guards = GuardRegistry()
    guards.get("netsuite", "account", limit=RateLimit(concurrency=5),  # in place: 6 tries, as by default
               retry=RetryPolicy(max_attempts=6, base_seconds=0.01, cap_seconds=0.05),
               breaker=CircuitBreaker(threshold=5, reset_seconds=RESET_SECONDS))
    return build_hub(world.config, guards=guards)


def _unfinished(hub: Hub) -> int:
    with hub.engine.connect() as conn:
        return queue.unfinished(conn)


def test_work_piled_up_in_an_outage_drains_at_once_when_netsuite_answers(world: DemoWorld) -> None:
    hub = _hub(world)
    poll_won_deals(hub)
    drain(hub)
    _log(world, 0, 150)
    poll_time(hub)

    world.netsuite.set_faults(Faults(down=True))
    stop = threading.Event()
    workers = [worker_for(hub, name=f"w{i}") for i in range(2)]
    for worker in workers:
        worker.policy.base_seconds, worker.policy.cap_seconds = 60.0, 600.0
    threads = [threading.Thread(target=w.run_forever, args=(stop,), kwargs={"idle_sleep": 0.05}, daemon=True)
               for w in workers]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(3):  # load keeps coming during the outage
            time.sleep(1.0)
            _log(world, 150 + 50 * round_, 50)
            poll_time(hub)
        time.sleep(1.0)
        breaker = hub.guards.get("netsuite", "account").breaker
        assert breaker.is_open, "NetSuite's circuit must be open during the outage"
        assert world.erp_count("timebill") == 0
        with hub.engine.connect() as conn:
            assert queue.circuit_waits(conn, "netsuite") >= 1
        backlog = _unfinished(hub)
        assert backlog >= 2, backlog
        assert sum(w.stats.retried for w in workers) > 0 and sum(w.stats.dead for w in workers) == 0

        world.netsuite.set_faults(Faults())  # NetSuite answers again
        back = time.monotonic()
        while _unfinished(hub):
            assert time.monotonic() - back < DRAIN_BOUND_SECONDS, (
                f"{_unfinished(hub)} of {backlog} items still queued {DRAIN_BOUND_SECONDS:.0f} s after NetSuite "
                "came back")
            time.sleep(0.05)
        assert not breaker.is_open
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    n = 300
    erp = world.scenario["erp"]
    external_ids = erp.timebill_ids(world.erp)
    assert len(external_ids) == n and len(set(external_ids)) == n, "every entry posted, none twice"
    assert erp.created(world.erp, "timebill") == n
    with hub.engine.connect() as conn:
        assert records.count_by_state(conn, entity="time_entry") == {"synced": n}
        # the only exception is the demo's deal with no tax id: no time entry went to the dead letters
        assert [e.violation.rule for e in exception_store.search(conn)] == ["customer.tax_id_missing"]
