"""The Dynamics 365 Business Central sandbox: Entra ID client-credential tokens, API v2.0 (companies,
customers, projects, employees, time registration, sales documents with their post actions, journals, the
general ledger, currencies, dimensions, payment terms, accounts, webhooks) and q2c's AL extension pages
(`api/q2c/integration/v1.0`: jobTasks, timeEntries, currencyExchangeRates), OData paging, ETags and JSON
`$batch`, and Business Central's operational limits, over HTTPS on loopback. Registered as
`business_central`."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from q2c.sandboxes.kit import Sandbox
from q2c.sandboxes.registry import SandboxOptions, SandboxSpec

if TYPE_CHECKING:
    from q2c.sandboxes.business_central.app import BusinessCentralSandbox

CA_FILE = "business-central-ca.pem"


def _create(options: SandboxOptions) -> Sandbox:
    from q2c.sandboxes.business_central.app import create_sandbox

    if options.fresh_credentials:
        return create_sandbox(options.faults, vendor_limits=options.vendor_limits,
                              tenant_id=str(uuid.uuid4()), client_id=str(uuid.uuid4()),
                              client_secret=secrets.token_urlsafe(30))
    return create_sandbox(options.faults, vendor_limits=options.vendor_limits)


def _box(sandbox: Sandbox) -> BusinessCentralSandbox:
    from q2c.sandboxes.business_central.app import BusinessCentralSandbox

    assert isinstance(sandbox, BusinessCentralSandbox)
    return sandbox


def _settings(sandbox: Sandbox, url: str, folder: Path) -> dict[str, Any]:
    """The `systems.erp` block (contract D); the sandbox's CA certificate goes beside the config."""
    box = _box(sandbox)
    box.write_ca(folder / CA_FILE)
    return {"type": "business_central", "tenant_id": box.tenant_id, "client_id": box.client_id,
            "client_secret": box.client_secret, "authority_url": url, "api_url": url,
            "environment": box.environment, "ca_bundle": CA_FILE, "companies": box.company_ids(),
            "references": box.references()}


def _connection(sandbox: Sandbox, url: str, folder: Path) -> dict[str, str]:
    """What any OData client needs: Entra's token endpoint and scope, the API base, the companies, the CA."""
    box = _box(sandbox)
    ca = box.write_ca(folder / CA_FILE)
    out = {"token_url": f"{url}/{box.tenant_id}/oauth2/v2.0/token", "authority": f"{url}/{box.tenant_id}",
           "scope": "https://api.businesscentral.dynamics.com/.default", "tenant_id": box.tenant_id,
           "client_id": box.client_id, "client_secret": box.client_secret, "environment": box.environment,
           "base_url": f"{url}/v2.0/{box.tenant_id}/{box.environment}/api/v2.0",
           "extension_url": f"{url}/v2.0/{box.tenant_id}/{box.environment}/api/q2c/integration/v1.0",
           "ca_path": str(ca)}
    for code, company_id in box.company_ids().items():
        out[f"company_{code}"] = company_id
    return out


def _scenario() -> Any:
    from q2c.sandboxes.business_central.scenario import BusinessCentralScenario

    return BusinessCentralScenario()


SANDBOX = SandboxSpec(name="business_central", label="Business Central", role="erp", create=_create,
                      settings=_settings, connection=_connection, scenario=_scenario)
