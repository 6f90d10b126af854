"""Outages of the systems q2c talks to, recorded as runs of kind `outage`, for the integration recovery time.

An outage of a system begins when a circuit of one of its endpoints opens (`opened_at`), is over for the
system when every circuit of it this process saw open has closed again (`recovered_at`), and ends when the
work it left waiting has drained: no unfinished work item whose last attempt failed on that system
(`drained_at`, the run's finish). The run is written `running` when the circuit opens, so an outage outlives a
process that stops during it; a later process finishes it once that system's waiting work has drained.

The engine's circuit breakers tell `circuit_changed` (registered with `GuardRegistry.watch_circuits`) on
the thread of the request: it only notes the change, and `record` writes it. `q2c serve` runs it on a
thread of its own every second; `q2c sync` and `q2c close` when their work is done (`flush`).
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from q2c.engine.resilience import CIRCUIT_OPEN, GuardRegistry
from q2c.store import history, runs
from q2c.store.db import now
from q2c.workflows.runs import OUTAGE

log = logging.getLogger("q2c.outages")


def _running(conn: Connection, system: str) -> runs.Run | None:
    return next((r for r in runs.list_runs(conn, kind=OUTAGE, status=runs.RUNNING, limit=None)
                 if r.stats.get("system") == system), None)


class OutageLog:
    """Turns circuit changes into outage runs; one per hub process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.started_at = now()
        self._changes: queue.SimpleQueue[tuple[str, str, str, datetime]] = queue.SimpleQueue()
        self._pending: list[tuple[str, str, str, datetime]] = []  # taken from the queue, not written yet
        self._open: dict[str, set[str]] = {}  # system -> its endpoints whose circuit this process holds open
        self._lock = threading.Lock()  # one `record` at a time
        self._unfinished = True  # an outage may be running (one left by an earlier process, at first)

    def watch(self, guards: GuardRegistry) -> OutageLog:
        guards.watch_circuits(self.circuit_changed)
        return self

    def circuit_changed(self, system: str, endpoint: str, state: str) -> None:
        """The breaker's listener: note the change and when it happened; `record` writes it."""
        self._changes.put((system, endpoint, state, now()))

    def record(self) -> list[int]:
        """Write the circuit changes noted so far, then finish the outages whose waiting work has drained;
        returns the ids of the outages finished."""
        with self._lock:
            while True:
                try:
                    self._pending.append(self._changes.get_nowait())
                except queue.Empty:
                    break
            while self._pending:  # in order; one that cannot be written waits, with those after it
                self._apply(*self._pending[0])
                self._pending.pop(0)
                self._unfinished = True
            return self._finish_drained() if self._unfinished else []

    def _apply(self, system: str, endpoint: str, state: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            current = _running(conn, system)
            if state == CIRCUIT_OPEN:
                self._open.setdefault(system, set()).add(endpoint)
                if current is None:
                    runs.start_run(conn, kind=OUTAGE, started_at=at, stats={
                        "system": system, "endpoints": [endpoint], "opened_at": at.isoformat(),
                        "recovered_at": None, "drained_at": None})
                    log.warning("outage of %s begins: circuit open on %s", system, endpoint)
                    return
                stats = dict(current.stats)  # failing again before its work drained: the same outage goes on
                stats["endpoints"] = sorted({*stats.get("endpoints", []), endpoint})
                stats["recovered_at"] = None
                runs.update_stats(conn, current.id, stats)
                return
            still_open = self._open.get(system, set())
            still_open.discard(endpoint)
            if not still_open and current is not None and current.stats.get("recovered_at") is None:
                runs.update_stats(conn, current.id, {**current.stats, "recovered_at": at.isoformat()})
                log.warning("%s is back (circuit closed on %s); the outage ends when its waiting work drains",
                            system, endpoint)

    def _recovered(self, outage: runs.Run) -> bool:
        """Every circuit of the system is closed here, and either it closed again in this process or the
        outage was left by an earlier process (this one has met no failure of it)."""
        system = str(outage.stats.get("system"))
        if self._open.get(system):
            return False
        return bool(outage.stats.get("recovered_at")) or outage.started_at < self.started_at

    def _finish_drained(self) -> list[int]:
        finished: list[int] = []
        with self.engine.begin() as conn:
            running = runs.list_runs(conn, kind=OUTAGE, status=runs.RUNNING, limit=None)
            self._unfinished = bool(running)  # none left: nothing to look at until a circuit changes
            for outage in running:
                system = str(outage.stats.get("system"))
                if not self._recovered(outage) or history.waiting_on(conn, system):
                    continue
                drained = now()
                stats: dict[str, Any] = {**outage.stats, "drained_at": drained.isoformat(),
                                         "recovery_seconds": round((drained - outage.started_at).total_seconds(), 3)}
                if runs.finish_run(conn, outage.id, status=runs.OK, stats=stats, finished_at=drained):
                    finished.append(outage.id)
                    log.warning("outage of %s is over: its waiting work drained %.1f s after the circuit opened",
                                system, stats["recovery_seconds"])
        return finished

    def flush(self) -> None:
        """`record`, logging instead of raising: what could not be written waits in memory for the next call."""
        try:
            self.record()
        except Exception:
            log.exception("could not record outages; the circuit changes are kept for the next try")

    def keep_recording(self, stop: threading.Event, *, every_seconds: float = 1.0) -> threading.Thread:
        """`record` on a thread of its own until `stop` is set (and once more then)."""

        def loop() -> None:
            while not stop.wait(every_seconds):
                self.flush()
            self.flush()

        thread = threading.Thread(target=loop, daemon=True, name="outages")
        thread.start()
        return thread
