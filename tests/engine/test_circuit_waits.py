"""Work waiting on a down system's circuit, on SQLite and PostgreSQL: it keeps its place in its aggregate,
one item is made due for the probe, and all of a system's are made due at once when it answers again,
while an item backing off for a reason of its own keeps its backoff."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.engine.errors import CircuitOpen, TransientError
from q2c.engine.resilience import CircuitBreaker, GuardRegistry
from q2c.engine.worker import DeliveryPolicy, Worker, per_item
from q2c.store import queue
from q2c.store.db import as_utc, now
from q2c.store.queue import WorkItem
from q2c.store.schema import work_items

HOUR = 3600.0


def _enqueue(db: Engine, aggregate: str, n: int = 1) -> list[int]:
    with db.begin() as conn:
        return [queue.enqueue(conn, kind="demo", aggregate=aggregate, payload={"n": i},
                              correlation_id=f"{aggregate}-{i}") for i in range(n)]


def _claim(db: Engine, worker: str = "w", limit: int = 10) -> list[WorkItem]:
    with db.begin() as conn:
        return queue.claim(conn, worker=worker, limit=limit, lease_seconds=60)


def _wait(db: Engine, items: list[WorkItem], system: str, worker: str = "w") -> None:
    with db.begin() as conn:
        for item in items:
            assert queue.wait_for_circuit(conn, item.id, worker=worker, system=system, hold_seconds=HOUR,
                                          error="circuit open on account after 5 failures")


def _row(db: Engine, item_id: int) -> sa.Row[tuple[object, ...]]:
    with db.connect() as conn:
        return conn.execute(sa.select(work_items).where(work_items.c.id == item_id)).one()


def _due_in_an_hour(db: Engine, item_id: int) -> bool:
    due = as_utc(_row(db, item_id).available_at)
    return due is not None and due > now() + timedelta(minutes=30)


def test_a_waiting_item_holds_its_aggregate_until_its_system_answers_again(db: Engine) -> None:
    first, second = _enqueue(db, "project:P-1", 2)
    (other,) = _enqueue(db, "project:P-2")
    claimed = _claim(db)
    assert [i.id for i in claimed] == [first, other]
    _wait(db, [i for i in claimed if i.id == first], "netsuite")
    _wait(db, [i for i in claimed if i.id == other], "harvest")
    row = _row(db, first)
    assert row.status == "pending" and row.last_error.startswith("netsuite: [waiting for the circuit] circuit open")
    assert _due_in_an_hour(db, first)
    assert _claim(db) == []  # the second item of P-1 never overtakes the first
    with db.connect() as conn:
        assert queue.circuit_waits(conn, "netsuite") == 1 and queue.circuit_waits(conn, "harvest") == 1

    with db.begin() as conn:
        assert queue.release_circuit_waits(conn, "netsuite") == 1
    assert [i.id for i in _claim(db)] == [first]  # due at once, still ahead of the second; harvest's still waits
    assert _due_in_an_hour(db, other)
    with db.begin() as conn:
        assert queue.complete(conn, first, worker="w")
    assert [i.id for i in _claim(db)] == [second]


def test_release_of_every_system_keeps_those_still_down(db: Engine) -> None:
    (a,) = _enqueue(db, "project:A")
    (b,) = _enqueue(db, "project:B")
    (c,) = _enqueue(db, "project:C")
    items = {i.id: i for i in _claim(db)}
    _wait(db, [items[a]], "netsuite")
    _wait(db, [items[b]], "harvest")
    with db.begin() as conn:  # a transient failure of one record: an ordinary backoff, not a circuit wait
        assert queue.reschedule(conn, c, worker="w", delay_seconds=HOUR, error="netsuite: HTTP 500")
    with db.begin() as conn:
        assert queue.release_circuit_waits(conn, keep={"harvest"}) == 1
    assert [i.id for i in _claim(db)] == [a]
    with db.begin() as conn:
        assert queue.release_circuit_waits(conn) == 1
        assert queue.release_circuit_waits(conn) == 0  # already due: nothing to release
    assert [i.id for i in _claim(db)] == [b]
    assert _due_in_an_hour(db, c)  # its own backoff stands


def test_one_probe_at_a_time_and_the_least_tried_first(db: Engine) -> None:
    ids = [_enqueue(db, f"project:P-{n}")[0] for n in range(3)]
    items = {i.id: i for i in _claim(db)}
    _wait(db, list(items.values()), "netsuite")
    with db.begin() as conn:  # the first has been tried more often: it may fail for a reason of its own
        conn.execute(work_items.update().where(work_items.c.id == ids[0]).values(attempts=7))
    with db.begin() as conn:
        assert queue.release_probe(conn, "harvest") is None  # nothing waits on harvest
        probe = queue.release_probe(conn, "netsuite")
        assert probe == ids[1]
        assert queue.release_probe(conn, "netsuite") is None  # the probe is due and not yet taken
    assert [i.id for i in _claim(db)] == [ids[1]]
    with db.begin() as conn:  # the probe was taken: the next cool-down may ask for another
        assert queue.release_probe(conn, "netsuite", kinds=["other"]) is None
        assert queue.release_probe(conn, "netsuite", kinds=["demo"]) == ids[2]


def test_the_worker_waits_on_the_circuit_probes_it_and_drains_when_it_closes(db: Engine) -> None:
    """A worker with the guards: the failing items wait (no backoff of their own), the cool-down releases
    one probe, its success closes the circuit and every waiting item goes at once; a record's own
    transient failure keeps its backoff."""
    clock = [0.0]
    guards = GuardRegistry()
    breaker = guards.get("netsuite", "account", breaker=CircuitBreaker(threshold=2, reset_seconds=30,
                                                                         clock=lambda: clock[0])).breaker
    up = [False]
    delivered: list[int] = []

    def deliver(item: WorkItem) -> None:
        if item.payload.get("poison"):
            raise TransientError("netsuite", "HTTP 500 on this record")
        breaker.check("netsuite", "account")
        if not up[0]:
            breaker.failure()
            raise TransientError("netsuite", "HTTP 503")
        breaker.success()
        delivered.append(item.id)

    policy = DeliveryPolicy(max_attempts=30, base_seconds=HOUR, cap_seconds=HOUR)  # a backoff would take hours
    worker = Worker(db, {"demo": per_item(deliver)}, policy=policy, batch=10, guards=guards)
    with db.begin() as conn:
        poison = queue.enqueue(conn, kind="demo", aggregate="project:poison", payload={"poison": True},
                               correlation_id="poison")
    assert worker.run_once() == 1
    assert _row(db, poison).last_error == "netsuite: HTTP 500 on this record"  # the system is up: its own backoff

    with db.begin() as conn:
        ids = [queue.enqueue(conn, kind="demo", aggregate=f"project:P-{n % 3}", payload={"n": n},
                             correlation_id=f"c{n}") for n in range(9)]
    assert worker.run_once() == 3  # the heads of P-0, P-1 and P-2: two failures open the circuit
    assert breaker.state == "open" and delivered == []
    with db.connect() as conn:
        assert queue.circuit_waits(conn, "netsuite") == 3
    assert worker.run_once() == 0  # nothing due while the circuit is open

    up[0] = True
    clock[0] += 31  # cooled down: the worker makes one waiting item the probe
    assert worker.run_once() == 1 and breaker.state == "closed"
    worker.run_until_idle(max_seconds=10, wait_for_retries=False)
    assert sorted(delivered) == ids  # every item once, without waiting out an hour's backoff
    by_aggregate: dict[str, list[int]] = {}
    for item_id in delivered:
        by_aggregate.setdefault(str(_row(db, item_id).aggregate), []).append(item_id)
    assert all(chain == sorted(chain) for chain in by_aggregate.values())  # each project in order
    with db.connect() as conn:
        assert queue.counts(conn) == {"done": 9, "pending": 1}  # the poison item still backs off
    poisoned = _row(db, poison)
    assert poisoned.attempts == 1 and poisoned.last_error == "netsuite: HTTP 500 on this record"  # never released


def test_a_worker_that_starts_releases_what_an_earlier_process_left_waiting(db: Engine) -> None:
    (left,) = _enqueue(db, "project:P-1")
    (down,) = _enqueue(db, "project:P-2")
    items = {i.id: i for i in _claim(db)}
    _wait(db, [items[left]], "netsuite")
    _wait(db, [items[down]], "harvest")
    guards = GuardRegistry()
    harvest = guards.get("harvest", "api", breaker=CircuitBreaker(threshold=1, reset_seconds=HOUR)).breaker
    harvest.failure()  # this process knows harvest to be down: its waiting items stay put
    delivered: list[int] = []
    worker = Worker(db, {"demo": per_item(lambda item: delivered.append(item.id))}, guards=guards)
    worker.run_until_idle(max_seconds=5, wait_for_retries=False)
    assert delivered == [left]
    assert _due_in_an_hour(db, down)


def test_without_guards_a_circuit_open_failure_backs_off_as_before(db: Engine) -> None:
    (item_id,) = _enqueue(db, "project:P-1")

    def refused(item: WorkItem) -> None:
        raise CircuitOpen("netsuite", "circuit open on account after 5 failures", retry_after=HOUR)

    Worker(db, {"demo": per_item(refused)}, policy=DeliveryPolicy(base_seconds=0.001, cap_seconds=0.002)).run_once()
    row = _row(db, item_id)
    assert row.last_error == "netsuite: circuit open on account after 5 failures"
    assert _due_in_an_hour(db, item_id)  # the breaker's retry-after, as before


def test_the_breaker_asks_for_one_probe_per_cool_down() -> None:
    clock = [0.0]
    guards = GuardRegistry()
    breaker = guards.get("netsuite", "account",
                         breaker=CircuitBreaker(threshold=1, reset_seconds=10, clock=lambda: clock[0])).breaker
    assert guards.probes_due() == set() and guards.down_systems() == set()
    breaker.failure()
    assert guards.down_systems() == {"netsuite"} and guards.probes_due() == set()
    clock[0] = 10
    assert guards.probes_due() == {"netsuite"}
    assert guards.probes_due() == set()  # asked for once
    clock[0] = 15
    breaker.check("netsuite", "account")  # the probe goes through ...
    breaker.failure()  # ... and fails: a new cool-down
    clock[0] = 24
    assert guards.probes_due() == set()
    clock[0] = 25
    assert guards.probes_due() == {"netsuite"}
    clock[0] = 36  # that probe never reached the breaker: asked for again a cool-down later
    assert guards.probes_due() == {"netsuite"}
    assert guards.closings() == {}
    breaker.success()
    assert guards.closings() == {"netsuite": 1} and guards.down_systems() == set()
