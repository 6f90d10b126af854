"""A NetSuite sandbox per test, mapped to a certificate whose private half the test signs with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from netsuite_sandbox_calls import ACCOUNT, CERT_ID, CLIENT_ID, Caller

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox, create_sandbox
from q2c.sandboxes.netsuite.keys import generate_keypair


@pytest.fixture(scope="session")
def keypair() -> tuple[str, str]:
    return generate_keypair("ES256")


@pytest.fixture
def sandbox(keypair: tuple[str, str]) -> NetSuiteSandbox:
    return create_sandbox(account_id=ACCOUNT, client_id=CLIENT_ID, certificate_id=CERT_ID, public_key_pem=keypair[1])


@pytest.fixture
def server(sandbox: NetSuiteSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def caller(server: SandboxServer, keypair: tuple[str, str]) -> Caller:
    return Caller(server, keypair[0])


@pytest.fixture
def project(sandbox: NetSuiteSandbox) -> dict[str, Any]:
    """A customer, an open project with a task, and an employee, as an administrator would set them up."""
    state = sandbox.state
    us01 = state.reference_ids()["subsidiary"]["US01 Consulting Inc."]
    customer = state.seed("customer", {"companyName": "Acme Ltd", "externalId": "CUST-1", "subsidiary": us01})
    job = state.seed("job", {"companyName": "Acme rollout", "externalId": "PRJ-1", "parent": customer})
    task = state.seed("projecttask", {"title": "DEV Development", "externalId": "PRJ-1-DEV", "project": job})
    employee = state.seed("employee", {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@firm.example",
                                       "externalId": "EMP-1"})
    return {"customer": customer, "job": job, "task": task, "employee": employee, "subsidiary": us01}
