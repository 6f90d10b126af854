"""Toggl timesheet approvals as q2c reads them: which timesheet holds a person's day, and its state. Pure.

Toggl approves time by timesheet, not by entry (engineering.toggl.com/docs/api/approvals): a
timesheet setup puts a member under an approver with a periodicity, and each period's timesheet
carries `member_id`, `start_date`, `end_date`, `status`, `submitted_at`, `approved_or_rejected_at`
and `period_locked`. An entry's approval state is the state of its owner's timesheet for the entry's
work date. The status values `approved`, `rejected`, `submitted` and `pending` are from recall, not
the reference, so anything but `approved` and `rejected` reads as submitted (waiting), never as
approved. A timesheet's change time (its latest decision or submission) is what lets q2c notice an
approval: approving a timesheet does not touch its entries' `at`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from q2c.domain.model import TimeEntryStatus

APPROVED = "approved"
REJECTED = "rejected"


@dataclass(frozen=True)
class Timesheet:
    member_id: int
    setup_id: int | None
    start: date
    end: date
    status: str
    changed_at: datetime | None  # the latest of submitted_at and approved_or_rejected_at
    locked: bool

    @property
    def entry_status(self) -> TimeEntryStatus:
        if self.status == APPROVED:
            return TimeEntryStatus.APPROVED
        if self.status == REJECTED:
            return TimeEntryStatus.REJECTED
        return TimeEntryStatus.SUBMITTED


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def timesheet_from_toggl(raw: Mapping[str, Any]) -> Timesheet | None:
    """A timesheet as Toggl lists it; None when it lacks what q2c needs (member, start and end)."""
    member = raw.get("member_id")
    start = _day(raw.get("start_date") or raw.get("period_start"))
    end = _day(raw.get("end_date") or raw.get("period_end"))
    if not isinstance(member, int) or start is None or end is None or end < start:
        return None
    stamps = [s for s in (_instant(raw.get("submitted_at")), _instant(raw.get("approved_or_rejected_at"))) if s]
    setup = raw.get("timesheet_setup_id")
    status = str(raw.get("status") or "").strip().lower()
    return Timesheet(member_id=member, setup_id=setup if isinstance(setup, int) else None, start=start, end=end,
                     status=status, changed_at=max(stamps) if stamps else None,
                     locked=raw.get("period_locked") is True or status == APPROVED)


class TimesheetIndex:
    """The timesheets of a workspace, found by (member, work date)."""

    def __init__(self, raws: Iterable[Mapping[str, Any]]) -> None:
        by_member: dict[int, list[Timesheet]] = {}
        for raw in raws:
            sheet = timesheet_from_toggl(raw)
            if sheet is not None:
                by_member.setdefault(sheet.member_id, []).append(sheet)
        self._sheets = {m: sorted(s, key=lambda t: t.start) for m, s in by_member.items()}
        self._starts = {m: [t.start for t in s] for m, s in self._sheets.items()}

    def all(self) -> list[Timesheet]:
        return [t for sheets in self._sheets.values() for t in sheets]

    def covering(self, member_id: int, day: date) -> Timesheet | None:
        starts = self._starts.get(member_id)
        if not starts:
            return None
        at = bisect_right(starts, day) - 1
        if at < 0:
            return None
        sheet = self._sheets[member_id][at]
        return sheet if sheet.start <= day <= sheet.end else None

    def changed_since(self, since: datetime) -> list[Timesheet]:
        return [t for t in self.all() if t.changed_at is not None and t.changed_at >= since]
