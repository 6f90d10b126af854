"""Synthetic load for benchmarks: many plausible time entries added at once.

The people, client, projects, task and assignments are found or created through the account's
ordinary operations, as a script seeding a real account would; only the entries skip the
one-by-one path, so 100,000 of them take a second rather than minutes. The same seed gives the
same entries.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from q2c.sandboxes.harvest.approvals import APPROVED_REASON
from q2c.sandboxes.harvest.entry import TimeEntry
from q2c.sandboxes.harvest.errors import HarvestRefusal
from q2c.sandboxes.harvest.stamps import Stamps
from q2c.sandboxes.harvest.time_entries import TimeSheet, rates_for
from q2c.sandboxes.harvest.wire import Json

if TYPE_CHECKING:
    from q2c.sandboxes.harvest.account import SandboxAccount

CLIENT_NAME = "Synthetic Client"
TASK_NAME = "Delivery"
HOUR_CHOICES = [(Decimal(q) / 4).quantize(Decimal("0.01")) for q in range(1, 33)]  # 0.25 .. 8.00

# (project, task assignment, user assignment, user): where a synthetic entry can be booked
Slot = tuple[Json, Json, Json, Json]


def generate(account: SandboxAccount, sheet: TimeSheet, stamps: Stamps, count: int, *, people: int = 20,
             projects: int = 10, start: date = date(2024, 1, 1), days: int = 365, approved_share: float = 0.0,
             seed: int = 0) -> Json:
    """Add `count` entries: one client, `projects` projects with codes SYN-0001.., one task, `people`
    people assigned to every project; reuses what an earlier run made. `approved_share` of them approved."""
    if count < 0 or people < 1 or projects < 1 or days < 1 or not 0.0 <= approved_share <= 1.0:
        raise HarvestRefusal("count >= 0, people >= 1, projects >= 1, days >= 1, 0 <= approved_share <= 1")
    rng = random.Random(seed)
    client = _client(account)
    task = _task(account)
    user_ids = [_person(account, n)["id"] for n in range(1, people + 1)]
    slots = [slot for n in range(1, projects + 1) for slot in _slots(account, client, task, n, user_ids)]
    fresh = _entries(stamps, rng, slots, task["id"], count, [(start + timedelta(days=d)).isoformat()
                                                             for d in range(days)], approved_share)
    for entry in fresh:
        sheet.entries[entry.id] = entry
    sheet.index.extend(fresh)
    sheet.version += 1
    return {"created": count, "time_entries": len(sheet.index.order),
            "project_codes": sorted({slot[0]["code"] for slot in slots}), "user_ids": user_ids}


def _client(account: SandboxAccount) -> Json:
    found = next((c for c in account.clients.values() if c["name"] == CLIENT_NAME), None)
    return found or account.create_client({"name": CLIENT_NAME, "currency": "USD"})


def _task(account: SandboxAccount) -> Json:
    found = next((t for t in account.tasks.values() if t["name"] == TASK_NAME), None)
    return found or account.create_task({"name": TASK_NAME, "default_hourly_rate": Decimal(150)})


def _person(account: SandboxAccount, n: int) -> Json:
    email = f"person{n:04d}@synthetic.example"
    found = next((u for u in account.users.values() if u["email"] == email), None)
    return found or account.add_user("Person", f"{n:04d}", email, cost_rate=Decimal(60))


def _slots(account: SandboxAccount, client: Json, task: Json, n: int, user_ids: list[int]) -> list[Slot]:
    """Project SYN-<n> with the task and every person assigned to it."""
    code = f"SYN-{n:04d}"
    project = next((p for p in account.projects.values() if p["code"] == code), None)
    if project is None:
        project = account.create_project({"client_id": client["id"], "name": f"Synthetic project {n}",
                                          "code": code, "is_billable": True, "bill_by": "Tasks",
                                          "budget_by": "none"})
    project_id = project["id"]
    task_assignment = next((a for a in account.task_assignments.values()
                            if a["project"]["id"] == project_id and a["task"]["id"] == task["id"]), None)
    task_assignment = task_assignment or account.assign_task(project_id, {"task_id": task["id"]})
    slots = []
    for user_id in user_ids:
        user_assignment = next((a for a in account.user_assignments.values()
                                if a["project"]["id"] == project_id and a["user"]["id"] == user_id), None)
        user_assignment = user_assignment or account.assign_user(project_id, {"user_id": user_id})
        slots.append((project, task_assignment, user_assignment, account.users[user_id]))
    return slots


def _entries(stamps: Stamps, rng: random.Random, slots: list[Slot], task_id: int, count: int,
             day_texts: list[str], approved_share: float) -> list[TimeEntry]:
    now, now_text = stamps.now()
    rated = [(slot, *rates_for(*slot)) for slot in slots]
    fresh = []
    for n in range(count):
        (project, task_assignment, user_assignment, user), billable, rate, cost = rated[rng.randrange(len(rated))]
        entry = TimeEntry(stamps.new_id("time_entry"), day_texts[rng.randrange(len(day_texts))], user["id"],
                          project["id"], task_id, user_assignment["id"], task_assignment["id"],
                          HOUR_CHOICES[rng.randrange(32)], f"Synthetic work item {n + 1}", billable, rate,
                          cost, now, now_text)
        if approved_share and rng.random() < approved_share:
            entry.is_closed = True
            entry.is_locked = True
            entry.locked_reason = APPROVED_REASON
        fresh.append(entry)
    return fresh
