"""A time entry's JSON as Harvest sends it, rendered once per entry and joined from cached pieces.

An entry embeds its user, client, project, task and both assignments as small objects. Each of
those is rendered once and shared by every entry that names it, and each entry's text is kept
until it or anything it embeds changes; so a page of 2,000 entries is a join of cached bytes.
Field order and shapes follow the time entry object in Harvest's API documentation.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from q2c.sandboxes.harvest.assignments import Assignments
from q2c.sandboxes.harvest.clients import Clients
from q2c.sandboxes.harvest.entry import TimeEntry
from q2c.sandboxes.harvest.people import People, full_name
from q2c.sandboxes.harvest.projects import Projects
from q2c.sandboxes.kit import render_json as render

_HUNDREDTH = Decimal("0.01")
_QUARTER = Decimal(4)


def rounded_hours(hours: Decimal) -> Decimal:
    """The company's time rounding: up to the next quarter hour (Harvest's common setting)."""
    return ((hours * _QUARTER).to_integral_value(rounding=ROUND_CEILING) / _QUARTER).quantize(_HUNDREDTH)


class EntryJson:
    def __init__(self, people: People, clients: Clients, projects: Projects, assignments: Assignments) -> None:
        self._people = people
        self._clients = clients
        self._projects = projects
        self._assignments = assignments
        self._version = 0  # moves on when anything an entry embeds changes
        self._fragments: dict[tuple[str, int], str] = {}

    def references_changed(self) -> None:
        """A user, client, project, task or assignment changed: re-render the entries that embed it."""
        self._version += 1
        self._fragments.clear()

    def render(self, e: TimeEntry) -> bytes:
        if e.cached is not None and e.cached_ref == self._version:
            return e.cached
        fragment = self._fragment
        client_id = self._projects.projects[e.project_id]["client"]["id"]
        hours = format(e.hours, "f")
        text = (
            f'{{"id":{e.id},"spent_date":"{e.spent_date}","user":{fragment("user", e.user_id)},'
            f'"client":{fragment("client", client_id)},"project":{fragment("project", e.project_id)},'
            f'"task":{fragment("task", e.task_id)},'
            f'"user_assignment":{fragment("user_assignment", e.user_assignment_id)},'
            f'"task_assignment":{fragment("task_assignment", e.task_assignment_id)},'
            f'"hours":{hours},"hours_without_timer":{hours},"rounded_hours":{format(rounded_hours(e.hours), "f")},'
            f'"notes":{render(e.notes)},"is_locked":{render(e.is_locked)},'
            f'"locked_reason":{render(e.locked_reason)},"is_closed":{render(e.is_closed)},'
            f'"is_billed":{render(e.is_billed)},"timer_started_at":{render(e.timer_started_at)},'
            f'"started_time":{render(e.started_time)},"ended_time":{render(e.ended_time)},'
            f'"is_running":{render(e.is_running)},"invoice":{render(e.invoice)},'
            f'"external_reference":{render(e.external_reference)},"billable":{render(e.billable)},'
            f'"budgeted":false,"billable_rate":{render(e.billable_rate)},"cost_rate":{render(e.cost_rate)},'
            f'"created_at":"{e.created_at}","updated_at":"{e.updated_at}"}}'
        )
        e.cached = text.encode()
        e.cached_ref = self._version
        return e.cached

    def _fragment(self, kind: str, ident: int) -> str:
        key = (kind, ident)
        text = self._fragments.get(key)
        if text is None:
            text = self._fragments[key] = self._render_fragment(kind, ident)
        return text

    def _render_fragment(self, kind: str, ident: int) -> str:
        if kind == "user":
            return render({"id": ident, "name": full_name(self._people.users[ident])})
        if kind == "client":
            client = self._clients.clients[ident]
            return render({"id": ident, "name": client["name"], "currency": client["currency"]})
        if kind == "project":
            project = self._projects.projects[ident]
            return render({"id": ident, "name": project["name"], "code": project["code"]})
        if kind == "task":
            return render({"id": ident, "name": self._projects.tasks[ident]["name"]})
        if kind == "user_assignment":
            a = self._assignments.user_assignments[ident]
            return render({"id": ident, "is_project_manager": a["is_project_manager"], "is_active": a["is_active"],
                           "budget": a["budget"], "created_at": a["created_at"], "updated_at": a["updated_at"],
                           "hourly_rate": a["hourly_rate"]})
        a = self._assignments.task_assignments[ident]
        return render({"id": ident, "billable": a["billable"], "is_active": a["is_active"],
                       "created_at": a["created_at"], "updated_at": a["updated_at"],
                       "hourly_rate": a["hourly_rate"], "budget": a["budget"]})
