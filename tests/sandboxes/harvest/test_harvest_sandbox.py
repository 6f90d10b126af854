"""The Harvest sandbox speaks Harvest's wire protocol: auth, paging, filters, errors, limits, approvals."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
from harvest_sandbox_support import HEADERS, TOKEN, Clock, Delivery, log_time

from q2c.sandboxes.harvest.account import APPROVED_REASON, INVOICED_REASON
from q2c.sandboxes.harvest.app import HARVEST_LIMITS, HarvestSandbox, create_sandbox
from q2c.sandboxes.kit import SandboxServer, VendorLimits


def walk(http: httpx.Client, path: str, key: str, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow links.next; return every record and every envelope."""
    records, envelopes = [], []
    url: str | None = path
    query: dict[str, Any] | None = params
    while url:
        response = http.get(url, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        envelopes.append(body)
        records.extend(body[key])
        url, query = body["links"]["next"], None
    return records, envelopes


def test_wrong_token_or_account_gets_invalid_token(http: httpx.Client) -> None:
    for headers in ({"Authorization": "Bearer nope"}, {"Harvest-Account-Id": "999"},
                    {"Authorization": f"Token {TOKEN}"}):
        response = http.get("/v2/users/me", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert "access token" in response.json()["error_description"]


def test_missing_account_header_is_refused(server: SandboxServer) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != "Harvest-Account-Id"}
    response = httpx.get(f"{server.url}/v2/company", headers=headers)
    assert response.status_code == 401


def test_missing_user_agent_is_a_bad_request(server: SandboxServer) -> None:
    with httpx.Client(headers={k: v for k, v in HEADERS.items() if k != "User-Agent"}) as client:
        del client.headers["User-Agent"]  # httpx adds its own otherwise
        response = client.get(f"{server.url}/v2/company")
    assert response.status_code == 400
    assert "User-Agent" in response.json()["message"]


def test_company_reports_the_approval_feature(http: httpx.Client, sandbox: HarvestSandbox) -> None:
    assert http.get("/v2/company").json()["approval_feature"] is True
    sandbox.state.company["approval_feature"] = False
    assert http.get("/v2/company").json()["approval_feature"] is False


def test_time_entries_page_links_walk_every_entry_newest_first(
        http: httpx.Client, sandbox: HarvestSandbox, delivery: Delivery) -> None:
    """Harvest API v2, List all time entries: sorted by spent_date, the example newest first and, within a
    day, the most recently created first (https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/)."""
    ids = log_time(sandbox.state, delivery, 23)
    records, envelopes = walk(http, "/v2/time_entries", "time_entries", per_page=5)
    assert sorted(r["id"] for r in records) == sorted(ids)
    listed = [(r["spent_date"], r["created_at"], r["id"]) for r in records]
    assert listed == sorted(listed, reverse=True)
    assert [r["id"] for r in records][:4] == [ids[19], ids[18], ids[17], ids[16]]
    assert [r["id"] for r in records][-2:] == [ids[20], ids[0]]  # two entries of 2026-02-02: the later first
    assert [e["page"] for e in envelopes] == [1, 2, 3, 4, 5]
    first, last = envelopes[0], envelopes[-1]
    assert (first["per_page"], first["total_pages"], first["total_entries"]) == (5, 5, 23)
    assert (first["next_page"], first["previous_page"]) == (2, None)
    assert (last["next_page"], last["previous_page"], last["links"]["next"]) == (None, 4, None)
    assert "page=5" in first["links"]["last"] and "ref=last" in first["links"]["last"]
    assert http.get(last["links"]["previous"]).json()["page"] == 4


def test_cursor_links_null_the_page_numbers_of_middle_pages(http: httpx.Client, sandbox: HarvestSandbox,
                                                             delivery: Delivery) -> None:
    ids = log_time(sandbox.state, delivery, 12)
    assert http.put("/__sandbox/paging", json={"time_entries": "cursor"}).status_code == 200
    records, envelopes = walk(http, "/v2/time_entries", "time_entries", per_page=4)
    assert [r["id"] for r in records] == ids[::-1]  # newest first, as page numbers list them
    assert "cursor=" in envelopes[0]["links"]["next"] and "ref=next_cursor" in envelopes[0]["links"]["next"]
    assert (envelopes[0]["page"], envelopes[0]["next_page"]) == (1, 2)
    assert (envelopes[1]["page"], envelopes[1]["next_page"], envelopes[1]["previous_page"]) == (None, None, None)
    assert (envelopes[2]["page"], envelopes[2]["previous_page"]) == (3, 2)
    back = http.get(envelopes[2]["links"]["previous"]).json()
    assert [r["id"] for r in back["time_entries"]] == [r["id"] for r in envelopes[1]["time_entries"]]


def test_other_lists_page_by_cursor(http: httpx.Client, sandbox: HarvestSandbox) -> None:
    for n in range(7):
        sandbox.state.add_user("Person", str(n), f"p{n}@example.com")
    users, envelopes = walk(http, "/v2/users", "users", per_page=3)
    assert len(users) == 8  # with the account's administrator
    assert len(envelopes) == 3 and "cursor=" in envelopes[0]["links"]["next"]


def test_per_page_outside_1_to_2000_is_422(http: httpx.Client) -> None:
    for bad in (0, 2001):
        response = http.get("/v2/time_entries", params={"per_page": bad})
        assert response.status_code == 422
        assert "per_page" in response.json()["message"]
    assert http.get("/v2/time_entries", params={"per_page": 2000}).status_code == 200
    assert http.get("/v2/time_entries", params={"cursor": "not-a-cursor"}).status_code == 422


def test_filters_updated_since_dates_billed_user(http: httpx.Client, sandbox: HarvestSandbox,
                                                 delivery: Delivery, clock: Clock) -> None:
    early = log_time(sandbox.state, delivery, 6)
    cutoff = clock.advance(hours=1)
    late = log_time(sandbox.state, delivery, 2, first_day="2026-02-20")
    clock.advance(minutes=5)
    sandbox.state.update_time_entry(early[0], {"notes": "corrected"})
    sandbox.state.mark_invoiced([early[1]])

    def ids(**params: Any) -> set[int]:
        return {r["id"] for r in walk(http, "/v2/time_entries", "time_entries", **params)[0]}

    assert ids(updated_since=cutoff.isoformat()) == {*late, early[0], early[1]}
    assert ids(updated_since="2026-03-02T10:00:00Z") == {*late, early[0], early[1]}
    assert ids(updated_since="2026-03-02T10:00:01Z") == {early[0], early[1]}
    assert ids(**{"from": "2026-02-03", "to": "2026-02-04"}) == {early[1], early[2]}
    assert ids(is_billed="true") == {early[1]}
    assert ids(user_id=delivery.grace_id) == {early[1], early[3], early[5], late[1]}


def test_time_entry_shape(http: httpx.Client, sandbox: HarvestSandbox, delivery: Delivery) -> None:
    created = http.post("/v2/time_entries", json={
        "project_id": delivery.project_id, "task_id": delivery.design_task_id, "user_id": delivery.ada_id,
        "spent_date": "2026-02-10", "hours": 2.11, "notes": "Workshop"})
    assert created.status_code == 201
    entry = http.get(f"/v2/time_entries/{created.json()['id']}").json()
    assert entry["user"] == {"id": delivery.ada_id, "name": "Ada Lovelace"}
    assert entry["client"] == {"id": delivery.client_id, "name": "Acme Corp", "currency": "USD"}
    assert entry["project"] == {"id": delivery.project_id, "name": "Acme ERP rollout", "code": "PRJ-1"}
    assert entry["task"] == {"id": delivery.design_task_id, "name": "DESIGN"}
    assert {"id", "is_project_manager", "hourly_rate"} <= set(entry["user_assignment"])
    assert {"id", "billable", "hourly_rate"} <= set(entry["task_assignment"])
    assert (entry["hours"], entry["rounded_hours"]) == (2.11, 2.25)
    assert (entry["billable"], entry["billable_rate"], entry["cost_rate"]) == (True, 180, 70)
    assert (entry["is_locked"], entry["locked_reason"], entry["is_closed"], entry["is_billed"]) == (
        False, None, False, False)
    assert entry["invoice"] is None and entry["external_reference"] is None
    assert entry["created_at"] == entry["updated_at"] == "2026-03-02T09:00:00Z"


def test_validation_errors_are_422_messages(http: httpx.Client, delivery: Delivery) -> None:
    base = {"project_id": delivery.project_id, "task_id": delivery.design_task_id, "user_id": delivery.ada_id,
            "spent_date": "2026-02-10", "hours": 1}
    cases = [({"spent_date": None}, "Spent date can't be blank"), ({"spent_date": "10/02/2026"}, "Spent date"),
             ({"hours": 25}, "Hours must be less than or equal to 24"), ({"hours": "lots"}, "Hours is not a number"),
             ({"project_id": 1}, "Project must exist")]
    for change, expected in cases:
        response = http.post("/v2/time_entries", json={**base, **change})
        assert response.status_code == 422, change
        assert expected in response.json()["message"]
    outsider = http.post("/v2/users", json={"first_name": "Out", "last_name": "Sider", "email": "o@example.com"})
    response = http.post("/v2/time_entries", json={**base, "user_id": outsider.json()["id"]})
    assert response.json() == {"message": "User must be assigned to the project"}


def test_approval_locks_and_editing_a_locked_entry_is_422(http: httpx.Client, sandbox: HarvestSandbox,
                                                          delivery: Delivery) -> None:
    first, second, third = log_time(sandbox.state, delivery, 3)
    assert http.post("/__sandbox/approve", json={"ids": [first, second]}).json() == {"approved": [first, second]}
    approved = http.get(f"/v2/time_entries/{first}").json()
    assert (approved["is_closed"], approved["is_locked"], approved["locked_reason"]) == (True, True, APPROVED_REASON)
    edit = http.patch(f"/v2/time_entries/{first}", json={"hours": 3})
    assert edit.status_code == 422 and "locked" in edit.json()["message"]

    invoiced = http.post("/__sandbox/invoice", json={"ids": [second], "number": "INV-7"}).json()
    entry = http.get(f"/v2/time_entries/{second}").json()
    assert entry["invoice"] == invoiced["invoice"] and entry["invoice"]["number"] == "INV-7"
    assert (entry["is_billed"], entry["locked_reason"]) == (True, INVOICED_REASON)
    assert http.post("/__sandbox/withdraw_approval", json={"ids": [second]}).status_code == 422

    assert http.post("/__sandbox/withdraw_approval", json={"ids": [first]}).json() == {"reopened": [first]}
    assert http.patch(f"/v2/time_entries/{first}", json={"hours": 3}).json()["hours"] == 3
    assert http.post("/__sandbox/approve", json={"all_submitted": True}).json() == {"approved": [first, third]}


def test_only_an_administrator_deletes_locked_time(http: httpx.Client, sandbox: HarvestSandbox,
                                                   delivery: Delivery) -> None:
    """Harvest: a closed entry can be deleted by an administrator only; the token here is the account's admin."""
    approved, invoiced, kept_approved, kept_invoiced, open_entry = log_time(sandbox.state, delivery, 5)
    sandbox.state.approve([approved, kept_approved])
    sandbox.state.mark_invoiced([invoiced, kept_invoiced])
    me = sandbox.state.users[sandbox.state.me_id]
    assert me["access_roles"] == ["administrator"]
    assert [http.delete(f"/v2/time_entries/{i}").status_code for i in (approved, invoiced)] == [200, 200]
    me["access_roles"] = ["member"]
    for entry_id, reason in ((kept_approved, APPROVED_REASON), (kept_invoiced, "Invoiced")):
        refused = http.delete(f"/v2/time_entries/{entry_id}")
        assert refused.status_code == 422 and "locked" in refused.json()["message"]
        assert reason in refused.json()["message"]
    assert http.delete(f"/v2/time_entries/{open_entry}").status_code == 200
    assert sorted(sandbox.state.time_entry_ids()) == sorted([kept_approved, kept_invoiced])


def test_patch_moves_an_entry_in_the_sorted_list(http: httpx.Client, sandbox: HarvestSandbox,
                                                 delivery: Delivery) -> None:
    ids = log_time(sandbox.state, delivery, 3)
    http.patch(f"/v2/time_entries/{ids[0]}", json={"spent_date": "2026-02-28"})
    records, _ = walk(http, "/v2/time_entries", "time_entries")
    assert [r["id"] for r in records] == [ids[0], ids[2], ids[1]]
    assert http.delete(f"/v2/time_entries/{ids[1]}").status_code == 200
    assert http.get(f"/v2/time_entries/{ids[1]}").status_code == 404
    assert sandbox.state.time_entry_ids() == [ids[0], ids[2]]


def test_documented_limit_answers_429_with_retry_after() -> None:
    assert (HARVEST_LIMITS.requests_per_window, HARVEST_LIMITS.window_seconds) == (100, 15)
    sandbox = create_sandbox(limits=VendorLimits(requests_per_window=3, window_seconds=15))
    with SandboxServer(sandbox) as server, httpx.Client(base_url=server.url, headers=HEADERS) as http:
        statuses = [http.get("/v2/company").status_code for _ in range(4)]
        refused = http.get("/v2/company")
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 15
    assert "100 requests per 15 seconds" in refused.json()["message"]
    assert sandbox.stats.throttled == 2


def test_generating_a_large_account_and_listing_it_is_quick() -> None:
    sandbox = create_sandbox()
    with SandboxServer(sandbox) as server, httpx.Client(base_url=server.url, headers=HEADERS, timeout=30) as http:
        started = time.perf_counter()
        generated = http.post("/__sandbox/generate", json={"count": 20000, "approved_share": 0.25, "seed": 3})
        records, envelopes = walk(http, "/v2/time_entries", "time_entries", per_page=2000)
        elapsed = time.perf_counter() - started
    assert generated.json()["created"] == 20000
    assert len(records) == 20000 and len({r["id"] for r in records}) == 20000 and len(envelopes) == 10
    assert 0.15 < sum(r["is_closed"] for r in records) / 20000 < 0.35
    assert elapsed < 8, f"20,000 entries took {elapsed:.1f} s"
    assert isinstance(records[0]["hours"], float) and Decimal(str(records[0]["hours"])) % Decimal("0.25") == 0
