"""The worker: effects and completion commit together; transient failures retry; rejections become
exceptions with business context; a crash inside a handler loses nothing."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected, Rejected, TransientError
from q2c.engine.worker import DeliveryPolicy, Outcome, Worker, per_item
from q2c.store import audit, cursors, queue
from q2c.store import exceptions as exception_store
from q2c.store.queue import WorkItem
from q2c.store.schema import work_items

FAST = DeliveryPolicy(max_attempts=3, base_seconds=0.001, cap_seconds=0.002)


def _enqueue(db: Engine, *payloads: dict[str, object]) -> None:
    with db.begin() as conn:
        for i, payload in enumerate(payloads):
            queue.enqueue(conn, kind="demo", aggregate=f"agg:{i}", payload=dict(payload), correlation_id=f"c{i}")


def test_transient_failure_is_retried_then_succeeds(db: Engine) -> None:
    calls: list[int] = []

    def flaky(item: WorkItem) -> None:
        calls.append(item.attempts)
        if item.attempts < 2:
            raise TransientError("netsuite", "HTTP 503")

    _enqueue(db, {})
    Worker(db, {"demo": per_item(flaky)}, policy=FAST).run_until_idle(max_seconds=10)
    assert calls == [1, 2]
    with db.connect() as conn:
        assert queue.counts(conn) == {"done": 1}


def test_persistent_outage_ends_in_a_retryable_exception(db: Engine) -> None:
    def down(item: WorkItem) -> None:
        raise TransientError("netsuite", "connection refused")

    _enqueue(db, {})
    Worker(db, {"demo": per_item(down)}, policy=FAST).run_until_idle(max_seconds=10)
    with db.connect() as conn:
        (row,) = exception_store.search(conn)
        assert queue.counts(conn) == {"dead": 1}
    assert row.violation.rule == "delivery.gave_up" and row.violation.retryable
    assert "netsuite" in row.violation.action


def test_rejections_name_record_and_field(db: Engine) -> None:
    v = Violation(system="netsuite", object="timebill", record_id="HV-7", field="employee", rule="netsuite.USER_ERROR",
                  message="Invalid employee reference", action="Create the employee in NetSuite")

    def reject(item: WorkItem) -> None:
        if item.payload.get("whole"):
            raise Rejected([v, v.model_copy(update={"record_id": "HV-8"})])
        raise RecordRejected(v)

    _enqueue(db, {}, {"whole": True})
    Worker(db, {"demo": per_item(reject)}, policy=FAST).run_until_idle(max_seconds=10)
    with db.connect() as conn:
        rows = exception_store.search(conn)
        assert audit.verify(conn).ok
    assert sorted(r.violation.record_id for r in rows) == ["HV-7", "HV-8"]
    assert rows[0].violation.field == "employee" and rows[0].occurrences == 2  # same problem, one row


def test_bug_in_a_handler_becomes_an_internal_error_exception(db: Engine) -> None:
    def broken(item: WorkItem) -> None:
        raise KeyError("missing")

    _enqueue(db, {})
    Worker(db, {"demo": per_item(broken)}, policy=FAST).run_until_idle(max_seconds=10)
    with db.connect() as conn:
        (row,) = exception_store.search(conn)
    assert row.violation.rule == "q2c.internal_error" and "KeyError" in row.violation.message


def test_effects_and_completion_commit_together(db: Engine) -> None:
    def effects_then_fail(items: list[WorkItem]) -> Mapping[int, Outcome]:
        def write(conn: Connection) -> None:
            cursors.set_cursor(conn, "seen", "yes")
            conn.execute(work_items.update().values(lease_owner="someone-else"))  # lease taken over

        return {items[0].id: write}

    _enqueue(db, {})
    worker = Worker(db, {"demo": effects_then_fail}, policy=FAST)
    try:
        worker.run_once()
    except RuntimeError as exc:
        assert "lease" in str(exc)
    with db.connect() as conn:
        assert cursors.get_cursor(conn, "seen") is None  # rolled back with the lost completion
        assert conn.execute(sa.select(work_items.c.status)).scalar_one() == "running"


def test_a_slow_batch_keeps_its_lease_so_no_other_worker_takes_it(db: Engine) -> None:
    import threading
    import time

    started = threading.Event()

    def slow(item: WorkItem) -> None:
        started.set()
        time.sleep(1.0)  # three lease lengths: without renewal the item would be up for grabs

    _enqueue(db, {})
    policy = DeliveryPolicy(max_attempts=3, base_seconds=0.001, cap_seconds=0.002, lease_seconds=0.3)
    first = Worker(db, {"demo": per_item(slow)}, name="first", policy=policy)
    runner = threading.Thread(target=first.run_once)
    runner.start()
    assert started.wait(5)
    time.sleep(0.6)
    with db.begin() as conn:
        assert queue.claim(conn, worker="second", limit=5, lease_seconds=0.3) == []
    runner.join(timeout=5)
    with db.connect() as conn:
        assert queue.counts(conn) == {"done": 1}
