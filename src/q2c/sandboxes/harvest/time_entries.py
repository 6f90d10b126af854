"""Time entries: logging, editing and deleting time (`/v2/time_entries`).

An entry needs an existing, active project, a known task assigned to it and a person assigned to
it; it takes its billable flag and rate from the project's `bill_by` (the project's rate, the task
assignment's or the person's) and its cost rate from the person. Hours are 0 to 24, or come from a
start and end time. A locked entry (approved or invoiced) cannot be edited (422); see `delete` for deleting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from q2c.sandboxes.harvest.assignments import Assignments
from q2c.sandboxes.harvest.entry import TimeEntry, listing_key
from q2c.sandboxes.harvest.entry_index import EntryIndex, TimeEntryQuery, View
from q2c.sandboxes.harvest.errors import HarvestRefusal, NotFound
from q2c.sandboxes.harvest.fields import as_date, as_decimal, as_int, as_text, clock_minutes, required
from q2c.sandboxes.harvest.people import People
from q2c.sandboxes.harvest.projects import Projects
from q2c.sandboxes.harvest.stamps import Stamps
from q2c.sandboxes.harvest.wire import Json

MAX_HOURS = Decimal(24)
_HUNDREDTH = Decimal("0.01")


def rates_for(project: Json, task_assignment: Json, user_assignment: Json,
              user: Json) -> tuple[bool, Decimal | None, Decimal | None]:
    """(billable, billable rate, cost rate) of an entry: billable when the project and the task
    assignment are; the rate is the one the project bills by."""
    billable = bool(project["is_billable"] and task_assignment["billable"])
    rate: Decimal | None = None
    if billable:
        rate = {"Project": project["hourly_rate"], "Tasks": task_assignment["hourly_rate"],
                "People": user_assignment["hourly_rate"]}.get(project["bill_by"])
    return billable, rate, user["cost_rate"]


@dataclass(frozen=True)
class _Timing:
    """How long an entry is, and whether it runs: from `hours`, or from `started_time`/`ended_time`."""

    hours: Decimal
    started: str | None = None
    ended: str | None = None
    running: bool = False


def _timing(body: Mapping[str, Any], current: Decimal | None) -> _Timing:
    started, ended = body.get("started_time"), body.get("ended_time")
    if started is not None:
        start_minutes = clock_minutes(started, "started_time")
        if ended is None:
            return _Timing(Decimal("0.00"), str(started), None, True)
        end_minutes = clock_minutes(ended, "ended_time")
        if end_minutes < start_minutes:
            raise HarvestRefusal("Ended time must be after the started time")
        return _Timing((Decimal(end_minutes - start_minutes) / 60).quantize(_HUNDREDTH), str(started), str(ended))
    raw = body.get("hours")
    if raw is None:
        return _Timing(Decimal("0.00") if current is None else current)
    hours = as_decimal(raw, "hours")
    if hours < 0:
        raise HarvestRefusal("Hours must be greater than or equal to 0")
    if hours > MAX_HOURS:
        raise HarvestRefusal("Hours must be less than or equal to 24")
    return _Timing(hours.quantize(_HUNDREDTH))


def _external_reference(value: Any) -> Json | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or value.get("id") in (None, ""):
        raise HarvestRefusal("External reference id can't be blank")
    permalink = value.get("permalink")
    return {"id": str(value["id"]), "group_id": value.get("group_id"), "account_id": value.get("account_id"),
            "permalink": permalink, "service": "q2c" if permalink else None, "service_icon_url": None}


class TimeSheet:
    """The account's time entries; `version` moves on with every change to any of them."""

    def __init__(self, stamps: Stamps, people: People, projects: Projects, assignments: Assignments) -> None:
        self.entries: dict[int, TimeEntry] = {}
        self.index = EntryIndex(projects.projects)
        self.version = 0
        self._stamps = stamps
        self._people = people
        self._projects = projects
        self._assignments = assignments

    def entry(self, entry_id: int) -> TimeEntry:
        entry = self.entries.get(entry_id)
        if entry is None:
            raise NotFound("Time entry")
        return entry

    def view(self, query: TimeEntryQuery) -> View:
        return self.index.view(query, self.version)

    def create(self, body: Mapping[str, Any], *, default_user_id: int) -> TimeEntry:
        """`POST /v2/time_entries`; the entry is the token owner's unless `user_id` says whose."""
        project_id = as_int(required(body, "project_id"), "project_id")
        task_id = as_int(required(body, "task_id"), "task_id")
        spent = as_date(required(body, "spent_date"), "spent_date")
        user_id = as_int(body.get("user_id") or default_user_id, "user_id")
        project = self._open_project(project_id)
        if task_id not in self._projects.tasks:
            raise HarvestRefusal("Task must exist")
        user = self._people.users.get(user_id)
        if user is None or not user["is_active"]:
            raise HarvestRefusal("User must exist and be active")
        task_assignment, user_assignment = self._assignments.for_entry(project_id, user_id, task_id)
        timing = _timing(body, None)
        notes = None if body.get("notes") is None else as_text(body["notes"], "notes")
        billable, rate, cost = rates_for(project, task_assignment, user_assignment, user)
        now, now_text = self._stamps.now()
        entry = TimeEntry(self._stamps.new_id("time_entry"), spent.isoformat(), user_id, project_id, task_id,
                          user_assignment["id"], task_assignment["id"], timing.hours, notes, billable, rate, cost,
                          now, now_text)
        entry.started_time, entry.ended_time, entry.is_running = timing.started, timing.ended, timing.running
        entry.timer_started_at = now_text if timing.running else None
        entry.external_reference = _external_reference(body.get("external_reference"))
        self.entries[entry.id] = entry
        self.index.place(entry)
        self.version += 1
        return entry

    def update(self, entry_id: int, body: Mapping[str, Any]) -> TimeEntry:
        """`PATCH /v2/time_entries/{id}`: every given field is checked before any is applied."""
        entry = self.entry(entry_id)
        if entry.is_locked:
            raise HarvestRefusal(f"This time entry is locked and can't be edited ({entry.locked_reason})")
        project_id = as_int(body["project_id"], "project_id") if "project_id" in body else entry.project_id
        task_id = as_int(body["task_id"], "task_id") if "task_id" in body else entry.task_id
        spent = as_date(body["spent_date"], "spent_date").isoformat() if "spent_date" in body else None
        project = self._projects.projects.get(project_id)
        if project is None:
            raise HarvestRefusal("Project must exist")
        if task_id not in self._projects.tasks:
            raise HarvestRefusal("Task must exist")
        task_assignment, user_assignment = self._assignments.for_entry(project_id, entry.user_id, task_id)
        timing = _timing(body, entry.hours)
        notes = as_text(body["notes"], "notes") if body.get("notes") is not None else None
        external = _external_reference(body["external_reference"]) if "external_reference" in body else None
        # every check passed: apply
        if spent is not None and spent != entry.spent_date:
            self._move(entry, spent)
        entry.project_id, entry.task_id = project_id, task_id
        entry.user_assignment_id, entry.task_assignment_id = user_assignment["id"], task_assignment["id"]
        entry.billable, entry.billable_rate, entry.cost_rate = rates_for(
            project, task_assignment, user_assignment, self._people.users[entry.user_id])
        if "hours" in body or "started_time" in body:
            entry.hours, entry.started_time, entry.ended_time = timing.hours, timing.started, timing.ended
            entry.is_running = timing.running
        if "notes" in body:
            entry.notes = notes
        if "external_reference" in body:
            entry.external_reference = external
        entry.touch(*self._stamps.now())
        self.version += 1
        return entry

    def delete(self, entry_id: int, *, by_administrator: bool) -> None:
        """`DELETE /v2/time_entries/{id}`. Harvest documents that a closed (approved) entry can be deleted
        only by an administrator (API docs), and that administrators can edit or delete locked time (help
        centre); so a locked entry, approved or invoiced, is refused to everyone else."""
        entry = self.entry(entry_id)
        if entry.is_locked and not by_administrator:
            raise HarvestRefusal(f"This time entry is locked and can't be deleted ({entry.locked_reason})")
        self.index.unplace(entry)
        del self.entries[entry_id]
        self.version += 1

    def _open_project(self, project_id: int) -> Json:
        project = self._projects.projects.get(project_id)
        if project is None:
            raise HarvestRefusal("Project must exist")
        if not project["is_active"]:
            raise HarvestRefusal("Project is archived and can't take new time")
        return project

    def _move(self, entry: TimeEntry, spent: str) -> None:
        """A new spent_date: the entry takes its new place in the listing order."""
        self.index.unplace(entry)
        entry.spent_date = spent
        entry.key = listing_key(spent, entry.id)
        self.index.place(entry)
