"""A Business Central sandbox on HTTPS loopback, a token from msal, and httpx clients on both API routes."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from business_central_sandbox_support import SCOPE, msal_app

from q2c.sandboxes.business_central.app import BusinessCentralSandbox, create_sandbox
from q2c.sandboxes.kit import SandboxServer


@pytest.fixture(autouse=True)
def _own_ca_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE override a session's `verify=`: the sandbox's CA must be the one used."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def box() -> BusinessCentralSandbox:
    return create_sandbox(notification_delay_seconds=0.2)


@pytest.fixture
def server(box: BusinessCentralSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(box) as running:
        yield running


@pytest.fixture
def ca_path(box: BusinessCentralSandbox, tmp_path: Path) -> Path:
    return box.write_ca(tmp_path / "business-central-ca.pem")


@pytest.fixture
def token(server: SandboxServer, box: BusinessCentralSandbox, ca_path: Path) -> str:
    app = msal_app(box, server.url, ca_path)
    result = app.acquire_token_for_client(scopes=[SCOPE])
    app.http_client.close()  # an idle keep-alive connection would hold up the server's shutdown
    assert "access_token" in result, result
    return str(result["access_token"])


def _client(base: str, token: str, ca_path: Path) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                        verify=ssl.create_default_context(cafile=str(ca_path)), timeout=20)


@pytest.fixture
def api(server: SandboxServer, box: BusinessCentralSandbox, token: str, ca_path: Path) -> Iterator[httpx.Client]:
    with _client(f"{server.url}/v2.0/{box.tenant_id}/{box.environment}/api/v2.0/", token, ca_path) as client:
        yield client


@pytest.fixture
def ext(server: SandboxServer, box: BusinessCentralSandbox, token: str, ca_path: Path) -> Iterator[httpx.Client]:
    with _client(f"{server.url}/v2.0/{box.tenant_id}/{box.environment}/api/q2c/integration/v1.0/", token,
                 ca_path) as client:
        yield client


@pytest.fixture
def us01(box: BusinessCentralSandbox) -> str:
    return f"companies({box.company_ids()['US01']})"
