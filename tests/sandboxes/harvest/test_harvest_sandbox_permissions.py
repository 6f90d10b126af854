"""The sandbox answers as the token's user may see and do, by their access roles.

Harvest API v2, Users (https://help.getharvest.com/api-v2/users-api/users/users/): access_roles are
administrator, manager or member, a manager possibly with project_creator, client_and_task_manager and
others; /v2/users needs an Administrator or a Manager with assigned teammates (403 otherwise), /v2/users/me
is open to all. Help centre, Team permissions
(https://support.getharvest.com/hc/en-us/articles/360048687451-Team-permissions): a Member sees their own
time, a Manager also the time on projects they manage; creating projects, clients and tasks takes an
Administrator or a Manager with the additional permission.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from harvest_sandbox_support import Delivery, log_time

from q2c.sandboxes.harvest.app import HarvestSandbox


def listed(http: httpx.Client) -> set[int]:
    response = http.get("/v2/time_entries")
    assert response.status_code == 200, response.text
    return {r["id"] for r in response.json()["time_entries"]}


def set_my_roles(http: httpx.Client, *roles: str) -> httpx.Response:
    return http.put("/__sandbox/users/me/access_roles", json={"access_roles": list(roles)})


def my_entry(sandbox: HarvestSandbox, delivery: Delivery, *, manager: bool = False) -> int:
    """The token's user assigned to the project (as its manager or not) and an hour of their own time."""
    state = sandbox.state
    state.assign_user(delivery.project_id, {"user_id": state.me_id, "is_project_manager": manager})
    entry: dict[str, Any] = state.create_time_entry({
        "project_id": delivery.project_id, "task_id": delivery.design_task_id, "spent_date": "2026-02-10",
        "hours": Decimal(1)})
    return int(entry["id"])


def second_project(sandbox: HarvestSandbox, delivery: Delivery) -> tuple[int, int]:
    """Another project of the client, with Ada on it and an entry of hers; (project id, entry id)."""
    state = sandbox.state
    other = state.create_project({"client_id": delivery.client_id, "name": "Acme support", "code": "PRJ-2",
                                  "is_billable": True, "bill_by": "Tasks", "budget_by": "none"})
    state.assign_task(other["id"], {"task_id": delivery.design_task_id})
    state.assign_user(other["id"], {"user_id": delivery.ada_id})
    entry = state.create_time_entry({"project_id": other["id"], "task_id": delivery.design_task_id,
                                     "user_id": delivery.ada_id, "spent_date": "2026-02-11", "hours": Decimal(2)})
    return int(other["id"]), int(entry["id"])


def test_access_roles_take_one_level_and_a_manager_s_grants(http: httpx.Client) -> None:
    assert set_my_roles(http, "manager", "project_creator").json()["access_roles"] == ["manager", "project_creator"]
    for bad in ((), ("boss",), ("member", "project_creator"), ("administrator", "manager")):
        assert set_my_roles(http, *bad).status_code == 422, bad
    assert http.get("/v2/users/me").json()["access_roles"] == ["manager", "project_creator"]


def test_a_member_sees_only_their_own_time_and_no_one_else(http: httpx.Client, sandbox: HarvestSandbox,
                                                           delivery: Delivery) -> None:
    others = log_time(sandbox.state, delivery, 3)
    mine = my_entry(sandbox, delivery)
    assert listed(http) == {*others, mine}
    set_my_roles(http, "member")
    assert listed(http) == {mine}
    assert http.get(f"/v2/time_entries/{others[0]}").status_code == 404
    assert http.get("/v2/users/me").status_code == 200
    for path in ("/v2/users", "/v2/projects"):
        refused = http.get(path)
        assert refused.status_code == 403 and "permission" in refused.json()["message"], path


def test_a_manager_sees_the_time_of_projects_they_manage(http: httpx.Client, sandbox: HarvestSandbox,
                                                         delivery: Delivery) -> None:
    on_managed = log_time(sandbox.state, delivery, 2)
    mine = my_entry(sandbox, delivery, manager=True)
    other_project, elsewhere = second_project(sandbox, delivery)
    set_my_roles(http, "manager")
    assert listed(http) == {*on_managed, mine}
    assert elsewhere not in listed(http)
    assert [p["id"] for p in http.get("/v2/projects").json()["projects"]] == [delivery.project_id]
    assert http.get("/v2/users").status_code == 403  # no assigned teammates
    set_my_roles(http, "manager", "people_manager")
    assert http.get("/v2/users").status_code == 200
    set_my_roles(http, "administrator")
    assert elsewhere in listed(http) and other_project in {p["id"] for p in http.get("/v2/projects").json()["projects"]}


def test_creating_clients_projects_and_tasks_takes_an_administrator_or_the_grant(
        http: httpx.Client, delivery: Delivery) -> None:
    project = {"client_id": delivery.client_id, "name": "New work", "code": "PRJ-9", "is_billable": True,
               "bill_by": "Tasks", "budget_by": "none"}
    creates = (("/v2/projects", project, "project_creator"), ("/v2/clients", {"name": "Initech"},
               "client_and_task_manager"), ("/v2/tasks", {"name": "REVIEW"}, "client_and_task_manager"))
    for path, body, grant in creates:
        set_my_roles(http, "manager")
        refused = http.post(path, json=body)
        assert refused.status_code == 403, path
        set_my_roles(http, "manager", grant)
        assert http.post(path, json=body).status_code == 201, path
