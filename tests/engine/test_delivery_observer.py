"""The worker tells its listeners each item's outcome once it is recorded: delivered, retried (naming the system
that failed for now) or dead (naming the system whose answer stopped it, q2c for the hub's own fault), and
its own stats agree. A listener that fails is logged; the item's outcome stands and the other listeners are
still told."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.engine import Engine

from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected, TransientError
from q2c.engine.worker import DEAD, DELIVERED, RETRIED, Delivery, DeliveryPolicy, Worker, per_item
from q2c.store import queue
from q2c.store.queue import WorkItem

FAST = DeliveryPolicy(max_attempts=3, base_seconds=0.001, cap_seconds=0.002)


def _enqueue(db: Engine, kind: str, aggregate: str) -> None:
    with db.begin() as conn:
        queue.enqueue(conn, kind=kind, aggregate=aggregate, payload={}, correlation_id=f"c-{aggregate}")


def flaky(item: WorkItem) -> None:
    if item.attempts < 2:
        raise TransientError("harvest", "HTTP 503")


def rejected(item: WorkItem) -> None:
    raise RecordRejected(Violation(system="netsuite", object="timebill", record_id="HV-7", field="employee",
                                   rule="time.employee_missing", message="no employee for carol@example.com",
                                   action="Create the employee in NetSuite, then replay"))


def broken(item: WorkItem) -> None:
    raise KeyError("rate_card")


def test_each_outcome_is_told_once_it_is_recorded(db: Engine) -> None:
    _enqueue(db, "flaky", "a")
    _enqueue(db, "rejected", "b")
    _enqueue(db, "broken", "c")
    worker = Worker(db, {"flaky": per_item(flaky), "rejected": per_item(rejected), "broken": per_item(broken)},
                    policy=FAST)
    told: list[Delivery] = []
    worker.watch_deliveries(told.append)
    worker.run_until_idle(max_seconds=10)

    assert sorted(told, key=lambda d: (d.kind, d.outcome)) == [
        Delivery("broken", DEAD, "q2c"),
        Delivery("flaky", DELIVERED, None),
        Delivery("flaky", RETRIED, "harvest"),
        Delivery("rejected", DEAD, "netsuite"),
    ]
    assert (worker.stats.done, worker.stats.retried, worker.stats.dead) == (1, 1, 2)
    assert worker.stats.by_kind == {"flaky": 1}
    with db.connect() as conn:
        assert queue.counts(conn) == {"done": 1, "dead": 2}  # what was told is what the queue recorded


def test_a_failing_listener_is_logged_and_changes_nothing(db: Engine, caplog: pytest.LogCaptureFixture) -> None:
    _enqueue(db, "flaky", "a")
    worker = Worker(db, {"flaky": per_item(flaky)}, policy=FAST)
    told: list[Delivery] = []

    def fails(delivery: Delivery) -> None:
        raise RuntimeError("listener is broken")

    worker.watch_deliveries(fails)
    worker.watch_deliveries(told.append)
    with caplog.at_level(logging.ERROR, logger="q2c.worker"):
        worker.run_until_idle(max_seconds=10)

    assert [d.outcome for d in told] == [RETRIED, DELIVERED]
    with db.connect() as conn:
        assert queue.counts(conn) == {"done": 1}
    assert [r.getMessage() for r in caplog.records if r.name == "q2c.worker"] == [
        "delivery listener failed on flaky retried", "delivery listener failed on flaky delivered"]
