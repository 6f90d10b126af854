"""Toggl detailed-report rows and timesheets -> canonical time entries (pure; no sandbox).

Shapes follow engineering.toggl.com/docs/track/reports/detailed_reports (rows with `time_entries` of
`{id, seconds, start, stop, at}`) and /docs/api/approvals (timesheets with `status`, `start_date`,
`end_date`, `approved_or_rejected_at`, `period_locked`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from q2c.connectors.toggl.approvals import TimesheetIndex
from q2c.connectors.toggl.mapping import (
    MappingError,
    entries_of_row,
    hours_from_seconds,
    project_code,
    project_name,
    time_entry_from_toggl,
)
from q2c.connectors.toggl.windows import MAX_DAYS, merged, pass_windows
from q2c.domain.model import TimeEntryStatus

ROW: dict[str, Any] = {"user_id": 11, "username": "Ada Lovelace", "project_id": 21, "task_id": 31, "billable": True,
                       "description": "workshop", "tag_ids": [], "row_number": 1,
                       "time_entries": [{"id": 3700000001, "seconds": 5400, "start": "2026-03-02T23:30:00-05:00",
                                         "stop": "2026-03-03T01:00:00-05:00", "at": "2026-03-03T06:00:00+00:00"}]}
LOOKUPS: dict[str, Any] = {"resource_by_user_id": {11: "ada.lovelace@example.com"},
                           "code_by_project_id": {21: "P-ACME1", 22: None}, "task_by_id": {31: "DESIGN"}}
SHEET = {"member_id": 11, "timesheet_setup_id": 5, "start_date": "2026-03-02", "end_date": "2026-03-08",
         "status": "approved", "submitted_at": "2026-03-06T17:00:00Z",
         "approved_or_rejected_at": "2026-03-09T08:15:00+00:00", "period_locked": True}


@pytest.mark.parametrize(("seconds", "hours"), [
    (5400, "1.5"), (900, "0.25"), (3600, "1"), (360, "0.1"), (36, "0.01"), (0, "0"), (86400, "24"),
    (60, "0.016667"), (1234, "0.342778"), (1, "0.000278")])
def test_seconds_become_hours_exactly_when_they_can(seconds: int, hours: str) -> None:
    assert hours_from_seconds(seconds) == Decimal(hours)
    assert str(hours_from_seconds(seconds)) == hours


def test_the_project_name_carries_the_canonical_id() -> None:
    assert project_name("P-ACME1", "Acme rollout") == "P-ACME1: Acme rollout"
    assert project_code("P-ACME1: Acme rollout: phase 2") == "P-ACME1"
    assert [project_code(n) for n in ("Acme rollout", "Acme rollout : x", ": x", None)] == [None, None, None, None]


def test_a_row_with_its_approved_timesheet_is_an_approved_canonical_entry() -> None:
    (raw,) = entries_of_row(ROW)
    sheet = TimesheetIndex([SHEET]).covering(11, date(2026, 3, 2))
    entry = time_entry_from_toggl(raw, timesheet=sheet, zone=None, **LOOKUPS)
    assert entry.id == "TG-3700000001" and entry.project_id == "P-ACME1" and entry.task_code == "DESIGN"
    assert entry.resource_id == "ada.lovelace@example.com" and entry.hours == Decimal("1.5")
    assert entry.work_date == date(2026, 3, 2)  # the start's own date, as Toggl gave it (-05:00)
    assert entry.status is TimeEntryStatus.APPROVED and entry.locked and not entry.billed
    assert entry.source_updated_at == datetime(2026, 3, 9, 8, 15, tzinfo=UTC)  # the approval, after the edit
    assert entry.notes == "workshop" and entry.billable


def test_a_configured_timezone_decides_the_work_date() -> None:
    (raw,) = entries_of_row(ROW)
    entry = time_entry_from_toggl(raw, timesheet=None, zone="Europe/Berlin", **LOOKUPS)
    assert entry.work_date == date(2026, 3, 3)  # 04:30 on the 3rd in Berlin
    assert entry.status is TimeEntryStatus.SUBMITTED and not entry.locked
    assert entry.source_updated_at == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(("status", "expected"), [("rejected", TimeEntryStatus.REJECTED),
                                                  ("submitted", TimeEntryStatus.SUBMITTED),
                                                  ("pending", TimeEntryStatus.SUBMITTED),
                                                  ("something new", TimeEntryStatus.SUBMITTED)])
def test_only_an_approved_timesheet_approves(status: str, expected: TimeEntryStatus) -> None:
    (raw,) = entries_of_row(ROW)
    sheet = TimesheetIndex([{**SHEET, "status": status, "period_locked": False}]).covering(11, date(2026, 3, 2))
    assert time_entry_from_toggl(raw, timesheet=sheet, zone=None, **LOOKUPS).status is expected


def test_every_bad_field_is_named_at_once() -> None:
    raw = {**entries_of_row(ROW)[0], "project_id": 22, "task_id": None, "user_id": 99, "seconds": -5,
           "at": "2026-03-03T06:00:00"}
    with pytest.raises(MappingError) as caught:
        time_entry_from_toggl(raw, timesheet=None, zone=None, **LOOKUPS)
    found = {(v.field, v.rule) for v in caught.value.violations}
    assert found == {("project", "time_entry.project_code_missing"), ("task", "time_entry.task_missing"),
                     ("user", "time_entry.user_unknown"), ("seconds", "time_entry.duration_invalid"),
                     ("at", "time_entry.at_invalid")}
    assert all(v.record_id == "3700000001" and v.system == "toggl" for v in caught.value.violations)


def test_timesheets_are_found_by_member_and_day() -> None:
    index = TimesheetIndex([SHEET, {**SHEET, "start_date": "2026-02-23", "end_date": "2026-03-01",
                                    "status": "pending", "approved_or_rejected_at": None},
                            {"member_id": 11, "start_date": "bad"}])
    assert index.covering(11, date(2026, 3, 8)).status == "approved"  # type: ignore[union-attr]
    assert index.covering(11, date(2026, 2, 23)).status == "pending"  # type: ignore[union-attr]
    assert index.covering(11, date(2026, 3, 9)) is None and index.covering(12, date(2026, 3, 2)) is None
    assert [t.start for t in index.changed_since(datetime(2026, 3, 9, tzinfo=UTC))] == [date(2026, 3, 2)]


def test_windows_merge_and_are_cut_to_a_year() -> None:
    today = date(2026, 3, 4)
    assert pass_windows(today, first_pass=True, history_days=90, lookback_days=35) == \
        [(date(2025, 12, 4), date(2026, 3, 5))]
    later = pass_windows(today, first_pass=False, history_days=90, lookback_days=35,
                         changed_periods=[(date(2025, 6, 2), date(2025, 6, 8)), (date(2026, 2, 23), date(2026, 3, 1))])
    assert later == [(date(2025, 6, 2), date(2025, 6, 8)), (date(2026, 1, 28), date(2026, 3, 5))]
    long = merged([(date(2024, 1, 1), date(2025, 12, 31))])
    assert [(b - a).days + 1 for a, b in long] == [MAX_DAYS, 731 - MAX_DAYS]
    assert long[0][1].toordinal() + 1 == long[1][0].toordinal()
