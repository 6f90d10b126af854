"""Outages recorded as runs of kind `outage`, driven through the engine's own circuit breakers (a clock the
test moves, failures and successes as the HTTP path reports them), on SQLite and PostgreSQL.

An outage begins when a circuit of the system opens, is recovered when every circuit of it that opened has
closed, and ends (drained) when no work that failed on that system is left in the queue.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from q2c.engine.resilience import CircuitBreaker, GuardRegistry
from q2c.store import queue, runs
from q2c.workflows.outages import OutageLog


def _outages(db: Engine) -> list[runs.Run]:
    with db.connect() as conn:
        return runs.list_runs(conn, kind="outage", limit=None)


def _waiting_on(db: Engine, system: str) -> int:
    """A work item whose delivery failed on `system` and was rescheduled; returns its id."""
    with db.begin() as conn:
        item_id = queue.enqueue(conn, kind="time.deliver", aggregate="project:P-1", payload={}, correlation_id="c1")
        queue.claim(conn, worker="w", limit=1)
        queue.reschedule(conn, item_id, worker="w", delay_seconds=0, error=f"{system}: POST account: HTTP 503")
    return item_id


def _deliver(db: Engine, item_id: int) -> None:
    with db.begin() as conn:
        (item,) = queue.claim(conn, worker="w", limit=1)
        assert item.id == item_id
        assert queue.complete(conn, item_id, worker="w")


def _guards() -> tuple[GuardRegistry, list[float]]:
    clock = [1000.0]
    guards = GuardRegistry()
    for endpoint in ("account", "restlet"):
        guards.get("netsuite", endpoint, breaker=CircuitBreaker(threshold=2, reset_seconds=30, clock=lambda: clock[0]))
    return guards, clock


def test_an_outage_runs_from_the_circuit_opening_until_its_waiting_work_drains(db: Engine) -> None:
    guards, clock = _guards()
    log = OutageLog(db).watch(guards)
    account = guards.get("netsuite", "account").breaker
    item_id = _waiting_on(db, "netsuite")
    account.failure()
    assert log.record() == [] and _outages(db) == [], "one failure is not an outage"
    account.failure()  # the second in a row: the circuit opens
    clock[0] += 31
    account.check("netsuite", "account")  # half-open: the probe goes out ...
    account.failure()  # ... and fails: still the same outage
    assert log.record() == []
    (outage,) = _outages(db)
    assert outage.status == "running"
    assert {k: outage.stats[k] for k in ("system", "endpoints", "recovered_at", "drained_at")} == {
        "system": "netsuite", "endpoints": ["account"], "recovered_at": None, "drained_at": None}
    assert datetime.fromisoformat(outage.stats["opened_at"]) == outage.started_at

    clock[0] += 31
    account.check("netsuite", "account")
    account.success()  # the probe goes through: the circuit closes
    assert log.record() == [], "back, but the work it left is still waiting"
    (outage,) = _outages(db)
    assert outage.status == "running" and outage.stats["recovered_at"] is not None

    _deliver(db, item_id)
    assert log.record() == [outage.id]
    (done,) = _outages(db)
    opened, recovered, drained = (datetime.fromisoformat(done.stats[k])
                                  for k in ("opened_at", "recovered_at", "drained_at"))
    assert done.status == "ok" and opened <= recovered <= drained == done.finished_at
    assert done.stats["recovery_seconds"] == pytest.approx((drained - opened).total_seconds(), abs=0.001)
    assert log.record() == [] and len(_outages(db)) == 1, "recorded once"


def test_a_system_is_back_only_when_every_circuit_of_it_has_closed(db: Engine) -> None:
    guards, _ = _guards()
    log = OutageLog(db).watch(guards)
    account, restlet = guards.get("netsuite", "account").breaker, guards.get("netsuite", "restlet").breaker
    for breaker in (account, account, restlet, restlet):
        breaker.failure()
    account.success()
    assert log.record() == []
    (outage,) = _outages(db)
    assert outage.stats["endpoints"] == ["account", "restlet"] and outage.stats["recovered_at"] is None
    restlet.success()
    assert log.record() == [outage.id], "nothing waited on NetSuite: drained as soon as it is back"


def test_an_outage_left_by_a_stopped_process_ends_when_its_work_has_drained(db: Engine) -> None:
    guards, _ = _guards()
    first = OutageLog(db).watch(guards)
    item_id = _waiting_on(db, "netsuite")
    guards.get("netsuite", "account").breaker.failure()
    guards.get("netsuite", "account").breaker.failure()
    first.record()  # the process stops here, its circuit still open
    later = OutageLog(db)
    assert later.record() == [], "its work still waits"
    _deliver(db, item_id)
    (outage,) = _outages(db)
    assert later.record() == [outage.id]
    (done,) = _outages(db)
    assert done.status == "ok" and done.stats["recovered_at"] is None  # nobody saw it come back


def test_a_failing_listener_never_reaches_the_request(db: Engine) -> None:
    guards, _ = _guards()
    heard: list[tuple[str, str, str]] = []

    def broken(system: str, endpoint: str, state: str) -> None:
        raise RuntimeError("listener bug")

    guards.watch_circuits(broken)
    guards.watch_circuits(lambda *change: heard.append(change))
    account = guards.get("netsuite", "account").breaker
    account.failure()
    account.failure()
    account.success()
    assert heard == [("netsuite", "account", "open"), ("netsuite", "account", "closed")]
