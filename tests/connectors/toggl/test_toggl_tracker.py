"""Toggl Track behind the `TimeTracker` port, against the sandbox over HTTP.

Vendor documentation relied on: engineering.toggl.com/docs/api/approvals (timesheet setups and
timesheets; approving changes the timesheet, not its entries), /docs/track/reports/detailed_reports
(everyone's time for an admin), /docs/api/workspaces (`GET /workspaces/{wid}/users` with `role`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from toggl_fixtures import ADA_TOKEN, Clock, Workspace, decide, make_tracker, owner_api, seed_workspace, track

from q2c.domain.model import TimeEntryStatus
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.toggl.app import TogglSandbox, create_sandbox


def test_no_account_problems_for_an_admin_with_timesheets(server: SandboxServer, sandbox: TogglSandbox,
                                                          clock: Clock, ws: Workspace) -> None:
    assert make_tracker(server, sandbox, clock).account_problems() == []


def test_a_member_token_is_not_an_admin(server: SandboxServer, sandbox: TogglSandbox, clock: Clock,
                                        ws: Workspace) -> None:
    (problem,) = make_tracker(server, sandbox, clock, api_token=ADA_TOKEN).account_problems()
    assert (problem.rule, problem.field, problem.record_id) == ("toggl.not_admin", "role", "Ada.Lovelace@Example.com")
    assert "only their own time" in problem.message and "admin" in problem.action


def test_no_timesheet_setups_means_approvals_are_off(server: SandboxServer, sandbox: TogglSandbox, clock: Clock,
                                                     owner: httpx.Client) -> None:
    seed_workspace(sandbox, owner, setups=False)
    (problem,) = make_tracker(server, sandbox, clock).account_problems()
    assert (problem.rule, problem.field, problem.record_id) == ("toggl.approvals_off", "timesheet_setups",
                                                                str(sandbox.workspace_id))
    assert "Approvals" in problem.action


def test_a_plan_without_approvals(clock: Clock) -> None:
    box = create_sandbox(premium=False, clock=clock)
    with SandboxServer(box) as server:
        (problem,) = make_tracker(server, box, clock).account_problems()
    assert (problem.rule, problem.field) == ("toggl.approvals_unavailable", "premium")
    assert "Approvals are a premium feature" in problem.message


def test_time_pages_carry_the_timesheet_state_and_approval_moves_the_cursor(
        server: SandboxServer, sandbox: TogglSandbox, owner: httpx.Client, clock: Clock, ws: Workspace) -> None:
    approved_week = track(owner, sandbox, ws, ws.ada_id, "2026-02-24T09:00:00Z", 5400)
    this_week = track(owner, sandbox, ws, ws.grace_id, "2026-03-02T10:00:00Z", 900)
    no_task = track(owner, sandbox, ws, ws.grace_id, "2026-03-03T10:00:00Z", 600, task_id=None)
    owner.post("/time_entries", json={"created_with": "t", "workspace_id": sandbox.workspace_id, "duration": -1,
                                      "start": "2026-03-04T11:00:00Z", "project_id": ws.project_id})  # running
    decide(owner, ws, ws.ada_id, "2026-02-23", "approved")
    tracker = make_tracker(server, sandbox, clock)

    first = list(tracker.time_pages(None))
    entries = {e.id: e for p in first for e in p.entries}
    assert set(entries) == {f"TG-{approved_week}", f"TG-{this_week}"}  # the running one is not finished time
    assert entries[f"TG-{approved_week}"].status is TimeEntryStatus.APPROVED
    assert entries[f"TG-{approved_week}"].locked and entries[f"TG-{approved_week}"].hours == 1.5
    assert entries[f"TG-{this_week}"].status is TimeEntryStatus.SUBMITTED
    (reject,) = [r for p in first for r in p.rejects]
    assert reject.raw["id"] == no_task and {v.record_id for v in reject.violations} == {f"TG-{no_task}"}
    high_water = max(p.high_water for p in first if p.high_water)
    assert high_water == datetime(2026, 3, 4, 12, 0, tzinfo=UTC)

    # nothing changed: a pass from the cursor yields nothing
    assert [e for p in tracker.time_pages(high_water + timedelta(seconds=1)) for e in p.entries] == []

    # the manager approves Grace's week an hour later: only the timesheet changes, yet her entry comes again
    clock.advance(hours=1)
    decide(owner, ws, ws.grace_id, "2026-03-02", "approved")
    later = list(tracker.time_pages(high_water + timedelta(seconds=1)))
    (approved,) = [e for p in later for e in p.entries]
    assert approved.id == f"TG-{this_week}" and approved.status is TimeEntryStatus.APPROVED
    assert approved.source_updated_at == datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    assert max(p.high_water for p in later if p.high_water) == approved.source_updated_at


def test_an_old_period_approved_late_is_read_again(server: SandboxServer, sandbox: TogglSandbox,
                                                   owner: httpx.Client, clock: Clock, ws: Workspace) -> None:
    """Outside the lookback window (7 days here), the changed timesheet's own period is read."""
    old = track(owner, sandbox, ws, ws.ada_id, "2026-02-24T09:00:00Z", 3600)
    tracker = make_tracker(server, sandbox, clock, lookback_days=7)
    list(tracker.time_pages(None))
    since = clock.advance(minutes=10)
    decide(owner, ws, ws.ada_id, "2026-02-23", "approved")
    (entry,) = [e for p in tracker.time_pages(since) for e in p.entries]
    assert entry.id == f"TG-{old}" and entry.status is TimeEntryStatus.APPROVED


def test_reread_reads_the_entry_as_it_is_now(server: SandboxServer, sandbox: TogglSandbox, owner: httpx.Client,
                                             clock: Clock, ws: Workspace) -> None:
    entry_id = track(owner, sandbox, ws, ws.grace_id, "2026-03-03T10:00:00Z", 600, task_id=None)
    tracker = make_tracker(server, sandbox, clock)
    (reject,) = [r for p in tracker.time_pages(None) for r in p.rejects]
    owner.put(f"/time_entries/{entry_id}", json={"task_id": ws.build_task_id}).raise_for_status()
    page = tracker.reread(reject.raw)
    assert page.rejects == [] and [(e.id, e.task_code) for e in page.entries] == [(f"TG-{entry_id}", "BUILD")]
    owner.delete(f"/time_entries/{entry_id}").raise_for_status()
    gone = tracker.reread(reject.raw)  # deleted in Toggl: mapped as it was given
    assert [v.rule for r in gone.rejects for v in r.violations] == ["time_entry.task_missing"]


def test_the_port_is_built_from_the_registry(server: SandboxServer, sandbox: TogglSandbox) -> None:
    from q2c.connectors.registry import Role, connector
    from q2c.engine.resilience import GuardRegistry

    spec = connector("toggl")
    settings = spec.settings(type="toggl", base_url=server.url, workspace_id=sandbox.workspace_id,
                             api_token=sandbox.token)
    tracker = spec.build(settings, Role.TRACKER, GuardRegistry())
    assert tracker.names.system == "toggl" and spec.address(settings) == ("base_url", server.url)
    with owner_api(server, sandbox):
        assert tracker.client.me()["id"] == sandbox.owner_id()


def test_a_pass_spends_seven_requests_and_reads_me_once(server: SandboxServer, sandbox: TogglSandbox,
                                                        owner: httpx.Client, clock: Clock, ws: Workspace) -> None:
    """`/me` has its own quota of 30 an hour (support.toggl.com "API & Webhook limits"): read once a process.
    A pass is the account check (users, timesheet setups) and the directory (users, projects, tasks,
    timesheets) plus one report page: 7 requests, 420 an hour at a 60-second poll, of Premium's 600."""
    track(owner, sandbox, ws, ws.ada_id, "2026-03-02T09:00:00Z", 3600)
    tracker = make_tracker(server, sandbox, clock)
    tracker.account_problems()
    before = sandbox.stats.requests
    for _ in range(2):
        tracker.account_problems()
        list(tracker.time_pages(clock.now))
    assert sandbox.stats.requests - before == 14
    assert sandbox.stats.by_path["GET /api/v9/me"] == 1
