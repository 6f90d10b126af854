"""Toggl Track <-> canonical: time entries in, project names and tasks out. Pure functions, no I/O.

Conventions q2c keeps in Toggl Track (Toggl projects have no code or external-reference field):
- a project q2c sets up is named "<canonical project id>: <name>" ("P-0Q8xx0001: Globex ERP"), and the
  text before the first ": " is read back as the project's canonical id;
- a Toggl task's name is the canonical task code (tasks belong to one project in Toggl);
- a Toggl user is a q2c resource through the e-mail address, lower-cased.

A time entry arrives as a row of the Reports API v3 detailed report (engineering.toggl.com/docs/track/
reports/detailed_reports): `user_id, project_id, task_id, billable, description` and `time_entries` of
`{id, seconds, start, stop, at}`. `seconds` becomes hours as `Decimal`: exact when the seconds divide by
9 (every 36 s is 0.01 h, so any whole quarter hour, 6 minutes or 1.5 hours is exact), otherwise rounded
half-even to six places (a thousandth of a second's worth). The work date is the date of `start`: as
Toggl gives it (in the token owner's profile timezone, per the API overview) or, when the settings name
a timezone, in that zone. A running entry (negative seconds) is not finished time and is not mapped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from q2c.connectors.toggl.approvals import Timesheet
from q2c.domain.model import TimeEntry, TimeEntryStatus
from q2c.domain.violations import Violation
from q2c.workflows.ports import Person

SYSTEM = "toggl"
OBJECT = "time_entry"
ID_PREFIX = "TG-"
CODE_SEPARATOR = ": "
SECONDS_PER_HOUR = 3600
SIX_PLACES = Decimal("0.000001")

_FIX_IN_TOGGL = "Fix the entry in Toggl Track (its owner or a workspace admin), then let it sync again."
_NOT_TOGGL = "Check the Toggl response; this is not a time entry as Toggl sends it."
_CANONICAL_TO_TOGGL = {"id": "id", "project_id": "project", "task_code": "task", "resource_id": "user",
                       "work_date": "start", "hours": "seconds", "notes": "description",
                       "source_updated_at": "at", "billable": "billable", "status": "timesheet.status"}


class MappingError(ValueError):
    """A Toggl record that cannot become a canonical one; carries one violation per bad field."""

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(v.headline() for v in self.violations))


def canonical_time_entry_id(toggl_id: int | str) -> str:
    return f"{ID_PREFIX}{toggl_id}"


def project_name(project_id: str, name: str) -> str:
    """The Toggl name of a project q2c sets up: its canonical id, then its name."""
    return f"{project_id}{CODE_SEPARATOR}{name}"


def project_code(name: Any) -> str | None:
    """The canonical project id a Toggl project name carries ("P-1: Build" -> "P-1"), None without one."""
    if not isinstance(name, str) or CODE_SEPARATOR not in name:
        return None
    code = name.split(CODE_SEPARATOR, 1)[0].strip()
    return code if code and not any(c.isspace() for c in code) else None


def hours_from_seconds(seconds: int) -> Decimal:
    """Seconds as hours: exact when they divide by 9, else six places half-even; no trailing zeros."""
    if seconds % 9 == 0:
        hours = Decimal(seconds * 25 // 9).scaleb(-4)
    else:
        hours = (Decimal(seconds) / Decimal(SECONDS_PER_HOUR)).quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)
    return hours.quantize(Decimal(1)) if hours == hours.to_integral_value() else hours.normalize()


def resource_ids_by_user(users: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """`{toggl user id: resource id}` from `GET /workspaces/{wid}/users` (the e-mail, lower-cased)."""
    index: dict[int, str] = {}
    for user in users:
        email = user.get("email")
        if isinstance(user.get("id"), int) and isinstance(email, str) and email.strip():
            index[user["id"]] = email.strip().lower()
    return index


def person_from_toggl(user: Mapping[str, Any]) -> Person | None:
    """A member of `GET /workspaces/{wid}/users` as the reference data reads them: email, full name, and
    active unless the workspace marks them inactive (`inactive`, or `is_active` false). Toggl has no
    business roles (`role` there is admin or user: a permission), so none are read. None without an id."""
    user_id = user.get("id")
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    email = user.get("email")
    name = str(user.get("fullname") or "").strip()
    return Person(system_id=str(user_id),
                  email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
                  name=name or f"user {user_id}",
                  active=user.get("inactive") is not True and user.get("is_active") is not False)


def project_codes_by_id(projects: Iterable[Mapping[str, Any]]) -> dict[int, str | None]:
    """`{toggl project id: canonical project id or None}`, with the names kept for messages."""
    return {p["id"]: project_code(p.get("name")) for p in projects if isinstance(p.get("id"), int)}


def task_codes_by_id(tasks: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    return {t["id"]: str(t["name"]).strip() for t in tasks
            if isinstance(t.get("id"), int) and isinstance(t.get("name"), str) and t["name"].strip()}


def entries_of_row(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A detailed-report row as one flat record per time entry (the row's fields, the entry's own)."""
    shared = {k: row.get(k) for k in ("user_id", "username", "project_id", "task_id", "billable", "description",
                                      "tag_ids")}
    entries = row.get("time_entries")
    if not isinstance(entries, list):
        return [{**shared, "id": None}]
    return [{**shared, **{k: e.get(k) for k in ("id", "seconds", "start", "stop", "at")}}
            for e in entries if isinstance(e, Mapping)]


def instant(value: Any) -> datetime | None:
    """An RFC 3339 instant with its offset, or None (a time without a zone is not an instant)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def work_date(start: datetime, zone: str | None) -> date:
    return (start.astimezone(ZoneInfo(zone)) if zone else start).date()


def is_running(raw: Mapping[str, Any]) -> bool:
    seconds = raw.get("seconds")
    return (isinstance(seconds, int) and seconds < 0) or (raw.get("stop") is None and raw.get("start") is not None)


def _describe(raw: Mapping[str, Any]) -> str:
    who = raw.get("username")
    start = raw.get("start")
    return f"Toggl time entry {raw.get('id')}" + (f" by {who}" if isinstance(who, str) and who else "") + (
        f" started {start}" if isinstance(start, str) else "")


def time_entry_from_toggl(raw: Mapping[str, Any], *, resource_by_user_id: Mapping[int, str],
                          code_by_project_id: Mapping[int, str | None], task_by_id: Mapping[int, str],
                          timesheet: Timesheet | None, zone: str | None) -> TimeEntry:
    """One flat Toggl entry (see `entries_of_row`) as a canonical `TimeEntry` (id "TG-<toggl id>").

    `timesheet` is the owner's timesheet for the entry's work date (None: no timesheet, so not approved).
    Every bad field is reported at once in a `MappingError`.
    """
    problems: list[tuple[str, str, str, str]] = []  # (field, rule, message, action)
    raw_id = raw.get("id")
    if not isinstance(raw_id, int) or isinstance(raw_id, bool):
        problems.append(("id", "time_entry.id_invalid", f"time entry id {raw_id!r} is not a Toggl id", _NOT_TOGGL))

    project_id = raw.get("project_id")
    code: str | None = None
    if not isinstance(project_id, int):
        problems.append(("project", "time_entry.project_missing", f"{_describe(raw)} has no project",
                         _FIX_IN_TOGGL))
    else:
        code = code_by_project_id.get(project_id)
        if code is None:
            problems.append(("project", "time_entry.project_code_missing",
                             f"{_describe(raw)} is on Toggl project {project_id}, whose name does not start with a "
                             f"q2c project id (\"P-…{CODE_SEPARATOR}name\"), so it cannot be tied to a q2c project",
                             "Rename the project in Toggl Track to start with the q2c project id and ': ' (projects "
                             "q2c sets up are named so), or move the entry to the right project."))

    task_id = raw.get("task_id")
    task_code = task_by_id.get(task_id) if isinstance(task_id, int) else None
    if task_code is None:
        problems.append(("task", "time_entry.task_missing",
                         f"{_describe(raw)} has no task" if task_id is None else
                         f"{_describe(raw)} is on Toggl task {task_id}, which the workspace does not list",
                         "Pick the project's task on the entry in Toggl Track (tasks are the q2c task codes)."))

    user_id = raw.get("user_id")
    resource_id = resource_by_user_id.get(user_id) if isinstance(user_id, int) else None
    if resource_id is None:
        problems.append(("user", "time_entry.user_unknown",
                         f"{_describe(raw)} belongs to Toggl user {user_id}, who has no e-mail q2c knows",
                         "Add the person as a resource in q2c with the same e-mail as in Toggl Track, or correct "
                         "the person on the entry."))

    start = instant(raw.get("start"))
    if start is None:
        problems.append(("start", "time_entry.start_invalid",
                         f"{_describe(raw)} has start {raw.get('start')!r}, not an RFC 3339 time with an offset",
                         _NOT_TOGGL))

    seconds = raw.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        problems.append(("seconds", "time_entry.duration_invalid",
                         f"{_describe(raw)} has a duration of {seconds!r} seconds, not a whole number of 0 or more",
                         _FIX_IN_TOGGL))

    billable = raw.get("billable")
    if not isinstance(billable, bool):
        problems.append(("billable", "time_entry.billable_invalid",
                         f"{_describe(raw)} has billable {billable!r}, not true or false", _NOT_TOGGL))

    updated = instant(raw.get("at"))
    if updated is None:
        problems.append(("at", "time_entry.at_invalid",
                         f"{_describe(raw)} has at {raw.get('at')!r}, not an RFC 3339 time with an offset",
                         _NOT_TOGGL))

    notes = raw.get("description")
    if notes is not None and not isinstance(notes, str):
        problems.append(("description", "time_entry.description_invalid",
                         f"{_describe(raw)} has a description that is not text", _FIX_IN_TOGGL))

    if problems:
        record = str(raw_id) if raw_id is not None else "?"
        raise MappingError(Violation(system=SYSTEM, object=OBJECT, record_id=record, field=name, rule=rule,
                                     message=message, action=action)
                           for name, rule, message, action in problems)
    assert start is not None and updated is not None and isinstance(seconds, int) and isinstance(raw_id, int)
    stamp = max(updated, timesheet.changed_at) if timesheet and timesheet.changed_at else updated
    status = timesheet.entry_status if timesheet else TimeEntryStatus.SUBMITTED
    try:
        return TimeEntry.model_validate({
            "id": canonical_time_entry_id(raw_id), "project_id": code, "task_code": task_code,
            "resource_id": resource_id, "work_date": work_date(start, zone), "hours": hours_from_seconds(seconds),
            "notes": notes or "", "status": status, "billable": billable,
            "locked": bool(timesheet and timesheet.locked), "billed": False, "source_updated_at": stamp,
        })
    except ValidationError as exc:
        raise MappingError(
            Violation(system=SYSTEM, object=OBJECT, record_id=str(raw_id),
                      field=_CANONICAL_TO_TOGGL.get(str(err["loc"][0]) if err["loc"] else ""),
                      rule="time_entry.invalid", message=f"{_describe(raw)}: {err['msg']}", action=_FIX_IN_TOGGL)
            for err in exc.errors()) from None
