"""The ids and timestamps an account stamps on what it creates.

Each kind of record has its own sequence of ids, far apart so that a test mixing up a project id
and a task id gets a 404 or 422 instead of a lucky match. Timestamps are Harvest's form: UTC,
whole seconds, 'Z'.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

FIRST_IDS = {"user": 2_000_001, "client": 3_000_001, "project": 4_000_001, "task": 5_000_001,
             "task_assignment": 6_000_001, "user_assignment": 7_000_001, "time_entry": 900_000_001,
             "invoice": 8_000_001}


def stamp(moment: datetime) -> str:
    """Harvest's timestamp form: UTC, whole seconds, 'Z'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Stamps:
    """Hands out the next id of each kind and the account's present moment."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._next_id = dict(FIRST_IDS)

    def new_id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] = value + 1
        return value

    def now(self) -> tuple[datetime, str]:
        """The clock's moment to the second, and its Harvest text."""
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        return now, stamp(now)
