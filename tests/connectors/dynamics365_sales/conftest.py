"""A Dynamics 365 Sales sandbox on loopback (HTTPS, its own Entra ID tenant), the connector's settings for it as
`q2c sandbox up` writes them, and the connector's client and CRM adapter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from q2c.connectors.dynamics365_sales import DataverseClient, Dynamics365SalesCrm, Dynamics365SalesSettings
from q2c.engine.resilience import GuardRegistry, RetryPolicy
from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.registry import make_sandbox, sandbox_spec

QUICK = RetryPolicy(max_attempts=3, base_seconds=0.0, cap_seconds=0.0)


@pytest.fixture
def box() -> DataverseSandbox:
    made = make_sandbox("dynamics365_sales")
    assert isinstance(made, DataverseSandbox)
    return made


@pytest.fixture
def server(box: DataverseSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(box) as running:
        yield running


@pytest.fixture
def block(box: DataverseSandbox, server: SandboxServer, tmp_path: Path) -> dict[str, Any]:
    """The `systems.crm` block the sandbox spec writes (the CA file beside it in tmp_path)."""
    return sandbox_spec("dynamics365_sales").settings(box, server.url, tmp_path)


@pytest.fixture
def settings(block: dict[str, Any], tmp_path: Path) -> Dynamics365SalesSettings:
    return Dynamics365SalesSettings.model_validate(block, context={"base_dir": tmp_path})


@pytest.fixture
def client(settings: Dynamics365SalesSettings) -> Iterator[DataverseClient]:
    with DataverseClient(settings, GuardRegistry(), retry=QUICK, sleep=lambda _s: None) as made:
        yield made


@pytest.fixture
def crm(client: DataverseClient) -> Dynamics365SalesCrm:
    return Dynamics365SalesCrm(client)
