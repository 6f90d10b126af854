"""Accounting periods (calendar months) and the open/closed state of each legal entity's books.

A closed period stays closed: nothing the engine produces is dated inside it. An event dated in a
closed period (a late invoice, a milestone accepted last month but reported today) is posted on
the first day of the first open period after it, and the placement says so in words, for the audit
trail. Closing is per legal entity because each entity closes its own books.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from q2c.domain.revenue.errors import PeriodClosed


@dataclass(frozen=True, order=True)
class Period:
    """One calendar month: the unit in which revenue is recognised and books are closed."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"period month must be 1..12, got {self.month}")
        if not 1900 <= self.year <= 9999:
            raise ValueError(f"period year must be 1900..9999, got {self.year}")

    @classmethod
    def of(cls, day: date) -> Period:
        """The period a date falls in."""
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, label: str) -> Period:
        """'2026-11' -> Period(2026, 11)."""
        try:
            year, month = label.split("-")
            return cls(int(year), int(month))
        except ValueError as exc:
            raise ValueError(f"period '{label}' is not of the form YYYY-MM") from exc

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return _month_end(self.year, self.month)

    @property
    def days(self) -> int:
        return _month_end(self.year, self.month).day

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:
        """Months since year 0: consecutive periods have consecutive indexes."""
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> Period:
        return cls(index // 12, index % 12 + 1)

    def next(self) -> Period:
        return Period.from_index(self.index + 1)

    def previous(self) -> Period:
        return Period.from_index(self.index - 1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label


@lru_cache(maxsize=4096)
def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def periods_between(first: Period, last: Period) -> list[Period]:
    """Every period from `first` to `last`, both included (empty if last < first)."""
    return [Period.from_index(i) for i in range(first.index, last.index + 1)]


@dataclass(frozen=True)
class Placement:
    """Where an event lands in the books: its own date, or the first open period after it."""

    event_date: date
    post_date: date
    late: bool
    note: str

    @property
    def period(self) -> Period:
        return Period.of(self.post_date)


@dataclass(frozen=True)
class PeriodCalendar:
    """Open and closed periods of one legal entity. Immutable: closing returns a new calendar."""

    legal_entity: str
    closed: frozenset[Period] = field(default_factory=frozenset)

    def close(self, period: Period) -> PeriodCalendar:
        return PeriodCalendar(self.legal_entity, self.closed | {period})

    def reopen(self, period: Period) -> PeriodCalendar:
        """Reopening is an explicit controller decision; the engine never does it by itself."""
        return PeriodCalendar(self.legal_entity, self.closed - {period})

    def is_open(self, period: Period) -> bool:
        return period not in self.closed

    def first_open_from(self, period: Period) -> Period:
        """`period` itself if open, else the first open period after it."""
        candidate = period
        while candidate in self.closed:
            candidate = candidate.next()
        return candidate

    def place(self, event_date: date) -> Placement:
        """Where an event dated `event_date` is posted, with the audit note when it moved."""
        period = Period.of(event_date)
        if self.is_open(period):
            return Placement(event_date, event_date, False, "")
        target = self.first_open_from(period)
        note = (f"event dated {event_date.isoformat()} falls in period {period} which is closed for "
                f"{self.legal_entity}; posted on {target.start.isoformat()}, the first day of the first open "
                f"period {target}")
        return Placement(event_date, target.start, True, note)

    def post_date_for(self, event_date: date) -> date:
        """The date an event is posted on: its own if its period is open, else the next open period's first day."""
        return self.place(event_date).post_date

    def require_open(self, day: date, *, what: str) -> None:
        """Refuse to date anything inside a closed period."""
        period = Period.of(day)
        if not self.is_open(period):
            raise PeriodClosed(f"{what} is dated {day.isoformat()}, in period {period}, which is closed for "
                               f"legal entity {self.legal_entity}; post it in {self.first_open_from(period)}")

