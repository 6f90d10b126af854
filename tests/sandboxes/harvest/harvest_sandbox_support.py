"""Test support for the Harvest sandbox on its own: credentials, a controllable clock, a seeded project.

Nothing here comes from the connector: the sandbox is driven with plain HTTP and its seeding methods,
so a test of the sandbox fails only when the sandbox is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from q2c.sandboxes.harvest.account import SandboxAccount

ACCOUNT_ID = "100001"
TOKEN = "q2c-sandbox-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Harvest-Account-Id": ACCOUNT_ID,
           "User-Agent": "q2c tests (ops@example.com)"}


class Clock:
    """The sandbox's notion of now; tests move it to make `updated_at` differ."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Delivery:
    """A seeded project: one client, one project with a code, two tasks, two people."""

    client_id: int
    project_id: int
    design_task_id: int
    build_task_id: int
    ada_id: int
    grace_id: int


def seed_delivery(state: SandboxAccount) -> Delivery:
    client = state.create_client({"name": "Acme Corp", "currency": "USD"})
    project = state.create_project({"client_id": client["id"], "name": "Acme ERP rollout", "code": "PRJ-1",
                                    "is_billable": True, "bill_by": "Tasks", "budget_by": "none"})
    design = state.create_task({"name": "DESIGN", "default_hourly_rate": Decimal("180.00")})
    build = state.create_task({"name": "BUILD", "default_hourly_rate": Decimal("150.00")})
    state.assign_task(project["id"], {"task_id": design["id"]})
    state.assign_task(project["id"], {"task_id": build["id"], "billable": False})
    ada = state.add_user("Ada", "Lovelace", "Ada.Lovelace@Example.com", cost_rate=Decimal("70.00"))
    grace = state.add_user("Grace", "Hopper", "grace@example.com")
    state.assign_user(project["id"], {"user_id": ada["id"]})
    state.assign_user(project["id"], {"user_id": grace["id"]})
    return Delivery(client["id"], project["id"], design["id"], build["id"], ada["id"], grace["id"])


def log_time(state: SandboxAccount, delivery: Delivery, count: int, *, first_day: str = "2026-02-02",
             hours: str = "1.5") -> list[int]:
    """`count` entries over consecutive days, alternating people; returns their Harvest ids."""
    start = datetime.fromisoformat(first_day).date()
    ids = []
    for n in range(count):
        entry = state.create_time_entry({
            "project_id": delivery.project_id, "task_id": delivery.design_task_id,
            "user_id": delivery.ada_id if n % 2 == 0 else delivery.grace_id,
            "spent_date": (start + timedelta(days=n % 20)).isoformat(), "hours": Decimal(hours),
            "notes": f"entry {n}"})
        ids.append(entry["id"])
    return ids
