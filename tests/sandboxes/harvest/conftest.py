"""A Harvest sandbox on loopback with a controllable clock, and a plain HTTP client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from harvest_sandbox_support import HEADERS, Clock, Delivery, seed_delivery

from q2c.sandboxes.harvest.app import HarvestSandbox, create_sandbox
from q2c.sandboxes.kit import SandboxServer


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> HarvestSandbox:
    return create_sandbox(clock=clock)


@pytest.fixture
def server(sandbox: HarvestSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=HEADERS, timeout=10) as client:
        yield client


@pytest.fixture
def delivery(sandbox: HarvestSandbox) -> Delivery:
    return seed_delivery(sandbox.state)
