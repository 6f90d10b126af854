"""A Harvest sandbox on loopback with a controllable clock, and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harvest_fixtures import Clock, Delivery, make_client, seed_delivery

from q2c.connectors.harvest.client import HarvestClient
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
def harvest(server: SandboxServer) -> Iterator[HarvestClient]:
    client = make_client(server)
    yield client
    client.close()


@pytest.fixture
def delivery(sandbox: HarvestSandbox) -> Delivery:
    return seed_delivery(sandbox.state)
