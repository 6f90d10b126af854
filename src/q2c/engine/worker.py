"""The worker loop: claim, run the handler, then record its effects and the item's outcome in one
transaction.

A handler does its external calls (idempotent upserts) and returns a function that writes the
hub's side (records, links, audit, exceptions). That function runs in the same transaction that
marks the item done, so a crash at any instant either leaves the item to be re-run (and the
upserts repeat harmlessly) or has recorded everything. Nothing is lost, nothing is doubled.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Connection, Engine

from q2c.connectors.errors import AuthFailed, RecordRejected, TransientError
from q2c.domain.violations import Violation
from q2c.store import audit, queue
from q2c.store import exceptions as exception_store
from q2c.store.queue import WorkItem

log = logging.getLogger("q2c.worker")

Effects = Callable[[Connection], None]


class Handler(Protocol):
    def __call__(self, item: WorkItem) -> Effects | None: ...


class Rejected(Exception):
    """A handler's verdict that the whole item breaks business rules: each violation becomes an exception."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(v.headline() for v in violations))
        self.violations = violations


@dataclass
class DeliveryPolicy:
    """Durable retry schedule for transient failures, after the in-place retries gave up."""

    max_attempts: int = 30
    base_seconds: float = 1.0
    cap_seconds: float = 300.0
    lease_seconds: float = 120.0

    def delay(self, attempts: int, retry_after: float | None) -> float:
        backoff = random.random() * min(self.cap_seconds, self.base_seconds * (2.0 ** min(attempts, 30)))
        return max(backoff, retry_after or 0.0)


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
                 policy: DeliveryPolicy | None = None, batch: int = 4) -> None:
        self.engine = engine
        self.handlers = dict(handlers)
        self.name = name or worker_name()
        self.policy = policy or DeliveryPolicy()
        self.batch = batch
        self.stats = WorkerStats()

    def run_once(self) -> int:
        """Claim and process one batch; returns how many items were claimed."""
        with self.engine.begin() as conn:
            items = queue.claim(conn, worker=self.name, limit=self.batch, lease_seconds=self.policy.lease_seconds,
                                kinds=list(self.handlers))
        for item in items:
            self._process(item)
        return len(items)

    def run_until_idle(self, *, max_seconds: float = 600.0, wait_for_retries: bool = True) -> None:
        """Drain the queue; with `wait_for_retries`, also sleep until rescheduled items come due."""
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            if self.run_once():
                continue
            with self.engine.connect() as conn:
                left = queue.unfinished(conn)
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

    # --- one item ---------------------------------------------------------------------------
    def _process(self, item: WorkItem) -> None:
        handler = self.handlers[item.kind]
        try:
            effects = handler(item)
        except TransientError as exc:
            self._retry(item, exc)
            return
        except RecordRejected as exc:
            self._dead(item, [exc.violation], str(exc))
            return
        except Rejected as exc:
            self._dead(item, exc.violations, str(exc))
            return
        except AuthFailed as exc:
            self._dead(item, [Violation(system=exc.system, object="credentials", record_id=item.aggregate,
                                        field=None, rule="connector.auth_failed", message=exc.message,
                                        action=f"Fix the {exc.system} credentials in the q2c config, "
                                               "then replay this item", retryable=True)], str(exc))
            return
        except Exception as exc:
            log.exception("handler %s failed on item %s", item.kind, item.id)
            self._dead(item, [Violation(
                system="q2c", object=item.kind, record_id=item.aggregate, field=None, rule="q2c.internal_error",
                message=f"{type(exc).__name__}: {exc}",
                action="Report this to the integration engineer with the correlation id; replay once fixed",
                retryable=True)], traceback.format_exc(limit=5))
            return
        with self.engine.begin() as conn:
            if effects is not None:
                effects(conn)
            if not queue.complete(conn, item.id, worker=self.name):
                raise LeaseLost(item.id)  # rolls back: the worker that holds the lease records the outcome
        self.stats.done += 1
        self.stats.by_kind[item.kind] = self.stats.by_kind.get(item.kind, 0) + 1

    def _retry(self, item: WorkItem, exc: TransientError) -> None:
        if item.attempts >= self.policy.max_attempts:
            self._dead(item, [Violation(
                system=exc.system, object=item.kind, record_id=item.aggregate, field=None,
                rule="delivery.gave_up", message=f"still failing after {item.attempts} attempts: {exc.message}",
                action=f"Check that {exc.system} is reachable and healthy, then replay", retryable=True)], str(exc))
            return
        delay = self.policy.delay(item.attempts, exc.retry_after)
        with self.engine.begin() as conn:
            queue.reschedule(conn, item.id, worker=self.name, delay_seconds=delay, error=str(exc))
        self.stats.retried += 1

    def _dead(self, item: WorkItem, violations: list[Violation], error: str) -> None:
        with self.engine.begin() as conn:
            for v in violations:
                exception_store.raise_exception(conn, v, work_kind=item.kind, aggregate=item.aggregate,
                                                payload=item.payload, correlation_id=item.correlation_id,
                                                work_item_id=item.id)
            audit.append(conn, [audit.AuditEntry(actor=self.name, system=v.system, action="exception",
                                                 entity=v.object, record_id=v.record_id,
                                                 correlation_id=item.correlation_id,
                                                 after={"rule": v.rule, "message": v.message})
                                for v in violations])
            queue.bury(conn, item.id, worker=self.name, error=error)
        self.stats.dead += 1


class LeaseLost(RuntimeError):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"lease on work item {item_id} expired and was taken over")
