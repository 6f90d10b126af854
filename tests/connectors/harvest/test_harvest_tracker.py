"""The Harvest tracker's account checks and its pages of time.

Account checks: with the Approvals module off nothing is ever approved (Harvest API v2, GET /v2/company,
`approval_feature`); a token whose user is not an Administrator sees only part of the time (GET
/v2/users/me, `access_roles`, https://help.getharvest.com/api-v2/users-api/users/users/; what each role
sees: https://support.getharvest.com/hc/en-us/articles/360048687451-Team-permissions). The tracker says so
instead of leaving q2c to wait, or to sync part of the time in silence.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from harvest_fixtures import Clock, Delivery, log_time

from q2c.connectors.harvest.client import HarvestClient
from q2c.connectors.harvest.tracker import HarvestTracker
from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.kit import SandboxServer


def test_approvals_off_is_an_account_problem_naming_the_setting(harvest: HarvestClient,
                                                                sandbox: HarvestSandbox) -> None:
    tracker = HarvestTracker(harvest)
    assert tracker.account_problems() == []
    sandbox.state.company["approval_feature"] = False
    (problem,) = tracker.account_problems()
    assert (problem.system, problem.object, problem.record_id, problem.field, problem.rule) == (
        "harvest", "company", harvest.config.account_id, "approval_feature", "harvest.approvals_off")
    assert "Settings > Modules" in problem.action
    sandbox.state.company["approval_feature"] = True
    assert tracker.account_problems() == []


def test_a_member_s_token_is_an_account_problem_naming_the_person_and_the_fix(
        harvest: HarvestClient, sandbox: HarvestSandbox) -> None:
    state = sandbox.state
    state.set_access_roles(state.me_id, ["member"])
    (problem,) = HarvestTracker(harvest).account_problems()
    assert (problem.object, problem.record_id, problem.field, problem.rule) == (
        "user", str(state.me_id), "access_roles", "harvest.own_time_only")
    assert "Sandbox Administrator (admin@sandbox.example), a Member" in problem.message
    assert "only their own time" in problem.message
    assert "Team > Actions > Edit > Permissions" in problem.action and "Administrator" in problem.action
    assert "systems.tracker.access_token" in problem.action


def test_a_manager_s_token_sees_only_managed_time_and_approvals_off_is_a_second_problem(
        harvest: HarvestClient, sandbox: HarvestSandbox) -> None:
    state = sandbox.state
    state.set_access_roles(state.me_id, ["manager", "project_creator", "client_and_task_manager"])
    state.company["approval_feature"] = False
    problems = HarvestTracker(harvest).account_problems()
    assert [p.rule for p in problems] == ["harvest.approvals_off", "harvest.managed_time_only"]
    assert "projects they manage" in problems[1].message and "without cost rates" in problems[1].message
    state.set_access_roles(state.me_id, ["administrator"])
    state.company["approval_feature"] = True
    assert HarvestTracker(harvest).account_problems() == []


def test_time_pages_hold_every_entry_once_and_the_high_water_passes_none_unread(
        harvest: HarvestClient, sandbox: HarvestSandbox, server: SandboxServer, delivery: Delivery,
        clock: Clock) -> None:
    """The time workflow keeps its cursor at most the pages' latest `high_water`: no entry at or below it
    may be left unread, even with one deleted while the pages are read."""
    older = log_time(sandbox.state, delivery, 10)
    clock.advance(minutes=30)
    newer = log_time(sandbox.state, delivery, 10, first_day="2026-02-12")
    changes: list[dict[str, Any]] = [{"delete": newer[9]}]
    httpx.post(f"{server.url}/__sandbox/between_pages", json={"after": 1, "changes": changes}).raise_for_status()
    pages = list(HarvestTracker(harvest, per_page=5).time_pages(None))
    read = [e.id for p in pages for e in p.entries] + [r.violations[0].record_id for p in pages for r in p.rejects]
    assert len(read) == len(set(read))
    high_water = max(p.high_water for p in pages if p.high_water is not None)
    assert high_water == datetime.fromisoformat(sandbox.state.time_entry(newer[0])["updated_at"])
    still_there = [i for i in sandbox.state.time_entry_ids()
                   if datetime.fromisoformat(sandbox.state.time_entry(i)["updated_at"]) <= high_water]
    assert {f"HV-{i}" for i in still_there} <= set(read)
    assert set(still_there) >= {*older, *newer[:9]}
    assert all(e.hours == Decimal("1.5") for p in pages for e in p.entries)
