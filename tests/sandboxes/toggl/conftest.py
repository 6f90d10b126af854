"""A Toggl Track sandbox on loopback with a controllable clock, and the owner's API client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from toggl_sandbox_support import Clock, Team, api, seed_team

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
    with api(server, sandbox.token) as client:
        yield client


@pytest.fixture
def team(sandbox: TogglSandbox, owner: httpx.Client) -> Team:
    return seed_team(sandbox, owner)
