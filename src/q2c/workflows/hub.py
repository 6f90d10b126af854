"""The hub: what every workflow runs against (database, config, the three ports, reference data).

Built once by an entrypoint (CLI, server, demo, benchmark) and handed to the workflows.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property

from sqlalchemy.engine import Engine

from q2c.config import HubConfig
from q2c.domain.model import Resource
from q2c.domain.validation.time_entry import TimeRules
from q2c.engine.resilience import GuardRegistry
from q2c.store import queue, records
from q2c.workflows.ports import Crm, Erp, ProjectState, TimeTracker


@dataclass
class ProjectStateCache:
    """ERP project status (open/closed), refreshed at most every `ttl_seconds` per project."""

    ttl_seconds: float = 30.0
    _states: dict[str, tuple[float, ProjectState]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, erp: Erp, project_ids: Sequence[str]) -> dict[str, ProjectState]:
        now = time.monotonic()
        with self._lock:
            fresh = {p: s for p, (t, s) in self._states.items() if p in project_ids and now - t < self.ttl_seconds}
        missing = [p for p in project_ids if p not in fresh]
        if missing:
            loaded = erp.project_states(missing)
            with self._lock:
                for p, s in loaded.items():
                    self._states[p] = (now, s)
            fresh.update(loaded)
        return fresh

    def forget(self) -> None:
        with self._lock:
            self._states.clear()


@dataclass
class Hub:
    engine: Engine
    config: HubConfig
    crm: Crm
    tracker: TimeTracker
    erp: Erp
    actor: str = "q2c"
    today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date())
    project_states: ProjectStateCache = field(default_factory=ProjectStateCache)
    guards: GuardRegistry = field(default_factory=GuardRegistry)

    @cached_property
    def resources(self) -> dict[str, Resource]:
        return {r.email.lower(): Resource(id=r.email.lower(), name=r.name, email=r.email.lower(), role=r.role)
                for r in self.config.resources}

    @property
    def time_rules(self) -> TimeRules:
        return TimeRules(max_hours_per_entry=self.config.time.max_hours_per_entry)

    def enqueue_per_contract(self, kind: str, **payload: str) -> int:
        """One close-lane item per active contract (billing, revenue): ordered per contract, ahead of the rest."""
        with self.engine.begin() as conn:
            contracts = records.list_records(conn, entity="contract", states=["active"])
            for c in contracts:
                queue.enqueue(conn, kind=kind, aggregate=f"contract:{c.canonical_id}", priority=queue.PRIORITY_CLOSE,
                              payload={"contract_id": c.canonical_id, **payload}, correlation_id=uuid.uuid4().hex)
        return len(contracts)
