"""The Toggl Track sandbox speaks the protocol q2c relies on, checked over HTTP as a client sees it.

Vendor documentation relied on: engineering.toggl.com/docs (API overview: JSON only, times returned
"into the appropriate timezone according to the setting in user profile", leaky bucket with 429),
/docs/authentication (Basic `<token>:api_token`, 403 on failure), /docs/api/time_entries (negative
duration while running, `user_id` for someone else), /docs/api/approvals (timesheet setups and
timesheets, 402 "Approvals are a premium feature"), /docs/track/reports/detailed_reports (`X-Next-ID`
and `X-Next-Row-Number` paging), and support.toggl.com "API & Webhook limits" (hourly quota, 402).
"""

from __future__ import annotations

import httpx
from toggl_sandbox_support import Clock, Team, api, track

from q2c.sandboxes.kit import SandboxServer, VendorLimits
from q2c.sandboxes.toggl.app import Quota, TogglSandbox, create_sandbox


def search(client: httpx.Client, wid: int, **body: object) -> httpx.Response:
    return client.post(f"/reports/api/v3/workspace/{wid}/search/time_entries", json=body)


# --- authentication ----------------------------------------------------------------------------------
def test_basic_auth_with_the_token_or_email_and_password(server: SandboxServer, sandbox: TogglSandbox) -> None:
    assert httpx.get(f"{server.url}/api/v9/me").status_code == 401
    wrong = httpx.get(f"{server.url}/api/v9/me", auth=("0" * 32, "api_token"))
    assert wrong.status_code == 403 and isinstance(wrong.json(), str)
    sandbox.add_user("pat@example.com", "Pat", password="s3cret")
    assert httpx.get(f"{server.url}/api/v9/me", auth=("Pat@Example.com", "s3cret")).json()["email"] == \
        "pat@example.com"
    me = httpx.get(f"{server.url}/api/v9/me", auth=(sandbox.token, "api_token")).json()
    assert me["api_token"] == sandbox.token and me["default_workspace_id"] == sandbox.workspace_id
    assert "password" not in me


def test_a_workspace_the_user_is_not_in_is_forbidden(owner: httpx.Client, sandbox: TogglSandbox) -> None:
    assert owner.get(f"/api/v9/workspaces/{sandbox.workspace_id}").json()["admin"] is True
    refused = owner.get(f"/api/v9/workspaces/{sandbox.workspace_id + 1}")
    assert refused.status_code == 403 and refused.json() == "User does not have access to this resource."


def test_errors_are_bare_json_strings(owner: httpx.Client, sandbox: TogglSandbox) -> None:
    answer = owner.post(f"/api/v9/workspaces/{sandbox.workspace_id}/projects", json={"billable": True})
    assert answer.status_code == 400 and answer.json() == "Project name cannot be empty"


# --- people --------------------------------------------------------------------------------------
def test_workspace_users_short_and_long_forms(owner: httpx.Client, sandbox: TogglSandbox, team: Team) -> None:
    short = owner.get(f"/api/v9/workspaces/{sandbox.workspace_id}/users").json()
    assert {u["email"]: u["role"] for u in short} == {"owner@sandbox-consulting.example": "admin",
                                                       "Ada.Lovelace@Example.com": "user",
                                                       "grace@example.com": "user"}
    org = owner.get(f"/api/v9/workspaces/{sandbox.workspace_id}").json()["organization_id"]
    long = owner.get(f"/api/v9/organizations/{org}/workspaces/{sandbox.workspace_id}/workspace_users").json()
    assert {u["uid"]: u["timezone"] for u in long}[team.grace_id] == "America/New_York"


# --- time entries --------------------------------------------------------------------------------
def test_entries_come_back_in_the_viewers_profile_timezone(server: SandboxServer, sandbox: TogglSandbox,
                                                           owner: httpx.Client, team: Team) -> None:
    wid = sandbox.workspace_id
    with api(server, "b" * 32) as grace:
        made = track(grace, wid, team, team.grace_id, "2026-03-02T14:00:00Z", 5400)
        assert made["start"] == "2026-03-02T09:00:00-05:00" and made["stop"] == "2026-03-02T10:30:00-05:00"
        assert made["duration"] == 5400 and made["at"] == "2026-03-04T12:00:00.000000Z"
        (mine,) = grace.get("/api/v9/me/time_entries").json()
        assert mine["id"] == made["id"] and mine["wid"] == wid and mine["pid"] == team.project_id
    as_owner = search(owner, wid, start_date="2026-03-02", end_date="2026-03-02").json()
    assert as_owner[0]["time_entries"][0]["start"] == "2026-03-02T14:00:00+00:00"


def test_a_running_entry_has_a_negative_duration_until_stopped(owner: httpx.Client, sandbox: TogglSandbox,
                                                               team: Team, clock: Clock) -> None:
    wid = sandbox.workspace_id
    running = owner.post(f"/api/v9/workspaces/{wid}/time_entries", json={
        "created_with": "q2c tests", "workspace_id": wid, "start": "2026-03-04T11:00:00Z", "duration": -1,
        "project_id": team.project_id})
    assert running.status_code == 200
    assert running.json()["stop"] is None and running.json()["duration"] < 0
    assert owner.get("/api/v9/me/time_entries/current").json()["id"] == running.json()["id"]
    clock.advance(minutes=30)
    stopped = owner.patch(f"/api/v9/workspaces/{wid}/time_entries/{running.json()['id']}/stop").json()
    assert stopped["duration"] == 5400 and stopped["stop"] == "2026-03-04T12:30:00+00:00"


def test_an_admin_tracks_for_a_member_but_a_member_not_for_others(server: SandboxServer, sandbox: TogglSandbox,
                                                                    owner: httpx.Client, team: Team) -> None:
    wid = sandbox.workspace_id
    assert track(owner, wid, team, team.ada_id, "2026-03-02T09:00:00Z", 3600)["user_id"] == team.ada_id
    with api(server, team.ada_token) as ada:
        refused = ada.post(f"/api/v9/workspaces/{wid}/time_entries", json={
            "created_with": "q2c tests", "workspace_id": wid, "user_id": team.grace_id, "start":
            "2026-03-02T09:00:00Z", "duration": 60})
    assert refused.status_code == 403


# --- the detailed report -------------------------------------------------------------------------
def test_detailed_report_pages_with_next_id_and_row_number(owner: httpx.Client, sandbox: TogglSandbox,
                                                          team: Team) -> None:
    wid = sandbox.workspace_id
    made = [track(owner, wid, team, team.ada_id, f"2026-03-0{d}T09:00:00Z", 3600)["id"] for d in (2, 3, 4)]
    first = search(owner, wid, start_date="2026-03-01", end_date="2026-03-07", order_dir="ASC", page_size=2)
    assert [r["time_entries"][0]["id"] for r in first.json()] == made[:2]
    assert [r["row_number"] for r in first.json()] == [1, 2]
    assert first.headers["X-Next-ID"] == str(made[2]) and first.headers["X-Next-Row-Number"] == "3"
    second = search(owner, wid, start_date="2026-03-01", end_date="2026-03-07", order_dir="ASC", page_size=2,
                    first_id=made[2], first_row_number=3)
    assert [r["time_entries"][0]["id"] for r in second.json()] == made[2:]
    assert "X-Next-ID" not in second.headers and "X-Next-Row-Number" not in second.headers
    assert second.headers["X-Range-Start"] == "2026-03-01"


def test_detailed_report_counts_an_entry_on_its_owners_day(owner: httpx.Client, sandbox: TogglSandbox,
                                                          team: Team) -> None:
    """03:00 UTC on 3 March is 22:00 on 2 March in New York, where Grace works."""
    wid = sandbox.workspace_id
    made = track(owner, wid, team, team.grace_id, "2026-03-03T03:00:00Z", 1800)
    on_the_2nd = search(owner, wid, start_date="2026-03-02", end_date="2026-03-02").json()
    assert [r["time_entries"][0]["id"] for r in on_the_2nd] == [made["id"]]
    assert search(owner, wid, start_date="2026-03-03", end_date="2026-03-03").json() == []


def test_detailed_report_refusals_and_a_members_own_view(server: SandboxServer, owner: httpx.Client,
                                                         sandbox: TogglSandbox, team: Team) -> None:
    wid = sandbox.workspace_id
    track(owner, wid, team, team.ada_id, "2026-03-02T09:00:00Z", 3600)
    track(owner, wid, team, team.grace_id, "2026-03-02T15:00:00Z", 3600)
    assert search(owner, wid).json() == "At least one parameter must be set"
    too_long = search(owner, wid, start_date="2025-01-01", end_date="2026-03-01")
    assert too_long.status_code == 400
    with api(server, team.ada_token) as ada:
        rows = search(ada, wid, start_date="2026-03-01", end_date="2026-03-07").json()
    assert {r["user_id"] for r in rows} == {team.ada_id}
    enriched = search(owner, wid, start_date="2026-03-02", end_date="2026-03-02", enrich_response=True).json()
    assert {r["email"] for r in enriched} == {"Ada.Lovelace@Example.com", "grace@example.com"}
    assert {r["task_name"] for r in enriched} == {"DESIGN"}


# --- approvals -------------------------------------------------------------------------------------
def test_timesheets_are_an_array_of_pages_and_approval_locks_the_period(owner: httpx.Client, sandbox: TogglSandbox,
                                                                         team: Team, clock: Clock) -> None:
    wid = sandbox.workspace_id
    entry = track(owner, wid, team, team.ada_id, "2026-03-02T09:00:00Z", 3600)
    listed = owner.get(f"/api/v9/workspaces/{wid}/timesheets", params={"member_ids": str(team.ada_id)}).json()
    assert isinstance(listed, list) and set(listed[0]) == {"data", "page", "per_page", "total_count"}
    assert [(t["start_date"], t["status"]) for t in listed[0]["data"]] == [("2026-02-23", "pending"),
                                                                          ("2026-03-02", "pending")]
    setup = team.setup_ids[team.ada_id]
    clock.advance(hours=1)
    decided = owner.put(f"/api/v9/workspaces/{wid}/timesheets/{setup}/2026-03-02", json={"status": "approved"})
    assert decided.json()["status"] == "approved" and decided.json()["period_locked"] is True
    assert decided.json()["approved_or_rejected_at"] == "2026-03-04T13:00:00+00:00"
    inside = owner.get(f"/api/v9/workspaces/{wid}/timesheets/{setup}/2026-03-02").json()
    assert [e["id"] for e in inside] == [entry["id"]]
    edit = owner.put(f"/api/v9/workspaces/{wid}/time_entries/{entry['id']}", json={"duration": 7200})
    assert edit.status_code == 400
    owner.put(f"/api/v9/workspaces/{wid}/timesheets/{setup}/2026-03-02", json={"status": "rejected",
                                                                               "rejection_comment": "split it"})
    assert owner.put(f"/api/v9/workspaces/{wid}/time_entries/{entry['id']}", json={"duration": 7200}).json()[
        "duration"] == 7200


def test_approvals_need_a_paid_plan() -> None:
    box = create_sandbox(premium=False)
    with SandboxServer(box) as server, api(server, box.token) as owner:
        answer = owner.get(f"/api/v9/workspaces/{box.workspace_id}/timesheet_setups")
    assert answer.status_code == 402 and answer.json() == "Approvals are a premium feature"


# --- limits ------------------------------------------------------------------------------------------
def test_the_hourly_quota_answers_402_with_its_headers() -> None:
    box = create_sandbox(quota=Quota(per_organization=2, per_user=30))
    with SandboxServer(box) as server, api(server, box.token) as owner:
        path = f"/api/v9/workspaces/{box.workspace_id}"
        first = owner.get(path)
        assert first.headers["X-Toggl-Quota-Remaining"] == "1"
        assert int(first.headers["X-Toggl-Quota-Resets-In"]) in range(3590, 3601)
        owner.get(path)
        spent = owner.get(path)
        assert spent.status_code == 402 and spent.headers["X-Toggl-Quota-Remaining"] == "0"
        assert owner.get("/api/v9/me").status_code == 200  # the user-specific quota is counted apart


def test_the_burst_limit_answers_429() -> None:
    box = create_sandbox(limits=VendorLimits(requests_per_window=2, window_seconds=30))
    with SandboxServer(box) as server, api(server, box.token) as owner:
        answers = [owner.get("/api/v9/me") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
