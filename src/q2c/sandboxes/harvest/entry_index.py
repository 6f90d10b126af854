"""The account's time entries in Harvest's listing order, and the filtered views `GET /time_entries` pages.

Harvest lists time entries by `spent_date` (its documentation: "sorted by spent_date date", not
customisable); ties are broken by id so every page boundary is stable. The entries are kept in one
list sorted by (spent_date, id), and each filtered view is computed once and cached until the next
change to any entry, so paging through 100,000 entries is slicing a list, not filtering it again.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from q2c.sandboxes.harvest.entry import EntryKey, TimeEntry
from q2c.sandboxes.harvest.fields import as_bool, as_date, as_int, parse_instant
from q2c.sandboxes.harvest.wire import Json

View = tuple[list[TimeEntry], list[EntryKey]]

QUERY_FILTERS = ("user_id", "client_id", "project_id", "task_id", "external_reference_id", "is_billed",
                 "is_running", "updated_since", "from", "to")


class TimeEntryQuery:
    """The filters of `GET /time_entries`, hashable so a filtered view can be cached."""

    __slots__ = ("client_id", "external_reference_id", "is_billed", "is_running", "project_id",
                 "spent_from", "spent_to", "task_id", "updated_since", "user_id")

    def __init__(self, *, user_id: int | None = None, client_id: int | None = None,
                 project_id: int | None = None, task_id: int | None = None,
                 external_reference_id: str | None = None, is_billed: bool | None = None,
                 is_running: bool | None = None, updated_since: datetime | None = None,
                 spent_from: date | None = None, spent_to: date | None = None) -> None:
        self.user_id = user_id
        self.client_id = client_id
        self.project_id = project_id
        self.task_id = task_id
        self.external_reference_id = external_reference_id
        self.is_billed = is_billed
        self.is_running = is_running
        self.updated_since = updated_since
        self.spent_from = spent_from
        self.spent_to = spent_to

    @classmethod
    def from_query(cls, q: Mapping[str, str]) -> TimeEntryQuery:
        """The filters of a query string; `from` and `to` bound `spent_date`."""
        def number(name: str) -> int | None:
            return as_int(q[name], name) if name in q else None

        def flag(name: str) -> bool | None:
            return as_bool(q[name], name) if name in q else None

        def day(name: str) -> date | None:
            return as_date(q[name], name) if name in q else None

        return cls(
            user_id=number("user_id"), client_id=number("client_id"), project_id=number("project_id"),
            task_id=number("task_id"), external_reference_id=q.get("external_reference_id"),
            is_billed=flag("is_billed"), is_running=flag("is_running"),
            updated_since=parse_instant(q["updated_since"], "updated_since") if "updated_since" in q else None,
            spent_from=day("from"), spent_to=day("to"))

    def signature(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def narrows(self) -> bool:
        """Whether any filter other than the spent_date bounds is set."""
        return any(getattr(self, name) is not None for name in self.__slots__
                   if name not in ("spent_from", "spent_to"))


class EntryIndex:
    """Entries sorted by (spent_date, id), with the filtered views cached per `version` of the entries."""

    def __init__(self, projects: Mapping[int, Json]) -> None:
        self.order: list[TimeEntry] = []
        self.keys: list[EntryKey] = []
        self._projects = projects
        self._views: dict[tuple[Any, ...], View] = {}
        self._views_version = -1

    def place(self, entry: TimeEntry) -> None:
        index = bisect_left(self.keys, entry.key)
        self.keys.insert(index, entry.key)
        self.order.insert(index, entry)

    def unplace(self, entry: TimeEntry) -> None:
        index = bisect_left(self.keys, entry.key)
        if index >= len(self.keys) or self.keys[index] != entry.key:
            raise RuntimeError(f"time entry {entry.id} is missing from the sorted list")
        del self.keys[index]
        del self.order[index]

    def extend(self, entries: Iterable[TimeEntry]) -> None:
        """Add many entries at once: one sort instead of one insertion each."""
        self.order.extend(entries)
        self.order.sort(key=lambda e: e.key)
        self.keys = [e.key for e in self.order]

    def view(self, query: TimeEntryQuery, version: int) -> View:
        """Entries matching the filters, sorted by (spent_date, id); cached until `version` moves on."""
        if self._views_version != version:
            self._views.clear()
            self._views_version = version
        signature = query.signature()
        cached = self._views.get(signature)
        if cached is not None:
            return cached
        low = 0 if query.spent_from is None else bisect_left(self.keys, (query.spent_from.isoformat(), -1))
        high = (len(self.keys) if query.spent_to is None
                else bisect_right(self.keys, (query.spent_to.isoformat(), 1 << 62)))
        candidates = self.order[low:high]
        if query.narrows():
            candidates = self._matching(candidates, query)
        view = (candidates, [e.key for e in candidates])
        self._views[signature] = view
        return view

    def _matching(self, candidates: list[TimeEntry], query: TimeEntryQuery) -> list[TimeEntry]:
        client_projects = (None if query.client_id is None else
                           {p for p, project in self._projects.items() if project["client"]["id"] == query.client_id})
        user_id, project_id, task_id = query.user_id, query.project_id, query.task_id
        is_billed, is_running, since = query.is_billed, query.is_running, query.updated_since
        reference = query.external_reference_id

        def matches(e: TimeEntry) -> bool:
            return ((user_id is None or e.user_id == user_id)
                    and (project_id is None or e.project_id == project_id)
                    and (task_id is None or e.task_id == task_id)
                    and (client_projects is None or e.project_id in client_projects)
                    and (is_billed is None or e.is_billed is is_billed)
                    and (is_running is None or e.is_running is is_running)
                    and (since is None or e.updated >= since)
                    and (reference is None or (e.external_reference is not None
                                               and e.external_reference.get("id") == reference)))

        return [e for e in candidates if matches(e)]
