"""The story's time in a Harvest account: people added, time logged on the project q2c set up (a person
added to it by hand when they are not yet assigned, as a manager would), approved and corrected."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.kit import Sandbox


def _account(box: Sandbox) -> HarvestSandbox:
    assert isinstance(box, HarvestSandbox), f"{box.name} is not the Harvest sandbox"
    return box


class HarvestScenario:
    def person(self, box: Sandbox, *, first: str, last: str, email: str) -> str:
        return str(_account(box).state.add_user(first, last, email)["id"])

    def log_time(self, box: Sandbox, *, person: str, project_code: str, task: str, day: str, hours: Decimal,
                 notes: str = "") -> str:
        state = _account(box).state
        project = next(p for p in state.projects.values() if p["code"].startswith(project_code))
        found = next((t for t in state.tasks.values() if t["name"] == task), None)
        if found is None:  # a task the project did not have: added in Harvest by hand
            found = state.create_task({"name": task, "billable_by_default": True})
            state.assign_task(project["id"], {"task_id": found["id"]})
        user_id = int(person)
        if not any(a["project"]["id"] == project["id"] and a["user"]["id"] == user_id
                   for a in state.user_assignments.values()):
            state.assign_user(project["id"], {"user_id": user_id})
        entry = state.create_time_entry({"project_id": project["id"], "task_id": found["id"], "spent_date": day,
                                         "hours": hours, "user_id": user_id, "notes": notes})
        return str(entry["id"])

    def approve(self, box: Sandbox, entries: Sequence[str]) -> None:
        _account(box).state.approve([int(e) for e in entries])

    def correct(self, box: Sandbox, entry: str, hours: Decimal) -> None:
        state = _account(box).state
        state.withdraw_approval([int(entry)])
        state.update_time_entry(int(entry), {"hours": hours})
        state.approve([int(entry)])

    def projects(self, box: Sandbox, *, code_prefix: str) -> int:
        return sum(1 for p in _account(box).state.projects.values() if p["code"].startswith(code_prefix))
