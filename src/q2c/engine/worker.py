"""The worker loop: claim, run the handler, then record its effects and the item's outcome in one
transaction.

A handler does its external calls (idempotent upserts) and returns a function that writes the
hub's side (records, links, audit, exceptions). That function runs in the same transaction that
marks the item done, so a crash at any instant either leaves the item to be re-run (and the
upserts repeat harmlessly) or has recorded everything. Nothing is lost, nothing is doubled.

Whoever counts the outcomes (the metrics) registers with `Worker.watch_deliveries`: it is told each
item's outcome once it is recorded, the way `GuardRegistry.watch_circuits` tells of circuits.

A worker given the process's guards (`guards=`) does not let an item whose system is down back off on its
own: the item waits on the system's circuit (`queue.wait_for_circuit`). Before each claim the worker looks at
the circuits: when one has cooled down, it makes one waiting item due to be the probe; when a system's
circuit has closed again, it makes every item waiting on that system due at once. A worker that starts
releases what earlier processes left waiting (on systems whose circuits it does not know to be open), so a
restart never leaves work waiting for an outage that may be over. Without guards it backs off as before.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Connection, Engine

from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed, CircuitOpen, RecordRejected, Rejected, TransientError
from q2c.engine.resilience import GuardRegistry
from q2c.store import audit, queue
from q2c.store import exceptions as exception_store
from q2c.store.queue import WorkItem

log = logging.getLogger("q2c.worker")

Effects = Callable[[Connection], None]
Outcome = Effects | None | BaseException  # effects to record, nothing to record, or why it failed
SubjectsOf = Callable[[WorkItem], Sequence[exception_store.Subject]]  # the records an item carries

DELIVERED, RETRIED, DEAD = "delivered", "retried", "dead"


@dataclass(frozen=True)
class Delivery:
    """One item's outcome, once recorded: delivered, rescheduled for a later try, or dead (its exception is
    in the queue). `system` is the system whose answer decided a retry or a dead letter ("q2c" for the hub's
    own fault); a delivered item names none, as one item may write to several systems."""

    kind: str
    outcome: str  # DELIVERED, RETRIED or DEAD
    system: str | None = None


DeliveryListener = Callable[[Delivery], None]


class Handler(Protocol):
    """Processes a micro-batch of items of one kind; returns each item's outcome by item id.

    Batching lets a handler make one bulk call for many items (200 timebills per ERP request)
    instead of one call per item.
    """

    def __call__(self, items: list[WorkItem]) -> Mapping[int, Outcome]: ...


def per_item(fn: Callable[[WorkItem], Effects | None]) -> Handler:
    """Adapt a one-item function to the batch handler shape, isolating each item's failure."""

    def handle(items: list[WorkItem]) -> Mapping[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        for item in items:
            try:
                outcomes[item.id] = fn(item)
            except Exception as exc:
                outcomes[item.id] = exc
        return outcomes

    return handle


@dataclass
class DeliveryPolicy:
    """Durable retry schedule for transient failures, after the in-place retries gave up."""

    max_attempts: int = 30
    base_seconds: float = 1.0
    cap_seconds: float = 300.0
    lease_seconds: float = 120.0
    # how long an item waiting on a down system's circuit stays put if nothing releases it (None: cap_seconds)
    circuit_hold_seconds: float | None = None

    def delay(self, attempts: int, retry_after: float | None) -> float:
        backoff = random.random() * min(self.cap_seconds, self.base_seconds * (2.0 ** min(attempts, 30)))
        return max(backoff, retry_after or 0.0)

    @property
    def circuit_hold(self) -> float:
        return self.cap_seconds if self.circuit_hold_seconds is None else self.circuit_hold_seconds


@dataclass
class WorkerStats:
    done: int = 0
    retried: int = 0
    dead: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


class Worker:
    def __init__(self, engine: Engine, handlers: Mapping[str, Handler], *, name: str | None = None,
                 policy: DeliveryPolicy | None = None, batch: int = 4,
                 subjects: Mapping[str, SubjectsOf] | None = None, guards: GuardRegistry | None = None) -> None:
        """`guards`: the process's guard registry, whose circuits decide when work waiting on a system is
        tried again (see the module's docstring); without it a failed item only backs off."""
        self.engine = engine
        self.handlers = dict(handlers)
        self.subjects = dict(subjects or {})  # so an item that fails as a whole names every record it carries
        self.name = name or worker_name()
        self.policy = policy or DeliveryPolicy()
        self.batch = batch
        self.stats = WorkerStats()
        self._listeners: tuple[DeliveryListener, ...] = ()  # replaced, never changed: safe to read unlocked
        self.guards = guards
        self._closings_seen: dict[str, int] | None = None  # None: not looked yet (this worker just started)

    def watch_deliveries(self, listener: DeliveryListener) -> None:
        """Tell `listener` each item's outcome after it is recorded. It is called on the worker's thread, so it
        must be quick; what it raises is logged and never reaches the item."""
        self._listeners = (*self._listeners, listener)

    def _delivered(self, item: WorkItem, outcome: str, system: str | None = None) -> None:
        """Count an outcome that is recorded, and tell the listeners."""
        if outcome == DELIVERED:
            self.stats.done += 1
            self.stats.by_kind[item.kind] = self.stats.by_kind.get(item.kind, 0) + 1
        elif outcome == RETRIED:
            self.stats.retried += 1
        else:
            self.stats.dead += 1
        delivery = Delivery(item.kind, outcome, system)
        for listener in self._listeners:
            try:
                listener(delivery)
            except Exception:
                log.exception("delivery listener failed on %s %s", item.kind, outcome)

    def tend_circuits(self) -> None:
        """Release the work waiting on circuits: all of a system's once it answered again (a circuit of it
        closed since the last look), one item of a system whose circuit wants its probe; at the first look,
        whatever earlier processes left waiting on systems not known here to be down."""
        if self.guards is None:
            return
        closings = self.guards.closings()  # read before claiming: a close after this is seen at the next look
        seen = self._closings_seen
        if seen is None:
            with self.engine.begin() as conn:
                released = queue.release_circuit_waits(conn, keep=self.guards.down_systems())
            if released:
                log.info("released %d items left waiting on a circuit", released)
        else:
            for system in sorted(s for s, n in closings.items() if n != seen.get(s, 0)):
                with self.engine.begin() as conn:
                    released = queue.release_circuit_waits(conn, system)
                log.info("%s answers again: %d waiting items released", system, released,
                         extra={"system": system, "outcome": "released"})
        self._closings_seen = closings  # only once released: a release that failed is tried at the next look
        kinds = list(self.handlers)
        for system in sorted(self.guards.probes_due()):
            with self.engine.begin() as conn:
                probe = queue.release_probe(conn, system, kinds=kinds)
            if probe is not None:
                log.info("%s's circuit cooled down: item %d probes it", system, probe,
                         extra={"system": system, "work_item": probe, "outcome": "probe"})

    def run_once(self) -> int:
        """Look at the circuits, then claim and process one batch; returns how many items were claimed."""
        self.tend_circuits()
        with self.engine.begin() as conn:
            items = queue.claim(conn, worker=self.name, limit=self.batch, lease_seconds=self.policy.lease_seconds,
                                kinds=list(self.handlers))
        if not items:
            return 0
        by_kind: dict[str, list[WorkItem]] = {}
        for item in items:
            by_kind.setdefault(item.kind, []).append(item)
        with self._heartbeat(items):
            for kind, group in by_kind.items():
                try:
                    outcomes = self.handlers[kind](group)
                except Exception as exc:  # a handler that fails as a whole fails each of its items
                    outcomes = {item.id: exc for item in group}
                self._record(group, outcomes)
        return len(items)

    @contextmanager
    def _heartbeat(self, items: list[WorkItem]) -> Iterator[None]:
        """Keep the leases of a batch alive while it is worked on, so a slow ERP does not make another
        worker take it over; a worker that dies stops renewing, and its items are taken over then."""
        done = threading.Event()
        interval = self.policy.lease_seconds / 3

        def renew() -> None:
            while not done.wait(interval):
                try:
                    with self.engine.begin() as conn:
                        for item in items:
                            queue.extend_lease(conn, item.id, worker=self.name,
                                               lease_seconds=self.policy.lease_seconds)
                except Exception:  # a missed renewal only risks a harmless takeover
                    log.warning("could not renew leases", exc_info=True)

        thread = threading.Thread(target=renew, name=f"{self.name}-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=5)

    def run_until_idle(self, *, max_seconds: float = 600.0, wait_for_retries: bool = True) -> None:
        """Drain the queue; with `wait_for_retries`, also sleep until rescheduled items come due."""
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            if self.run_once():
                continue
            with self.engine.connect() as conn:
                left = queue.unfinished(conn, kinds=list(self.handlers))
            if not left or not wait_for_retries:
                return
            time.sleep(0.05)

    def run_forever(self, stop: threading.Event, *, idle_sleep: float = 0.5) -> None:
        while not stop.is_set():
            try:
                if not self.run_once():
                    stop.wait(idle_sleep)
            except Exception:  # the loop must survive a database hiccup
                log.exception("worker loop error")
                stop.wait(idle_sleep * 4)

    # --- outcomes ---------------------------------------------------------------------------
    def _record(self, items: list[WorkItem], outcomes: Mapping[int, Outcome]) -> None:
        succeeded: list[tuple[WorkItem, Effects | None]] = []
        for item in items:
            outcome = outcomes.get(item.id, RuntimeError(f"handler returned no outcome for item {item.id}"))
            if isinstance(outcome, BaseException):
                self._fail(item, outcome)
            else:
                succeeded.append((item, outcome))
        if not succeeded:
            return
        with self.engine.begin() as conn:
            for item, effects in succeeded:
                if effects is not None:
                    effects(conn)
                if not queue.complete(conn, item.id, worker=self.name):
                    raise LeaseLost(item.id)  # rolls back: the worker that holds the lease records the outcome
        for item, _ in succeeded:
            self._delivered(item, DELIVERED)
            log.info("done %s on %s", item.kind, item.aggregate, extra=_context(item, "done"))

    def _fail(self, item: WorkItem, exc: BaseException) -> None:
        if isinstance(exc, TransientError):
            self._retry(item, exc)
        elif isinstance(exc, RecordRejected):
            self._dead(item, [exc.violation], str(exc))
        elif isinstance(exc, Rejected):
            self._dead(item, exc.violations, str(exc))
        elif isinstance(exc, AuthFailed):
            self._dead(item, [Violation(system=exc.system, object="credentials", record_id=item.aggregate,
                                        field=None, rule="connector.auth_failed", message=exc.message,
                                        action=f"Fix the {exc.system} credentials in the q2c config, "
                                               "then replay this item", retryable=True)], str(exc))
        else:
            log.error("handler %s failed on item %s", item.kind, item.id, exc_info=exc,
                      extra=_context(item, "internal_error"))
            self._dead(item, [Violation(
                system="q2c", object=item.kind, record_id=item.aggregate, field=None, rule="q2c.internal_error",
                message=f"{type(exc).__name__}: {exc}",
                action="Report this to the integration engineer with the correlation id; replay once fixed",
                retryable=True)], "".join(traceback.format_exception(exc, limit=5)))

    def _retry(self, item: WorkItem, exc: TransientError) -> None:
        if item.attempts >= self.policy.max_attempts:
            self._dead(item, [Violation(
                system=exc.system, object=item.kind, record_id=item.aggregate, field=None,
                rule="delivery.gave_up", message=f"still failing after {item.attempts} attempts: {exc.message}",
                action=f"Check that {exc.system} is reachable and healthy, then replay", retryable=True)], str(exc))
            return
        if self._system_down(exc):
            self._wait_for_circuit(item, exc)
            return
        delay = self.policy.delay(item.attempts, exc.retry_after)
        log.warning("retry %s on %s in %.1f s (attempt %d): %s", item.kind, item.aggregate, delay, item.attempts, exc,
                    extra={**_context(item, "retry"), "system": exc.system})
        with self.engine.begin() as conn:
            queue.reschedule(conn, item.id, worker=self.name, delay_seconds=delay, error=str(exc))
        self._delivered(item, RETRIED, exc.system)

    def _system_down(self, exc: TransientError) -> bool:
        """The failure is the system's, not the item's: its circuit refused the call, or is open now. Only for a
        system whose circuits this worker reads (one guarded elsewhere would never release its waiting work)."""
        if self.guards is None or exc.system not in {guard.system for guard in self.guards.all()}:
            return False
        return isinstance(exc, CircuitOpen) or exc.system in self.guards.down_systems()

    def _wait_for_circuit(self, item: WorkItem, exc: TransientError) -> None:
        hold = self.policy.circuit_hold
        log.warning("%s is down: %s on %s waits for its circuit (at most %.0f s, attempt %d): %s", exc.system,
                    item.kind, item.aggregate, hold, item.attempts, exc,
                    extra={**_context(item, "retry"), "system": exc.system})
        with self.engine.begin() as conn:
            queue.wait_for_circuit(conn, item.id, worker=self.name, system=exc.system, hold_seconds=hold,
                                   error=exc.message)
        self._delivered(item, RETRIED, exc.system)
        assert self.guards is not None
        if exc.system not in self.guards.down_systems():  # it came back while the wait was written
            with self.engine.begin() as conn:
                queue.release_circuit_waits(conn, exc.system)

    def _dead(self, item: WorkItem, violations: list[Violation], error: str) -> None:
        for v in violations:
            log.warning("exception %s", v.headline(), extra={**_context(item, "exception"), "system": v.system})
        subjects_of = self.subjects.get(item.kind)
        subjects = list(subjects_of(item)) if subjects_of is not None else []
        with self.engine.begin() as conn:
            for v in violations:
                exception_store.raise_exception(conn, v, work_kind=item.kind, aggregate=item.aggregate,
                                                payload=item.payload, correlation_id=item.correlation_id,
                                                work_item_id=item.id, subjects=subjects)
            audit.append(conn, [audit.AuditEntry(actor=self.name, system=v.system, action="exception",
                                                 entity=v.object, record_id=v.record_id,
                                                 correlation_id=item.correlation_id,
                                                 after={"rule": v.rule, "message": v.message})
                                for v in violations])
            queue.bury(conn, item.id, worker=self.name, error=error)
        self._delivered(item, DEAD, violations[0].system if violations else "q2c")


def _context(item: WorkItem, outcome: str) -> dict[str, object]:
    return {"correlation_id": item.correlation_id, "work_item": item.id, "kind": item.kind,
            "aggregate": item.aggregate, "outcome": outcome}


class LeaseLost(RuntimeError):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"lease on work item {item_id} expired and was taken over")
