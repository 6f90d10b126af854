"""What one sandboxed Toggl Track workspace holds, as plain records under one lock.

Users, the workspace's members, clients, projects, tasks, project members, time entries, timesheet
setups and the approval decisions on their timesheets. The modules beside this one (directory,
entries, timesheets, reports) work on a `Store`; the routes in `app.py` hold `lock` around them.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from q2c.sandboxes.toggl.wire import Json

# Toggl's ids are large integers; each kind starts in its own range so a mixed-up id never matches.
FIRST_IDS = {"user": 9_100_001, "member": 5_200_001, "client": 61_000_001, "project": 203_000_001,
             "task": 88_000_001, "project_user": 140_000_001, "time_entry": 3_700_000_001, "setup": 41_001}


@dataclass
class Entry:
    """One time entry. Running: `stop` is None and `duration` is negative (documented for v8 and v9)."""

    id: int
    user_id: int
    project_id: int | None
    task_id: int | None
    billable: bool
    description: str | None
    tags: list[str]
    start: datetime
    stop: datetime | None
    duration: int
    at: datetime
    created_with: str = "q2c-sandbox"
    deleted_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.stop is None and self.duration < 0


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Store:
    workspace_id: int
    organization_id: int
    clock: Callable[[], datetime] = system_clock
    premium: bool = True  # tasks, rates and approvals are paid features
    name: str = "Sandbox Consulting"
    default_currency: str = "USD"
    users: dict[int, Json] = field(default_factory=dict)
    members: dict[int, Json] = field(default_factory=dict)  # by user id: the workspace user
    clients: dict[int, Json] = field(default_factory=dict)
    projects: dict[int, Json] = field(default_factory=dict)
    tasks: dict[int, Json] = field(default_factory=dict)
    project_users: dict[int, Json] = field(default_factory=dict)
    entries: dict[int, Entry] = field(default_factory=dict)
    setups: dict[int, Json] = field(default_factory=dict)
    decisions: dict[tuple[int, str], Json] = field(default_factory=dict)  # (setup id, period start) -> state
    lock: threading.RLock = field(default_factory=threading.RLock)
    _next: dict[str, int] = field(default_factory=lambda: dict(FIRST_IDS))
    _initial: dict[str, Any] = field(default_factory=dict)

    def new_id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value

    def now(self) -> datetime:
        moment = self.clock()
        if moment.utcoffset() is None:
            raise ValueError("the sandbox clock must give timezone-aware datetimes")
        return moment.astimezone(UTC)

    _KEPT = ("premium", "users", "members", "clients", "projects", "tasks", "project_users", "entries", "setups",
             "decisions", "_next")

    def keep_as_initial(self) -> None:
        """What `reset` returns to (the workspace as created, with its owner)."""
        with self.lock:
            self._initial = {name: copy.deepcopy(getattr(self, name)) for name in self._KEPT}

    def reset(self) -> None:
        with self.lock:
            for name, value in self._initial.items():
                setattr(self, name, copy.deepcopy(value))
