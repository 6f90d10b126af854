"""The Dynamics 365 Sales sandbox: a Dataverse organisation on loopback over HTTPS, with its own Entra ID
tenant (client credentials, secret or certificate), the Web API v9.2 (OData query options, upsert by
alternate key, ETags, change tracking, `$batch`, `WinOpportunity`), service protection limits, and an admin
API for seeding and inspection. Registered as `dynamics365_sales`."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from q2c.sandboxes.kit import Sandbox
from q2c.sandboxes.registry import SandboxOptions, SandboxSpec

if TYPE_CHECKING:
    from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox

CA_NAME = "dynamics365-sales-ca.pem"


def _create(options: SandboxOptions) -> Sandbox:
    from q2c.sandboxes.dynamics365_sales.app import create_sandbox

    if options.fresh_credentials:
        return create_sandbox(options.faults, vendor_limits=options.vendor_limits, tenant_id=str(uuid.uuid4()),
                              client_id=str(uuid.uuid4()), client_secret=secrets.token_urlsafe(30))
    return create_sandbox(options.faults, vendor_limits=options.vendor_limits)


def _dataverse(sandbox: Sandbox) -> DataverseSandbox:
    from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox

    assert isinstance(sandbox, DataverseSandbox)
    return sandbox


def _settings(sandbox: Sandbox, url: str, folder: Path) -> dict[str, Any]:
    """Contract F's `systems.crm` block; the CA certificate goes beside the config."""
    from q2c.sandboxes.dynamics365_sales.tables import DEFAULT_COLUMNS, MILESTONES_TABLE

    box = _dataverse(sandbox)
    box.write_ca(folder / CA_NAME)
    return {"type": "dynamics365_sales", "tenant_id": box.tenant_id, "client_id": box.client_id,
            "client_secret": box.client_secret, "authority_url": url, "org_url": url, "ca_bundle": CA_NAME,
            "columns": dict(DEFAULT_COLUMNS), "milestones_table": MILESTONES_TABLE,
            "milestone_completed_on_column": "q2c_completedon"}


def _connection(sandbox: Sandbox, url: str, folder: Path) -> dict[str, str]:
    box = _dataverse(sandbox)
    ca = box.write_ca(folder / CA_NAME)
    return {"org_url": url, "web_api_url": f"{url}/api/data/v9.2/", "authority": f"{url}/{box.tenant_id}",
            "token_url": f"{url}/{box.tenant_id}/oauth2/v2.0/token", "scope": f"{url}/.default",
            "tenant_id": box.tenant_id, "client_id": box.client_id, "client_secret": box.client_secret,
            "ca_bundle": str(ca)}


def _scenario() -> Any:
    from q2c.sandboxes.dynamics365_sales.scenario import DynamicsScenario

    return DynamicsScenario()


SANDBOX = SandboxSpec(name="dynamics365_sales", label="Dynamics 365 Sales", role="crm", create=_create,
                      settings=_settings, connection=_connection, scenario=_scenario)
