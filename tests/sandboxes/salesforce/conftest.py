"""Fixtures: the Salesforce sandbox on loopback, a fresh org per test, and an HTTP client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from salesforce_org_fixtures import CLIENT_ID, CLIENT_SECRET, KeyPair

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
                             api_usage_limit=5_000, long_poll_seconds=0.5)
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
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as session:
        yield session


@pytest.fixture()
def headers(http: httpx.Client) -> dict[str, str]:
    """A bearer session from the client credentials grant."""
    response = http.post("/services/oauth2/token", data={"grant_type": "client_credentials"},
                         auth=(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
