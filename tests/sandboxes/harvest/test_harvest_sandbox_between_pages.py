"""The sandbox's hook for time changed while a client pages (POST /__sandbox/between_pages), and the hazard it
exists to show: Harvest pages time entries by number, newest first (API v2, List all time entries,
https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/), so an entry deleted ahead of
the reader moves every later entry up a slot and a page-number walk misses one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from harvest_sandbox_support import Delivery, log_time

from q2c.sandboxes.harvest.app import HarvestSandbox


def page(http: httpx.Client, number: int, **params: Any) -> dict[str, Any]:
    response = http.get("/v2/time_entries", params={"page": number, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids_of(body: dict[str, Any]) -> list[int]:
    return [r["id"] for r in body["time_entries"]]


def test_a_deletion_between_two_pages_shifts_the_rest_up_a_slot(http: httpx.Client, sandbox: HarvestSandbox,
                                                                delivery: Delivery) -> None:
    ids = log_time(sandbox.state, delivery, 6)  # one a day: newest first is ids reversed
    lined_up = http.post("/__sandbox/between_pages", json={"after": 1, "changes": [{"delete": ids[5]}]})
    assert lined_up.status_code == 200 and lined_up.json() == {"waiting": 1, "made": []}
    first = page(http, 1, per_page=2)
    assert ids_of(first) == [ids[5], ids[4]] and first["total_entries"] == 6
    assert http.get("/__sandbox/between_pages").json() == {
        "waiting": 0, "made": [{"change": {"delete": ids[5]}, "result": None}]}
    second = page(http, 2, per_page=2)
    assert ids_of(second) == [ids[2], ids[1]] and second["total_entries"] == 5  # ids[3] slid onto page 1


def test_changes_wait_for_their_listing_and_are_made_as_the_web_ui_would(
        http: httpx.Client, sandbox: HarvestSandbox, delivery: Delivery) -> None:
    first, second = log_time(sandbox.state, delivery, 2)
    new = {"project_id": delivery.project_id, "task_id": delivery.design_task_id, "user_id": delivery.ada_id,
           "spent_date": "2026-02-27", "hours": 2}
    changes = [{"create": new}, {"update": {"id": first, "hours": 4, "spent_date": "2026-02-28"}},
               {"approve": [second]}]
    http.post("/__sandbox/between_pages", json={"after": 2, "changes": changes})
    assert len(ids_of(page(http, 1))) == 2
    assert sandbox.state.time_entry(first)["hours"] == Decimal("1.5")  # not yet: one listing to go
    after = page(http, 1)
    assert len(after["time_entries"]) == 2  # this answer was made before the changes
    made = http.get("/__sandbox/between_pages").json()["made"]
    created = made[0]["result"]
    assert [r["id"] for r in page(http, 1)["time_entries"]] == [first, created, second]
    assert (sandbox.state.time_entry(first)["hours"], sandbox.state.time_entry(second)["is_closed"]) == (4, True)


def test_changes_are_checked_when_lined_up_and_failures_reported_when_made(
        http: httpx.Client, sandbox: HarvestSandbox, delivery: Delivery) -> None:
    (only,) = log_time(sandbox.state, delivery, 1)
    for bad in ({"after": 0, "changes": [{"delete": only}]}, {"after": 1, "changes": []},
                {"after": 1, "changes": [{"rename": only}]}, {"after": 1, "changes": [{"delete": only, "x": 1}]},
                {"after": 1, "changes": [{"approve": only}]}):
        refused = http.post("/__sandbox/between_pages", json=bad)
        assert refused.status_code == 422, bad
    http.post("/__sandbox/between_pages", json={"after": 1, "changes": [{"delete": 1}, {"delete": only}]})
    page(http, 1)
    made = http.get("/__sandbox/between_pages").json()["made"]
    assert made == [{"change": {"delete": 1}, "error": "Time entry not found"},
                    {"change": {"delete": only}, "result": None}]


def test_a_reset_drops_changes_still_waiting(http: httpx.Client, sandbox: HarvestSandbox,
                                             delivery: Delivery) -> None:
    (only,) = log_time(sandbox.state, delivery, 1)
    http.post("/__sandbox/between_pages", json={"after": 1, "changes": [{"delete": only}]})
    assert http.post("/__sandbox/reset").status_code == 200
    assert http.get("/__sandbox/between_pages").json() == {"waiting": 0, "made": []}
