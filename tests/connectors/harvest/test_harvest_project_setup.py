"""Setting up a won deal's project in Harvest: find-or-create, safe to repeat, drift corrected."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from q2c.connectors.harvest.client import HarvestClient
from q2c.connectors.harvest.project_setup import HarvestProjectLinks, set_up_project
from q2c.connectors.harvest.tracker import HarvestTracker
from q2c.domain.model import (
    BillingType,
    Contract,
    ContractPhase,
    Customer,
    Project,
    ProjectStatus,
    RateCard,
    RateCardLine,
    Resource,
    Task,
)
from q2c.domain.money import Money
from q2c.engine.errors import RecordRejected
from q2c.sandboxes.harvest.app import HarvestSandbox

TASKS = (Task(id="T-1", project_id="PRJ-7", code="DESIGN", name="Design"),
         Task(id="T-2", project_id="PRJ-7", code="TRAVEL", name="Travel", billable=False))
PROJECT = Project(id="PRJ-7", contract_id="C-7", customer_id="CU-7", name="Initech portal", tasks=TASKS)


def test_setup_creates_everything_once(harvest: HarvestClient, sandbox: HarvestSandbox) -> None:
    state = sandbox.state
    ada = state.add_user("Ada", "Lovelace", "ada@example.com")["id"]

    def set_up() -> HarvestProjectLinks:
        return set_up_project(harvest, PROJECT, client_name="Initech", currency="USD", user_ids=[ada, state.me_id],
                              starts_on=date(2026, 3, 1), ends_on=date(2026, 9, 30), budget_hours=Decimal("400"),
                              task_rates={"DESIGN": Money.of("185.00", "USD")})

    links = set_up()
    assert set_up() == links
    assert (len(state.clients), len(state.projects), len(state.tasks)) == (1, 1, 2)
    assert (len(state.task_assignments), len(state.user_assignments)) == (2, 2)
    project = state.projects[links.project_id]
    assert (project["code"], project["name"], project["is_active"]) == ("PRJ-7", "Initech portal", True)
    assert (project["starts_on"], project["ends_on"], project["budget"]) == ("2026-03-01", "2026-09-30",
                                                                             Decimal(400))
    assert {state.tasks[i]["name"] for i in links.task_ids.values()} == {"DESIGN", "TRAVEL"}
    design = state.task_assignments[links.task_assignment_ids["DESIGN"]]
    travel = state.task_assignments[links.task_assignment_ids["TRAVEL"]]
    assert (design["billable"], design["hourly_rate"], travel["billable"]) == (True, Decimal("185.00"), False)
    assert set(links.user_assignment_ids) == {ada, state.me_id}
    posts = {path: n for path, n in sandbox.stats.by_path.items() if path.startswith(("POST", "PATCH"))}
    assert posts == {"POST /v2/clients": 1, "POST /v2/projects": 1, "POST /v2/tasks": 2,
                     f"POST /v2/projects/{links.project_id}/task_assignments": 2,
                     f"POST /v2/projects/{links.project_id}/user_assignments": 2}


def test_drift_in_harvest_is_corrected_and_a_closed_project_archived(harvest: HarvestClient,
                                                                      sandbox: HarvestSandbox) -> None:
    links = set_up_project(harvest, PROJECT, client_name="Initech", currency="USD")
    sandbox.state.update_project(links.project_id, {"name": "renamed by hand"})
    closed = PROJECT.model_copy(update={"status": ProjectStatus.CLOSED})
    assert set_up_project(harvest, closed, client_name="Initech", currency="USD") == links
    project = sandbox.state.projects[links.project_id]
    assert (project["name"], project["is_active"]) == ("Initech portal", False)


def test_tasks_shared_with_other_projects_are_reused(harvest: HarvestClient, sandbox: HarvestSandbox) -> None:
    first = set_up_project(harvest, PROJECT, client_name="Initech", currency="USD")
    other = Project(id="PRJ-8", contract_id="C-8", customer_id="CU-7", name="Initech phase 2",
                    tasks=(Task(id="T-3", project_id="PRJ-8", code="DESIGN", name="Design"),))
    second = set_up_project(harvest, other, client_name="Initech", currency="USD")
    assert second.task_ids["DESIGN"] == first.task_ids["DESIGN"]
    assert second.client_id == first.client_id and second.project_id != first.project_id


def test_a_client_in_another_currency_is_rejected(harvest: HarvestClient) -> None:
    harvest.create_client("Initech", "EUR")
    with pytest.raises(RecordRejected) as rejected:
        set_up_project(harvest, PROJECT, client_name="Initech", currency="USD")
    assert (rejected.value.violation.rule, rejected.value.violation.field) == ("client.currency_mismatch",
                                                                               "currency")


def test_a_rate_in_another_currency_is_rejected_before_any_write(harvest: HarvestClient,
                                                                 sandbox: HarvestSandbox) -> None:
    with pytest.raises(RecordRejected) as rejected:
        set_up_project(harvest, PROJECT, client_name="Initech", currency="USD",
                       task_rates={"DESIGN": Money.of("150", "EUR")})
    assert rejected.value.violation.rule == "harvest.rate_currency"
    assert "DESIGN" in str(rejected.value.violation.field)
    assert sandbox.stats.requests == 0


def test_a_second_run_spends_few_requests(harvest: HarvestClient, sandbox: HarvestSandbox) -> None:
    people = [sandbox.state.add_user("P", str(n), f"p{n}@example.com")["id"] for n in range(5)]
    set_up_project(harvest, PROJECT, client_name="Initech", currency="USD", user_ids=people)
    before = sandbox.stats.requests
    set_up_project(harvest, PROJECT, client_name="Initech", currency="USD", user_ids=people)
    # clients, projects, tasks, task assignments, user assignments: one listing each, no writes
    assert sandbox.stats.requests - before == 5


def _deal(n: int) -> tuple[Project, Customer, Contract]:
    project = Project(id=f"PRJ-{n}", contract_id=f"C-{n}", customer_id="CU-7", name=f"Initech phase {n}",
                      tasks=tuple(Task(id=f"T-{n}-{t.code}", project_id=f"PRJ-{n}", code=t.code, name=t.name,
                                       billable=t.billable) for t in TASKS))
    contract = Contract(id=f"C-{n}", customer_id="CU-7", opportunity_id=f"O-{n}", name=project.name,
                        legal_entity="US01", currency="USD", start_date=date(2026, 11, 2), end_date=None,
                        phases=(ContractPhase(id=f"C-{n}-0", name="Build", billing_type=BillingType.TIME_AND_MATERIALS,
                                              amount=Money.of("1000.00", "USD")),),
                        rate_card=RateCard(id="RC-1", currency="USD", lines=(
                            RateCardLine(role="Consultant", rate=Money.of("150.00", "USD"),
                                         effective_from=date(2026, 1, 1)),)))
    return project, Customer(id="CU-7", name="Initech", legal_entity="US01"), contract


def test_setups_in_a_row_keep_the_account_s_lists_and_a_miss_reads_them_again(
        harvest: HarvestClient, sandbox: HarvestSandbox) -> None:
    """Harvest allows 100 requests per 15 s for the whole account. The first setup through the tracker lists
    users, clients and tasks; the next ones of a burst find them in the kept lists: per setup of an existing
    client with 2 tasks and 2 people, find the project (1), create it (1), assign 2 tasks (2) and 2 people
    (2) = 6 requests, where listing the three each time made 9. A task created in Harvest by someone else
    meanwhile, or a new person, is not in the kept list: the miss reads the list again, so nothing is made
    twice."""
    state = sandbox.state
    team = [Resource(id=f"p{n}@example.com", name=f"P {n}", role="Consultant") for n in range(2)]
    for n in range(2):
        state.add_user("P", str(n), f"p{n}@example.com")
    tracker = HarvestTracker(harvest)
    tracker.set_up_project(*_deal(1), team=team)
    assert tracker.references.reads == {"users": 1, "clients": 1, "tasks": 1}

    before = sandbox.stats.requests
    tracker.set_up_project(*_deal(2), team=team)
    assert sandbox.stats.requests - before == 6
    assert tracker.references.reads == {"users": 1, "clients": 1, "tasks": 1}

    harvest.create_task("Research")  # someone else, in Harvest: the kept task list does not have it
    extra = (*TASKS, Task(id="T-9", project_id="PRJ-3", code="RESEARCH", name="Research"))
    project, customer, contract = _deal(3)
    tracker.set_up_project(project.model_copy(update={"tasks": extra}), customer, contract,
                           team=[*team, Resource(id="p9@example.com", name="P 9", role="Consultant")])
    assert tracker.references.reads == {"users": 2, "clients": 1, "tasks": 2}  # each miss read its list again
    assert [t["name"] for t in harvest.tasks()].count("Research") == 1  # found, not made twice
