"""Resources read from NetSuite and Harvest by `q2c reference sync`, on the sandboxes, through the CLI.

Alice (Consultant) and Bob (Architect) are in the config, in Harvest and in NetSuite; Dan logs time in
Harvest but is neither a NetSuite employee nor in the config; the Harvest account's administrator (the
token's user) is in Harvest only. NetSuite's Job Title is the configured role field.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from scenario_world import ScenarioWorld

from q2c.entrypoints.api_reference import reference_router
from q2c.entrypoints.http_api import create_app
from support.api_auth import bearer

DAN = "dan@q2c-demo.example"
ADMIN = "admin@sandbox.example"


def shown(w: ScenarioWorld) -> dict[str, dict[str, Any]]:
    result = w.q2c("reference", "show", "--json")
    assert result.exit_code == 0, result.output
    return {r["email"]: r for r in json.loads(result.stdout)["resources"]}


def open_for(w: ScenarioWorld, rule: str) -> list[dict[str, Any]]:
    return [e for e in w.open_exceptions() if e["rule"] == rule]


def test_a_harvest_user_who_is_no_netsuite_employee_is_held_until_netsuite_hires_them(
        scenario: ScenarioWorld) -> None:
    w = scenario
    w.settings["systems"]["erp"]["employee_role_field"] = "title"
    w.write_config(w.config_path)
    ns = w.netsuite.state
    alice = next(r for r in ns.records["employee"].values() if r.values.get("email") == "alice@q2c-demo.example")
    alice.values["title"] = "Senior Consultant"
    before = shown(w)  # nothing read yet: the config alone
    assert sorted(before) == ["alice@q2c-demo.example", "bob@q2c-demo.example"]
    assert {(r["in_erp"], r["in_tracker"]) for r in before.values()} == {("not_read", "not_read")}

    synced = w.q2c("reference", "sync")
    assert synced.exit_code == 1, synced.output  # people need attention
    assert "people: 4 (2 from the ERP, 4 from the tracker" in synced.stdout
    (dan,) = [e for e in open_for(w, "reference.resource_not_in_erp") if e["record_id"] == DAN]
    assert (dan["system"], dan["object"], dan["field"]) == ("netsuite", "employee", "email")
    assert "Dan Drake (dan@q2c-demo.example) logs time in Harvest" in dan["message"]
    assert "is no employee in NetSuite" in dan["message"] and "NetSuite will refuse their time" in dan["message"]
    assert sorted(e["record_id"] for e in open_for(w, "reference.resource_not_in_erp")) == [ADMIN, DAN]
    assert sorted(e["record_id"] for e in open_for(w, "reference.resource_no_role")) == [ADMIN, DAN]
    assert open_for(w, "reference.resource_inactive") == []

    people = shown(w)
    assert {k: people["alice@q2c-demo.example"][k] for k in (
        "name", "role", "in_erp", "in_tracker", "employee_number", "erp_roles")} == {
        "name": "Alice Adams", "role": "Consultant", "in_erp": "active", "in_tracker": "active",
        "employee_number": "Alice Adams", "erp_roles": ["Senior Consultant"]}
    assert (people[DAN]["role"], people[DAN]["in_erp"], people[DAN]["in_tracker"]) == (None, "absent", "active")
    assert people[DAN]["problems"] == ["reference.resource_no_role", "reference.resource_not_in_erp"]
    table = w.q2c("reference", "show")
    assert table.exit_code == 0 and "role (config)" in table.stdout and "employee number" in table.stdout
    dan_row = next(line for line in table.stdout.splitlines() if DAN in line)
    assert "Dan Drake" in dan_row and "none" in dan_row and "no " in dan_row and "yes, active" in dan_row

    hub = w.hub()
    api = TestClient(create_app(hub.engine, webhook_secret="s", routers=[reference_router(hub)]),
                     headers=bearer(hub.engine))
    over_http = {r["email"]: r for r in api.get("/reference").json()["resources"]}
    assert over_http == people

    ns.seed("employee", {"firstName": "Dan", "lastName": "Drake", "email": "Dan@Q2C-demo.example",
                         "entityId": "EMP-0042", "title": "Consultant"})
    again = w.q2c("reference", "sync")
    assert again.exit_code == 1, again.output  # Dan still has no role in the config, nor has the administrator
    assert [e["record_id"] for e in open_for(w, "reference.resource_not_in_erp")] == [ADMIN]
    assert sorted(e["record_id"] for e in open_for(w, "reference.resource_no_role")) == [ADMIN, DAN]
    after = shown(w)[DAN]
    assert (after["in_erp"], after["employee_number"], after["erp_roles"]) == ("active", "EMP-0042", ["Consultant"])
    assert w.q2c("audit", "verify").exit_code == 0


def test_harvest_business_roles_and_inactive_users(scenario: ScenarioWorld) -> None:
    """A contractor created through Harvest's users API with business roles, later deactivated; and Bob made
    inactive in NetSuite while the config still lists him."""
    w = scenario
    harvest = w.harvest.state
    erin = harvest.create_user({"first_name": "Erin", "last_name": "Ebert", "email": "Erin@q2c-demo.example",
                                "is_contractor": True, "roles": ["Architect", "Cloud"]})
    assert w.q2c("reference", "sync").exit_code == 1
    assert shown(w)["erin@q2c-demo.example"]["tracker_roles"] == ["Architect", "Cloud"]
    erin["is_active"] = False
    bob = next(r for r in w.netsuite.state.records["employee"].values()
               if r.values.get("email") == "bob@q2c-demo.example")
    bob.values["isinactive"] = True
    assert w.q2c("reference", "sync").exit_code == 1
    people = shown(w)
    assert (people["erin@q2c-demo.example"]["in_tracker"], people["erin@q2c-demo.example"]["problems"]) == (
        "inactive", [])
    assert (people["bob@q2c-demo.example"]["in_erp"], people["bob@q2c-demo.example"]["problems"]) == (
        "inactive", ["reference.resource_inactive", "reference.resource_not_in_erp"])
    (inactive,) = open_for(w, "reference.resource_inactive")
    assert "Bob Baker (bob@q2c-demo.example) is a resource in the q2c config (Architect) but an inactive employee " \
           "in NetSuite" in inactive["message"]
