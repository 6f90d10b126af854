"""Bulk RESTlet requests as the connector builds them, and the account they are sent to.

The bodies come from the connector's own code: the canonical records of `netsuite_records`, mapped
by `q2c.connectors.netsuite.mapping` as the ERP adapter maps them, and serialised by
`restlet_request`, the function the client sends a chunk with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsuite_fixtures import references
from netsuite_records import contract, timebill

from q2c.connectors.netsuite import wire
from q2c.connectors.netsuite.client import restlet_request
from q2c.connectors.netsuite.mapping import contract_to_salesorder, task_to_projecttask, time_entry_to_timebill
from q2c.domain.model import Task
from q2c.sandboxes.netsuite.app import NetSuiteSandbox
from q2c.sandboxes.netsuite.state import NetSuiteState

Edit = Callable[[dict[str, Any]], None]


def seed_account(state: NetSuiteState) -> dict[str, str]:
    """What project setup leaves in NetSuite: a customer, an open project with two tasks, a closed one,
    an employee; as an administrator would enter them. Internal ids by role."""
    us01 = state.reference_ids()["subsidiary"]["US01 Consulting Inc."]
    customer = state.seed("customer", {"companyName": "Acme 1 Inc", "externalId": "SF-0011", "subsidiary": us01})
    job = state.seed("job", {"companyName": "Acme 1 ERP", "externalId": "P-1", "parent": customer})
    build = state.seed("projecttask", {"title": "BUILD Build", "externalId": "P-1-BUILD", "project": job})
    state.seed("projecttask", {"title": "PM Project management", "externalId": "P-1-PM", "project": job})
    closed = state.seed("job", {"companyName": "Acme 1 Support", "externalId": "P-2", "parent": customer})
    state.close_job(closed)
    employee = state.seed("employee", {"firstName": "Ada", "lastName": "Lovelace", "email": "ada0@firm.example",
                                       "externalId": "EMP-1"})
    return {"customer": customer, "job": job, "task": build, "closed_job": closed, "employee": employee}


def timebills(ids: dict[str, str], count: int, *, prefix: str = "HV-", hours: str = "1.5") -> list[dict[str, Any]]:
    """Approved time as the ERP adapter maps it (`time_entry_to_timebill`), one body per entry."""
    bodies = []
    for n in range(count):
        t = timebill(f"{prefix}{n + 1}", hours=hours)
        bodies.append(time_entry_to_timebill(t.entry, rate=t.rated.rate, employee_id=ids["employee"],
                                             task_id=t.task_id).body)
    return bodies


def edited(bodies: list[dict[str, Any]], edits: dict[int, Edit]) -> list[dict[str, Any]]:
    for index, edit in edits.items():
        edit(bodies[index])
    return bodies


def tasks(project_id: str = "P-1", codes: tuple[str, ...] = ("TEST", "DEPLOY")) -> list[dict[str, Any]]:
    return [task_to_projecttask(Task(id=f"{project_id}-{code}", project_id=project_id, code=code, name=code.title()))
            for code in codes]


def sales_order(sandbox: NetSuiteSandbox) -> dict[str, Any]:
    """The contract as the adapter sends it: a sales order with one item line per phase."""
    return contract_to_salesorder(contract("1"), refs=references(sandbox), project_id="P-1")


def request(record_type: str, records: list[dict[str, Any]]) -> bytes:
    return restlet_request(record_type, records)


def raw_request(body: Any) -> bytes:
    """A call the connector would never make (a record that is not an object, no recordType), in its JSON."""
    return wire.dumps(body)
