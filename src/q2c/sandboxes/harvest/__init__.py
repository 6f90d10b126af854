"""The Harvest API v2 sandbox: people, clients, projects, tasks, assignments and time entries with their
approval state, paging and the 100-requests-per-15-seconds limit, on loopback. Registered as `harvest`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from q2c.sandboxes.kit import Sandbox, VendorLimits
from q2c.sandboxes.registry import SandboxOptions, SandboxSpec


def _create(options: SandboxOptions) -> Sandbox:
    from q2c.sandboxes.harvest.app import HARVEST_LIMITS, create_sandbox

    limits = HARVEST_LIMITS if options.vendor_limits else VendorLimits()
    if options.fresh_credentials:
        account = str(1_000_000 + secrets.randbelow(9_000_000))
        return create_sandbox(options.faults, account_id=account, limits=limits,
                              token=f"{secrets.randbelow(9_000_000) + 1_000_000}.pt.{secrets.token_urlsafe(48)}")
    return create_sandbox(options.faults, limits=limits)


def _credentials(sandbox: Sandbox) -> tuple[str, str]:
    from q2c.sandboxes.harvest.app import HarvestSandbox

    assert isinstance(sandbox, HarvestSandbox)
    return sandbox.account_id, sandbox.token


def _settings(sandbox: Sandbox, url: str, folder: Path) -> dict[str, Any]:
    account_id, token = _credentials(sandbox)
    return {"type": "harvest", "base_url": f"{url}/v2", "account_id": account_id, "access_token": token}


def _connection(sandbox: Sandbox, url: str, folder: Path) -> dict[str, str]:
    account_id, token = _credentials(sandbox)
    return {"base_url": url, "account_id": account_id, "access_token": token}



def _scenario() -> Any:
    from q2c.sandboxes.harvest.scenario import HarvestScenario

    return HarvestScenario()


SANDBOX = SandboxSpec(name="harvest", label="Harvest", role="tracker", create=_create, settings=_settings,
                      connection=_connection, scenario=_scenario)
