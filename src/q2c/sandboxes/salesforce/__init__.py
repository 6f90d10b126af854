"""The Salesforce sandbox: OAuth 2.0 token endpoint, sObjects, SOQL and Change Data Capture over CometD,
for the subset q2c uses, on loopback. Registered as `salesforce` (`SANDBOX`)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from q2c.sandboxes.kit import Sandbox
from q2c.sandboxes.registry import SandboxOptions, SandboxSpec


def _create(options: SandboxOptions) -> Sandbox:
    from q2c.sandboxes.salesforce.app import create_sandbox

    if options.fresh_credentials:
        return create_sandbox(options.faults, client_id=f"3MVG9q2c{secrets.token_urlsafe(24)}",
                              client_secret=secrets.token_hex(32).upper())
    return create_sandbox(options.faults)


def _credentials(sandbox: Sandbox) -> tuple[str, str]:
    from q2c.sandboxes.salesforce.app import SalesforceSandbox

    assert isinstance(sandbox, SalesforceSandbox)
    return sandbox.client_id, sandbox.client_secret


def _settings(sandbox: Sandbox, url: str, folder: Path) -> dict[str, Any]:
    """A loopback org delivers change events at once, so a poll need not hold its connect for long."""
    client_id, client_secret = _credentials(sandbox)
    return {"type": "salesforce", "login_url": url, "client_id": client_id, "client_secret": client_secret,
            "change_events_wait_seconds": 0.1}


def _connection(sandbox: Sandbox, url: str, folder: Path) -> dict[str, str]:
    client_id, client_secret = _credentials(sandbox)
    return {"instance_url": url, "client_id": client_id, "client_secret": client_secret}



def _scenario() -> Any:
    from q2c.sandboxes.salesforce.scenario import SalesforceScenario

    return SalesforceScenario()


SANDBOX = SandboxSpec(name="salesforce", label="Salesforce", role="crm", create=_create, settings=_settings,
                      connection=_connection, scenario=_scenario)
