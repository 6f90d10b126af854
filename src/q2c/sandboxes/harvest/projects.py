"""The account's projects and tasks (`/v2/projects`, `/v2/tasks`).

Harvest has no upsert, and (from recall) does not make project codes unique: a client that must not
create a project twice finds it by code first. Task names are unique in the account, whatever their case, so a second
`POST /v2/tasks` with a known name is a 422 and the client looks the task up instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from q2c.sandboxes.harvest.clients import Clients
from q2c.sandboxes.harvest.errors import HarvestRefusal, NotFound
from q2c.sandboxes.harvest.fields import (
    as_bool,
    as_int,
    as_optional_date,
    as_optional_decimal,
    as_text,
    label,
    required,
)
from q2c.sandboxes.harvest.stamps import Stamps
from q2c.sandboxes.harvest.wire import Json

BILL_BY = ("Project", "Tasks", "People", "none")
BUDGET_BY = ("project", "project_cost", "task", "task_fees", "person", "none")
PROJECT_FLAGS = ("is_active", "is_billable", "is_fixed_fee", "budget_is_monthly", "notify_when_over_budget",
                 "show_budget_to_all")
PROJECT_AMOUNTS = ("hourly_rate", "budget", "cost_budget", "fee", "over_budget_notification_percentage")
PROJECT_REQUIRED = ("client_id", "name", "is_billable", "bill_by", "budget_by")


def _new_project(now_text: str) -> Json:
    return {
        "id": 0, "client": None, "name": "", "code": None, "is_active": True, "is_billable": True,
        "is_fixed_fee": False, "bill_by": "none", "hourly_rate": None, "budget_by": "none",
        "budget": None, "budget_is_monthly": False, "notify_when_over_budget": False,
        "over_budget_notification_percentage": Decimal(80), "show_budget_to_all": False,
        "cost_budget": None, "cost_budget_include_expenses": False, "fee": None, "notes": None,
        "starts_on": None, "ends_on": None, "created_at": now_text, "updated_at": now_text,
    }


def _choice(body: Mapping[str, Any], field: str, allowed: tuple[str, ...]) -> str:
    value = body[field]
    if value not in allowed:
        raise HarvestRefusal(f"{label(field)} is not included in the list ({', '.join(allowed)})")
    return str(value)


class Projects:
    def __init__(self, stamps: Stamps, clients: Clients) -> None:
        self.projects: dict[int, Json] = {}
        self.tasks: dict[int, Json] = {}
        self._stamps = stamps
        self._clients = clients

    # --- projects ------------------------------------------------------------------------------
    def create_project(self, body: Mapping[str, Any]) -> Json:
        for field in PROJECT_REQUIRED:
            required(body, field)
        project = _new_project(self._stamps.now()[1])
        self._apply(body, project)
        project["id"] = self._stamps.new_id("project")
        self.projects[project["id"]] = project
        return project

    def update_project(self, project_id: int, body: Mapping[str, Any]) -> Json:
        """`PATCH /v2/projects/{id}`: all or nothing, checked on a draft first."""
        project = self.project(project_id)
        draft = dict(project)
        self._apply(body, draft)
        draft["updated_at"] = self._stamps.now()[1]
        project.update(draft)
        return project

    def project(self, project_id: int) -> Json:
        if project_id not in self.projects:
            raise NotFound("Project")
        return self.projects[project_id]

    def _apply(self, body: Mapping[str, Any], project: Json) -> None:
        if "client_id" in body:
            client_id = as_int(required(body, "client_id"), "client_id")
            if client_id not in self._clients.clients:
                raise HarvestRefusal("Client must exist")
            client = self._clients.clients[client_id]
            project["client"] = {"id": client_id, "name": client["name"], "currency": client["currency"]}
        if "name" in body:
            project["name"] = as_text(required(body, "name"), "name").strip()
        if "code" in body:
            project["code"] = None if body["code"] is None else as_text(body["code"], "code").strip()
        for flag in PROJECT_FLAGS:
            if flag in body:
                project[flag] = as_bool(body[flag], flag)
        if "bill_by" in body:
            project["bill_by"] = _choice(body, "bill_by", BILL_BY)
        if "budget_by" in body:
            project["budget_by"] = _choice(body, "budget_by", BUDGET_BY)
        self._apply_amounts_and_dates(body, project)
        if "notes" in body:
            project["notes"] = body["notes"]
        if project["starts_on"] and project["ends_on"] and project["ends_on"] < project["starts_on"]:
            raise HarvestRefusal("Ends on must be on or after the start date")

    @staticmethod
    def _apply_amounts_and_dates(body: Mapping[str, Any], project: Json) -> None:
        for amount in PROJECT_AMOUNTS:
            if amount in body:
                value = as_optional_decimal(body[amount], amount)
                if value is not None and value < 0:
                    raise HarvestRefusal(f"{label(amount)} must be greater than or equal to 0")
                project[amount] = value
        for day in ("starts_on", "ends_on"):
            if day in body:
                parsed = as_optional_date(body[day], day)
                project[day] = None if parsed is None else parsed.isoformat()

    # --- tasks ---------------------------------------------------------------------------------
    def create_task(self, body: Mapping[str, Any]) -> Json:
        name = self._free_task_name(body, None)
        _, now_text = self._stamps.now()
        task: Json = {
            "id": self._stamps.new_id("task"), "name": name,
            "billable_by_default": as_bool(body.get("billable_by_default", True), "billable_by_default"),
            "default_hourly_rate": as_optional_decimal(body.get("default_hourly_rate"), "default_hourly_rate"),
            "is_default": as_bool(body.get("is_default", False), "is_default"),
            "is_active": as_bool(body.get("is_active", True), "is_active"),
            "created_at": now_text, "updated_at": now_text,
        }
        self.tasks[task["id"]] = task
        return task

    def update_task(self, task_id: int, body: Mapping[str, Any]) -> Json:
        task = self.task(task_id)
        if "name" in body:
            task["name"] = self._free_task_name(body, task_id)
        for flag in ("billable_by_default", "is_default", "is_active"):
            if flag in body:
                task[flag] = as_bool(body[flag], flag)
        if "default_hourly_rate" in body:
            task["default_hourly_rate"] = as_optional_decimal(body["default_hourly_rate"], "default_hourly_rate")
        task["updated_at"] = self._stamps.now()[1]
        return task

    def task(self, task_id: int) -> Json:
        if task_id not in self.tasks:
            raise NotFound("Task")
        return self.tasks[task_id]

    def _free_task_name(self, body: Mapping[str, Any], own_id: int | None) -> str:
        name = as_text(required(body, "name"), "name").strip()
        if any(t["name"].lower() == name.lower() and t["id"] != own_id for t in self.tasks.values()):
            raise HarvestRefusal("Name has already been taken")
        return name
