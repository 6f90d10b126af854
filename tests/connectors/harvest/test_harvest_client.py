"""The Harvest client against the sandbox over loopback: auth, paging, filters, errors, limits, faults."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from harvest_fixtures import TOKEN, Clock, Delivery, log_time, make_client, seed_delivery
from pydantic import ValidationError

from q2c.connectors.harvest.client import HarvestClient, HarvestNotFound
from q2c.connectors.harvest.mapping import resource_ids_by_user, time_entries_from_harvest
from q2c.connectors.harvest.settings import HarvestSettings
from q2c.domain.model import TimeEntryStatus
from q2c.engine.errors import AuthFailed, ConnectorError, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry, RateLimit, RetryPolicy
from q2c.sandboxes.harvest.app import HarvestSandbox, create_sandbox
from q2c.sandboxes.kit import Faults, Sandbox, SandboxServer, VendorLimits


def all_entries(harvest: HarvestClient, **filters: Any) -> list[dict[str, Any]]:
    return [e for page in harvest.iter_time_entry_pages(**filters) for e in page.entries]


# --- auth -----------------------------------------------------------------------------------------


def test_wrong_token_is_auth_failed_without_leaking_it(server: SandboxServer) -> None:
    with make_client(server, access_token="stolen-or-stale-token") as harvest, \
            pytest.raises(AuthFailed) as failure:
        harvest.users()
    assert "invalid" in str(failure.value) and "100001" in str(failure.value)
    assert "stolen-or-stale-token" not in str(failure.value)
    assert "stolen-or-stale-token" not in repr(harvest.config)


def test_wrong_account_is_auth_failed(server: SandboxServer) -> None:
    with make_client(server, account_id="424242") as harvest, pytest.raises(AuthFailed):
        list(harvest.iter_time_entry_pages())


def test_a_user_agent_is_required_by_config() -> None:
    with pytest.raises(ValidationError, match="User-Agent"):
        HarvestSettings(account_id="1", access_token=TOKEN, user_agent="   ")


def test_headers_harvest_needs_are_sent(harvest: HarvestClient, sandbox: HarvestSandbox) -> None:
    assert harvest.me()["email"] == "admin@sandbox.example"
    assert harvest.company()["approval_feature"] is True


# --- paging and filters ------------------------------------------------------------------------


def test_pages_follow_links_next_with_per_page(harvest: HarvestClient, sandbox: HarvestSandbox,
                                               delivery: Delivery) -> None:
    ids = log_time(sandbox.state, delivery, 25)
    pages = list(harvest.iter_time_entry_pages(per_page=7))
    assert [p.number for p in pages] == [1, 2, 3, 4]
    assert [p.page for p in pages] == [1, 2, 3, 4]
    assert [len(p.entries) for p in pages] == [7, 7, 7, 4]
    assert all(p.total_entries == 25 and p.total_pages == 4 and p.per_page == 7 for p in pages)
    assert pages[0].next_url == pages[1].url and pages[-1].next_url is None
    assert sorted(e["id"] for p in pages for e in p.entries) == sorted(ids)
    assert sandbox.stats.by_path["GET /v2/time_entries"] == 4


def test_pages_follow_cursor_links_too(harvest: HarvestClient, sandbox: HarvestSandbox,
                                       delivery: Delivery, server: SandboxServer) -> None:
    ids = log_time(sandbox.state, delivery, 10)
    httpx.put(f"{server.url}/__sandbox/paging", json={"time_entries": "cursor"})
    pages = list(harvest.iter_time_entry_pages(per_page=3))
    assert [p.page for p in pages] == [1, None, None, 4]
    assert [p.cursor is None for p in pages] == [True, False, False, False]
    assert sorted(e["id"] for p in pages for e in p.entries) == sorted(ids)


def test_per_page_is_checked_before_sending(harvest: HarvestClient) -> None:
    with pytest.raises(ValueError, match="per_page"):
        next(harvest.iter_time_entry_pages(per_page=2001))


def test_updated_since_returns_only_what_changed(harvest: HarvestClient, sandbox: HarvestSandbox,
                                                 delivery: Delivery, clock: Clock) -> None:
    before = log_time(sandbox.state, delivery, 5)
    watermark = clock.advance(minutes=10)
    clock.advance(seconds=1)
    sandbox.state.update_time_entry(before[2], {"hours": Decimal("4.25")})
    sandbox.state.approve([before[4]])
    later = log_time(sandbox.state, delivery, 2, first_day="2026-02-25")
    changed = all_entries(harvest, updated_since=watermark)
    assert {e["id"] for e in changed} == {before[2], before[4], *later}
    assert {e["id"] for e in all_entries(harvest, updated_since=clock.advance(hours=1))} == set()
    with pytest.raises(ValueError, match="timezone"):
        all_entries(harvest, updated_since=datetime(2026, 3, 2, 9, 0))


def test_other_filters_reach_harvest(harvest: HarvestClient, sandbox: HarvestSandbox, delivery: Delivery) -> None:
    ids = log_time(sandbox.state, delivery, 6)
    sandbox.state.mark_invoiced([ids[0]])
    assert {e["id"] for e in all_entries(harvest, user_id=delivery.grace_id)} == {ids[1], ids[3], ids[5]}
    assert {e["id"] for e in all_entries(harvest, is_billed=True)} == {ids[0]}
    assert {e["id"] for e in all_entries(harvest, spent_from=date(2026, 2, 6), spent_to=date(2026, 2, 7))} == {
        ids[4], ids[5]}
    assert len(all_entries(harvest, project_id=delivery.project_id)) == 6


def test_hours_and_rates_arrive_as_exact_decimals(harvest: HarvestClient, delivery: Delivery) -> None:
    created = harvest.create_time_entry(delivery.project_id, delivery.design_task_id, date(2026, 2, 10),
                                        Decimal("2.11"), user_id=delivery.ada_id, notes="Workshop")
    fetched = harvest.time_entry(created["id"])
    assert fetched["hours"] == Decimal("2.11") and isinstance(fetched["hours"], Decimal)
    assert fetched["billable_rate"] == Decimal("180") and fetched["cost_rate"] == Decimal("70")


def test_approval_states_come_through_mapped(harvest: HarvestClient, sandbox: HarvestSandbox,
                                             delivery: Delivery) -> None:
    submitted, approved, invoiced, reopened = log_time(sandbox.state, delivery, 4)
    sandbox.state.approve([approved, invoiced, reopened])
    sandbox.state.mark_invoiced([invoiced])
    sandbox.state.withdraw_approval([reopened])
    mapped = time_entries_from_harvest(all_entries(harvest), resource_by_user_id=resource_ids_by_user(harvest.users()))
    assert mapped.violations == []
    by_id = {e.id: e for e in mapped.entries}
    states = {key: (by_id[f"HV-{key}"].status, by_id[f"HV-{key}"].locked, by_id[f"HV-{key}"].billed)
              for key in (submitted, approved, invoiced, reopened)}
    assert states == {submitted: (TimeEntryStatus.SUBMITTED, False, False),
                      approved: (TimeEntryStatus.APPROVED, True, False),
                      invoiced: (TimeEntryStatus.APPROVED, True, True),
                      reopened: (TimeEntryStatus.SUBMITTED, False, False)}
    assert by_id[f"HV-{submitted}"].resource_id == "ada.lovelace@example.com"
    assert by_id[f"HV-{approved}"].resource_id == "grace@example.com"
    assert {e.project_id for e in mapped.entries} == {"PRJ-1"}


# --- refusals ------------------------------------------------------------------------------------


def test_editing_a_locked_entry_is_record_rejected(harvest: HarvestClient, sandbox: HarvestSandbox,
                                                   delivery: Delivery) -> None:
    (entry,) = log_time(sandbox.state, delivery, 1)
    sandbox.state.approve([entry])
    with pytest.raises(RecordRejected) as rejected:
        harvest.update_time_entry(entry, {"hours": Decimal(3)})
    violation = rejected.value.violation
    assert (violation.system, violation.object, violation.record_id, violation.rule) == (
        "harvest", "time_entry", str(entry), "time_entry.locked")
    assert "Item Approved and Locked" in violation.message and "withdraw the approval" in violation.action
    harvest.delete_time_entry(entry)  # "Admins can delete closed entries" (Harvest API v2, time entries)
    assert sandbox.state.time_entry_count == 0


def test_validation_errors_name_the_field(harvest: HarvestClient, delivery: Delivery) -> None:
    with pytest.raises(RecordRejected) as rejected:
        harvest.create_time_entry(delivery.project_id, delivery.design_task_id, date(2026, 2, 10), Decimal(25),
                                  user_id=delivery.ada_id, external_reference={"id": "ERP-77"})
    violation = rejected.value.violation
    assert (violation.object, violation.record_id, violation.field, violation.rule) == (
        "time_entry", "ERP-77", "hours", "harvest.validation")
    assert "less than or equal to 24" in violation.message
    with pytest.raises(RecordRejected) as missing_project:
        harvest.create_time_entry(1, delivery.design_task_id, date(2026, 2, 10), Decimal(1))
    assert missing_project.value.violation.field == "project_id"


def test_unknown_entry_is_not_found_and_delete_is_idempotent(harvest: HarvestClient, sandbox: HarvestSandbox,
                                                               delivery: Delivery) -> None:
    with pytest.raises(HarvestNotFound) as missing:
        harvest.time_entry(123)
    assert missing.value.violation.record_id == "123"
    (entry,) = log_time(sandbox.state, delivery, 1)
    harvest.delete_time_entry(entry)
    harvest.delete_time_entry(entry)
    assert sandbox.state.time_entry_count == 0


def test_links_to_another_host_are_not_followed() -> None:
    app = FastAPI()

    @app.get("/v2/users")
    async def users() -> dict[str, Any]:
        return {"users": [], "links": {"next": "http://collector.invalid/v2/users?cursor=x"}}

    with SandboxServer(Sandbox("elsewhere", app)) as server, make_client(server) as harvest, \
            pytest.raises(ConnectorError, match="refusing to follow"):
        harvest.users()


# --- limits and faults ----------------------------------------------------------------------------


def test_429s_from_the_documented_limit_are_absorbed_without_losing_a_page(clock: Clock) -> None:
    sandbox = create_sandbox(clock=clock, limits=VendorLimits(requests_per_window=5, window_seconds=1))
    sandbox.state.generate_time_entries(120, people=3, projects=2)
    with SandboxServer(sandbox) as server, make_client(server, requests_per_15s=1000) as harvest:
        started = time.monotonic()
        pages = list(harvest.iter_time_entry_pages(per_page=10))
        elapsed = time.monotonic() - started
    assert len(pages) == 12 and sum(len(p.entries) for p in pages) == 120
    assert len({e["id"] for p in pages for e in p.entries}) == 120
    assert sandbox.stats.throttled > 0 and harvest.guard.stats.rate_limited == sandbox.stats.throttled
    assert elapsed < 6


def test_the_client_keeps_under_its_own_budget(clock: Clock) -> None:
    sandbox = create_sandbox(clock=clock, limits=VendorLimits(requests_per_window=5, window_seconds=1))
    sandbox.state.generate_time_entries(12, people=1, projects=1)
    guards = GuardRegistry()
    # the account's budget is one guard shared by every client of the process: here 5 per 1.2 s, a
    # margin over the vendor's 5 per 1 s because the vendor counts arrivals, not departures
    shared = guards.get("harvest", "account:100001", limit=RateLimit(requests=5, window_seconds=1.2))
    with SandboxServer(sandbox) as server:
        config = HarvestSettings(base_url=f"{server.url}/v2", account_id="100001", access_token=TOKEN)
        with HarvestClient(config, guards) as first, HarvestClient(config, guards) as second:
            entries = [e for p in first.iter_time_entry_pages(per_page=3) for e in p.entries]
            entries += [e for p in second.iter_time_entry_pages(per_page=3) for e in p.entries]
    assert first.guard is second.guard is shared
    assert len(entries) == 24 and sandbox.stats.throttled == 0
    assert shared.limiter.waited_seconds > 0


def test_default_budget_is_harvests_documented_limit(harvest: HarvestClient) -> None:
    assert (harvest.guard.limiter.limit.requests, harvest.guard.limiter.limit.window_seconds) == (100, 15.0)


def test_injected_server_errors_are_retried(clock: Clock) -> None:
    sandbox = create_sandbox(Faults(error_rate=0.3, seed=11), clock=clock)
    sandbox.state.generate_time_entries(90, people=2, projects=2)
    with SandboxServer(sandbox) as server, make_client(server) as harvest:
        entries = [e for p in harvest.iter_time_entry_pages(per_page=10) for e in p.entries]
        users = harvest.users()
    assert len({e["id"] for e in entries}) == 90 and len(users) == 3
    assert sandbox.stats.injected_errors > 0 and harvest.guard.stats.retries > 0


def test_malformed_bodies_are_retried(clock: Clock) -> None:
    sandbox = create_sandbox(Faults(malformed_rate=0.3, seed=5), clock=clock)
    sandbox.state.generate_time_entries(90, people=2, projects=2)
    with SandboxServer(sandbox) as server, make_client(server) as harvest:
        entries = [e for p in harvest.iter_time_entry_pages(per_page=10) for e in p.entries]
    assert len({e["id"] for e in entries}) == 90
    assert sandbox.stats.injected_errors > 0 and harvest.guard.stats.transient_failures > 0


def test_a_sandbox_that_stays_down_ends_in_a_transient_error(clock: Clock) -> None:
    sandbox = create_sandbox(Faults(down=True), clock=clock)
    with SandboxServer(sandbox) as server:
        harvest = HarvestClient(
            HarvestSettings(base_url=f"{server.url}/v2", account_id="100001", access_token=TOKEN),
            GuardRegistry(), retry=RetryPolicy(max_attempts=3, base_seconds=0.001))
        with harvest, pytest.raises(TransientError, match="HTTP 503"):
            harvest.users()
    assert sandbox.stats.injected_errors == 3


# --- find-or-create -----------------------------------------------------------------------------


def test_find_or_create_is_idempotent(harvest: HarvestClient, sandbox: HarvestSandbox) -> None:
    def set_up() -> tuple[int, int, int, int, int]:
        client = harvest.find_client("Globex") or harvest.create_client("Globex", "eur")
        project = harvest.find_project_by_code("PRJ-9") or harvest.create_project(
            client["id"], "Globex migration", "PRJ-9", starts_on=date(2026, 3, 1), budget=Decimal("120.5"),
            budget_by="project")
        task = harvest.find_task("MIGRATE") or harvest.create_task("MIGRATE", default_hourly_rate=Decimal("140"))
        assignment = harvest.assign_task(project["id"], task["id"], hourly_rate=Decimal("155.50"))
        staffing = harvest.assign_user(project["id"], sandbox.state.me_id)
        return client["id"], project["id"], task["id"], assignment["id"], staffing["id"]

    first = set_up()
    assert set_up() == first
    state = sandbox.state
    assert (len(state.clients), len(state.projects), len(state.tasks)) == (1, 1, 1)
    assert (len(state.task_assignments), len(state.user_assignments)) == (1, 1)
    assert state.clients[first[0]]["currency"] == "EUR"
    assert state.projects[first[1]]["budget"] == Decimal("120.5")
    assert state.task_assignments[first[3]]["hourly_rate"] == Decimal("155.50")
    assert harvest.find_client("  globex ") is not None


def test_reused_assignments_are_brought_in_line(harvest: HarvestClient, sandbox: HarvestSandbox,
                                                delivery: Delivery) -> None:
    state = sandbox.state
    build = next(a for a in state.task_assignments.values() if a["task"]["id"] == delivery.build_task_id)
    state.update_task_assignment(delivery.project_id, build["id"], {"is_active": False})
    again = harvest.assign_task(delivery.project_id, delivery.build_task_id, billable=True,
                                hourly_rate=Decimal("160"))
    assert again["id"] == build["id"]
    assert (again["is_active"], again["billable"], again["hourly_rate"]) == (True, True, Decimal("160"))
    grace = harvest.assign_user(delivery.project_id, delivery.grace_id, hourly_rate=Decimal("200"))
    assert grace["hourly_rate"] == Decimal("200") and len(state.user_assignments) == 2


def test_lost_create_answers_do_not_duplicate(clock: Clock) -> None:
    sandbox = create_sandbox(Faults(malformed_rate=0.5, seed=2), clock=clock)
    with SandboxServer(sandbox) as server, make_client(server) as harvest:
        names = [f"Client {n}" for n in range(8)]
        created = [harvest.create_client(name, "USD") for name in names]
    assert [c["name"] for c in created] == names
    assert sorted(c["name"] for c in sandbox.state.clients.values()) == names
    assert sandbox.stats.by_path["POST /v2/clients"] == 8  # never posted twice
    assert sandbox.stats.by_path["GET /v2/clients"] > 0  # lost answers were looked up instead


def test_a_duplicate_code_is_ambiguous(harvest: HarvestClient, sandbox: HarvestSandbox, delivery: Delivery) -> None:
    sandbox.state.create_project({"client_id": delivery.client_id, "name": "Copy", "code": "PRJ-1",
                                  "is_billable": True, "bill_by": "Tasks", "budget_by": "none"})
    with pytest.raises(RecordRejected) as ambiguous:
        harvest.find_project_by_code("PRJ-1")
    assert (ambiguous.value.violation.rule, ambiguous.value.violation.field) == ("project.ambiguous", "code")


def test_external_reference_recovers_a_lost_time_entry_answer(clock: Clock) -> None:
    sandbox = create_sandbox(Faults(malformed_rate=0.5, seed=4), clock=clock)
    delivery = seed_delivery(sandbox.state)
    with SandboxServer(sandbox) as server, make_client(server) as harvest:
        for n in range(6):
            entry = harvest.create_time_entry(delivery.project_id, delivery.design_task_id, date(2026, 2, 2),
                                              Decimal(1), user_id=delivery.ada_id,
                                              external_reference={"id": f"REF-{n}"})
            assert entry["external_reference"]["id"] == f"REF-{n}"
    assert sandbox.state.time_entry_count == 6
    assert sandbox.stats.by_path["POST /v2/time_entries"] == 6
    assert sandbox.stats.by_path["GET /v2/time_entries"] > 0
