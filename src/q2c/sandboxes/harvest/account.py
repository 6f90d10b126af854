"""The state of one sandboxed Harvest account: people, clients, projects, tasks, assignments, time entries.

Harvest v2 has no approval endpoints: approval shows only as `is_closed`, `is_locked` and
`locked_reason` on the entries. The admin operations here (approve, withdraw approval, invoice)
stand in for a person working the Harvest web UI.

Time entries are kept in one list sorted by (spent_date, id), each with its JSON rendered once
and cached, so a page of 2,000 entries is a join of cached bytes and a 100,000-entry account
lists in well under a second. Numbers are `Decimal` inside and plain JSON numbers on the wire.
Every public method takes the account lock: the HTTP handlers and a test seeding the account
from another thread never see half an update.
"""

from __future__ import annotations

import json
import random
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from q2c.domain.money import check_currency, to_decimal

APPROVED_REASON = "Item Approved and Locked for this Time Period"
INVOICED_REASON = "Item Invoiced and Approved and Locked for this Time Period"
INVOICED_UNAPPROVED_REASON = "Item Invoiced and Locked for this Time Period"

BILL_BY = ("Project", "Tasks", "People", "none")
BUDGET_BY = ("project", "project_cost", "task", "task_fees", "person", "none")
MAX_HOURS = Decimal(24)
_HUNDREDTH = Decimal("0.01")
_QUARTER = Decimal(4)

Json = dict[str, Any]


class HarvestRefusal(Exception):
    """What Harvest answers with `{"message": ...}`: 422 for validation, 404 for an unknown id."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NotFound(HarvestRefusal):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found", 404)


# --- JSON rendering ---------------------------------------------------------------------------


def render(value: Any) -> str:
    """JSON text for sandbox values; `Decimal` becomes a JSON number without passing through float."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(render(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def stamp(moment: datetime) -> str:
    """Harvest's timestamp form: UTC, whole seconds, 'Z'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rounded_hours(hours: Decimal) -> Decimal:
    """The company's time rounding: up to the next quarter hour (Harvest's common setting)."""
    return ((hours * _QUARTER).to_integral_value(rounding=ROUND_CEILING) / _QUARTER).quantize(_HUNDREDTH)


# --- input parsing (the messages are Harvest-style full sentences) ----------------------------


def _label(field: str) -> str:
    text = field[:-3] if field.endswith("_id") else field
    return text.replace("_", " ").capitalize()


def _required(body: Mapping[str, Any], field: str) -> Any:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise HarvestRefusal(f"{_label(field)} can't be blank")
    return value


def _as_int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise HarvestRefusal(f"{_label(field)} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise HarvestRefusal(f"{_label(field)} is not a number")


def _as_decimal(value: Any, field: str) -> Decimal:
    try:
        return to_decimal(value, what=field)
    except ValueError:
        raise HarvestRefusal(f"{_label(field)} is not a number") from None


def _as_optional_decimal(value: Any, field: str) -> Decimal | None:
    return None if value is None or value == "" else _as_decimal(value, field)


def _as_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0):
        return False
    raise HarvestRefusal(f"{_label(field)} must be true or false")


def _as_date(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise HarvestRefusal(f"{_label(field)} is not a valid date")


def _as_optional_date(value: Any, field: str) -> date | None:
    return None if value is None or value == "" else _as_date(value, field)


def _as_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise HarvestRefusal(f"{_label(field)} must be text")
    return value


def _clock_time(value: Any, field: str) -> int:
    """'8:00am' / '17:30' -> minutes after midnight."""
    if not isinstance(value, str):
        raise HarvestRefusal(f"{_label(field)} is not a valid time")
    text = value.strip().lower()
    suffix = text[-2:] if text.endswith(("am", "pm")) else ""
    core = text[:-2].strip() if suffix else text
    try:
        hour_text, minute_text = core.split(":") if ":" in core else (core, "0")
        hour, minute = int(hour_text), int(minute_text)
    except ValueError:
        raise HarvestRefusal(f"{_label(field)} is not a valid time") from None
    if suffix:
        if not 1 <= hour <= 12:
            raise HarvestRefusal(f"{_label(field)} is not a valid time")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise HarvestRefusal(f"{_label(field)} is not a valid time")
    return hour * 60 + minute


# --- time entries ------------------------------------------------------------------------------


class _Entry:
    """One time entry. `key` orders the account's list; `cached` holds the rendered JSON."""

    __slots__ = ("billable", "billable_rate", "cached", "cached_ref", "cost_rate", "created_at",
                 "ended_time", "external_reference", "hours", "id", "invoice", "is_billed", "is_closed",
                 "is_locked", "is_running", "key", "locked_reason", "notes", "project_id", "spent_date",
                 "started_time", "task_assignment_id", "task_id", "timer_started_at", "updated",
                 "updated_at", "user_assignment_id", "user_id")

    def __init__(self, entry_id: int, spent_date: str, user_id: int, project_id: int, task_id: int,
                 user_assignment_id: int, task_assignment_id: int, hours: Decimal, notes: str | None,
                 billable: bool, billable_rate: Decimal | None, cost_rate: Decimal | None,
                 now: datetime, now_text: str) -> None:
        self.id = entry_id
        self.spent_date = spent_date
        self.key = (spent_date, entry_id)
        self.user_id = user_id
        self.project_id = project_id
        self.task_id = task_id
        self.user_assignment_id = user_assignment_id
        self.task_assignment_id = task_assignment_id
        self.hours = hours
        self.notes = notes
        self.billable = billable
        self.billable_rate = billable_rate
        self.cost_rate = cost_rate
        self.is_locked = False
        self.locked_reason: str | None = None
        self.is_closed = False
        self.is_billed = False
        self.invoice: Json | None = None
        self.external_reference: Json | None = None
        self.started_time: str | None = None
        self.ended_time: str | None = None
        self.is_running = False
        self.timer_started_at: str | None = None
        self.created_at = now_text
        self.updated_at = now_text
        self.updated = now
        self.cached: bytes | None = None
        self.cached_ref = -1

    def touch(self, now: datetime, now_text: str) -> None:
        self.updated = now
        self.updated_at = now_text
        self.cached = None


class TimeEntryQuery:
    """The filters of `GET /time_entries`, hashable so a filtered view can be cached."""

    __slots__ = ("client_id", "external_reference_id", "is_billed", "is_running", "project_id",
                 "spent_from", "spent_to", "task_id", "updated_since", "user_id")

    def __init__(self, *, user_id: int | None = None, client_id: int | None = None,
                 project_id: int | None = None, task_id: int | None = None,
                 external_reference_id: str | None = None, is_billed: bool | None = None,
                 is_running: bool | None = None, updated_since: datetime | None = None,
                 spent_from: date | None = None, spent_to: date | None = None) -> None:
        self.user_id = user_id
        self.client_id = client_id
        self.project_id = project_id
        self.task_id = task_id
        self.external_reference_id = external_reference_id
        self.is_billed = is_billed
        self.is_running = is_running
        self.updated_since = updated_since
        self.spent_from = spent_from
        self.spent_to = spent_to

    def signature(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)


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
            self.users: dict[int, Json] = {}
            self.clients: dict[int, Json] = {}
            self.projects: dict[int, Json] = {}
            self.tasks: dict[int, Json] = {}
            self.task_assignments: dict[int, Json] = {}
            self.user_assignments: dict[int, Json] = {}
            self._entries: dict[int, _Entry] = {}
            self._order: list[_Entry] = []
            self._keys: list[tuple[str, int]] = []
            self._views: dict[tuple[Any, ...], tuple[list[_Entry], list[tuple[str, int]]]] = {}
            self._views_version = -1
            self.version = 0  # bumped on every time entry change
            self._ref_version = 0  # bumped when anything a time entry embeds changes
            self._fragments: dict[tuple[str, int], str] = {}
            self._next_id = {"user": 2_000_001, "client": 3_000_001, "project": 4_000_001,
                             "task": 5_000_001, "task_assignment": 6_000_001,
                             "user_assignment": 7_000_001, "time_entry": 900_000_001, "invoice": 8_000_001}
            self.company: Json = {
                "base_uri": "https://sandbox.harvestapp.com", "full_domain": "sandbox.harvestapp.com",
                "name": "Sandbox Consulting", "is_active": True, "week_start_day": "Monday",
                "wants_timestamp_timers": False, "time_format": "decimal", "date_format": "%Y-%m-%d",
                "plan_type": "sandbox", "clock": "24h", "currency_code_display": "iso_code_before",
                "currency_symbol_display": "symbol_before", "decimal_symbol": ".",
                "thousands_separator": ",", "color_scheme": "orange", "weekly_capacity": 144000,
                "expense_feature": False, "invoice_feature": True, "estimate_feature": False,
                "approval_feature": True, "team_feature": True, "saml_sign_in_required": False,
            }
            self.me_id = self.add_user("Sandbox", "Administrator", "admin@sandbox.example",
                                       access_roles=["administrator"])["id"]

    @property
    def lock(self) -> threading.RLock:
        """Held by every method here; hold it to read several things as of one instant."""
        return self._lock

    def rows(self, kind: str) -> list[Json]:
        """A snapshot of one collection ("users", "clients", "projects", "tasks", "task_assignments",
        "user_assignments"), safe against a concurrent writer."""
        if kind not in ("users", "clients", "projects", "tasks", "task_assignments", "user_assignments"):
            raise ValueError(f"no collection {kind!r}")
        with self._lock:
            collection: dict[int, Json] = getattr(self, kind)
            return list(collection.values())

    def _new_id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] = value + 1
        return value

    def _now(self) -> tuple[datetime, str]:
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        return now, stamp(now)

    def _references_changed(self) -> None:
        self._ref_version += 1
        self._fragments.clear()

    # --- people, clients, projects, tasks ------------------------------------------------------
    def add_user(self, first_name: str, last_name: str, email: str, *, is_active: bool = True,
                 is_contractor: bool = False, default_hourly_rate: Decimal | None = None,
                 cost_rate: Decimal | None = None, access_roles: Iterable[str] = ("member",),
                 timezone: str = "Etc/UTC") -> Json:
        with self._lock:
            email = _as_text(email, "email").strip()
            if "@" not in email:
                raise HarvestRefusal("Email is invalid")
            if any(u["email"].lower() == email.lower() for u in self.users.values()):
                raise HarvestRefusal("Email has already been taken")
            _, now_text = self._now()
            user: Json = {
                "id": self._new_id("user"), "first_name": first_name, "last_name": last_name,
                "email": email, "telephone": "", "timezone": timezone,
                "has_access_to_all_future_projects": False, "is_contractor": is_contractor,
                "is_active": is_active, "weekly_capacity": 144000,
                "default_hourly_rate": default_hourly_rate, "cost_rate": cost_rate,
                "roles": [], "access_roles": list(access_roles), "avatar_url": None,
                "created_at": now_text, "updated_at": now_text,
            }
            self.users[user["id"]] = user
            return user

    def create_user(self, body: Mapping[str, Any]) -> Json:
        return self.add_user(
            _as_text(_required(body, "first_name"), "first_name"),
            _as_text(_required(body, "last_name"), "last_name"),
            _as_text(_required(body, "email"), "email"),
            is_contractor=_as_bool(body.get("is_contractor", False), "is_contractor"),
            is_active=_as_bool(body.get("is_active", True), "is_active"),
            default_hourly_rate=_as_optional_decimal(body.get("default_hourly_rate"), "default_hourly_rate"),
            cost_rate=_as_optional_decimal(body.get("cost_rate"), "cost_rate"),
            access_roles=body.get("access_roles") or ("member",),
        )

    def user(self, user_id: int) -> Json:
        with self._lock:
            if user_id not in self.users:
                raise NotFound("User")
            return self.users[user_id]

    def create_client(self, body: Mapping[str, Any]) -> Json:
        with self._lock:
            name = _as_text(_required(body, "name"), "name").strip()
            if any(c["name"].lower() == name.lower() for c in self.clients.values()):
                raise HarvestRefusal("Name has already been taken")
            currency = body.get("currency") or "USD"
            try:
                currency = check_currency(currency)
            except ValueError:
                raise HarvestRefusal("Currency is not included in the list") from None
            _, now_text = self._now()
            client: Json = {
                "id": self._new_id("client"), "name": name,
                "is_active": _as_bool(body.get("is_active", True), "is_active"),
                "address": body.get("address"), "statement_key": f"sk{len(self.clients) + 1:08d}",
                "currency": currency, "created_at": now_text, "updated_at": now_text,
            }
            self.clients[client["id"]] = client
            return client

    def update_client(self, client_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            client = self.client(client_id)
            if "name" in body:
                name = _as_text(_required(body, "name"), "name").strip()
                if any(c["name"].lower() == name.lower() and c["id"] != client_id
                       for c in self.clients.values()):
                    raise HarvestRefusal("Name has already been taken")
                client["name"] = name
            if "is_active" in body:
                client["is_active"] = _as_bool(body["is_active"], "is_active")
            if "address" in body:
                client["address"] = body["address"]
            client["updated_at"] = self._now()[1]
            self._references_changed()
            return client

    def client(self, client_id: int) -> Json:
        with self._lock:
            if client_id not in self.clients:
                raise NotFound("Client")
            return self.clients[client_id]

    def _project_fields(self, body: Mapping[str, Any], project: Json) -> None:
        if "client_id" in body:
            client_id = _as_int(_required(body, "client_id"), "client_id")
            if client_id not in self.clients:
                raise HarvestRefusal("Client must exist")
            client = self.clients[client_id]
            project["client"] = {"id": client_id, "name": client["name"], "currency": client["currency"]}
        if "name" in body:
            project["name"] = _as_text(_required(body, "name"), "name").strip()
        if "code" in body:
            project["code"] = None if body["code"] is None else _as_text(body["code"], "code").strip()
        for flag in ("is_active", "is_billable", "is_fixed_fee", "budget_is_monthly", "notify_when_over_budget",
                     "show_budget_to_all"):
            if flag in body:
                project[flag] = _as_bool(body[flag], flag)
        if "bill_by" in body:
            if body["bill_by"] not in BILL_BY:
                raise HarvestRefusal(f"Bill by is not included in the list ({', '.join(BILL_BY)})")
            project["bill_by"] = body["bill_by"]
        if "budget_by" in body:
            if body["budget_by"] not in BUDGET_BY:
                raise HarvestRefusal(f"Budget by is not included in the list ({', '.join(BUDGET_BY)})")
            project["budget_by"] = body["budget_by"]
        for amount in ("hourly_rate", "budget", "cost_budget", "fee", "over_budget_notification_percentage"):
            if amount in body:
                value = _as_optional_decimal(body[amount], amount)
                if value is not None and value < 0:
                    raise HarvestRefusal(f"{_label(amount)} must be greater than or equal to 0")
                project[amount] = value
        for day in ("starts_on", "ends_on"):
            if day in body:
                parsed = _as_optional_date(body[day], day)
                project[day] = None if parsed is None else parsed.isoformat()
        if "notes" in body:
            project["notes"] = body["notes"]
        if project["starts_on"] and project["ends_on"] and project["ends_on"] < project["starts_on"]:
            raise HarvestRefusal("Ends on must be on or after the start date")

    def create_project(self, body: Mapping[str, Any]) -> Json:
        with self._lock:
            for field in ("client_id", "name", "is_billable", "bill_by", "budget_by"):
                _required(body, field)
            _, now_text = self._now()
            project: Json = {
                "id": 0, "client": None, "name": "", "code": None, "is_active": True, "is_billable": True,
                "is_fixed_fee": False, "bill_by": "none", "hourly_rate": None, "budget_by": "none",
                "budget": None, "budget_is_monthly": False, "notify_when_over_budget": False,
                "over_budget_notification_percentage": Decimal(80), "show_budget_to_all": False,
                "cost_budget": None, "cost_budget_include_expenses": False, "fee": None, "notes": None,
                "starts_on": None, "ends_on": None, "created_at": now_text, "updated_at": now_text,
            }
            self._project_fields(body, project)
            project["id"] = self._new_id("project")
            self.projects[project["id"]] = project
            return project

    def update_project(self, project_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            project = self.project(project_id)
            draft = dict(project)
            self._project_fields(body, draft)
            draft["updated_at"] = self._now()[1]
            project.update(draft)
            self._references_changed()
            return project

    def project(self, project_id: int) -> Json:
        with self._lock:
            if project_id not in self.projects:
                raise NotFound("Project")
            return self.projects[project_id]

    def create_task(self, body: Mapping[str, Any]) -> Json:
        with self._lock:
            name = _as_text(_required(body, "name"), "name").strip()
            if any(t["name"].lower() == name.lower() for t in self.tasks.values()):
                raise HarvestRefusal("Name has already been taken")
            _, now_text = self._now()
            task: Json = {
                "id": self._new_id("task"), "name": name,
                "billable_by_default": _as_bool(body.get("billable_by_default", True), "billable_by_default"),
                "default_hourly_rate": _as_optional_decimal(body.get("default_hourly_rate"),
                                                            "default_hourly_rate"),
                "is_default": _as_bool(body.get("is_default", False), "is_default"),
                "is_active": _as_bool(body.get("is_active", True), "is_active"),
                "created_at": now_text, "updated_at": now_text,
            }
            self.tasks[task["id"]] = task
            return task

    def update_task(self, task_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            task = self.task(task_id)
            if "name" in body:
                name = _as_text(_required(body, "name"), "name").strip()
                if any(t["name"].lower() == name.lower() and t["id"] != task_id for t in self.tasks.values()):
                    raise HarvestRefusal("Name has already been taken")
                task["name"] = name
            for flag in ("billable_by_default", "is_default", "is_active"):
                if flag in body:
                    task[flag] = _as_bool(body[flag], flag)
            if "default_hourly_rate" in body:
                task["default_hourly_rate"] = _as_optional_decimal(body["default_hourly_rate"],
                                                                   "default_hourly_rate")
            task["updated_at"] = self._now()[1]
            self._references_changed()
            return task

    def task(self, task_id: int) -> Json:
        with self._lock:
            if task_id not in self.tasks:
                raise NotFound("Task")
            return self.tasks[task_id]

    # --- assignments ----------------------------------------------------------------------------
    def assign_task(self, project_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            project = self.project(project_id)
            task_id = _as_int(_required(body, "task_id"), "task_id")
            if task_id not in self.tasks:
                raise HarvestRefusal("Task must exist")
            if any(a["project"]["id"] == project_id and a["task"]["id"] == task_id
                   for a in self.task_assignments.values()):
                raise HarvestRefusal("Task has already been assigned to this project")
            task = self.tasks[task_id]
            _, now_text = self._now()
            assignment: Json = {
                "id": self._new_id("task_assignment"),
                "project": {"id": project_id, "name": project["name"], "code": project["code"]},
                "task": {"id": task_id, "name": task["name"]},
                "is_active": _as_bool(body.get("is_active", True), "is_active"),
                "billable": _as_bool(body.get("billable", task["billable_by_default"]), "billable"),
                "hourly_rate": _as_optional_decimal(body.get("hourly_rate", task["default_hourly_rate"]),
                                                    "hourly_rate"),
                "budget": _as_optional_decimal(body.get("budget"), "budget"),
                "created_at": now_text, "updated_at": now_text,
            }
            self.task_assignments[assignment["id"]] = assignment
            return assignment

    def update_task_assignment(self, project_id: int, assignment_id: int, body: Mapping[str, Any]) -> Json:
        return self._update_assignment(self.task_assignments, "Task assignment", project_id, assignment_id, body,
                                       flags=("is_active", "billable"))

    def _update_assignment(self, table: dict[int, Json], label: str, project_id: int, assignment_id: int,
                           body: Mapping[str, Any], *, flags: tuple[str, ...]) -> Json:
        """PATCH of a task or user assignment: the given flags and amounts, nothing else."""
        with self._lock:
            assignment = table.get(assignment_id)
            if assignment is None or assignment["project"]["id"] != project_id:
                raise NotFound(label)
            for flag in flags:
                if flag in body:
                    assignment[flag] = _as_bool(body[flag], flag)
            for amount in ("hourly_rate", "budget"):
                if amount in body:
                    assignment[amount] = _as_optional_decimal(body[amount], amount)
            assignment["updated_at"] = self._now()[1]
            self._references_changed()
            return assignment

    def assign_user(self, project_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            project = self.project(project_id)
            user_id = _as_int(_required(body, "user_id"), "user_id")
            if user_id not in self.users:
                raise HarvestRefusal("User must exist")
            if any(a["project"]["id"] == project_id and a["user"]["id"] == user_id
                   for a in self.user_assignments.values()):
                raise HarvestRefusal("User has already been assigned to this project")
            user = self.users[user_id]
            _, now_text = self._now()
            assignment: Json = {
                "id": self._new_id("user_assignment"),
                "project": {"id": project_id, "name": project["name"], "code": project["code"]},
                "user": {"id": user_id, "name": f"{user['first_name']} {user['last_name']}"},
                "is_active": _as_bool(body.get("is_active", True), "is_active"),
                "is_project_manager": _as_bool(body.get("is_project_manager", False), "is_project_manager"),
                "use_default_rates": body.get("hourly_rate") is None,
                "hourly_rate": _as_optional_decimal(body.get("hourly_rate", user["default_hourly_rate"]),
                                                    "hourly_rate"),
                "budget": _as_optional_decimal(body.get("budget"), "budget"),
                "created_at": now_text, "updated_at": now_text,
            }
            self.user_assignments[assignment["id"]] = assignment
            return assignment

    def update_user_assignment(self, project_id: int, assignment_id: int, body: Mapping[str, Any]) -> Json:
        return self._update_assignment(self.user_assignments, "User assignment", project_id, assignment_id, body,
                                       flags=("is_active", "is_project_manager", "use_default_rates"))

    def _assignments_for(self, project_id: int, user_id: int, task_id: int) -> tuple[Json, Json]:
        task_assignment = next((a for a in self.task_assignments.values()
                                if a["project"]["id"] == project_id and a["task"]["id"] == task_id), None)
        if task_assignment is None or not task_assignment["is_active"]:
            raise HarvestRefusal("Task must be assigned to the project")
        user_assignment = next((a for a in self.user_assignments.values()
                                if a["project"]["id"] == project_id and a["user"]["id"] == user_id), None)
        if user_assignment is None or not user_assignment["is_active"]:
            raise HarvestRefusal("User must be assigned to the project")
        return task_assignment, user_assignment

    # --- time entries: reading ------------------------------------------------------------------
    def _fragment(self, kind: str, ident: int) -> str:
        key = (kind, ident)
        text = self._fragments.get(key)
        if text is not None:
            return text
        if kind == "user":
            user = self.users[ident]
            text = render({"id": ident, "name": f"{user['first_name']} {user['last_name']}"})
        elif kind == "client":
            client = self.clients[ident]
            text = render({"id": ident, "name": client["name"], "currency": client["currency"]})
        elif kind == "project":
            project = self.projects[ident]
            text = render({"id": ident, "name": project["name"], "code": project["code"]})
        elif kind == "task":
            text = render({"id": ident, "name": self.tasks[ident]["name"]})
        elif kind == "user_assignment":
            a = self.user_assignments[ident]
            text = render({"id": ident, "is_project_manager": a["is_project_manager"], "is_active": a["is_active"],
                           "budget": a["budget"], "created_at": a["created_at"], "updated_at": a["updated_at"],
                           "hourly_rate": a["hourly_rate"]})
        else:
            a = self.task_assignments[ident]
            text = render({"id": ident, "billable": a["billable"], "is_active": a["is_active"],
                           "created_at": a["created_at"], "updated_at": a["updated_at"],
                           "hourly_rate": a["hourly_rate"], "budget": a["budget"]})
        self._fragments[key] = text
        return text

    def _entry_json(self, e: _Entry) -> bytes:
        if e.cached is not None and e.cached_ref == self._ref_version:
            return e.cached
        fragment = self._fragment
        client_id = self.projects[e.project_id]["client"]["id"]
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
        e.cached_ref = self._ref_version
        return e.cached

    def time_entry_json(self, entry_id: int) -> bytes:
        with self._lock:
            return self._entry_json(self._entry(entry_id))

    def time_entry(self, entry_id: int) -> Json:
        """The entry as Harvest sends it (a parsed copy; numbers with a fraction as Decimal)."""
        parsed: Json = json.loads(self.time_entry_json(entry_id), parse_float=Decimal)
        return parsed

    def _entry(self, entry_id: int) -> _Entry:
        entry = self._entries.get(entry_id)
        if entry is None:
            raise NotFound("Time entry")
        return entry

    def time_entry_ids(self) -> list[int]:
        with self._lock:
            return [e.id for e in self._order]

    @property
    def time_entry_count(self) -> int:
        return len(self._order)

    def _view(self, query: TimeEntryQuery) -> tuple[list[_Entry], list[tuple[str, int]]]:
        """Entries matching the filters, sorted by (spent_date, id); cached until the next change."""
        if self._views_version != self.version:
            self._views.clear()
            self._views_version = self.version
        signature = query.signature()
        cached = self._views.get(signature)
        if cached is not None:
            return cached
        low = 0 if query.spent_from is None else bisect_left(self._keys, (query.spent_from.isoformat(), -1))
        high = (len(self._keys) if query.spent_to is None
                else bisect_right(self._keys, (query.spent_to.isoformat(), 1 << 62)))
        candidates = self._order[low:high]
        client_projects = (None if query.client_id is None else
                           {p for p, project in self.projects.items() if project["client"]["id"] == query.client_id})
        user_id, project_id, task_id = query.user_id, query.project_id, query.task_id
        is_billed, is_running, since = query.is_billed, query.is_running, query.updated_since
        reference = query.external_reference_id

        def matches(e: _Entry) -> bool:
            return ((user_id is None or e.user_id == user_id)
                    and (project_id is None or e.project_id == project_id)
                    and (task_id is None or e.task_id == task_id)
                    and (client_projects is None or e.project_id in client_projects)
                    and (is_billed is None or e.is_billed is is_billed)
                    and (is_running is None or e.is_running is is_running)
                    and (since is None or e.updated >= since)
                    and (reference is None or (e.external_reference is not None
                                               and e.external_reference.get("id") == reference)))

        if any(v is not None for v in (user_id, project_id, task_id, client_projects, is_billed, is_running,
                                       since, reference)):
            candidates = [e for e in candidates if matches(e)]
        view = (candidates, [e.key for e in candidates])
        self._views[signature] = view
        return view

    def list_time_entries(self, query: TimeEntryQuery, start: int, end: int) -> tuple[list[bytes], int]:
        """Rendered entries [start:end) of the filtered view, and the view's size."""
        with self._lock:
            entries, _ = self._view(query)
            return [self._entry_json(e) for e in entries[start:end]], len(entries)

    def time_entry_keys(self, query: TimeEntryQuery) -> list[tuple[str, int]]:
        with self._lock:
            return self._view(query)[1]

    # --- time entries: writing ------------------------------------------------------------------
    def _place(self, entry: _Entry) -> None:
        index = bisect_left(self._keys, entry.key)
        self._keys.insert(index, entry.key)
        self._order.insert(index, entry)

    def _unplace(self, entry: _Entry) -> None:
        index = bisect_left(self._keys, entry.key)
        if index >= len(self._keys) or self._keys[index] != entry.key:
            raise RuntimeError(f"time entry {entry.id} is missing from the sorted list")
        del self._keys[index]
        del self._order[index]

    def _rates(self, project: Json, task_assignment: Json, user_assignment: Json,
               user: Json) -> tuple[bool, Decimal | None, Decimal | None]:
        billable = bool(project["is_billable"] and task_assignment["billable"])
        rate: Decimal | None = None
        if billable:
            rate = {"Project": project["hourly_rate"], "Tasks": task_assignment["hourly_rate"],
                    "People": user_assignment["hourly_rate"]}.get(project["bill_by"])
        return billable, rate, user["cost_rate"]

    def _hours_from(self, body: Mapping[str, Any], current: Decimal | None) -> tuple[Decimal, str | None,
                                                                                       str | None, bool]:
        started, ended = body.get("started_time"), body.get("ended_time")
        if started is not None:
            start_minutes = _clock_time(started, "started_time")
            if ended is None:
                return Decimal("0.00"), str(started), None, True
            end_minutes = _clock_time(ended, "ended_time")
            if end_minutes < start_minutes:
                raise HarvestRefusal("Ended time must be after the started time")
            return (Decimal(end_minutes - start_minutes) / 60).quantize(_HUNDREDTH), str(started), str(ended), False
        raw = body.get("hours")
        if raw is None:
            if current is None:
                return Decimal("0.00"), None, None, False
            return current, None, None, False
        hours = _as_decimal(raw, "hours")
        if hours < 0:
            raise HarvestRefusal("Hours must be greater than or equal to 0")
        if hours > MAX_HOURS:
            raise HarvestRefusal("Hours must be less than or equal to 24")
        return hours.quantize(_HUNDREDTH), None, None, False

    def _external_reference(self, value: Any) -> Json | None:
        if value is None:
            return None
        if not isinstance(value, Mapping) or value.get("id") in (None, ""):
            raise HarvestRefusal("External reference id can't be blank")
        permalink = value.get("permalink")
        return {"id": str(value["id"]), "group_id": value.get("group_id"), "account_id": value.get("account_id"),
                "permalink": permalink, "service": "q2c" if permalink else None, "service_icon_url": None}

    def create_time_entry(self, body: Mapping[str, Any]) -> Json:
        with self._lock:
            project_id = _as_int(_required(body, "project_id"), "project_id")
            task_id = _as_int(_required(body, "task_id"), "task_id")
            spent = _as_date(_required(body, "spent_date"), "spent_date")
            user_id = _as_int(body.get("user_id") or self.me_id, "user_id")
            project = self.projects.get(project_id)
            if project is None:
                raise HarvestRefusal("Project must exist")
            if not project["is_active"]:
                raise HarvestRefusal("Project is archived and can't take new time")
            if task_id not in self.tasks:
                raise HarvestRefusal("Task must exist")
            user = self.users.get(user_id)
            if user is None or not user["is_active"]:
                raise HarvestRefusal("User must exist and be active")
            task_assignment, user_assignment = self._assignments_for(project_id, user_id, task_id)
            hours, started, ended, running = self._hours_from(body, None)
            notes = body.get("notes")
            if notes is not None:
                notes = _as_text(notes, "notes")
            billable, rate, cost = self._rates(project, task_assignment, user_assignment, user)
            now, now_text = self._now()
            entry = _Entry(self._new_id("time_entry"), spent.isoformat(), user_id, project_id, task_id,
                           user_assignment["id"], task_assignment["id"], hours, notes, billable, rate, cost,
                           now, now_text)
            entry.started_time, entry.ended_time, entry.is_running = started, ended, running
            entry.timer_started_at = now_text if running else None
            entry.external_reference = self._external_reference(body.get("external_reference"))
            self._entries[entry.id] = entry
            self._place(entry)
            self.version += 1
            return self.time_entry(entry.id)

    def update_time_entry(self, entry_id: int, body: Mapping[str, Any]) -> Json:
        with self._lock:
            entry = self._entry(entry_id)
            if entry.is_locked:
                raise HarvestRefusal(f"This time entry is locked and can't be edited ({entry.locked_reason})")
            project_id = _as_int(body["project_id"], "project_id") if "project_id" in body else entry.project_id
            task_id = _as_int(body["task_id"], "task_id") if "task_id" in body else entry.task_id
            spent = _as_date(body["spent_date"], "spent_date").isoformat() if "spent_date" in body else None
            project = self.projects.get(project_id)
            if project is None:
                raise HarvestRefusal("Project must exist")
            if task_id not in self.tasks:
                raise HarvestRefusal("Task must exist")
            task_assignment, user_assignment = self._assignments_for(project_id, entry.user_id, task_id)
            timed = "hours" in body or "started_time" in body
            hours, started, ended, running = self._hours_from(body, entry.hours)
            notes = _as_text(body["notes"], "notes") if body.get("notes") is not None else None
            external = self._external_reference(body["external_reference"]) if "external_reference" in body else None
            # every check passed: apply
            billable, rate, cost = self._rates(project, task_assignment, user_assignment, self.users[entry.user_id])
            if spent is not None and spent != entry.spent_date:
                self._unplace(entry)
                entry.spent_date = spent
                entry.key = (spent, entry.id)
                self._place(entry)
            entry.project_id, entry.task_id = project_id, task_id
            entry.user_assignment_id, entry.task_assignment_id = user_assignment["id"], task_assignment["id"]
            entry.billable, entry.billable_rate, entry.cost_rate = billable, rate, cost
            if timed:
                entry.hours, entry.started_time, entry.ended_time, entry.is_running = hours, started, ended, running
            if "notes" in body:
                entry.notes = notes
            if "external_reference" in body:
                entry.external_reference = external
            entry.touch(*self._now())
            self.version += 1
            return self.time_entry(entry.id)

    def delete_time_entry(self, entry_id: int) -> None:
        with self._lock:
            entry = self._entry(entry_id)
            if entry.is_locked:
                raise HarvestRefusal(f"This time entry is locked and can't be deleted ({entry.locked_reason})")
            self._unplace(entry)
            del self._entries[entry_id]
            self.version += 1

    # --- what a person does in the web UI -------------------------------------------------------
    def approve(self, ids: Iterable[int] | None = None, *, all_submitted: bool = False) -> list[int]:
        """Approve entries (a manager approving timesheets): closed and locked for the period."""
        with self._lock:
            targets = (list(self._entries.values()) if all_submitted
                       else [self._entry(i) for i in (ids or ())])
            now, now_text = self._now()
            done = []
            for entry in targets:
                if entry.is_closed:
                    continue
                entry.is_closed = True
                entry.is_locked = True
                entry.locked_reason = INVOICED_REASON if entry.is_billed else APPROVED_REASON
                entry.touch(now, now_text)
                done.append(entry.id)
            if done:
                self.version += 1
            return done

    def withdraw_approval(self, ids: Iterable[int]) -> list[int]:
        """Unapprove (reopen) entries; invoiced entries stay locked, as in Harvest."""
        with self._lock:
            targets = [self._entry(i) for i in ids]
            for entry in targets:
                if entry.is_billed:
                    raise HarvestRefusal(f"Time entry {entry.id} is invoiced and can't be reopened")
            now, now_text = self._now()
            done = []
            for entry in targets:
                if not entry.is_closed:
                    continue
                entry.is_closed = False
                entry.is_locked = False
                entry.locked_reason = None
                entry.touch(now, now_text)
                done.append(entry.id)
            if done:
                self.version += 1
            return done

    def mark_invoiced(self, ids: Iterable[int], *, number: str | None = None) -> Json:
        """Put entries on a Harvest invoice: billed, and locked with the invoiced reason."""
        with self._lock:
            targets = [self._entry(i) for i in ids]
            invoice_id = self._new_id("invoice")
            invoice = {"id": invoice_id, "number": number or str(invoice_id - 8_000_000)}
            now, now_text = self._now()
            for entry in targets:
                entry.is_billed = True
                entry.invoice = dict(invoice)
                entry.is_locked = True
                entry.locked_reason = INVOICED_REASON if entry.is_closed else INVOICED_UNAPPROVED_REASON
                entry.touch(now, now_text)
            if targets:
                self.version += 1
            return {"invoice": invoice, "time_entry_ids": [e.id for e in targets]}

    # --- synthetic load ------------------------------------------------------------------------
    def generate_time_entries(self, count: int, *, people: int = 20, projects: int = 10,
                              start: date = date(2024, 1, 1), days: int = 365, approved_share: float = 0.0,
                              seed: int = 0) -> Json:
        """Add `count` plausible entries fast (benchmarks): one client, `projects` projects with codes
        SYN-0001.., one task, `people` people assigned to every project; reuses what exists."""
        if count < 0 or people < 1 or projects < 1 or days < 1 or not 0.0 <= approved_share <= 1.0:
            raise HarvestRefusal("count >= 0, people >= 1, projects >= 1, days >= 1, 0 <= approved_share <= 1")
        with self._lock:
            rng = random.Random(seed)
            client = next((c for c in self.clients.values() if c["name"] == "Synthetic Client"), None)
            if client is None:
                client = self.create_client({"name": "Synthetic Client", "currency": "USD"})
            task = next((t for t in self.tasks.values() if t["name"] == "Delivery"), None)
            if task is None:
                task = self.create_task({"name": "Delivery", "default_hourly_rate": Decimal(150)})
            user_ids = []
            for n in range(1, people + 1):
                email = f"person{n:04d}@synthetic.example"
                user = next((u for u in self.users.values() if u["email"] == email), None)
                if user is None:
                    user = self.add_user("Person", f"{n:04d}", email, cost_rate=Decimal(60))
                user_ids.append(user["id"])
            slots: list[tuple[Json, Json, Json, Json]] = []  # (project, task assignment, user assignment, user)
            for n in range(1, projects + 1):
                code = f"SYN-{n:04d}"
                project = next((p for p in self.projects.values() if p["code"] == code), None)
                if project is None:
                    project = self.create_project({"client_id": client["id"], "name": f"Synthetic project {n}",
                                                   "code": code, "is_billable": True, "bill_by": "Tasks",
                                                   "budget_by": "none"})
                try:
                    task_assignment = self.assign_task(project["id"], {"task_id": task["id"]})
                except HarvestRefusal:
                    task_assignment = next(a for a in self.task_assignments.values()
                                           if a["project"]["id"] == project["id"] and a["task"]["id"] == task["id"])
                for user_id in user_ids:
                    try:
                        user_assignment = self.assign_user(project["id"], {"user_id": user_id})
                    except HarvestRefusal:
                        user_assignment = next(a for a in self.user_assignments.values()
                                               if a["project"]["id"] == project["id"]
                                               and a["user"]["id"] == user_id)
                    slots.append((project, task_assignment, user_assignment, self.users[user_id]))
            day_texts = [(start + timedelta(days=d)).isoformat() for d in range(days)]
            hour_choices = [Decimal(q) / 4 for q in range(1, 33)]
            hour_choices = [h.quantize(_HUNDREDTH) for h in hour_choices]
            now, now_text = self._now()
            rated = [(slot, *self._rates(slot[0], slot[1], slot[2], slot[3])) for slot in slots]
            task_id = task["id"]
            fresh: list[_Entry] = []
            for n in range(count):
                (project, task_assignment, user_assignment, user), billable, rate, cost = rated[
                    rng.randrange(len(rated))]
                entry = _Entry(self._new_id("time_entry"), day_texts[rng.randrange(days)], user["id"],
                               project["id"], task_id, user_assignment["id"], task_assignment["id"],
                               hour_choices[rng.randrange(32)], f"Synthetic work item {n + 1}", billable, rate,
                               cost, now, now_text)
                if approved_share and rng.random() < approved_share:
                    entry.is_closed = True
                    entry.is_locked = True
                    entry.locked_reason = APPROVED_REASON
                fresh.append(entry)
            for entry in fresh:
                self._entries[entry.id] = entry
            self._order.extend(fresh)
            self._order.sort(key=lambda e: e.key)
            self._keys = [e.key for e in self._order]
            self.version += 1
            return {"created": count, "time_entries": len(self._order),
                    "project_codes": sorted({slot[0]["code"] for slot in slots}), "user_ids": user_ids}


def parse_instant(value: str, field: str) -> datetime:
    """An ISO 8601 instant from a query string; a naive one is read as UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise HarvestRefusal(f"{_label(field)} is not a valid ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_date(value: str, field: str) -> date:
    return _as_date(value, field)


def parse_int(value: str, field: str) -> int:
    return _as_int(value, field)


def parse_bool(value: str, field: str) -> bool:
    return _as_bool(value, field)
