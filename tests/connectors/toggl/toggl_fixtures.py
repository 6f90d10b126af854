"""Test support for the Toggl Track connector: a clock, a seeded workspace, a client and tracker factory.

Seeding goes through the sandbox's Toggl API (as the workspace owner) or, for what only the web app
does (adding people), the sandbox's store; the connector under test sees only HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from q2c.connectors.toggl.client import TogglClient
from q2c.connectors.toggl.settings import TogglSettings
from q2c.connectors.toggl.tracker import TogglTracker
from q2c.engine.resilience import CircuitBreaker, GuardRegistry, RetryPolicy
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.toggl.app import TogglSandbox

FAST_RETRY = RetryPolicy(base_seconds=0.001, cap_seconds=0.01)
ADA_TOKEN = "a" * 32


class Clock:
    """The sandbox's notion of now (a Wednesday); tests move it so that `at` and decisions differ."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def today(self) -> date:
        return self.now.date()

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass(frozen=True)
class Workspace:
    """A project "P-ACME1: Acme rollout" with tasks DESIGN and BUILD, Ada and Grace under weekly timesheets."""

    project_id: int
    design_task_id: int
    build_task_id: int
    ada_id: int
    grace_id: int
    setup_ids: dict[int, int]


def settings_for(server: SandboxServer, sandbox: TogglSandbox, **overrides: Any) -> TogglSettings:
    values: dict[str, Any] = {"base_url": server.url, "workspace_id": sandbox.workspace_id,
                              "api_token": sandbox.token, "requests_per_second": 100}
    values.update(overrides)
    return TogglSettings(**values)


def make_client(server: SandboxServer, sandbox: TogglSandbox, **overrides: Any) -> TogglClient:
    return TogglClient(settings_for(server, sandbox, **overrides), GuardRegistry(), retry=FAST_RETRY,
                       breaker=CircuitBreaker(threshold=50))


def make_tracker(server: SandboxServer, sandbox: TogglSandbox, clock: Clock, **overrides: Any) -> TogglTracker:
    return TogglTracker(make_client(server, sandbox, **overrides), today=clock.today)


def owner_api(server: SandboxServer, sandbox: TogglSandbox) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v9/workspaces/{sandbox.workspace_id}",
                        auth=(sandbox.token, "api_token"), timeout=10)


def seed_workspace(sandbox: TogglSandbox, owner: httpx.Client, *, setups: bool = True) -> Workspace:
    ada = sandbox.add_user("Ada.Lovelace@Example.com", "Ada Lovelace", token=ADA_TOKEN)
    grace = sandbox.add_user("grace@example.com", "Grace Hopper", token="b" * 32)
    pid = owner.post("/projects", json={"name": "P-ACME1: Acme rollout", "billable": True}).json()["id"]
    design, build = (owner.post(f"/projects/{pid}/tasks", json={"name": n}).json()["id"] for n in ("DESIGN", "BUILD"))
    for member in (ada, grace):
        owner.post("/project_users", json={"project_id": pid, "user_id": member["id"]}).raise_for_status()
    setup_ids: dict[int, int] = {}
    if setups:
        made = owner.post("/timesheet_setups", json={"approver_id": sandbox.owner_id(), "periodicity": "weekly",
                                                     "member_ids": [ada["id"], grace["id"]],
                                                     "start_date": "2026-02-23"})
        made.raise_for_status()
        setup_ids = {s["member_id"]: s["id"] for s in made.json()}
    return Workspace(pid, design, build, ada["id"], grace["id"], setup_ids)


def track(owner: httpx.Client, sandbox: TogglSandbox, ws: Workspace, user_id: int, start: str, seconds: int,
          *, task_id: int | None = -1, billable: bool = True, description: str = "work") -> int:
    """An entry for `user_id`, created by the owner (an admin) through the v9 time entries API."""
    body: dict[str, Any] = {"created_with": "q2c tests", "workspace_id": sandbox.workspace_id, "user_id": user_id,
                            "project_id": ws.project_id, "start": start, "duration": seconds, "billable": billable,
                            "description": description}
    if task_id is not None:
        body["task_id"] = ws.design_task_id if task_id == -1 else task_id
    made = owner.post("/time_entries", json=body)
    assert made.status_code == 200, made.text
    return int(made.json()["id"])


def decide(owner: httpx.Client, ws: Workspace, member_id: int, period_start: str, status: str) -> None:
    answer = owner.put(f"/timesheets/{ws.setup_ids[member_id]}/{period_start}", json={"status": status})
    assert answer.status_code == 200, answer.text
