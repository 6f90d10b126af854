"""Shared setup for the NetSuite tests: ids, account references, a seeded project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.mapping import AccountReferences
from q2c.engine.resilience import RetryPolicy
from q2c.sandboxes.netsuite.app import NetSuiteSandbox

ACCOUNT = "1234567_SB1"
CLIENT_ID = "q2c-test-client"
CERT_ID = "q2c-test-cert"
FAST_RETRY = RetryPolicy(max_attempts=4, base_seconds=0.001, cap_seconds=0.01)

ClientFactory = Callable[..., NetSuiteClient]  # make_client(**config overrides)


def references(sandbox: NetSuiteSandbox) -> AccountReferences:
    ids = sandbox.state.reference_ids()
    return AccountReferences(
        subsidiaries={"US01": ids["subsidiary"]["US01 Consulting Inc."],
                      "UK01": ids["subsidiary"]["UK01 Consulting Ltd"]},
        currencies=ids["currency"], terms=ids["term"],
        service_items={"Implementation": ids["serviceitem"]["Professional Services"]},
        billing_type_items={"fixed_fee": ids["serviceitem"]["Fixed Fee Services"],
                            "retainer": ids["serviceitem"]["Retainer"]},
        default_service_item=ids["serviceitem"]["Professional Services"],
        tax_items={"US-CA-STD": ids["salestaxitem"]["US-CA-STD"]},
    )


def seed_project(sandbox: NetSuiteSandbox, *, customer: str = "CUST-1", project: str = "PRJ-1",
                 employees: int = 1) -> dict[str, Any]:
    """A customer, an open project with one task, and employees, as an administrator would set up."""
    state = sandbox.state
    ids = state.reference_ids()
    customer_id = state.seed("customer", {"companyName": f"{customer} Ltd", "externalId": customer,
                                          "subsidiary": ids["subsidiary"]["US01 Consulting Inc."]})
    job_id = state.seed("job", {"companyName": f"{project} rollout", "externalId": project, "parent": customer_id})
    task_id = state.seed("projecttask", {"title": "DEV Development", "externalId": f"{project}-DEV",
                                         "project": job_id})
    employee_ids = [state.seed("employee", {"firstName": "Ada", "lastName": f"Lovelace{n}",
                                            "email": f"ada{n}@firm.example", "externalId": f"EMP-{n}"})
                    for n in range(employees)]
    return {"customer": customer_id, "job": job_id, "task": task_id, "employees": employee_ids}
