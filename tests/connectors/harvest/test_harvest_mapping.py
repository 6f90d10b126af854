"""Harvest time entries to canonical ones, and canonical projects to Harvest's: pure, no I/O."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.connectors.harvest.mapping import (
    MappingError,
    project_codes_by_id,
    project_to_harvest,
    resource_ids_by_user,
    task_to_harvest,
    time_entries_from_harvest,
    time_entry_from_harvest,
)
from q2c.domain.model import Project, ProjectStatus, Task, TimeEntryStatus

RESOURCES = {10: "ada@example.com"}


def harvest_entry(**changes: Any) -> dict[str, Any]:
    """A time entry as Harvest sends it (json.loads without parse_float: hours is a float)."""
    entry: dict[str, Any] = {
        "id": 636709355, "spent_date": "2026-02-10",
        "user": {"id": 10, "name": "Ada Lovelace"}, "client": {"id": 20, "name": "Acme", "currency": "USD"},
        "project": {"id": 30, "name": "Acme ERP rollout", "code": "PRJ-1"}, "task": {"id": 40, "name": "DESIGN"},
        "user_assignment": {"id": 50, "is_project_manager": False, "is_active": True, "hourly_rate": 180.0},
        "task_assignment": {"id": 60, "billable": True, "is_active": True, "hourly_rate": 180.0},
        "hours": 2.11, "hours_without_timer": 2.11, "rounded_hours": 2.25, "notes": "Workshop",
        "is_locked": False, "locked_reason": None, "is_closed": False, "is_billed": False,
        "timer_started_at": None, "started_time": None, "ended_time": None, "is_running": False,
        "invoice": None, "external_reference": None, "billable": True, "budgeted": False,
        "billable_rate": 180.0, "cost_rate": 70.0,
        "created_at": "2026-02-10T15:50:15Z", "updated_at": "2026-02-10T16:47:14Z",
    }
    entry.update(changes)
    return entry


def violations_of(raw: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(MappingError) as error:
        time_entry_from_harvest(raw, resource_by_user_id=kwargs.pop("resources", RESOURCES), **kwargs)
    assert all(v.system == "harvest" and v.object == "time_entry" for v in error.value.violations)
    return {str(v.field): v.rule for v in error.value.violations}


def test_a_plain_entry_maps_field_by_field() -> None:
    entry = time_entry_from_harvest(harvest_entry(), resource_by_user_id=RESOURCES)
    assert entry.id == "HV-636709355"
    assert (entry.project_id, entry.task_code, entry.resource_id) == ("PRJ-1", "DESIGN", "ada@example.com")
    assert entry.work_date == date(2026, 2, 10)
    assert entry.hours == Decimal("2.11") and isinstance(entry.hours, Decimal)
    assert (entry.notes, entry.billable, entry.locked, entry.billed) == ("Workshop", True, False, False)
    assert entry.status is TimeEntryStatus.SUBMITTED
    assert entry.source_updated_at == datetime(2026, 2, 10, 16, 47, 14, tzinfo=UTC)


@pytest.mark.parametrize(("changes", "status", "locked", "billed"), [
    ({}, TimeEntryStatus.SUBMITTED, False, False),
    ({"is_closed": True, "is_locked": True, "locked_reason": "Item Approved and Locked for this Time Period"},
     TimeEntryStatus.APPROVED, True, False),
    ({"is_closed": True, "is_locked": True, "is_billed": True, "invoice": {"id": 8, "number": "1001"},
      "locked_reason": "Item Invoiced and Approved and Locked for this Time Period"},
     TimeEntryStatus.APPROVED, True, True),
    ({"is_closed": False, "is_locked": True, "locked_reason": "Item Approved and Locked for this Time Period"},
     TimeEntryStatus.APPROVED, True, False),
    ({"is_locked": True, "is_billed": True, "invoice": {"id": 9, "number": "1002"},
      "locked_reason": "Item Invoiced and Locked for this Time Period"}, TimeEntryStatus.SUBMITTED, True, True),
    ({"is_locked": True, "locked_reason": "Item Locked for this Time Period"}, TimeEntryStatus.SUBMITTED, True, False),
    ({"invoice": {"id": 10, "number": "1003"}}, TimeEntryStatus.SUBMITTED, False, True),
])
def test_approval_states(changes: dict[str, Any], status: TimeEntryStatus, locked: bool, billed: bool) -> None:
    entry = time_entry_from_harvest(harvest_entry(**changes), resource_by_user_id=RESOURCES)
    assert (entry.status, entry.locked, entry.billed) == (status, locked, billed)


def test_harvest_never_yields_rejected() -> None:
    reopened = harvest_entry(is_closed=False, is_locked=False, locked_reason=None)
    assert time_entry_from_harvest(reopened, resource_by_user_id=RESOURCES).status is not TimeEntryStatus.REJECTED


def test_project_code_falls_back_to_the_project_index() -> None:
    raw = harvest_entry(project={"id": 30, "name": "Acme ERP rollout"})
    entry = time_entry_from_harvest(raw, resource_by_user_id=RESOURCES, project_code_by_id={30: "PRJ-1"})
    assert entry.project_id == "PRJ-1"
    assert violations_of(raw) == {"project": "time_entry.project_code_missing"}
    assert violations_of(raw, project_code_by_id={31: "PRJ-2"}) == {"project": "time_entry.project_code_missing"}


@pytest.mark.parametrize(("changes", "field", "rule"), [
    ({"project": None}, "project", "time_entry.project_missing"),
    ({"project": {"id": 30, "name": "No code", "code": ""}}, "project", "time_entry.project_code_missing"),
    ({"task": {"id": 40, "name": "  "}}, "task", "time_entry.task_missing"),
    ({"user": {"id": 11, "name": "Stranger"}}, "user", "time_entry.user_unknown"),
    ({"user": None}, "user", "time_entry.user_unknown"),
    ({"spent_date": "2026-02-30"}, "spent_date", "time_entry.spent_date_invalid"),
    ({"spent_date": "20260210"}, "spent_date", "time_entry.spent_date_invalid"),
    ({"spent_date": None}, "spent_date", "time_entry.spent_date_invalid"),
    ({"hours": "two"}, "hours", "time_entry.hours_invalid"),
    ({"hours": None}, "hours", "time_entry.hours_invalid"),
    ({"hours": True}, "hours", "time_entry.hours_invalid"),
    ({"hours": float("nan")}, "hours", "time_entry.hours_invalid"),
    ({"hours": -1.0}, "hours", "time_entry.hours_out_of_range"),
    ({"hours": 24.5}, "hours", "time_entry.hours_out_of_range"),
    ({"updated_at": "2026-02-10T16:47:14"}, "updated_at", "time_entry.updated_at_invalid"),
    ({"updated_at": "yesterday"}, "updated_at", "time_entry.updated_at_invalid"),
    ({"billable": None}, "billable", "time_entry.billable_invalid"),
    ({"notes": 12}, "notes", "time_entry.notes_invalid"),
    ({"id": "abc"}, "id", "time_entry.id_invalid"),
])
def test_each_bad_field_is_a_violation(changes: dict[str, Any], field: str, rule: str) -> None:
    raw = harvest_entry(**changes)
    with pytest.raises(MappingError) as error:
        time_entry_from_harvest(raw, resource_by_user_id=RESOURCES)
    (violation,) = error.value.violations
    assert (violation.field, violation.rule) == (field, rule)
    assert violation.record_id == str(raw["id"])
    assert violation.message and violation.action
    assert isinstance(error.value, ValueError)


def test_all_bad_fields_are_reported_at_once() -> None:
    raw = harvest_entry(hours="x", spent_date="nope", user={"id": 99, "name": "Who"})
    assert violations_of(raw) == {"hours": "time_entry.hours_invalid", "spent_date": "time_entry.spent_date_invalid",
                                  "user": "time_entry.user_unknown"}


def test_unknown_user_message_says_who_and_what_to_do() -> None:
    with pytest.raises(MappingError) as error:
        time_entry_from_harvest(harvest_entry(user={"id": 99, "name": "Joan Clarke"}), resource_by_user_id=RESOURCES)
    (violation,) = error.value.violations
    assert "Joan Clarke" in violation.message and "99" in violation.message
    assert "e-mail" in violation.action
    assert "[time_entry.user_unknown] harvest time_entry 636709355 field user" in str(error.value)


def test_offsets_become_utc_and_notes_default_to_empty() -> None:
    entry = time_entry_from_harvest(harvest_entry(updated_at="2026-02-10T18:47:14+02:00", notes=None),
                                    resource_by_user_id=RESOURCES)
    assert entry.source_updated_at == datetime(2026, 2, 10, 16, 47, 14, tzinfo=UTC)
    assert entry.source_updated_at.tzinfo is UTC
    assert entry.notes == ""


@given(st.decimals(min_value=0, max_value=24, places=2, allow_nan=False, allow_infinity=False))
def test_hours_survive_the_float_on_the_wire_exactly(hours: Decimal) -> None:
    entry = time_entry_from_harvest(harvest_entry(hours=float(hours)), resource_by_user_id=RESOURCES)
    assert entry.hours == hours


def test_a_page_splits_into_entries_and_violations() -> None:
    good = harvest_entry()
    bad = harvest_entry(id=2, hours="x")
    mapped = time_entries_from_harvest([good, bad, harvest_entry(id=3)], resource_by_user_id=RESOURCES)
    assert [e.id for e in mapped.entries] == ["HV-636709355", "HV-3"]
    assert mapped.rejected_ids == ["2"] and [v.field for v in mapped.violations] == ["hours"]


def test_the_input_is_not_modified() -> None:
    raw = harvest_entry()
    before = copy.deepcopy(raw)
    time_entry_from_harvest(raw, resource_by_user_id=RESOURCES)
    assert raw == before


def test_indexes_from_users_and_projects() -> None:
    users = [{"id": 1, "email": " Ada.Lovelace@Example.COM "}, {"id": 2, "email": None}, {"id": "3", "email": "x@y"}]
    assert resource_ids_by_user(users) == {1: "ada.lovelace@example.com"}
    projects = [{"id": 5, "code": "PRJ-5"}, {"id": 6, "code": None}, {"id": 7, "code": " "}]
    assert project_codes_by_id(projects) == {5: "PRJ-5"}


def test_project_and_tasks_to_harvest() -> None:
    tasks = (Task(id="T-1", project_id="PRJ-1", code="DESIGN", name="Design"),
             Task(id="T-2", project_id="PRJ-1", code="TRAVEL", name="Travel", billable=False))
    project = Project(id="PRJ-1", contract_id="C-1", customer_id="CU-1", name="Acme ERP rollout", tasks=tasks)
    spec = project_to_harvest(project, starts_on=date(2026, 3, 1), budget_hours=Decimal("400"))
    assert (spec.code, spec.name, spec.is_active, spec.is_billable) == ("PRJ-1", "Acme ERP rollout", True, True)
    assert (spec.bill_by, spec.budget_by, spec.budget, spec.starts_on) == ("Tasks", "project", Decimal(400),
                                                                           date(2026, 3, 1))
    assert [task_to_harvest(t) for t in tasks][1].name == "TRAVEL"
    assert not task_to_harvest(tasks[1]).billable
    closed = project.model_copy(update={"status": ProjectStatus.CLOSED})
    assert project_to_harvest(closed).is_active is False
    with pytest.raises(ValueError, match="PRJ-1"):
        project_to_harvest(project, budget_hours=Decimal(-1))
