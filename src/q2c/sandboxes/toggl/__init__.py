"""The Toggl Track sandbox (API v9 and Reports API v3): a workspace with its people, projects, tasks, time
entries and timesheet approvals, the detailed report's paging, and Toggl's quota and burst limits, on
loopback. Registered as `toggl`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from q2c.sandboxes.kit import Sandbox, VendorLimits
from q2c.sandboxes.registry import SandboxOptions, SandboxSpec


def _create(options: SandboxOptions) -> Sandbox:
    from q2c.sandboxes.toggl.app import TOGGL_BURST, Quota, create_sandbox

    limits = TOGGL_BURST if options.vendor_limits else VendorLimits()
    quota = Quota(per_organization=600, per_user=30) if options.vendor_limits else Quota()
    if options.fresh_credentials:
        return create_sandbox(options.faults, limits=limits, quota=quota, token=secrets.token_hex(16),
                              workspace_id=1_000_000 + secrets.randbelow(9_000_000))
    return create_sandbox(options.faults, limits=limits, quota=quota)


def _identity(sandbox: Sandbox) -> tuple[int, str]:
    from q2c.sandboxes.toggl.app import TogglSandbox

    assert isinstance(sandbox, TogglSandbox)
    return sandbox.workspace_id, sandbox.token


def _settings(sandbox: Sandbox, url: str, folder: Path) -> dict[str, Any]:
    workspace_id, token = _identity(sandbox)
    return {"type": "toggl", "base_url": url, "workspace_id": workspace_id, "api_token": token}


def _connection(sandbox: Sandbox, url: str, folder: Path) -> dict[str, str]:
    workspace_id, token = _identity(sandbox)
    return {"base_url": url, "workspace_id": str(workspace_id), "api_token": token}


SANDBOX = SandboxSpec(name="toggl", label="Toggl Track", role="tracker", create=_create, settings=_settings,
                      connection=_connection)
