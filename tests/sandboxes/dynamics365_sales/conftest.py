"""Fixtures: the Dynamics 365 Sales sandbox over HTTPS on loopback (one server per module), a fresh org per
test, and an httpx client holding a token msal got from the sandbox's Entra tenant."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from dynamics365_sales_sandbox_fixtures import API, Org, token

from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox, create_sandbox
from q2c.sandboxes.kit import Faults, SandboxServer, VendorLimits


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DataverseSandbox, SandboxServer, Path]]:
    box = create_sandbox()
    ca = box.write_ca(tmp_path_factory.mktemp("d365") / "dynamics365-sales-ca.pem")
    with SandboxServer(box) as server:
        yield box, server, ca


@pytest.fixture()
def org(running: tuple[DataverseSandbox, SandboxServer, Path]) -> Iterator[Org]:
    box, server, ca = running
    box.set_faults(Faults())
    box.set_limits(VendorLimits())
    box.clock_offset = timedelta(0)
    verify = ssl.create_default_context(cafile=str(ca))
    assert httpx.post(f"{server.url}/__sandbox/reset", verify=verify).status_code == 200
    bearer = token(box, server.url, ca)
    with httpx.Client(base_url=server.url + API, verify=verify, timeout=30,
                      headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json",
                               "OData-Version": "4.0", "OData-MaxVersion": "4.0"}) as client:
        yield Org(box, server.url, ca, client)
