"""A NetSuite sandbox on loopback per test, and a connector configured against it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from netsuite_fixtures import ACCOUNT, CERT_ID, CLIENT_ID, FAST_RETRY, ClientFactory, references

from q2c.connectors.netsuite.auth import generate_m2m_keypair
from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.settings import NetSuiteSettings
from q2c.engine.resilience import CircuitBreaker, GuardRegistry, RetryPolicy
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox, create_sandbox


@pytest.fixture(scope="session")
def keypair() -> tuple[str, str]:
    return generate_m2m_keypair("ES256")


@pytest.fixture
def sandbox(keypair: tuple[str, str]) -> NetSuiteSandbox:
    return create_sandbox(account_id=ACCOUNT, client_id=CLIENT_ID, certificate_id=CERT_ID,
                          public_key_pem=keypair[1])


@pytest.fixture
def server(sandbox: NetSuiteSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def make_client(server: SandboxServer, sandbox: NetSuiteSandbox, keypair: tuple[str, str]
                ) -> Iterator[ClientFactory]:
    made: list[NetSuiteClient] = []

    def build(*, guards: GuardRegistry | None = None, retry: RetryPolicy = FAST_RETRY, **overrides: Any
              ) -> NetSuiteClient:
        settings: dict[str, Any] = {
            "account_id": ACCOUNT, "client_id": CLIENT_ID, "certificate_id": CERT_ID,
            "private_key_pem": keypair[0], "rest_base_url": server.url, "restlet_url": server.url,
            "throttle_wait_seconds": 0.005, "timeout_seconds": 10, "references": references(sandbox),
        }
        settings.update(overrides)
        client = NetSuiteClient(NetSuiteSettings(**settings), guards or GuardRegistry(), retry=retry,
                                breaker=CircuitBreaker(threshold=50, reset_seconds=0.05))
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> NetSuiteClient:
    return make_client()
