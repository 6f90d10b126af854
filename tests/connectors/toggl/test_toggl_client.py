"""The Toggl client against the sandbox over HTTP: auth, the detailed report's paging, quota and plan answers.

Vendor documentation relied on: engineering.toggl.com/docs/authentication (Basic `<token>:api_token`,
403 on failure), /docs/track/reports/detailed_reports (`X-Next-ID` / `X-Next-Row-Number`, sent back as
`first_id` / `first_row_number`), /docs/api/approvals (402 "Approvals are a premium feature"), the API
overview (leaky bucket, 429; quota headers) and support.toggl.com "API & Webhook limits" (402 quota).
"""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from toggl_fixtures import Clock, Workspace, make_client, track

from q2c.connectors.toggl.client import PlanRequired
from q2c.engine.errors import AuthFailed, RateLimited, RecordRejected
from q2c.sandboxes.kit import SandboxServer, VendorLimits
from q2c.sandboxes.toggl.app import Quota, TogglSandbox, create_sandbox


def test_me_workspace_and_people(server: SandboxServer, sandbox: TogglSandbox, ws: Workspace) -> None:
    with make_client(server, sandbox) as toggl:
        assert toggl.me()["email"] == "owner@sandbox-consulting.example"
        assert toggl.workspace()["id"] == sandbox.workspace_id
        assert {u["email"] for u in toggl.users()} >= {"Ada.Lovelace@Example.com", "grace@example.com"}
        assert [t["name"] for t in toggl.project_tasks(ws.project_id)] == ["DESIGN", "BUILD"]
        assert {t["name"] for t in toggl.tasks()} == {"DESIGN", "BUILD"}


def test_a_refused_token_is_auth_failed(server: SandboxServer, sandbox: TogglSandbox) -> None:
    with make_client(server, sandbox, api_token="0" * 32) as toggl, pytest.raises(AuthFailed) as caught:
        toggl.me()
    assert "HTTP 403" in caught.value.message and "Incorrect username and/or password" in caught.value.message


def test_toggl_refusals_carry_its_words(server: SandboxServer, sandbox: TogglSandbox, ws: Workspace) -> None:
    with make_client(server, sandbox) as toggl:
        with pytest.raises(RecordRejected) as caught:
            toggl.create_task(ws.project_id, "DESIGN")
        assert caught.value.violation.message.endswith("Task name already exists in this project")
        with pytest.raises(RecordRejected) as missing:
            toggl.update_project(1, {"name": "P-X: y"})
        assert missing.value.violation.rule == "toggl.http_400" and missing.value.violation.record_id == "1"


def test_the_detailed_report_is_followed_page_by_page(server: SandboxServer, sandbox: TogglSandbox,
                                                     owner: httpx.Client, ws: Workspace) -> None:
    made = [track(owner, sandbox, ws, ws.ada_id, f"2026-03-0{d}T09:00:00Z", 3600) for d in (2, 3, 4)]
    made += [track(owner, sandbox, ws, ws.grace_id, f"2026-03-0{d}T15:00:00Z", 1800) for d in (2, 3)]
    with make_client(server, sandbox, page_size=2) as toggl:
        pages = list(toggl.report_pages(date(2026, 3, 1), date(2026, 3, 7)))
        assert [len(p.rows) for p in pages] == [2, 2, 1]
        assert [p.next_row_number for p in pages] == [3, 5, None]
        ids = [e["id"] for p in pages for row in p.rows for e in row["time_entries"]]
        assert sorted(ids) == sorted(made) and len(ids) == len(set(ids))
        (only,) = toggl.report_pages(date(2026, 3, 1), date(2026, 3, 7), time_entry_ids=[made[3]])
        assert [e["id"] for row in only.rows for e in row["time_entries"]] == [made[3]]
    assert sandbox.stats.by_path[f"POST /reports/api/v3/workspace/{sandbox.workspace_id}/search/time_entries"] == 4


def test_a_spent_quota_is_rate_limited_and_fails_fast_until_it_resets() -> None:
    clock = Clock()
    box = create_sandbox(quota=Quota(per_organization=2, per_user=30), clock=clock)
    with SandboxServer(box) as server, make_client(server, box) as toggl:
        toggl.workspace()
        toggl.workspace()  # the answer says 0 remaining
        before = box.stats.requests
        with pytest.raises(RateLimited) as caught:
            toggl.users()
        assert box.stats.requests == before  # failed fast: nothing sent
        assert caught.value.retry_after is not None and 3500 < caught.value.retry_after <= 3600


def test_a_402_with_quota_left_is_a_plan_without_approvals() -> None:
    box = create_sandbox(premium=False, quota=Quota(per_organization=100))
    with SandboxServer(box) as server, make_client(server, box) as toggl, pytest.raises(PlanRequired) as caught:
        toggl.timesheet_setups()
    assert "Approvals are a premium feature" in caught.value.message


def test_a_burst_429_is_waited_out_in_place() -> None:
    """About a second: Toggl's 429 carries no Retry-After, so the client waits its one-second default."""
    box = create_sandbox(limits=VendorLimits(requests_per_window=2, window_seconds=0.5))
    with SandboxServer(box) as server, make_client(server, box) as toggl:
        for _ in range(3):
            assert toggl.me()["id"]
        assert toggl.guard.stats.rate_limited == 1 and box.stats.throttled == 1
