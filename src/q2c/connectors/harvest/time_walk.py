"""Reading every time entry once, even while people add, edit and delete time during the read.

Harvest lists time entries by spent_date, newest first, and pages them by number: "The time entries are
returned sorted by spent_date date. At this time, the sort option can't be customized" (API v2, List all
time entries, https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/#list-all-time-entries;
its example lists 2017-03-02 before 2017-03-01, and within a day the most recently created first). That
endpoint documents `page` and `per_page`, not `cursor` (Pagination,
https://help.getharvest.com/api-v2/introduction/overview/pagination/, describes cursors for the lists that
have them), so nothing documented makes a next-page link stable. A page number is a position: an entry
deleted, moved to another day, or otherwise dropped out of the filter ahead of the reader pulls every
later entry up a slot, page k+1 then starts one entry late, and that entry is never read. The envelope
cannot tell: `total_entries` drops, but an entry created meanwhile puts it back.

What is sound with page numbers: two answers that share an entry leave nothing unread between them. Entries that
exist throughout keep their order (spent_date, then creation), so an entry after the shared one in the
first answer is still after it in the second, hence in the second answer or after it. A chain of
answers from the top of the list to its end, each sharing an entry with the one before, reads every entry
that exists and matches before and after the walk. Such an entry changed meanwhile may be read at its old
state or, moved to a day already read, not at all; its `updated_at` then lies after the walk's start,
and the time workflow keeps its cursor behind the pass start, so the next poll reads it at its new state.

Mostly the walk needs no chain: it asks for the first page of a spent_date window (`from` and `to`,
documented as "on or after" and "on or before"), and after a newest-first page whose last entry is dated
D asks for the window `to=D`. That bound is a date, not a position, so nothing slides across it: every
entry dated after D was on the page (one answer is one instant of Harvest's data), D's own are asked for
again and the repeats dropped by id. A page filled by a single day cannot be narrowed so: that day is
read by page number, each request re-reading the end of the one before (`per_page` varied so that a page
starts there; the overlap is `per_page // 20` entries, so fewer deletions than that in between still
leave a shared entry). If an answer shares nothing with the one before, the day is read again from its
first page; after `REREADS` tries the walk fails with a transient error (the poll is retried) rather
than risk a skip.

The price, measured on the sandbox with 2,000 per page: 100,000 entries at 274 a day, 53 requests instead
of 50; at 5,000 a day (a page cannot hold a day), 82 instead of 50.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from q2c.connectors.harvest.client import SYSTEM, HarvestClient, TimeEntryPage
from q2c.engine.errors import ConnectorError, TransientError

REREADS = 5
MIN_PER_PAGE = 5  # below it, overlapping pages can stall on a crowded day (see overlapping_page)
_DAY = timedelta(days=1)

Record = dict[str, Any]


class Order(Enum):
    NEWEST_FIRST = "newest first"
    OLDEST_FIRST = "oldest first"


@dataclass(frozen=True)
class DateWindow:
    """spent_date bounds, both inclusive; None is open."""

    start: date | None = None
    end: date | None = None

    @property
    def empty(self) -> bool:
        return self.start is not None and self.end is not None and self.start > self.end


@dataclass(frozen=True)
class Narrowed:
    """What is left of a window after a full first page: windows still to read, and the day the page was
    all of (None unless it was one day), to be read by page number."""

    windows: list[DateWindow]
    day: date | None
    order: Order | None


def narrow(window: DateWindow, first: date, last: date, order: Order | None) -> Narrowed:
    """The rest of `window` after a full page running from an entry dated `first` to one dated `last`.

    The page's direction says which side is finished: newest first, everything after `last` was on it, so
    `to=last` remains; oldest first, `from=last`. A page of one day says nothing about direction: the side
    that the walk's earlier pages showed remains, or both sides when none has.
    """
    if first > last:
        return Narrowed([DateWindow(window.start, last)], None, Order.NEWEST_FIRST)
    if first < last:
        return Narrowed([DateWindow(last, window.end)], None, Order.OLDEST_FIRST)
    older, newer = DateWindow(window.start, first - _DAY), DateWindow(first + _DAY, window.end)
    sides = [older] if order is Order.NEWEST_FIRST else [newer] if order is Order.OLDEST_FIRST else [older, newer]
    return Narrowed([w for w in sides if not w.empty], first, order)


def overlapping_page(read_to: int, per_page: int, overlap: int) -> tuple[int, int]:
    """(page, per_page) of the request that re-reads at least `overlap` entries before position `read_to`
    (0-based, exclusive) and reaches furthest past it: a page of `size` starts at a multiple of `size`.

    Some size reaches past `read_to` unless `read_to - overlap + 1` is a multiple of every size up to
    `per_page` (with 2,000 a page, never); ValueError then, as nothing could be read further.
    """
    last_start = max(read_to - overlap, 0)
    size = max(range(1, per_page + 1), key=lambda s: ((last_start // s + 1) * s, s))
    if (last_start // size + 1) * size <= read_to:
        raise ValueError(f"no page of at most {per_page} entries re-reads {overlap} before entry {read_to} "
                         "and goes past it")
    return last_start // size + 1, size


def _day(raw: Mapping[str, Any]) -> date:
    try:
        return date.fromisoformat(str(raw["spent_date"]))
    except (KeyError, ValueError):
        raise ConnectorError(SYSTEM, f"GET /time_entries: time entry {raw.get('id')} has spent_date "
                                     f"{raw.get('spent_date')!r}, not a date; the listing cannot be paged "
                                     "past it") from None


def _ids(page: TimeEntryPage) -> set[int]:
    return {e["id"] for e in page.entries if isinstance(e.get("id"), int)}


class TimeEntryWalk:
    """One read of every entry updated since `updated_since` (all when None), as batches of entries not yet
    read in this walk, one batch per answer. `requests` counts the answers."""

    def __init__(self, client: HarvestClient, *, updated_since: datetime | None, per_page: int) -> None:
        if per_page < MIN_PER_PAGE:
            raise ValueError(f"per_page must be {MIN_PER_PAGE} or more, for pages that overlap")
        self._client = client
        self._since = updated_since
        self._per_page = per_page
        self._overlap = max(1, per_page // 20)
        self._seen: set[int] = set()
        self.requests = 0

    def __iter__(self) -> Iterator[list[Record]]:
        pending = [DateWindow()]
        order: Order | None = None
        while pending:
            window = pending.pop()
            page = self._page(window.start, window.end)
            yield self._fresh(page)
            if page.next_url is None or not page.entries:
                continue
            narrowed = narrow(window, _day(page.entries[0]), _day(page.entries[-1]), order)
            order = narrowed.order
            pending.extend(narrowed.windows)
            if narrowed.day is not None:
                yield from self._crowded_day(narrowed.day)

    def _page(self, start: date | None, end: date | None, number: int | None = None,
              size: int | None = None) -> TimeEntryPage:
        self.requests += 1
        return self._client.time_entry_page(self._since, size or self._per_page, page=number, spent_from=start,
                                            spent_to=end)

    def _fresh(self, page: TimeEntryPage) -> list[Record]:
        """The page's entries not yet read in this walk (an entry without an id cannot be matched: kept)."""
        fresh = []
        for raw in page.entries:
            entry_id = raw.get("id")
            if isinstance(entry_id, int):
                if entry_id in self._seen:
                    continue
                self._seen.add(entry_id)
            fresh.append(raw)
        return fresh

    def _crowded_day(self, day: date) -> Iterator[list[Record]]:
        """A day of more entries than a page, by overlapping page numbers; again from the top when two
        answers share no entry (more deletions in between than the overlap)."""
        for _ in range(REREADS):
            page = self._page(day, day)
            yield self._fresh(page)
            read_to = len(page.entries)
            while page.next_url is not None:
                try:
                    number, size = overlapping_page(read_to, self._per_page, self._overlap)
                except ValueError as exc:
                    raise ConnectorError(SYSTEM, f"GET /time_entries: {day.isoformat()}: {exc}") from None
                following = self._page(day, day, number, size)
                if not _ids(page) & _ids(following):
                    break
                yield self._fresh(following)
                page, read_to = following, number * size
            else:
                return
        raise TransientError(SYSTEM, f"GET /time_entries: the time on {day.isoformat()} kept changing faster "
                                     f"than it could be read ({REREADS} tries); the next poll reads it again")
