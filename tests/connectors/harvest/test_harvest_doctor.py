"""`q2c doctor` for Harvest: the token opens the account, which account it is, and whether the account lets
time reach q2c whole (Approvals on, GET /v2/company `approval_feature`; the token's user an Administrator,
GET /v2/users/me `access_roles`, https://help.getharvest.com/api-v2/users-api/users/users/ and
https://support.getharvest.com/hc/en-us/articles/360048687451-Team-permissions), each with where to fix it."""

from __future__ import annotations

from typing import Any

from harvest_fixtures import ACCOUNT_ID, TOKEN

from q2c.connectors.checks import Check
from q2c.connectors.harvest.doctor import check
from q2c.connectors.harvest.settings import HarvestSettings
from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.kit import SandboxServer

WHERE = "systems.tracker"


def doctor(server: SandboxServer, **config: Any) -> Check:
    settings = {"base_url": f"{server.url}/v2", "account_id": ACCOUNT_ID, "access_token": TOKEN, **config}
    return check(HarvestSettings(**settings), WHERE, 2.0)


def test_a_well_set_up_account_passes_and_names_itself(server: SandboxServer) -> None:
    result = doctor(server)
    assert result.ok, result
    assert result.detail == ("account 100001 (Sandbox Consulting, sandbox.harvestapp.com) answers as "
                             "admin@sandbox.example, an Administrator: Approvals on, sees everyone's time, "
                             "may set up projects")


def test_a_token_that_does_not_open_the_account_blocks_on_the_token_and_names_the_account(
        server: SandboxServer) -> None:
    for config in ({"access_token": "1.pt.wrong"}, {"account_id": "424242"}):
        result = doctor(server, **config)
        assert (result.ok, result.blocking, result.key) == (False, True, "systems.tracker.access_token"), config
        assert f"account {config.get('account_id', ACCOUNT_ID)} is not one it opens" in result.detail
        assert "Harvest ID > Developers" in result.detail and "1.pt.wrong" not in result.detail


def test_approvals_off_warns_on_the_account(server: SandboxServer, sandbox: HarvestSandbox) -> None:
    sandbox.state.company["approval_feature"] = False
    result = doctor(server)
    assert (result.ok, result.blocking, result.key) == (False, False, "systems.tracker.account_id")
    assert "Approvals are switched off" in result.detail and "Settings > Modules" in result.detail


def test_a_member_s_token_warns_that_it_sees_own_time_and_cannot_set_projects_up(
        server: SandboxServer, sandbox: HarvestSandbox) -> None:
    sandbox.state.set_access_roles(sandbox.state.me_id, ["member"])
    result = doctor(server)
    assert (result.ok, result.blocking, result.key) == (False, False, "systems.tracker.access_token")
    assert "access roles member" in result.detail and "only their own time" in result.detail
    assert "may not create projects or create and edit clients and tasks" in result.detail
    assert result.detail.count("Team > Actions > Edit > Permissions") == 1  # one fix for both


def test_a_manager_with_the_grants_can_set_projects_up_but_sees_only_managed_time(
        server: SandboxServer, sandbox: HarvestSandbox) -> None:
    state = sandbox.state
    state.set_access_roles(state.me_id, ["manager", "project_creator", "client_and_task_manager"])
    granted = doctor(server)
    assert "projects they manage" in granted.detail and "may not" not in granted.detail
    state.set_access_roles(state.me_id, ["manager", "project_creator"])
    partly = doctor(server)
    assert "may not create and edit clients and tasks" in partly.detail and "create projects" not in partly.detail
