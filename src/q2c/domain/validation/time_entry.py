"""Rules an approved time entry must pass before it may enter the ERP.

Project-level problems (unknown or closed project) are reported once per project, listing the
entries, because the fix is one action on the project; entry-level problems name the entry. Each
violation names the record and field in the words of the system where it is fixed (`SystemNames`
of the time tracker and of the ERP).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from q2c.domain.model import Project, ProjectStatus, Resource, TimeEntry
from q2c.domain.naming import SystemNames
from q2c.domain.violations import Violation


@dataclass(frozen=True)
class TimeRules:
    max_hours_per_entry: Decimal = Decimal(24)


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def project_violations(project_id: str, project: Project | None, entries: Sequence[TimeEntry], *,
                       tracker: SystemNames, erp: SystemNames) -> list[Violation]:
    """Problems with the project itself: one violation for all the entries logged to it."""
    n = len(entries)
    ids = ", ".join(e.id for e in entries[:5]) + (" …" if n > 5 else "")
    if project is None:
        return [Violation(
            system=tracker.system, object=tracker.object("project"), record_id=project_id,
            field=tracker.field("project", "code"), rule="time.project_unknown",
            message=f"{_entries(n)} ({ids}) {'is' if n == 1 else 'are'} logged to project code '{project_id}', "
                    "which no won deal set up in q2c",
            action=f"Move the entries in {tracker.label} to a project q2c set up, or check that the deal was won "
                   "and its setup succeeded")]
    if project.status is ProjectStatus.CLOSED:
        since = f" since {project.closed_on.isoformat()}" if project.closed_on else ""
        return [Violation(
            system=erp.system, object=erp.object("project"), record_id=project.id,
            field=erp.field("project", "status"), rule="time.project_closed",
            message=f"Project {project.id} is closed in {erp.label}{since}; {_entries(n)} ({ids}) cannot be "
                    "posted to it",
            action=f"Reopen {project.id} in {erp.label} or move the {_entries(n)} in {tracker.label} to an open "
                   "project, then replay")]
    return []


def entry_violations(entry: TimeEntry, *, project: Project, resource: Resource | None, rules: TimeRules,
                     tracker: SystemNames) -> list[Violation]:
    """Problems with one entry on an open, known project."""
    found: list[Violation] = []

    def add(field: str, rule: str, message: str, action: str) -> None:
        found.append(Violation(system=tracker.system, object=tracker.object("time_entry"), record_id=entry.id,
                               field=tracker.field("time_entry", field), rule=rule, message=message,
                               action=action))

    if not any(t.code == entry.task_code for t in project.tasks):
        known = ", ".join(sorted(t.code for t in project.tasks)) or "none"
        add("task_code", "time.task_unknown",
            f"task '{entry.task_code}' is not a task of project {project.id} (tasks: {known})",
            f"Move the entry in {tracker.label} to one of the project's tasks")
    if entry.hours <= 0:
        add("hours", "time.hours_not_positive", f"{entry.hours} hours on {entry.work_date}: hours must be above 0",
            f"Correct the hours in {tracker.label}")
    elif entry.hours > rules.max_hours_per_entry:
        add("hours", "time.hours_absurd",
            f"{entry.hours} hours on {entry.work_date} is more than the {rules.max_hours_per_entry} allowed per entry",
            f"Split or correct the entry in {tracker.label}")
    if resource is None:
        add("resource_id", "time.resource_unknown", f"resource '{entry.resource_id}' is not in the q2c resource list",
            "Add the person to `resources` in the q2c config (with their role), then replay")
    elif not resource.active:
        add("resource_id", "time.resource_inactive", f"resource {resource.id} is inactive",
            "Reactivate the resource or move the entry")
    return found


def group_by_project(entries: Sequence[TimeEntry]) -> Mapping[str, list[TimeEntry]]:
    groups: dict[str, list[TimeEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.project_id, []).append(entry)
    return groups
