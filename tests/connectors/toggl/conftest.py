"""A Toggl Track sandbox on loopback with a controllable clock, the owner's API, and a seeded workspace."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from toggl_fixtures import Clock, Workspace, owner_api, seed_workspace

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.toggl.app import TogglSandbox, create_sandbox


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> TogglSandbox:
    return create_sandbox(clock=clock)


@pytest.fixture
def server(sandbox: TogglSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def owner(server: SandboxServer, sandbox: TogglSandbox) -> Iterator[httpx.Client]:
    with owner_api(server, sandbox) as client:
        yield client


@pytest.fixture
def ws(sandbox: TogglSandbox, owner: httpx.Client) -> Workspace:
    return seed_workspace(sandbox, owner)
