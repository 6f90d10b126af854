"""Fixtures: a Salesforce sandbox on loopback and a connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from salesforce_fixtures import CLIENT_ID, CLIENT_SECRET, FAST_RETRY, KeyPair

from q2c.connectors.salesforce import SalesforceClient
from q2c.connectors.salesforce.settings import SalesforceSettings
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.kit import Faults, SandboxServer
from q2c.sandboxes.salesforce.app import SalesforceSandbox, create_sandbox


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return KeyPair(private_pem, public_pem)


@pytest.fixture(scope="module")
def running(keys: KeyPair) -> Iterator[tuple[SalesforceSandbox, SandboxServer]]:
    """One server per test module (starting uvicorn is the slow part); every test gets a fresh org."""
    sandbox = create_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, jwt_public_key_pem=keys.public_pem,
                             api_usage_limit=5_000, long_poll_seconds=3.0)
    with SandboxServer(sandbox) as server:
        yield sandbox, server


@pytest.fixture()
def sandbox(running: tuple[SalesforceSandbox, SandboxServer]) -> SalesforceSandbox:
    sandbox, server = running
    sandbox.set_faults(Faults())
    assert httpx.post(f"{server.url}/__sandbox/reset").status_code == 200  # empty org, zeroed stats
    sandbox.state.set_api_usage(0, limit=5_000)
    return sandbox


@pytest.fixture()
def server(running: tuple[SalesforceSandbox, SandboxServer], sandbox: SalesforceSandbox) -> SandboxServer:
    return running[1]


@pytest.fixture()
def guards() -> GuardRegistry:
    return GuardRegistry()


@pytest.fixture()
def config(server: SandboxServer) -> SalesforceSettings:
    return SalesforceSettings(login_url=server.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                            limit_exceeded_wait_seconds=0.1, reserve_wait_seconds=0.2)


@pytest.fixture()
def client(config: SalesforceSettings, guards: GuardRegistry) -> Iterator[SalesforceClient]:
    with SalesforceClient(config, guards, retry=FAST_RETRY) as connected:
        yield connected
