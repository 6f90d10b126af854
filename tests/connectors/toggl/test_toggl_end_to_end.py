"""Toggl Track as the firm's time tracker, end to end through the normal CLI path: `q2c sync` and `q2c doctor`
against the Salesforce, Toggl and NetSuite sandboxes, with `systems.tracker.type: toggl` in q2c.yaml.

The config is the one `q2c sandbox up` writes (`start_sandboxes` with the tracker role played by the
`toggl` sandbox): the demo firm's rate card prices a Consultant at 150.00 USD and an Architect at 200.00.
People track time through the Toggl v9 API (engineering.toggl.com/docs/api/time_entries) and the
approver approves their week through the approvals API (/docs/api/approvals). Figures, by hand:

    Alice (Consultant) DESIGN  Tue 17 Nov  5,400 s = 1.50 h  billable   x 150.00 = 225.00
    Alice (Consultant) DESIGN  Wed 18 Nov 27,000 s = 7.50 h  billable   x 150.00 = 1,125.00
    Bob (Architect)    BUILD   Thu 19 Nov  8,100 s = 2.25 h  billable   x 200.00 = 450.00
    Alice (Consultant) INTERNAL Fri 20 Nov 2,700 s = 0.75 h  not billable (rated 150.00 for cost)
    Bob (Architect)    BUILD   Mon 23 Nov  3,600 s = 1.00 h  next week, not approved: not in NetSuite

The week of 16 November is approved for both, so four timebills reach NetSuite; the billable ones
come to 225.00 + 1,125.00 + 450.00 = 1,800.00. Then `q2c doctor` with a member's token instead of
the admin's reports Toggl's account problem (not an admin) on `systems.tracker.api_token`.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner, Result

from q2c.entrypoints import cli
from q2c.entrypoints.sandbox_up import RunningSandboxes, start_sandboxes
from q2c.sandboxes.toggl.app import TogglSandbox

SYSTEMS = {"crm": "salesforce", "tracker": "toggl", "erp": "netsuite"}
PEOPLE = (("Alice", "Adams", "alice@q2c-demo.example"), ("Bob", "Baker", "bob@q2c-demo.example"))


def q2c(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"Q2C_CONFIG": None})


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningSandboxes]:
    started = start_sandboxes(tmp_path / "firm", sandboxes=SYSTEMS)
    yield started
    started.stop()


def _won_deal(running: RunningSandboxes) -> str:
    org = running.salesforce.state
    account = org.create("Account", {"Name": "Hooli", "Tax_Id__c": "US-45-1234567", "Tax_Code__c": "US-CA-STD",
                                     "Payment_Terms__c": "Net 30", "CurrencyIsoCode": "USD", "BillingCountry": "US",
                                     "Legal_Entity__c": "US01"})
    opportunity = org.create("Opportunity", {"Name": "Hooli data platform", "AccountId": account,
                                             "StageName": "Closed Won", "CloseDate": "2026-11-02",
                                             "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01",
                                             "Start_Date__c": "2026-11-02", "End_Date__c": "2027-03-31"})
    org.create("OpportunityLineItem", {"OpportunityId": opportunity, "Description": "Implementation (T&M)",
                                       "Service_Offering__c": "IMPL", "Billing_Type__c": "Time and Materials",
                                       "Quantity": 120, "TotalPrice": 18000, "CurrencyIsoCode": "USD"})
    return str(opportunity)


def _people(running: RunningSandboxes, toggl: httpx.Client) -> dict[str, dict[str, Any]]:
    """The NetSuite employees and the Toggl users (added the way the Toggl sandbox stands in for invites)."""
    users = {}
    for first, last, email in PEOPLE:
        running.netsuite.state.seed("employee", {"firstName": first, "lastName": last, "email": email,
                                                 "entityId": f"{first} {last}"})
        added = toggl.post("/__sandbox/users", json={"email": email, "fullname": f"{first} {last}"})
        assert added.status_code == 200, added.text
        users[first.lower()] = added.json()
    return users


def test_toggl_time_reaches_netsuite_through_q2c_sync_and_doctor_reports_the_account(
        running: RunningSandboxes) -> None:
    config = running.config_path
    written = yaml.safe_load(config.read_text())
    assert written["systems"]["tracker"]["type"] == "toggl"
    # Toggl's documented pace is 1 request a second (the connector's default), which would make this run
    # last a minute; the sandbox keeps no burst limit unless asked, so the firm's config may go faster here.
    written["systems"]["tracker"]["requests_per_second"] = 50
    config.write_text(yaml.safe_dump(written, sort_keys=False))
    box = running.boxes["tracker"]
    assert isinstance(box, TogglSandbox)
    vendor = running.connection["toggl"]
    wid = vendor["workspace_id"]
    toggl = httpx.Client(base_url=vendor["base_url"], auth=(vendor["api_token"], "api_token"), timeout=10)
    opportunity = _won_deal(running)
    users = _people(running, toggl)
    setups = toggl.post(f"/api/v9/workspaces/{wid}/timesheet_setups", json={
        "approver_id": box.owner_id(), "member_ids": [users["alice"]["id"], users["bob"]["id"]],
        "periodicity": "weekly", "start_date": "2026-11-16"})
    assert setups.status_code == 200, setups.text

    first = q2c("sync", "--config", str(config))
    assert first.exit_code == 0, first.output
    assert "deals: 1 won since last poll" in first.output and "no open exceptions" in first.output

    # the deal is set up in Toggl: a private project named by its q2c id, its tasks, its people
    project_id = f"P-{opportunity[-12:]}"
    (project,) = [p for p in toggl.get(f"/api/v9/workspaces/{wid}/projects").json()
                  if p["name"].startswith(f"{project_id}: ")]
    tasks = {t["name"]: t["id"] for t in toggl.get(f"/api/v9/workspaces/{wid}/projects/{project['id']}/tasks").json()}
    assert set(tasks) == {"DESIGN", "BUILD", "INTERNAL"}
    members = toggl.get(f"/api/v9/workspaces/{wid}/project_users", params={"project_ids": project["id"]}).json()
    assert {m["user_id"] for m in members} == {users["alice"]["id"], users["bob"]["id"]}

    def track(who: str, task: str, start: str, seconds: int, *, billable: bool = True) -> None:
        made = toggl.post(f"/api/v9/workspaces/{wid}/time_entries", json={
            "created_with": "q2c end-to-end test", "workspace_id": int(wid), "user_id": users[who]["id"],
            "project_id": project["id"], "task_id": tasks[task], "start": start, "duration": seconds,
            "billable": billable, "description": f"{task.lower()} work"})
        assert made.status_code == 200, made.text

    track("alice", "DESIGN", "2026-11-17T14:00:00Z", 5_400)
    track("alice", "DESIGN", "2026-11-18T13:00:00Z", 27_000)
    track("bob", "BUILD", "2026-11-19T15:00:00Z", 8_100)
    track("alice", "INTERNAL", "2026-11-20T16:00:00Z", 2_700, billable=False)
    track("bob", "BUILD", "2026-11-23T15:00:00Z", 3_600)
    for setup in setups.json():
        approved = toggl.put(f"/api/v9/workspaces/{wid}/timesheets/{setup['id']}/2026-11-16",
                             json={"status": "approved"})
        assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text

    second = q2c("sync", "time", "--config", str(config))
    assert second.exit_code == 0, second.output
    assert "time: 5 entries" in second.output and "no open exceptions" in second.output

    ns = running.netsuite.state
    timebills = [r.values for r in ns.records["timebill"].values()]
    assert sorted((str(t["trandate"]), t["hours"], t["rate"], t["isbillable"]) for t in timebills) == [
        ("2026-11-17", Decimal("1.50"), Decimal("150.00"), True),
        ("2026-11-18", Decimal("7.50"), Decimal("150.00"), True),
        ("2026-11-19", Decimal("2.25"), Decimal("200.00"), True),
        ("2026-11-20", Decimal("0.75"), Decimal("150.00"), False)]
    assert sum(t["hours"] * t["rate"] for t in timebills if t["isbillable"]) == Decimal("1800.0000")
    assert all(str(t["externalid"]).startswith("TG-") for t in timebills)

    # a run with nothing new changes nothing in NetSuite
    third = q2c("sync", "time", "--config", str(config))
    assert third.exit_code == 0, third.output
    assert ns.created("timebill") == 4 and ns.updated("timebill") == 0

    healthy = q2c("doctor", "--config", str(config))
    assert healthy.exit_code == 0, healthy.output

    # the same firm, with a member's token where the admin's belongs
    raw = yaml.safe_load(config.read_text())
    raw["systems"]["tracker"]["api_token"] = users["alice"]["api_token"]
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    doctor = q2c("doctor", "--config", str(config))
    assert doctor.exit_code == 1, doctor.output  # a warning: q2c runs, but only Alice's own time would arrive
    flat = " ".join(doctor.output.split())
    assert "systems.tracker.api_token" in flat and "not an admin of Toggl workspace" in flat, doctor.output
    toggl.close()
