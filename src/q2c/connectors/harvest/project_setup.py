"""Project setup in Harvest for a won deal: client, project, tasks, task and people assignments.

Harvest has no upsert, so each step finds before it creates, and a project that exists is
brought in line only on the fields q2c owns (name, code, active, dates, budget). Running the
setup twice, or after a crash half-way, yields the same Harvest ids and no duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from q2c.connectors.harvest.client import SYSTEM, HarvestClient, Record
from q2c.connectors.harvest.mapping import HarvestProjectSpec, project_to_harvest, task_to_harvest
from q2c.connectors.harvest.references import References
from q2c.domain.model import Project
from q2c.domain.money import Money, check_currency
from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected


@dataclass(frozen=True)
class HarvestProjectLinks:
    """The Harvest ids behind one canonical project, for the link table."""

    client_id: int
    project_id: int
    task_ids: dict[str, int]  # canonical task code -> Harvest task id
    task_assignment_ids: dict[str, int]  # canonical task code -> Harvest task assignment id
    user_assignment_ids: dict[int, int]  # Harvest user id -> Harvest user assignment id


def _project_drift(current: Mapping[str, Any], spec: HarvestProjectSpec, client_id: int) -> dict[str, Any]:
    wanted: dict[str, Any] = {"name": spec.name, "is_active": spec.is_active,
                              "starts_on": spec.starts_on.isoformat() if spec.starts_on else None,
                              "ends_on": spec.ends_on.isoformat() if spec.ends_on else None}
    if spec.budget is not None:
        wanted["budget"] = spec.budget
        wanted["budget_by"] = spec.budget_by
    changes = {k: v for k, v in wanted.items() if current.get(k) != v}
    client = current.get("client")
    if not isinstance(client, Mapping) or client.get("id") != client_id:
        changes["client_id"] = client_id
    return changes


def _rate(amount: Money | None, currency: str, project: Project, what: str) -> Decimal | None:
    if amount is None:
        return None
    if amount.currency != currency:
        raise RecordRejected(Violation(
            system="q2c", object="project", record_id=project.id, field=what, rule="harvest.rate_currency",
            message=f"{what} is in {amount.currency} but the Harvest client bills in {currency}",
            action="Give the rate in the client's currency (Harvest keeps one currency per client)."))
    return amount.amount


def _named(harvest: HarvestClient, name: str) -> Callable[[list[Record]], Record | None]:
    return lambda rows: harvest.find_task(name, among=rows)


def set_up_project(harvest: HarvestClient, project: Project, *, client_name: str, currency: str,
                   user_ids: Iterable[int] = (), starts_on: date | None = None, ends_on: date | None = None,
                   budget_hours: Decimal | None = None, task_rates: Mapping[str, Money] | None = None,
                   user_rates: Mapping[int, Money] | None = None,
                   references: References | None = None) -> HarvestProjectLinks:
    """Find-or-create everything the project needs in Harvest so its people can log time on it.

    `task_rates` (by task code) and `user_rates` (by Harvest user id) set assignment rates;
    they must be in the client's currency. `references` keeps the account's clients and tasks between
    setups (a miss reads them again before anything is created).
    """
    refs = references or References(harvest)  # this setup's own: each list read at most once
    began = refs.now()
    currency = check_currency(currency)
    # check what the caller gave before writing anything to Harvest
    task_rate = {t.code: _rate((task_rates or {}).get(t.code), currency, project, f"rate of task {t.code}")
                 for t in project.tasks}
    people = list(user_ids)
    user_rate = {u: _rate((user_rates or {}).get(u), currency, project, f"rate of Harvest user {u}")
                 for u in people}
    client = refs.find("clients", lambda rows: harvest.find_client(client_name, among=rows), since=began)
    if client is None:
        client = harvest.create_client(client_name, currency)
        refs.add("clients", client)
    if client.get("currency") != currency:
        raise RecordRejected(Violation(
            system=SYSTEM, object="client", record_id=str(client.get("id")), field="currency",
            rule="client.currency_mismatch",
            message=f"Harvest client '{client_name}' bills in {client.get('currency')}, the contract in {currency}",
            action="Align the client's currency in Harvest with the contract, or use a separate Harvest client."))
    spec = project_to_harvest(project, starts_on=starts_on, ends_on=ends_on, budget_hours=budget_hours)
    current = harvest.find_project_by_code(spec.code)
    project_existed = current is not None
    if current is None:
        current = harvest.create_project(
            client["id"], spec.name, spec.code, is_billable=spec.is_billable, bill_by=spec.bill_by,
            starts_on=spec.starts_on, ends_on=spec.ends_on, budget=spec.budget, budget_by=spec.budget_by,
            is_active=spec.is_active)
    else:
        changes = _project_drift(current, spec, client["id"])
        if changes:
            current = harvest.update_project(current["id"], changes)
    project_id = int(current["id"])

    # list each collection once: Harvest allows 100 requests per 15 s for the whole account
    fresh = not project_existed  # a project just created has no assignments yet
    task_assignments = [] if fresh else harvest.task_assignments(project_id)
    task_ids: dict[str, int] = {}
    task_assignment_ids: dict[str, int] = {}
    for task in project.tasks:
        task_spec = task_to_harvest(task)
        harvest_task = refs.find("tasks", _named(harvest, task_spec.name), since=began)
        if harvest_task is None:
            harvest_task = harvest.create_task(task_spec.name, billable_by_default=task_spec.billable)
            refs.add("tasks", harvest_task)
        assignment = harvest.assign_task(project_id, harvest_task["id"], billable=task_spec.billable,
                                         hourly_rate=task_rate[task.code], known=task_assignments)
        task_ids[task.code] = int(harvest_task["id"])
        task_assignment_ids[task.code] = int(assignment["id"])

    user_assignments = [] if fresh or not people else harvest.user_assignments(project_id)
    user_assignment_ids: dict[int, int] = {}
    for user_id in people:
        assignment = harvest.assign_user(project_id, user_id, hourly_rate=user_rate[user_id],
                                         known=user_assignments)
        user_assignment_ids[user_id] = int(assignment["id"])

    return HarvestProjectLinks(client_id=int(client["id"]), project_id=project_id, task_ids=task_ids,
                               task_assignment_ids=task_assignment_ids, user_assignment_ids=user_assignment_ids)
