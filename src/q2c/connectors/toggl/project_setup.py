"""Project setup in Toggl Track for a won deal: client, project, tasks and project members.

Toggl has no upsert and no project code, so the project is found by its name's canonical id
(`mapping.project_code`) before it is created, and a project that exists is brought in line only on
the fields q2c owns (name, client, active, dates). Tasks are found by name within the project, members
by user id. Running the setup twice, or after a crash half-way, yields the same Toggl ids and no
duplicates. Projects are private (only members and admins track on them) and billable when any of
their tasks is; Toggl tasks carry no billable flag of their own (v9 task model), so a non-billable task
is marked so on the entries, which q2c reads. Rates stay in q2c's rate cards: Toggl's are not used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from q2c.connectors.toggl.client import SYSTEM, TogglClient
from q2c.connectors.toggl.mapping import project_code, project_name
from q2c.domain.model import Project, ProjectStatus
from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected


@dataclass(frozen=True)
class TogglProjectLinks:
    """The Toggl ids behind one canonical project, for the link table."""

    client_id: int
    project_id: int
    task_ids: dict[str, int]  # canonical task code -> Toggl task id
    project_user_ids: dict[int, int]  # Toggl user id -> Toggl project user id


def _wanted(project: Project, client_id: int, starts_on: date | None, ends_on: date | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": project_name(project.id, project.name), "client_id": client_id,
                              "active": project.status is ProjectStatus.OPEN}
    if starts_on is not None:
        fields["start_date"] = starts_on.isoformat()
    if ends_on is not None:
        fields["end_date"] = ends_on.isoformat()
    return fields


def _drift(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if current.get(k) != v}


def _one(matches: list[dict[str, Any]], *, obj: str, key: str, what: str) -> dict[str, Any] | None:
    if len(matches) > 1:
        ids = ", ".join(str(m.get("id")) for m in matches)
        raise RecordRejected(Violation(
            system=SYSTEM, object=obj, record_id=key, field="name", rule=f"{obj}.ambiguous",
            message=f"{len(matches)} Toggl {obj}s are {what} (ids {ids})",
            action=f"Archive or rename the duplicates in Toggl Track so that one {obj} is left."))
    return matches[0] if matches else None


def set_up_project(toggl: TogglClient, project: Project, *, client_name: str, user_ids: Iterable[int] = (),
                   starts_on: date | None = None, ends_on: date | None = None) -> TogglProjectLinks:
    """Find-or-create everything the project needs in Toggl Track so its people can track time on it."""
    wanted_client = client_name.strip().casefold()
    client = _one([c for c in toggl.clients() if str(c.get("name", "")).strip().casefold() == wanted_client],
                  obj="client", key=client_name, what=f"named '{client_name}'") or toggl.create_client(client_name)
    client_id = int(client["id"])

    wanted = _wanted(project, client_id, starts_on, ends_on)
    current = _one([p for p in toggl.projects() if project_code(p.get("name")) == project.id], obj="project",
                   key=project.id, what=f"named '{project.id}: …'")
    if current is None:
        current = toggl.create_project({**wanted, "is_private": True,
                                        "billable": any(t.billable for t in project.tasks) or not project.tasks})
    else:
        changes = _drift(current, wanted)
        if changes:
            current = toggl.update_project(int(current["id"]), changes)
    project_id = int(current["id"])

    existing_tasks = {str(t.get("name", "")).strip(): int(t["id"]) for t in toggl.project_tasks(project_id)
                      if isinstance(t.get("id"), int)}
    task_ids: dict[str, int] = {}
    for task in project.tasks:
        task_ids[task.code] = existing_tasks.get(task.code) or int(toggl.create_task(project_id, task.code)["id"])

    people = list(dict.fromkeys(user_ids))
    members = {int(u["user_id"]): int(u["id"]) for u in (toggl.project_users(project_id) if people else [])
               if isinstance(u.get("user_id"), int) and isinstance(u.get("id"), int)}
    project_user_ids = {u: members.get(u) or int(toggl.add_project_user(project_id, u)["id"]) for u in people}
    return TogglProjectLinks(client_id=client_id, project_id=project_id, task_ids=task_ids,
                             project_user_ids=project_user_ids)
