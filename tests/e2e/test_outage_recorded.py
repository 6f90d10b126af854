"""A NetSuite outage through the real path (the sandbox answering 503, the connector's guard and its circuit
breaker), recorded as an `outage` run and counted in the integration recovery time, on SQLite and PostgreSQL.

The breaker opens after 3 failures in a row and cools down after 30 s on a clock the test moves; a
request is tried 3 times in place, so the third failure of a request opens the circuit and the work is
rescheduled with NetSuite's error. NetSuite comes back, the cool-down passes, the retry's probe closes the
circuit and delivers the time entry: the outage drains then.
"""

from __future__ import annotations

from datetime import datetime

from q2c.engine.resilience import CircuitBreaker, GuardRegistry, RateLimit, RetryPolicy
from q2c.entrypoints.demo import DemoWorld
from q2c.entrypoints.wiring import build_hub, drain, worker_for
from q2c.sandboxes.kit import Faults
from q2c.store import history, runs
from q2c.workflows.hub import Hub
from q2c.workflows.kpis import kpis
from q2c.workflows.outages import OutageLog
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.time_approved import poll_time


def test_a_netsuite_outage_is_recorded_until_its_waiting_work_drains(world: DemoWorld) -> None:
    monotonic = [1000.0]
    guards = GuardRegistry()
    guards.get("netsuite", "account", limit=RateLimit(concurrency=5),
               retry=RetryPolicy(max_attempts=3, base_seconds=0.001, cap_seconds=0.002),
               breaker=CircuitBreaker(threshold=3, reset_seconds=30, clock=lambda: monotonic[0]))
    hub = build_hub(world.config, guards=guards)
    outages = OutageLog(hub.engine).watch(guards)
    poll_won_deals(hub)
    drain(hub)
    entry = world.log_time("alice", "BUILD", "2026-11-10", "7.5")
    world.harvest.state.approve([entry])
    poll_time(hub)

    world.netsuite.set_faults(Faults(down=True))
    worker = worker_for(hub)
    assert worker.run_once() == 1 and worker.stats.retried == 1
    assert guards.get("netsuite", "account").breaker.state == "open"
    assert outages.record() == []
    (outage,) = [r for r in _outages(hub) if r.stats["system"] == "netsuite"]
    assert outage.status == "running" and outage.stats["endpoints"] == ["account"]
    with hub.engine.connect() as conn:
        assert history.waiting_on(conn, "netsuite") == 1

    world.netsuite.set_faults(Faults())
    monotonic[0] += 31  # the cool-down passes: the next call is the probe
    worker.run_until_idle(max_seconds=60)
    assert guards.get("netsuite", "account").breaker.state == "closed"
    assert world.netsuite.state.count("timebill") == 1
    assert outages.record() == [outage.id]
    (done,) = [r for r in _outages(hub) if r.id == outage.id]
    opened, recovered, drained = (datetime.fromisoformat(done.stats[k])
                                  for k in ("opened_at", "recovered_at", "drained_at"))
    assert done.status == "ok" and opened <= recovered <= drained

    today = kpis(hub).integration_recovery_time[-1]
    assert (today.outages, today.recovered) == (1, 1)
    assert today.max_seconds == round((drained - opened).total_seconds(), 3)


def _outages(hub: Hub) -> list[runs.Run]:
    with hub.engine.connect() as conn:
        return runs.list_runs(conn, kind="outage", limit=None)
