"""Toggl Track as the hub's time tracker (the `TimeTracker` port): pages of canonical time entries in,
project setup out. Vendor JSON stops here.

A pass reads the workspace's people, projects, tasks and timesheets once, then the detailed report
over the work dates `windows.pass_windows` picks, and yields the entries that changed since the last
pass: edited (`at`) or whose timesheet was decided or submitted since. Each entry's update time is
the later of the two, so the hub's cursor moves past an approval as it does past an edit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from q2c.connectors.toggl.approvals import TimesheetIndex
from q2c.connectors.toggl.client import PlanRequired, TogglClient
from q2c.connectors.toggl.mapping import (
    MappingError,
    canonical_time_entry_id,
    entries_of_row,
    instant,
    is_running,
    person_from_toggl,
    project_codes_by_id,
    resource_ids_by_user,
    task_codes_by_id,
    time_entry_from_toggl,
    work_date,
)
from q2c.connectors.toggl.project_setup import set_up_project
from q2c.connectors.toggl.windows import pass_windows
from q2c.domain.model import Contract, Customer, Project, Resource, TimeEntry
from q2c.domain.naming import SystemNames
from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed
from q2c.workflows.ports import Person, Reject, TimePage

# Toggl's names for what q2c checks on a time entry (the fields a person changes in Toggl Track).
NAMES = SystemNames(system="toggl", label="Toggl Track", id_prefix="TG-", fields={
    "project.code": "project.name", "time_entry.task_code": "task", "time_entry.hours": "duration",
    "time_entry.resource_id": "user", "time_entry.status": "timesheet.status", "time_entry.work_date": "start"})


def _plain(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The raw record as plain JSON (the client parses numbers as Decimal), to keep for replay."""
    return dict(json.loads(json.dumps(raw, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v))))


class _Directory:
    """What one pass looks entries up in: people, project codes, task codes and timesheets."""

    def __init__(self, client: TogglClient, *, timesheets_after: date | None) -> None:
        self.users = resource_ids_by_user(client.users())
        self.codes = project_codes_by_id(client.projects())
        self.tasks = task_codes_by_id(client.tasks())
        try:
            self.timesheets = TimesheetIndex(client.timesheets(after=timesheets_after))
        except PlanRequired:
            self.timesheets = TimesheetIndex([])  # no approvals: nothing is approved (account_problems says so)


class TogglTracker:
    names = NAMES

    def __init__(self, client: TogglClient, *, today: Callable[[], date] | None = None) -> None:
        self.client = client
        self.config = client.config
        zone = ZoneInfo(self.config.timezone or "UTC")
        self._today = today or (lambda: datetime.now(UTC).astimezone(zone).date())
        self._me: dict[str, Any] | None = None

    def me(self) -> dict[str, Any]:
        """The token's user, read once: `/me` counts against Toggl's user quota of 30 requests an hour
        (support.toggl.com "API & Webhook limits"), which a poll each minute would spend in half an hour."""
        if self._me is None:
            self._me = self.client.me()
        return self._me

    # --- the account -------------------------------------------------------------------------------
    def account_problems(self) -> list[Violation]:
        """What keeps approved time from reaching q2c: a token whose user is not a workspace admin (the
        detailed report then holds only that user's own time), and approvals that are not in use (no
        plan for them, or no timesheet setup), so that no entry is ever approved."""
        wid = str(self.client.workspace_id)
        problems: list[Violation] = []
        me = self.me()
        mine = next((u for u in self.client.users() if u.get("id") == me.get("id")), {})
        if not (mine.get("role") == "admin" or mine.get("is_admin") is True):
            problems.append(Violation(
                system=NAMES.system, object="workspace_user", record_id=str(me.get("email") or me.get("id")),
                field="role", rule="toggl.not_admin",
                message=f"The API token in systems.tracker.api_token belongs to {me.get('email', 'a user')}, who is "
                        f"not an admin of Toggl workspace {wid} (role {mine.get('role', 'unknown')!r}): Toggl shows "
                        "such a user only their own time, so everyone else's approved time never reaches the ERP",
                action="Use the API token of a workspace admin (Toggl Track > Profile settings > API Token), or "
                       "make this user an admin of the workspace, then replay this exception"))
        try:
            setups = self.client.timesheet_setups()
        except PlanRequired as exc:
            problems.append(Violation(
                system=NAMES.system, object="workspace", record_id=wid, field="premium",
                rule="toggl.approvals_unavailable",
                message=f"Toggl workspace {wid} has no timesheet approvals ({exc.message}): no time entry is ever "
                        "approved, so none reaches the ERP or an invoice",
                action="Move the workspace to a Toggl Track plan with Approvals (Premium or Enterprise), set up "
                       "timesheets for the team, then replay this exception"))
            return problems
        except AuthFailed:
            return problems  # a non-admin may not read the setups; the problem above already says why
        if not setups:
            problems.append(Violation(
                system=NAMES.system, object="workspace", record_id=wid, field="timesheet_setups",
                rule="toggl.approvals_off",
                message=f"Toggl workspace {wid} has no timesheet setups: nobody's time is submitted or approved, so "
                        "none reaches the ERP or an invoice",
                action="In Toggl Track > Approvals, set up timesheets (approver and period) for everyone who "
                       "tracks billable time, then replay this exception"))
        return problems

    # --- time in ----------------------------------------------------------------------------------
    def time_pages(self, since: datetime | None) -> Iterator[TimePage]:
        today = self._today()
        history = today - timedelta(days=self.config.history_days)
        directory = _Directory(self.client, timesheets_after=history - timedelta(days=31))
        changed = [] if since is None else [(t.start, t.end) for t in directory.timesheets.changed_since(since)]
        windows = pass_windows(today, first_pass=since is None, history_days=self.config.history_days,
                               lookback_days=self.config.lookback_days, changed_periods=changed)
        seen: set[int] = set()
        for start, end in windows:
            for page in self.client.report_pages(start, end):
                raws = [r for row in page.rows for r in entries_of_row(row)]
                fresh = [r for r in raws if not (isinstance(r.get("id"), int) and r["id"] in seen)]
                seen.update(r["id"] for r in fresh if isinstance(r.get("id"), int))
                yield self._map([r for r in fresh if not is_running(r)], directory, since)

    def reread(self, raw: Mapping[str, Any]) -> TimePage:
        """The entry as Toggl has it now (after someone fixed it); `raw` as given when it is gone or unreadable."""
        entry_id, start = raw.get("id"), instant(raw.get("start"))
        current: Mapping[str, Any] = raw
        if isinstance(entry_id, int) and start is not None:
            day = start.date()
            for page in self.client.report_pages(day - timedelta(days=1), day + timedelta(days=1),
                                                 time_entry_ids=[entry_id]):
                found = [r for row in page.rows for r in entries_of_row(row) if r.get("id") == entry_id]
                if found:
                    current = found[0]
                    break
        directory = _Directory(self.client, timesheets_after=(start.date() - timedelta(days=31)) if start else None)
        return self._map([current], directory, None)

    def _map(self, raws: Sequence[Mapping[str, Any]], directory: _Directory, since: datetime | None) -> TimePage:
        entries: list[TimeEntry] = []
        rejects: list[Reject] = []
        high_water: datetime | None = None
        for raw in raws:
            sheet = self._timesheet_of(raw, directory)
            try:
                entry = time_entry_from_toggl(raw, resource_by_user_id=directory.users,
                                              code_by_project_id=directory.codes, task_by_id=directory.tasks,
                                              timesheet=sheet, zone=self.config.timezone)
            except MappingError as exc:
                stamp = instant(raw.get("at"))
                if since is not None and stamp is not None and stamp < since and not (
                        sheet and sheet.changed_at and sheet.changed_at >= since):
                    continue  # unchanged since the last pass: its exception is already open
                # Name the entry by its canonical id, so a later clean sync of it closes these exceptions.
                canonical = canonical_time_entry_id(raw["id"]) if isinstance(raw.get("id"), int) else None
                violations = tuple(v.model_copy(update={"record_id": canonical}) if canonical else v
                                   for v in exc.violations)
                rejects.append(Reject(violations, _plain(raw)))
            else:
                if since is not None and entry.source_updated_at < since:
                    continue  # read again for its window, but not changed since the last pass
                entries.append(entry)
                stamp = entry.source_updated_at
            if stamp is not None and (high_water is None or stamp > high_water):
                high_water = stamp
        return TimePage(entries, rejects, high_water)

    def _timesheet_of(self, raw: Mapping[str, Any], directory: _Directory) -> Any:
        start, user = instant(raw.get("start")), raw.get("user_id")
        if start is None or not isinstance(user, int):
            return None
        return directory.timesheets.covering(user, work_date(start, self.config.timezone))

    # --- people --------------------------------------------------------------------------------------
    def people(self) -> list[Person]:
        """Every member of the workspace, active or not (`GET /workspaces/{wid}/users`)."""
        return [p for p in (person_from_toggl(u) for u in self.client.users()) if p is not None]

    # --- project setup out ---------------------------------------------------------------------------
    def set_up_project(self, project: Project, customer: Customer, contract: Contract,
                       team: Sequence[Resource]) -> str:
        by_email = {email: user_id for user_id, email in resource_ids_by_user(self.client.users()).items()}
        user_ids = [by_email[r.id] for r in team if r.id in by_email]
        links = set_up_project(self.client, project, client_name=customer.name, user_ids=user_ids,
                               starts_on=contract.start_date, ends_on=contract.end_date)
        return str(links.project_id)
