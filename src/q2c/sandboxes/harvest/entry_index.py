"""The account's time entries in Harvest's listing order, and the filtered views `GET /time_entries` pages.

Harvest's API v2 documentation ("List all time entries",
https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/#list-all-time-entries) says
"The time entries are returned sorted by spent_date date. At this time, the sort option can't be
customized", and its example response lists 2017-03-02 before 2017-03-01 and, within 2017-03-01, the
entries created at 15:49:28, 15:49:17 and 15:48:24 in that order: newest spent_date first, then the
most recently created first. Ids are handed out in creation order, so the sandbox breaks ties by id,
descending, and every page boundary is stable. The entries are kept in one list in that order (see
`entry.listing_key`), and each filtered view is computed once and cached until the next change to any
entry, so paging through 100,000 entries is slicing a list, not filtering it again.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar, overload

from q2c.sandboxes.harvest.entry import EntryKey, TimeEntry
from q2c.sandboxes.harvest.fields import as_bool, as_date, as_int, parse_instant
from q2c.sandboxes.harvest.wire import Json

T = TypeVar("T")


class Span(Sequence[T]):
    """items[low:high] without the copy: a window by date alone of 100,000 entries is two bisections."""

    def __init__(self, items: list[T], low: int, high: int) -> None:
        self._items, self._low, self._len = items, low, max(0, high - low)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            return self._items[self._low + start:self._low + stop:step]
        if not -self._len <= index < self._len:
            raise IndexError(index)
        return self._items[self._low + index % self._len]


View = tuple[Sequence[TimeEntry], Sequence[EntryKey]]
# The time a user who is not an administrator sees: entries by these people or on these projects.
Visible = tuple[frozenset[int], frozenset[int]]
_ID_BOUND = 1 << 62

QUERY_FILTERS = ("user_id", "client_id", "project_id", "task_id", "external_reference_id", "is_billed",
                 "is_running", "updated_since", "from", "to")


class TimeEntryQuery:
    """The filters of `GET /time_entries`, hashable so a filtered view can be cached."""

    __slots__ = ("client_id", "external_reference_id", "is_billed", "is_running", "project_id",
                 "spent_from", "spent_to", "task_id", "updated_since", "user_id", "visible")

    def __init__(self, *, user_id: int | None = None, client_id: int | None = None,
                 project_id: int | None = None, task_id: int | None = None,
                 external_reference_id: str | None = None, is_billed: bool | None = None,
                 is_running: bool | None = None, updated_since: datetime | None = None,
                 spent_from: date | None = None, spent_to: date | None = None,
                 visible: Visible | None = None) -> None:
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
        self.visible = visible  # None: the token's user sees everyone's time

    @classmethod
    def from_query(cls, q: Mapping[str, str], visible: Visible | None = None) -> TimeEntryQuery:
        """The filters of a query string; `from` and `to` bound `spent_date`; `visible` is what the
        token's user may see (permissions.time_visible_to)."""
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
            spent_from=day("from"), spent_to=day("to"), visible=visible)

    def signature(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def narrows(self) -> bool:
        """Whether any filter other than the spent_date bounds is set."""
        return any(getattr(self, name) is not None for name in self.__slots__
                   if name not in ("spent_from", "spent_to"))


class EntryIndex:
    """Entries in listing order, with the filtered views cached per `version` of the entries."""

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
        """Entries matching the filters, in listing order; cached until `version` moves on."""
        if self._views_version != version:
            self._views.clear()
            self._views_version = version
        signature = query.signature()
        cached = self._views.get(signature)
        if cached is not None:
            return cached
        # newest first: `to` (on or before) bounds the start of the slice, `from` (on or after) its end
        low = 0 if query.spent_to is None else bisect_left(self.keys, (-query.spent_to.toordinal(), -_ID_BOUND))
        high = (len(self.keys) if query.spent_from is None
                else bisect_right(self.keys, (-query.spent_from.toordinal(), _ID_BOUND)))
        if query.narrows():
            candidates = self._matching(self.order[low:high], query)
            view: View = (candidates, [e.key for e in candidates])
        else:
            view = (Span(self.order, low, high), Span(self.keys, low, high))
        self._views[signature] = view
        return view

    def _matching(self, candidates: list[TimeEntry], query: TimeEntryQuery) -> list[TimeEntry]:
        client_projects = (None if query.client_id is None else
                           {p for p, project in self._projects.items() if project["client"]["id"] == query.client_id})
        user_id, project_id, task_id = query.user_id, query.project_id, query.task_id
        is_billed, is_running, since = query.is_billed, query.is_running, query.updated_since
        reference = query.external_reference_id
        people, projects = query.visible or (None, None)

        def matches(e: TimeEntry) -> bool:
            return ((people is None or projects is None or e.user_id in people or e.project_id in projects)
                    and (user_id is None or e.user_id == user_id)
                    and (project_id is None or e.project_id == project_id)
                    and (task_id is None or e.task_id == task_id)
                    and (client_projects is None or e.project_id in client_projects)
                    and (is_billed is None or e.is_billed is is_billed)
                    and (is_running is None or e.is_running is is_running)
                    and (since is None or e.updated >= since)
                    and (reference is None or (e.external_reference is not None
                                               and e.external_reference.get("id") == reference)))

        return [e for e in candidates if matches(e)]
