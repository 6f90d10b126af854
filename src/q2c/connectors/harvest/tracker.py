"""Harvest as the hub's time tracker (the `TimeTracker` port): pages of canonical time entries in,
project setup out. Vendor JSON stops here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from q2c.connectors.harvest.account_checks import approvals_off, time_access
from q2c.connectors.harvest.client import HarvestClient, HarvestNotFound, Record
from q2c.connectors.harvest.mapping import (
    MappingError,
    canonical_time_entry_id,
    person_from_harvest,
    project_codes_by_id,
    resource_ids_by_user,
    time_entry_from_harvest,
)
from q2c.connectors.harvest.project_setup import set_up_project
from q2c.connectors.harvest.references import References
from q2c.connectors.harvest.time_walk import TimeEntryWalk
from q2c.domain.model import Contract, Customer, Project, Resource, TimeEntry
from q2c.domain.naming import SystemNames
from q2c.domain.violations import Violation
from q2c.workflows.ports import Person, Reject, TimePage


def _plain(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The raw record as plain JSON (the client parses numbers as Decimal), to keep for replay."""
    return dict(json.loads(json.dumps(raw, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v))))


def _updated_at(raw: Mapping[str, Any]) -> datetime | None:
    value = raw.get("updated_at")
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


# Harvest's names for what q2c checks on a time entry (the fields a person changes in Harvest).
NAMES = SystemNames(system="harvest", label="Harvest", id_prefix="HV-", fields={
    "project.code": "project.code", "time_entry.task_code": "task", "time_entry.hours": "hours",
    "time_entry.resource_id": "user", "time_entry.status": "is_closed", "time_entry.work_date": "spent_date"})


class HarvestTracker:
    names = NAMES

    def __init__(self, client: HarvestClient, *, per_page: int = 2000) -> None:
        self.client = client
        self.per_page = per_page
        self.references = References(client)  # users, clients, tasks between setups (references.py)

    def account_problems(self) -> list[Violation]:
        """What in the account keeps time from flowing whole, silently (account_checks): Approvals off
        (GET /v2/company), or a token whose user does not see everyone's time (GET /v2/users/me)."""
        account_id = self.client.config.account_id
        found = [*approvals_off(self.client.company(), account_id), *time_access(self.client.me(), account_id)]
        return [v.model_copy(update={"action": f"{v.action}; then replay this exception"}) for v in found]

    def time_pages(self, since: datetime | None) -> Iterator[TimePage]:
        """Every entry updated since `since`, each once, none skipped however the account changes meanwhile
        (time_walk); a page per Harvest response that brought entries not yet read."""
        users = resource_ids_by_user(self.client.users())
        codes = project_codes_by_id(self.client.projects())
        for batch in TimeEntryWalk(self.client, updated_since=since, per_page=self.per_page):
            if batch:
                yield self._map(batch, users, codes)

    def reread(self, raw: Mapping[str, Any]) -> TimePage:
        """The entry as Harvest has it now (after someone fixed it); `raw` as given when it is gone or has no id."""
        entry_id = raw.get("id")
        current: Mapping[str, Any] = raw
        if isinstance(entry_id, int):
            try:
                current = self.client.time_entry(entry_id)
            except HarvestNotFound:
                current = raw
        return self._map([current], resource_ids_by_user(self.client.users()),
                         project_codes_by_id(self.client.projects()))

    @staticmethod
    def _map(raws: Sequence[Mapping[str, Any]], users: Mapping[int, str], codes: Mapping[int, str]) -> TimePage:
        entries: list[TimeEntry] = []
        rejects: list[Reject] = []
        high_water: datetime | None = None
        for raw in raws:
            try:
                entry = time_entry_from_harvest(raw, resource_by_user_id=users, project_code_by_id=codes)
            except MappingError as exc:
                # Name the entry by its canonical id, so a later clean sync of it closes these exceptions.
                canonical = canonical_time_entry_id(raw["id"]) if isinstance(raw.get("id"), int) else None
                violations = tuple(v.model_copy(update={"record_id": canonical}) if canonical else v
                                   for v in exc.violations)
                rejects.append(Reject(violations, _plain(raw)))
                stamp = _updated_at(raw)
            else:
                entries.append(entry)
                stamp = entry.source_updated_at
            if stamp is not None and (high_water is None or stamp > high_water):
                high_water = stamp
        return TimePage(entries, rejects, high_water)

    def people(self) -> list[Person]:
        """Everyone in the account, active or not (`GET /v2/users`: the token's user must be an Administrator,
        or a Manager who may manage people, as reading everyone's time already needs)."""
        return [p for p in (person_from_harvest(u) for u in self.client.users()) if p is not None]

    def set_up_project(self, project: Project, customer: Customer, contract: Contract,
                       team: Sequence[Resource]) -> str:
        began = self.references.now()
        user_ids = _user_ids(team, self.references.rows("users"))
        if len(user_ids) < len(team):  # someone not in the kept list: the list as Harvest holds it now
            user_ids = _user_ids(team, self.references.current("users", since=began))
        links = set_up_project(self.client, project, client_name=customer.name, currency=contract.currency,
                               user_ids=user_ids, starts_on=contract.start_date, ends_on=contract.end_date,
                               references=self.references)
        return str(links.project_id)


def _user_ids(team: Sequence[Resource], users: Sequence[Record]) -> list[int]:
    """The Harvest user ids of the team's people (matched by email), in the team's order."""
    by_email = {str(u.get("email", "")).strip().lower(): int(u["id"]) for u in users
                if u.get("email") and isinstance(u.get("id"), int)}
    return [by_email[r.id] for r in team if r.id in by_email]
