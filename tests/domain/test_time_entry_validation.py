"""Approved-time rules: one violation per broken project listing its entries, entry problems named per entry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.domain.model import Project, ProjectStatus, Resource, Task, TimeEntry, TimeEntryStatus
from q2c.domain.naming import SystemNames
from q2c.domain.validation.time_entry import TimeRules, entry_violations, group_by_project, project_violations
from q2c.domain.violations import Violation

# How a time tracker and an ERP name things (as the Harvest and NetSuite connectors do).
TRACKER = SystemNames(system="harvest", label="Harvest", fields={
    "project.code": "project.code", "time_entry.task_code": "task", "time_entry.hours": "hours",
    "time_entry.resource_id": "user"})
ERP = SystemNames(system="netsuite", label="NetSuite", objects={"project": "job"},
                  fields={"project.status": "entityStatus"})

RULES = TimeRules()
PROJECT = Project(id="P-7Q2", contract_id="C-7Q2", customer_id="SF-001A", name="Acme rollout",
                  tasks=(Task(id="P-7Q2-PM", project_id="P-7Q2", code="PM", name="Project management"),
                         Task(id="P-7Q2-DEV", project_id="P-7Q2", code="DEV", name="Development")))
CLOSED = PROJECT.model_copy(update={"status": ProjectStatus.CLOSED, "closed_on": date(2026, 3, 31)})
ADA = Resource(id="R-ada", name="Ada Byron", role="Consultant")


def entry(id: str = "H-1", **changes: Any) -> TimeEntry:
    base = TimeEntry(id=id, project_id="P-7Q2", task_code="DEV", resource_id="R-ada", work_date=date(2026, 3, 16),
                     hours=Decimal("7.5"), status=TimeEntryStatus.APPROVED,
                     source_updated_at=datetime(2026, 3, 17, 9, 0, tzinfo=UTC))
    return base.model_copy(update=changes)


def entries(n: int) -> list[TimeEntry]:
    return [entry(f"H-{i}") for i in range(1, n + 1)]


def only(violations: list[Violation]) -> Violation:
    assert len(violations) == 1, [v.headline() for v in violations]
    return violations[0]


# --- project-level ------------------------------------------------------------------------------


def test_an_open_known_project_has_no_project_violation() -> None:
    assert project_violations("P-7Q2", PROJECT, entries(3), tracker=TRACKER, erp=ERP) == []


def test_unknown_project_is_one_violation_listing_the_entries() -> None:
    found = only(project_violations("P-GONE", None, entries(3), tracker=TRACKER, erp=ERP))
    assert (found.system, found.object, found.record_id, found.field, found.rule) == (
        "harvest", "project", "P-GONE", "project.code", "time.project_unknown")
    assert found.message.startswith("3 entries (H-1, H-2, H-3) are logged to project code 'P-GONE'")
    assert "Move the entries in Harvest" in found.action


def test_one_entry_is_counted_in_the_singular() -> None:
    found = only(project_violations("P-GONE", None, entries(1), tracker=TRACKER, erp=ERP))
    assert found.message.startswith("1 entry (H-1) ")


def test_closed_project_is_one_violation_with_the_closing_date_and_reopen() -> None:
    found = only(project_violations("P-7Q2", CLOSED, entries(2), tracker=TRACKER, erp=ERP))
    assert (found.system, found.object, found.record_id, found.field, found.rule) == (
        "netsuite", "job", "P-7Q2", "entityStatus", "time.project_closed")
    assert found.message == ("Project P-7Q2 is closed in NetSuite since 2026-03-31; 2 entries (H-1, H-2) cannot be "
                             "posted to it")
    assert found.action.startswith("Reopen P-7Q2 in NetSuite or move the 2 entries in Harvest")


def test_closed_project_without_a_date_says_no_since() -> None:
    found = only(project_violations("P-7Q2", CLOSED.model_copy(update={"closed_on": None}), entries(1),
                                    tracker=TRACKER, erp=ERP))
    assert "since" not in found.message
    assert found.message.startswith("Project P-7Q2 is closed in NetSuite; 1 entry (H-1)")


def test_many_entries_are_counted_and_the_first_five_named() -> None:
    found = only(project_violations("P-GONE", None, entries(7), tracker=TRACKER, erp=ERP))
    assert found.message.startswith("7 entries (H-1, H-2, H-3, H-4, H-5 …) ")
    assert "H-6" not in found.message


@given(st.integers(min_value=1, max_value=40), st.booleans())
def test_any_number_of_entries_gives_one_violation_naming_up_to_five(n: int, closed: bool) -> None:
    found = only(project_violations("P-7Q2", CLOSED if closed else None, entries(n), tracker=TRACKER, erp=ERP))
    assert f"{n} entr{'y' if n == 1 else 'ies'} (" in found.message
    listed = found.message.split("(", 1)[1].split(")", 1)[0]
    assert listed.removesuffix(" …").split(", ") == [f"H-{i}" for i in range(1, min(n, 5) + 1)]
    assert ("…" in found.message) == (n > 5)


# --- entry-level --------------------------------------------------------------------------------


def test_a_clean_entry_has_no_violations() -> None:
    assert entry_violations(entry(), project=PROJECT, resource=ADA, rules=RULES,
                   tracker=TRACKER) == []


def test_unknown_task_lists_the_projects_tasks() -> None:
    found = only(entry_violations(entry(task_code="QA"), project=PROJECT, resource=ADA, rules=RULES,
                   tracker=TRACKER))
    assert (found.system, found.object, found.record_id, found.field, found.rule) == (
        "harvest", "time_entry", "H-1", "task", "time.task_unknown")
    assert found.message == "task 'QA' is not a task of project P-7Q2 (tasks: DEV, PM)"


def test_unknown_task_on_a_project_without_tasks_says_none() -> None:
    bare = PROJECT.model_copy(update={"tasks": ()})
    found = only(entry_violations(entry(), project=bare, resource=ADA, rules=RULES,
                   tracker=TRACKER))
    assert found.message.endswith("(tasks: none)")


@pytest.mark.parametrize("hours", ["0", "-1", "-0.25", "0.00"])
def test_hours_must_be_above_zero(hours: str) -> None:
    found = only(entry_violations(entry(hours=Decimal(hours)), project=PROJECT, resource=ADA, rules=RULES,
                   tracker=TRACKER))
    assert (found.record_id, found.field, found.rule) == ("H-1", "hours", "time.hours_not_positive")
    assert found.message == f"{hours} hours on 2026-03-16: hours must be above 0"


@pytest.mark.parametrize("hours", ["0.01", "8", "24", "24.00"])
def test_hours_up_to_the_limit_are_accepted(hours: str) -> None:
    assert entry_violations(entry(hours=Decimal(hours)), project=PROJECT, resource=ADA, rules=RULES,
                   tracker=TRACKER) == []


@pytest.mark.parametrize("hours", ["24.01", "25", "240"])
def test_hours_above_the_limit_are_refused(hours: str) -> None:
    found = only(entry_violations(entry(hours=Decimal(hours)), project=PROJECT, resource=ADA, rules=RULES,
                   tracker=TRACKER))
    assert (found.record_id, found.field, found.rule) == ("H-1", "hours", "time.hours_absurd")
    assert found.message == f"{hours} hours on 2026-03-16 is more than the 24 allowed per entry"


def test_the_hours_limit_comes_from_the_rules() -> None:
    strict = TimeRules(max_hours_per_entry=Decimal(10))
    assert entry_violations(entry(hours=Decimal(10)), project=PROJECT, resource=ADA, rules=strict,
                            tracker=TRACKER) == []
    found = only(entry_violations(entry(hours=Decimal("10.5")), project=PROJECT, resource=ADA, rules=strict,
                                  tracker=TRACKER))
    assert found.rule == "time.hours_absurd" and "the 10 allowed" in found.message


def test_unknown_resource_is_named() -> None:
    found = only(entry_violations(entry(resource_id="R-ghost"), project=PROJECT, resource=None, rules=RULES,
                   tracker=TRACKER))
    assert (found.record_id, found.field, found.rule) == ("H-1", "user", "time.resource_unknown")
    assert "'R-ghost'" in found.message and "resources" in found.action


def test_inactive_resource_is_named() -> None:
    gone = ADA.model_copy(update={"active": False})
    found = only(entry_violations(entry(), project=PROJECT, resource=gone, rules=RULES,
                   tracker=TRACKER))
    assert (found.record_id, found.field, found.rule) == ("H-1", "user", "time.resource_inactive")
    assert found.message == "resource R-ada is inactive"


def test_several_problems_on_one_entry_are_all_reported() -> None:
    found = entry_violations(entry(task_code="QA", hours=Decimal(0)), project=PROJECT, resource=None, rules=RULES,
                   tracker=TRACKER)
    assert [(v.field, v.rule) for v in found] == [("task", "time.task_unknown"), ("hours", "time.hours_not_positive"),
                                                   ("user", "time.resource_unknown")]
    assert {v.record_id for v in found} == {"H-1"}


@given(st.decimals(min_value=Decimal("-100"), max_value=Decimal("100"), places=2))
def test_hours_give_at_most_one_hours_violation(hours: Decimal) -> None:
    found = [v for v in entry_violations(entry(hours=hours), project=PROJECT, resource=ADA, rules=RULES,
                   tracker=TRACKER)
             if v.field == "hours"]
    expected = ("time.hours_not_positive" if hours <= 0 else "time.hours_absurd" if hours > 24 else None)
    assert [v.rule for v in found] == ([] if expected is None else [expected])


# --- grouping -----------------------------------------------------------------------------------


def test_group_by_project_keeps_the_order_of_arrival() -> None:
    logged = [entry("H-1", project_id="P-A"), entry("H-2", project_id="P-B"), entry("H-3", project_id="P-A")]
    groups = group_by_project(logged)
    assert list(groups) == ["P-A", "P-B"]
    assert [e.id for e in groups["P-A"]] == ["H-1", "H-3"]
    assert [e.id for e in groups["P-B"]] == ["H-2"]
    assert group_by_project([]) == {}


@given(st.lists(st.sampled_from(["P-A", "P-B", "P-C"]), max_size=30))
def test_grouping_partitions_the_entries(project_ids: list[str]) -> None:
    logged = [entry(f"H-{i}", project_id=p) for i, p in enumerate(project_ids)]
    groups = group_by_project(logged)
    assert sorted(e.id for group in groups.values() for e in group) == sorted(e.id for e in logged)
    for project_id, group in groups.items():
        assert group and all(e.project_id == project_id for e in group)
        assert group == [e for e in logged if e.project_id == project_id]
