"""Test support for the Toggl Track sandbox: a controllable clock, a seeded workspace, Basic-auth clients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.toggl.app import TogglSandbox


class Clock:
    """The sandbox's notion of now; tests move it so that `at` and approval times differ."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass(frozen=True)
class Team:
    """A seeded workspace: one project with two tasks, two members under a weekly timesheet setup."""

    project_id: int
    design_task_id: int
    build_task_id: int
    ada_id: int
    ada_token: str
    grace_id: int
    setup_ids: dict[int, int]  # member id -> timesheet setup id


def api(server: SandboxServer, token: str) -> httpx.Client:
    """A client as any Toggl integration makes one: Basic `<token>:api_token`."""
    return httpx.Client(base_url=server.url, auth=(token, "api_token"), timeout=10)


def seed_team(sandbox: TogglSandbox, owner: httpx.Client) -> Team:
    """Through the API as the workspace owner, except adding people (Toggl invites them by e-mail)."""
    wid = sandbox.workspace_id
    ada = sandbox.add_user("Ada.Lovelace@Example.com", "Ada Lovelace", timezone="Europe/London",
                           token="a" * 32)
    grace = sandbox.add_user("grace@example.com", "Grace Hopper", timezone="America/New_York", token="b" * 32)
    project = owner.post(f"/api/v9/workspaces/{wid}/projects", json={"name": "P-ACME1: Acme rollout",
                                                                      "billable": True, "is_private": True})
    assert project.status_code == 200, project.text
    pid = project.json()["id"]
    tasks = [owner.post(f"/api/v9/workspaces/{wid}/projects/{pid}/tasks", json={"name": n}).json()["id"]
             for n in ("DESIGN", "BUILD")]
    for member in (ada, grace):
        added = owner.post(f"/api/v9/workspaces/{wid}/project_users", json={"project_id": pid,
                                                                            "user_id": member["id"]})
        assert added.status_code == 200, added.text
    setups = owner.post(f"/api/v9/workspaces/{wid}/timesheet_setups", json={
        "approver_id": sandbox.owner_id(), "member_ids": [ada["id"], grace["id"]], "periodicity": "weekly",
        "start_date": "2026-02-23"})
    assert setups.status_code == 200, setups.text
    return Team(pid, tasks[0], tasks[1], ada["id"], ada["api_token"], grace["id"],
                {s["member_id"]: s["id"] for s in setups.json()})


def track(client: httpx.Client, wid: int, team: Team, user_id: int, start: str, seconds: int, *,
          task: str = "design", billable: bool = True, description: str = "work") -> dict[str, object]:
    """An entry through `POST /workspaces/{wid}/time_entries` (as an admin for `user_id`, or as them)."""
    created = client.post(f"/api/v9/workspaces/{wid}/time_entries", json={
        "created_with": "q2c tests", "workspace_id": wid, "user_id": user_id, "project_id": team.project_id,
        "task_id": team.design_task_id if task == "design" else team.build_task_id, "start": start,
        "duration": seconds, "billable": billable, "description": description})
    assert created.status_code == 200, created.text
    body: dict[str, object] = created.json()
    return body
