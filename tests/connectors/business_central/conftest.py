"""The Business Central sandbox on loopback (HTTPS, its own Entra ID tenant), and the connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from q2c.connectors.business_central import BusinessCentralClient, BusinessCentralErp, BusinessCentralSettings
from q2c.engine.resilience import GuardRegistry, RetryPolicy
from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.registry import make_sandbox, sandbox_spec


@pytest.fixture
def box() -> BusinessCentralSandbox:
    sandbox = make_sandbox("business_central")
    assert isinstance(sandbox, BusinessCentralSandbox)
    return sandbox


@pytest.fixture
def server(box: BusinessCentralSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(box) as running:
        yield running


@pytest.fixture
def settings(box: BusinessCentralSandbox, server: SandboxServer, tmp_path: Path) -> BusinessCentralSettings:
    """The `systems.erp` block `q2c sandbox up` writes, read as the config reads it."""
    block = sandbox_spec("business_central").settings(box, server.url, tmp_path)
    return BusinessCentralSettings.model_validate(block, context={"base_dir": tmp_path})


@pytest.fixture
def client(settings: BusinessCentralSettings) -> Iterator[BusinessCentralClient]:
    made = BusinessCentralClient(settings, GuardRegistry(), sleep=lambda _s: None,
                                 retry=RetryPolicy(max_attempts=3, base_seconds=0.0, cap_seconds=0.0))
    yield made
    made.close()


@pytest.fixture
def erp(client: BusinessCentralClient) -> BusinessCentralErp:
    return BusinessCentralErp(client)
