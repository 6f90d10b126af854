"""Who and what may book time on a project: task assignments and user assignments.

A task or a person is assigned to a project once: a second assignment is a 422, so a client that
sets a project up twice finds the assignment instead of creating it. A time entry needs both an
active task assignment and an active user assignment on its project, and takes its rates from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from q2c.sandboxes.harvest.errors import HarvestRefusal, NotFound
from q2c.sandboxes.harvest.fields import as_bool, as_int, as_optional_decimal, required
from q2c.sandboxes.harvest.people import People, full_name
from q2c.sandboxes.harvest.projects import Projects
from q2c.sandboxes.harvest.stamps import Stamps
from q2c.sandboxes.harvest.wire import Json


def _project_ref(project: Json) -> Json:
    return {"id": project["id"], "name": project["name"], "code": project["code"]}


def _find(table: dict[int, Json], project_id: int, kind: str, ident: int) -> Json | None:
    """The assignment of task or user `ident` (`kind` "task" or "user") to the project, if any."""
    return next((a for a in table.values() if a["project"]["id"] == project_id and a[kind]["id"] == ident), None)


class Assignments:
    def __init__(self, stamps: Stamps, projects: Projects, people: People) -> None:
        self.task_assignments: dict[int, Json] = {}
        self.user_assignments: dict[int, Json] = {}
        self._stamps = stamps
        self._projects = projects
        self._people = people

    def assign_task(self, project_id: int, body: Mapping[str, Any]) -> Json:
        """The task's billable flag and default rate apply unless the body says otherwise."""
        project = self._projects.project(project_id)
        task_id = as_int(required(body, "task_id"), "task_id")
        if task_id not in self._projects.tasks:
            raise HarvestRefusal("Task must exist")
        if _find(self.task_assignments, project_id, "task", task_id) is not None:
            raise HarvestRefusal("Task has already been assigned to this project")
        task = self._projects.tasks[task_id]
        _, now_text = self._stamps.now()
        assignment: Json = {
            "id": self._stamps.new_id("task_assignment"), "project": _project_ref(project),
            "task": {"id": task_id, "name": task["name"]},
            "is_active": as_bool(body.get("is_active", True), "is_active"),
            "billable": as_bool(body.get("billable", task["billable_by_default"]), "billable"),
            "hourly_rate": as_optional_decimal(body.get("hourly_rate", task["default_hourly_rate"]), "hourly_rate"),
            "budget": as_optional_decimal(body.get("budget"), "budget"),
            "created_at": now_text, "updated_at": now_text,
        }
        self.task_assignments[assignment["id"]] = assignment
        return assignment

    def assign_user(self, project_id: int, body: Mapping[str, Any]) -> Json:
        """The person's default rate applies unless the body gives one (then `use_default_rates` is false)."""
        project = self._projects.project(project_id)
        user_id = as_int(required(body, "user_id"), "user_id")
        if user_id not in self._people.users:
            raise HarvestRefusal("User must exist")
        if _find(self.user_assignments, project_id, "user", user_id) is not None:
            raise HarvestRefusal("User has already been assigned to this project")
        user = self._people.users[user_id]
        _, now_text = self._stamps.now()
        assignment: Json = {
            "id": self._stamps.new_id("user_assignment"), "project": _project_ref(project),
            "user": {"id": user_id, "name": full_name(user)},
            "is_active": as_bool(body.get("is_active", True), "is_active"),
            "is_project_manager": as_bool(body.get("is_project_manager", False), "is_project_manager"),
            "use_default_rates": body.get("hourly_rate") is None,
            "hourly_rate": as_optional_decimal(body.get("hourly_rate", user["default_hourly_rate"]), "hourly_rate"),
            "budget": as_optional_decimal(body.get("budget"), "budget"),
            "created_at": now_text, "updated_at": now_text,
        }
        self.user_assignments[assignment["id"]] = assignment
        return assignment

    def update_task_assignment(self, project_id: int, assignment_id: int, body: Mapping[str, Any]) -> Json:
        return self._update(self.task_assignments, "Task assignment", project_id, assignment_id, body,
                            flags=("is_active", "billable"))

    def update_user_assignment(self, project_id: int, assignment_id: int, body: Mapping[str, Any]) -> Json:
        return self._update(self.user_assignments, "User assignment", project_id, assignment_id, body,
                            flags=("is_active", "is_project_manager", "use_default_rates"))

    def for_entry(self, project_id: int, user_id: int, task_id: int) -> tuple[Json, Json]:
        """The active task and user assignments a time entry on the project needs."""
        task_assignment = _find(self.task_assignments, project_id, "task", task_id)
        if task_assignment is None or not task_assignment["is_active"]:
            raise HarvestRefusal("Task must be assigned to the project")
        user_assignment = _find(self.user_assignments, project_id, "user", user_id)
        if user_assignment is None or not user_assignment["is_active"]:
            raise HarvestRefusal("User must be assigned to the project")
        return task_assignment, user_assignment

    def _update(self, table: dict[int, Json], what: str, project_id: int, assignment_id: int,
                body: Mapping[str, Any], *, flags: tuple[str, ...]) -> Json:
        """PATCH of a task or user assignment: the given flags and amounts, nothing else."""
        assignment = table.get(assignment_id)
        if assignment is None or assignment["project"]["id"] != project_id:
            raise NotFound(what)
        for flag in flags:
            if flag in body:
                assignment[flag] = as_bool(body[flag], flag)
        for amount in ("hourly_rate", "budget"):
            if amount in body:
                assignment[amount] = as_optional_decimal(body[amount], amount)
        assignment["updated_at"] = self._stamps.now()[1]
        return assignment
