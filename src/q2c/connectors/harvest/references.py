"""Harvest's account-wide lists a project setup looks things up in: users, clients, tasks.

Harvest allows 100 requests per 15 seconds for the whole account, and a setup needs most of them for what
only it can do (the project, one assignment per task and per person). Listing the account's users, clients
and tasks for every won deal spent three more each time on lists that rarely change, so they are kept for
`ttl_seconds`. A lookup that misses reads the list again before q2c creates anything: a kept list can make a
setup cheaper, never make a second client or task (the guarantee is the one a fresh list gives).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from q2c.connectors.harvest.client import HarvestClient, Record

Kind = Literal["users", "clients", "tasks"]
TTL_SECONDS = 300.0


@dataclass
class _Kept:
    rows: list[Record]
    read_at: float


@dataclass
class References:
    client: HarvestClient
    ttl_seconds: float = TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    reads: dict[str, int] = field(default_factory=dict)  # lists read from Harvest, by kind (for tests, benches)
    _kept: dict[str, _Kept] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rows(self, kind: Kind, *, fresh: bool = False) -> list[Record]:
        """The list, from Harvest when `fresh`, when never read or when older than the ttl."""
        with self._lock:
            kept = self._kept.get(kind)
            if not fresh and kept is not None and self.clock() - kept.read_at < self.ttl_seconds:
                return list(kept.rows)
        rows = {"users": self.client.users, "clients": self.client.clients, "tasks": self.client.tasks}[kind]()
        with self._lock:
            self._kept[kind] = _Kept(list(rows), self.clock())
            self.reads[kind] = self.reads.get(kind, 0) + 1
        return list(rows)

    def add(self, kind: Kind, record: Record) -> None:
        """A record q2c just created, so the next setup finds it without a fresh list."""
        with self._lock:
            kept = self._kept.get(kind)
            if kept is not None:
                kept.rows.append(record)

    def now(self) -> float:
        return self.clock()

    def find(self, kind: Kind, found: Callable[[list[Record]], Record | None], *, since: float) -> Record | None:
        """`found` over the kept list; on a miss, over a list read at or after `since` (a setup passes when it
        began): what a setup relies on before it creates, exactly as if it had listed fresh itself."""
        hit = found(self.rows(kind))
        return hit if hit is not None or self._read_since(kind, since) else found(self.current(kind, since=since))

    def current(self, kind: Kind, *, since: float) -> list[Record]:
        """The list as read at or after `since`: the kept one when it is that recent, else read now."""
        return self.rows(kind) if self._read_since(kind, since) else self.rows(kind, fresh=True)

    def _read_since(self, kind: Kind, since: float) -> bool:
        with self._lock:
            kept = self._kept.get(kind)
            return kept is not None and kept.read_at >= since
