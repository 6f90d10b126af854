"""The hub's KPIs as daily series (one value per UTC day, so they can be charted), computed from plain
histories: what was recorded, as dataclasses, with no I/O.

- project setup cycle time: a deal won (received by the hub) -> ready in the ERP and the time tracker;
  per day the setup completed: count, p50, p90 and max in seconds;
- approved-to-bill lag: a time entry first seen approved -> the invoice that billed it first; per day the
  invoice was written: entries, mean and p90 lag in hours;
- revenue event exception rate: revenue close work vs the exceptions opened for it; per day it was queued;
- integration recovery time: a system's circuit opened -> its waiting work drained; per day the outage began:
  outages, how many have drained, mean and max recovery in seconds;
- cross-system consistency: the share of compared records that matched, in the last reconciliation run
  of each day (None on a day without one).

Percentiles are nearest-rank (the smallest value with at least p% of the values at or below it), so each
is one of the measured values and can be checked by hand. Seconds are kept to the millisecond, hours and
shares to four places.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")


class KpiInputError(ValueError):
    """A history the KPIs cannot be computed from; the message names the record and the field."""


def utc_day(at: datetime, *, record: str, name: str) -> date:
    """The UTC calendar day of an instant; a time without a timezone is refused (whose day would it be?)."""
    if at.tzinfo is None:
        raise KpiInputError(f"{record} field {name}: {at.isoformat()} has no timezone")
    return at.astimezone(UTC).date()


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included (none when `first` is after `last`)."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def nearest_rank(values: Sequence[float], percent: int) -> float:
    """The nearest-rank percentile of `values` (not empty): sorted, the value at rank ceil(p/100 x n)."""
    if not values:
        raise KpiInputError("a percentile of no values")
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)), 1) - 1]


def _span(start: datetime, end: datetime, *, record: str, start_name: str, end_name: str) -> float:
    utc_day(start, record=record, name=start_name)
    utc_day(end, record=record, name=end_name)
    seconds = (end - start).total_seconds()
    if seconds < 0:
        raise KpiInputError(f"{record} field {end_name}: {end.isoformat()} is before {start_name} "
                            f"{start.isoformat()}")
    return seconds


def _seconds(value: float) -> float:
    return round(value, 3)


def _four(value: float) -> float:
    return round(value, 4)


# --- the histories --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """A won deal: when the hub received the win, and when its setup completed in the ERP and the tracker."""

    opportunity_id: str
    won_at: datetime
    ready_at: datetime


@dataclass(frozen=True)
class BilledTime:
    """A time entry: when the hub first saw it approved, and when the invoice that first billed it was written."""

    entry_id: str
    approved_at: datetime
    billed_at: datetime
    invoice_id: str


@dataclass(frozen=True)
class RevenueEvent:
    """One contract's revenue close, and how many exceptions were opened for it (0: it went through)."""

    work_item_id: int
    queued_at: datetime
    exceptions: int


@dataclass(frozen=True)
class Outage:
    """A system's circuit opened, and when the work it left waiting had drained (None: not yet)."""

    system: str
    opened_at: datetime
    drained_at: datetime | None


@dataclass(frozen=True)
class Reconciliation:
    """One reconciliation run: when it ran, how many records it compared and how many matched."""

    run_id: int
    at: datetime
    compared: int
    matched: int


# --- the series -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleTimeDay:
    day: date
    count: int
    p50_seconds: float | None
    p90_seconds: float | None
    max_seconds: float | None


@dataclass(frozen=True)
class LagDay:
    day: date
    entries: int
    mean_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class ExceptionRateDay:
    day: date
    events: int
    with_exceptions: int
    exceptions: int
    rate: float | None


@dataclass(frozen=True)
class RecoveryDay:
    day: date
    outages: int
    recovered: int
    mean_seconds: float | None
    max_seconds: float | None


@dataclass(frozen=True)
class ConsistencyDay:
    day: date
    run_id: int | None
    compared: int | None
    matched: int | None
    share: float | None


KPI_NAMES = ("project_setup_cycle_time", "approved_to_bill_lag", "revenue_event_exception_rate",
             "integration_recovery_time", "cross_system_consistency")


@dataclass(frozen=True)
class KpiReport:
    """Every KPI over the same days."""

    days: list[date]
    project_setup_cycle_time: list[CycleTimeDay] = field(default_factory=list)
    approved_to_bill_lag: list[LagDay] = field(default_factory=list)
    revenue_event_exception_rate: list[ExceptionRateDay] = field(default_factory=list)
    integration_recovery_time: list[RecoveryDay] = field(default_factory=list)
    cross_system_consistency: list[ConsistencyDay] = field(default_factory=list)

    def series(self) -> dict[str, list[Any]]:
        return {name: list(getattr(self, name)) for name in KPI_NAMES}

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        """{kpi: [{day, ...values}]}, days as ISO dates."""
        return {name: [{**asdict(row), "day": row.day.isoformat()} for row in rows]
                for name, rows in self.series().items()}


def _by_day(items: Iterable[T], day_of: Callable[[T], date]) -> dict[date, list[T]]:
    found: dict[date, list[T]] = {}
    for item in items:
        found.setdefault(day_of(item), []).append(item)
    return found


def setup_cycle_time(setups: Sequence[Setup], days: Sequence[date]) -> list[CycleTimeDay]:
    spans = {id(s): _span(s.won_at, s.ready_at, record=f"setup of {s.opportunity_id}", start_name="won_at",
                          end_name="ready_at") for s in setups}
    grouped = _by_day(setups, lambda s: utc_day(s.ready_at, record=f"setup of {s.opportunity_id}", name="ready_at"))
    out = []
    for day in days:
        values = [spans[id(s)] for s in grouped.get(day, [])]
        out.append(CycleTimeDay(day, len(values), _seconds(nearest_rank(values, 50)) if values else None,
                                _seconds(nearest_rank(values, 90)) if values else None,
                                _seconds(max(values)) if values else None))
    return out


def approved_to_bill_lag(billed: Sequence[BilledTime], days: Sequence[date]) -> list[LagDay]:
    def record(b: BilledTime) -> str:
        return f"time entry {b.entry_id} on invoice {b.invoice_id}"

    hours = {id(b): _span(b.approved_at, b.billed_at, record=record(b), start_name="approved_at",
                          end_name="billed_at") / 3600 for b in billed}
    grouped = _by_day(billed, lambda b: utc_day(b.billed_at, record=record(b), name="billed_at"))
    out = []
    for day in days:
        values = [hours[id(b)] for b in grouped.get(day, [])]
        out.append(LagDay(day, len(values), _four(sum(values) / len(values)) if values else None,
                          _four(nearest_rank(values, 90)) if values else None))
    return out


def revenue_event_exception_rate(work: Sequence[RevenueEvent], days: Sequence[date]) -> list[ExceptionRateDay]:
    for w in work:
        if w.exceptions < 0:
            raise KpiInputError(f"revenue close work item {w.work_item_id} field exceptions: {w.exceptions} "
                                "is negative")
    grouped = _by_day(work, lambda w: utc_day(w.queued_at, record=f"revenue close work item {w.work_item_id}",
                                              name="queued_at"))
    out = []
    for day in days:
        events = grouped.get(day, [])
        hit = sum(1 for w in events if w.exceptions)
        out.append(ExceptionRateDay(day, len(events), hit, sum(w.exceptions for w in events),
                                    _four(hit / len(events)) if events else None))
    return out


def integration_recovery_time(outages: Sequence[Outage], days: Sequence[date]) -> list[RecoveryDay]:
    def record(o: Outage) -> str:
        return f"outage of {o.system} opened {o.opened_at.isoformat()}"

    spans = {id(o): _span(o.opened_at, o.drained_at, record=record(o), start_name="opened_at", end_name="drained_at")
             for o in outages if o.drained_at is not None}
    grouped = _by_day(outages, lambda o: utc_day(o.opened_at, record=record(o), name="opened_at"))
    out = []
    for day in days:
        began = grouped.get(day, [])
        values = [spans[id(o)] for o in began if id(o) in spans]
        out.append(RecoveryDay(day, len(began), len(values), _seconds(sum(values) / len(values)) if values else None,
                               _seconds(max(values)) if values else None))
    return out


def cross_system_consistency(runs: Sequence[Reconciliation], days: Sequence[date]) -> list[ConsistencyDay]:
    for r in runs:
        if r.compared < 0 or not 0 <= r.matched <= r.compared:
            raise KpiInputError(f"reconciliation run {r.run_id} field matched: {r.matched} of {r.compared} compared "
                                "is not a count between 0 and compared")
    grouped = _by_day(runs, lambda r: utc_day(r.at, record=f"reconciliation run {r.run_id}", name="at"))
    out = []
    for day in days:
        held = grouped.get(day)
        if not held:
            out.append(ConsistencyDay(day, None, None, None, None))
            continue
        last = max(held, key=lambda r: (r.at, r.run_id))
        out.append(ConsistencyDay(day, last.run_id, last.compared, last.matched,
                                  _four(last.matched / last.compared) if last.compared else None))
    return out


def kpi_report(*, setups: Sequence[Setup] = (), billed: Sequence[BilledTime] = (),
               revenue: Sequence[RevenueEvent] = (), outages: Sequence[Outage] = (),
               reconciliations: Sequence[Reconciliation] = (), first: date | None = None, last: date) -> KpiReport:
    """Every KPI for each day from `first` (else the first day anything was recorded) to `last`."""
    if first is None:
        seen = [utc_day(s.ready_at, record=f"setup of {s.opportunity_id}", name="ready_at") for s in setups]
        seen += [utc_day(b.billed_at, record=f"time entry {b.entry_id}", name="billed_at") for b in billed]
        seen += [utc_day(w.queued_at, record=f"revenue close work item {w.work_item_id}", name="queued_at")
                 for w in revenue]
        seen += [utc_day(o.opened_at, record=f"outage of {o.system}", name="opened_at") for o in outages]
        seen += [utc_day(r.at, record=f"reconciliation run {r.run_id}", name="at") for r in reconciliations]
        first = min(seen, default=None)
    days = days_between(first, last) if first is not None else []
    return KpiReport(days, setup_cycle_time(setups, days), approved_to_bill_lag(billed, days),
                     revenue_event_exception_rate(revenue, days), integration_recovery_time(outages, days),
                     cross_system_consistency(reconciliations, days))
