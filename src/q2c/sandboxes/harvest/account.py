"""The state of one sandboxed Harvest account: people, clients, projects, tasks, assignments, time entries.

Each kind of record has a module of its own (people, clients, projects, assignments, time_entries,
approvals); this class holds one of each for the account and is the one door to them. Every public
method takes the account lock, so the HTTP handlers and a test seeding the account from another
thread never see half an update; hold `lock` to read several things as of one instant.

Numbers are `Decimal` inside and plain JSON numbers on the wire. The admin operations (approve,
withdraw approval, invoice) stand in for a person working the Harvest web UI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from q2c.sandboxes.harvest import approvals, synthetic
from q2c.sandboxes.harvest.approvals import APPROVED_REASON, INVOICED_REASON, INVOICED_UNAPPROVED_REASON
from q2c.sandboxes.harvest.assignments import Assignments
from q2c.sandboxes.harvest.clients import Clients
from q2c.sandboxes.harvest.entry import EntryKey, TimeEntry
from q2c.sandboxes.harvest.entry_index import TimeEntryQuery
from q2c.sandboxes.harvest.entry_json import EntryJson
from q2c.sandboxes.harvest.errors import HarvestRefusal
from q2c.sandboxes.harvest.people import People
from q2c.sandboxes.harvest.projects import Projects
from q2c.sandboxes.harvest.stamps import Stamps
from q2c.sandboxes.harvest.time_entries import TimeSheet
from q2c.sandboxes.harvest.wire import Json, read_json

__all__ = ["APPROVED_REASON", "INVOICED_REASON", "INVOICED_UNAPPROVED_REASON", "HarvestRefusal", "SandboxAccount",
           "TimeEntryQuery"]

COLLECTIONS = ("users", "clients", "projects", "tasks", "task_assignments", "user_assignments")


def new_company() -> Json:
    """`GET /v2/company` of a fresh account: approvals and invoices on, decimal time, weeks from Monday."""
    return {
        "base_uri": "https://sandbox.harvestapp.com", "full_domain": "sandbox.harvestapp.com",
        "name": "Sandbox Consulting", "is_active": True, "week_start_day": "Monday",
        "wants_timestamp_timers": False, "time_format": "decimal", "date_format": "%Y-%m-%d",
        "plan_type": "sandbox", "clock": "24h", "currency_code_display": "iso_code_before",
        "currency_symbol_display": "symbol_before", "decimal_symbol": ".",
        "thousands_separator": ",", "color_scheme": "orange", "weekly_capacity": 144000,
        "expense_feature": False, "invoice_feature": True, "estimate_feature": False,
        "approval_feature": True, "team_feature": True, "saml_sign_in_required": False,
    }


class SandboxAccount:
    """Everything one Harvest account holds, plus the operations a person would do in the web UI."""

    def __init__(self, *, account_id: str = "100001", clock: Callable[[], datetime] | None = None) -> None:
        self.account_id = account_id
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self.reset()

    # --- lifecycle -----------------------------------------------------------------------------
    def reset(self) -> None:
        """An empty account with one administrator: the person the access token belongs to."""
        with self._lock:
            self._stamps = stamps = Stamps(lambda: self.clock())
            self._people = People(stamps)
            self._clients = Clients(stamps)
            self._projects = Projects(stamps, self._clients)
            self._assignments = Assignments(stamps, self._projects, self._people)
            self._sheet = TimeSheet(stamps, self._people, self._projects, self._assignments)
            self._json = EntryJson(self._people, self._clients, self._projects, self._assignments)
            self.company: Json = new_company()
            self.me_id: int = self._people.add("Sandbox", "Administrator", "admin@sandbox.example",
                                               access_roles=["administrator"])["id"]

    @property
    def lock(self) -> threading.RLock:
        """Held by every method here; hold it to read several things as of one instant."""
        return self._lock

    def rows(self, kind: str) -> list[Json]:
        """A snapshot of one collection ("users", "clients", "projects", "tasks", "task_assignments",
        "user_assignments"), safe against a concurrent writer."""
        if kind not in COLLECTIONS:
            raise ValueError(f"no collection {kind!r}")
        with self._lock:
            collection: dict[int, Json] = getattr(self, kind)
            return list(collection.values())

    # --- the collections, by id ------------------------------------------------------------------
    @property
    def users(self) -> dict[int, Json]:
        return self._people.users

    @property
    def clients(self) -> dict[int, Json]:
        return self._clients.clients

    @property
    def projects(self) -> dict[int, Json]:
        return self._projects.projects

    @property
    def tasks(self) -> dict[int, Json]:
        return self._projects.tasks

    @property
    def task_assignments(self) -> dict[int, Json]:
        return self._assignments.task_assignments

    @property
    def user_assignments(self) -> dict[int, Json]:
        return self._assignments.user_assignments

    @property
    def _entries(self) -> dict[int, TimeEntry]:
        """The entries by id; one changed in place needs `cached = None` and `version += 1` to be seen."""
        return self._sheet.entries

    @property
    def version(self) -> int:
        """Moves on with every change to a time entry; the listing's cached views follow it."""
        return self._sheet.version

    @version.setter
    def version(self, value: int) -> None:
        self._sheet.version = value

    # --- people, clients, projects, tasks, assignments -------------------------------------------
    def add_user(self, first_name: str, last_name: str, email: str, *, is_active: bool = True,
                 is_contractor: bool = False, default_hourly_rate: Decimal | None = None,
                 cost_rate: Decimal | None = None, access_roles: Iterable[str] = ("member",),
                 timezone: str = "Etc/UTC", roles: Iterable[str] = ()) -> Json:
        with self._lock:
            return self._people.add(first_name, last_name, email, is_active=is_active, is_contractor=is_contractor,
                                    default_hourly_rate=default_hourly_rate, cost_rate=cost_rate,
                                    access_roles=access_roles, timezone=timezone, roles=roles)

    def create_user(self, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._people.create(body)

    def user(self, user_id: int) -> Json:
        with self._lock:
            return self._people.get(user_id)

    def set_access_roles(self, user_id: int, roles: Iterable[str]) -> Json:
        """Change a person's permissions (the token's own user is `me_id`)."""
        with self._lock:
            return self._referenced(self._people.set_access_roles(user_id, roles))

    @property
    def me(self) -> Json:
        """The access token's user."""
        return self._people.users[self.me_id]

    def create_client(self, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._clients.create(body)

    def update_client(self, client_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._referenced(self._clients.update(client_id, body))

    def client(self, client_id: int) -> Json:
        with self._lock:
            return self._clients.get(client_id)

    def create_project(self, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._projects.create_project(body)

    def update_project(self, project_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._referenced(self._projects.update_project(project_id, body))

    def project(self, project_id: int) -> Json:
        with self._lock:
            return self._projects.project(project_id)

    def create_task(self, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._projects.create_task(body)

    def update_task(self, task_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._referenced(self._projects.update_task(task_id, body))

    def task(self, task_id: int) -> Json:
        with self._lock:
            return self._projects.task(task_id)

    def assign_task(self, project_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._assignments.assign_task(project_id, body)

    def update_task_assignment(self, project_id: int, assignment_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._referenced(self._assignments.update_task_assignment(project_id, assignment_id, body))

    def assign_user(self, project_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._assignments.assign_user(project_id, body)

    def update_user_assignment(self, project_id: int, assignment_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self._referenced(self._assignments.update_user_assignment(project_id, assignment_id, body))

    def _referenced(self, changed: Json) -> Json:
        """`changed` may be embedded in time entries: their cached JSON is stale."""
        self._json.references_changed()
        return changed

    # --- time entries: reading -------------------------------------------------------------------
    def time_entry_json(self, entry_id: int) -> bytes:
        with self._lock:
            return self._json.render(self._sheet.entry(entry_id))

    def time_entry(self, entry_id: int) -> Json:
        """The entry as Harvest sends it (a parsed copy; numbers with a fraction as Decimal)."""
        parsed: Json = read_json(self.time_entry_json(entry_id))
        return parsed

    def time_entry_ids(self) -> list[int]:
        with self._lock:
            return [e.id for e in self._sheet.index.order]

    @property
    def time_entry_count(self) -> int:
        return len(self._sheet.index.order)

    def list_time_entries(self, query: TimeEntryQuery, start: int, end: int) -> tuple[list[bytes], int]:
        """Rendered entries [start:end) of the filtered view, and the view's size."""
        with self._lock:
            entries, _ = self._sheet.view(query)
            return [self._json.render(e) for e in entries[start:end]], len(entries)

    def time_entry_keys(self, query: TimeEntryQuery) -> Sequence[EntryKey]:
        """The listing keys (entry.listing_key) of every entry the filters let through, in listing order."""
        with self._lock:
            return self._sheet.view(query)[1]

    # --- time entries: writing -------------------------------------------------------------------
    def create_time_entry(self, body: Mapping[str, Any]) -> Json:
        with self._lock:
            entry = self._sheet.create(body, default_user_id=self.me_id)
            return self.time_entry(entry.id)

    def update_time_entry(self, entry_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            return self.time_entry(self._sheet.update(entry_id, body).id)

    def delete_time_entry(self, entry_id: int) -> None:
        """As the token's owner: an administrator may delete approved time."""
        with self._lock:
            roles = self._people.users[self.me_id]["access_roles"]
            self._sheet.delete(entry_id, by_administrator="administrator" in roles)

    # --- what a person does in the web UI, and synthetic load ------------------------------------
    def approve(self, ids: Iterable[int] | None = None, *, all_submitted: bool = False) -> list[int]:
        """Approve entries (a manager approving timesheets): closed and locked for the period."""
        with self._lock:
            return approvals.approve(self._sheet, self._stamps, ids, all_submitted=all_submitted)

    def withdraw_approval(self, ids: Iterable[int]) -> list[int]:
        """Unapprove (reopen) entries; invoiced entries stay locked, as in Harvest."""
        with self._lock:
            return approvals.withdraw_approval(self._sheet, self._stamps, ids)

    def mark_invoiced(self, ids: Iterable[int], *, number: str | None = None) -> Json:
        """Put entries on a Harvest invoice: billed, and locked with the invoiced reason."""
        with self._lock:
            return approvals.mark_invoiced(self._sheet, self._stamps, ids, number=number)

    def generate_time_entries(self, count: int, *, people: int = 20, projects: int = 10,
                              start: date = date(2024, 1, 1), days: int = 365, approved_share: float = 0.0,
                              seed: int = 0) -> Json:
        """Add `count` plausible entries fast (benchmarks); see `synthetic.generate`."""
        with self._lock:
            return synthetic.generate(self, self._sheet, self._stamps, count, people=people, projects=projects,
                                      start=start, days=days, approved_share=approved_share, seed=seed)
