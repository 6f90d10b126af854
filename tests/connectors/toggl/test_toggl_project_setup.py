"""Project setup in Toggl Track, against the sandbox over HTTP: find-or-create, twice gives the same ids.

Vendor documentation relied on: engineering.toggl.com/docs/api/clients, /projects (name, client_id,
active, is_private, billable, start_date, end_date), /tasks and /projects#project-users.
"""

from __future__ import annotations

from datetime import date

from toggl_fixtures import make_client

from q2c.connectors.toggl.project_setup import set_up_project
from q2c.domain.model import Project, ProjectStatus, Task
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.toggl.app import TogglSandbox

PROJECT = Project(id="P-0Q8000000001", contract_id="C-0Q8000000001", customer_id="SF-001", name="Globex ERP",
                  tasks=(Task(id="P-0Q8000000001-DESIGN", project_id="P-0Q8000000001", code="DESIGN", name="Design"),
                         Task(id="P-0Q8000000001-INTERNAL", project_id="P-0Q8000000001", code="INTERNAL",
                              name="Internal", billable=False)))


def test_setup_creates_everything_once_and_brings_drift_back(server: SandboxServer, sandbox: TogglSandbox) -> None:
    ada = sandbox.add_user("ada@example.com", "Ada")
    with make_client(server, sandbox) as toggl:
        links = set_up_project(toggl, PROJECT, client_name="Globex Digital", user_ids=[ada["id"]],
                               starts_on=date(2026, 11, 2), ends_on=date(2027, 4, 30))
        again = set_up_project(toggl, PROJECT, client_name="Globex Digital", user_ids=[ada["id"]],
                               starts_on=date(2026, 11, 2), ends_on=date(2027, 4, 30))
        assert again == links
        (project,) = toggl.projects()
        assert project["name"] == "P-0Q8000000001: Globex ERP" and project["client_id"] == links.client_id
        assert project["is_private"] and project["billable"] and project["active"]
        assert (project["start_date"], project["end_date"]) == ("2026-11-02", "2027-04-30")
        assert sorted(links.task_ids) == ["DESIGN", "INTERNAL"] and len(toggl.tasks()) == 2
        assert [u["user_id"] for u in toggl.project_users(links.project_id)] == [ada["id"]]
        assert [c["name"] for c in toggl.clients()] == ["Globex Digital"]

        closed = PROJECT.model_copy(update={"status": ProjectStatus.CLOSED})
        assert set_up_project(toggl, closed, client_name="Globex Digital").project_id == links.project_id
        (archived,) = toggl.projects()
        assert archived["active"] is False
    puts = sandbox.stats.by_path.get(f"PUT /api/v9/workspaces/{sandbox.workspace_id}/projects/{links.project_id}")
    assert puts == 1  # the second run changed nothing; closing changed one field
