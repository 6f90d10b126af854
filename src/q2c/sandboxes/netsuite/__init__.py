"""The NetSuite sandbox: OAuth 2.0 M2M tokens and token-based authentication (OAuth 1.0a signatures), REST
record service with external-id upserts, SuiteQL, q2c's bulk-upsert RESTlet with NetSuite's usage units,
the account-wide concurrency limit, and an account set-up (role permissions, integration record, RESTlet
deployment) that `PUT /__sandbox/netsuite/setup` changes; on loopback. Registered as `netsuite`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from q2c.sandboxes.kit import Sandbox
from q2c.sandboxes.registry import SandboxOptions, SandboxSpec

if TYPE_CHECKING:
    from q2c.sandboxes.netsuite.app import NetSuiteSandbox

KEY_NAME = "netsuite-m2m.pem"


def _create(options: SandboxOptions) -> Sandbox:
    from q2c.sandboxes.netsuite.app import create_sandbox

    limit = 5 if options.vendor_limits else 1000
    if options.fresh_credentials:
        return create_sandbox(options.faults, account_id=f"{1_000_000 + secrets.randbelow(9_000_000)}_SB1",
                              client_id=secrets.token_hex(32), certificate_id=secrets.token_urlsafe(32),
                              concurrency_limit=limit)
    return create_sandbox(options.faults, concurrency_limit=limit)


def _key(sandbox: Sandbox, folder: Path) -> Path:
    """The M2M private key beside the config (the sandbox made the pair; q2c signs with the private half)."""
    pem = getattr(sandbox, "private_key_pem", None)
    if not isinstance(pem, str):
        raise ValueError("this NetSuite sandbox was given a public key: its private half is not here to write")
    path = folder / KEY_NAME
    path.write_text(pem)
    path.chmod(0o600)
    return path


def _netsuite(sandbox: Sandbox) -> NetSuiteSandbox:
    from q2c.sandboxes.netsuite.app import NetSuiteSandbox

    assert isinstance(sandbox, NetSuiteSandbox)
    return sandbox


def _settings(sandbox: Sandbox, url: str, folder: Path) -> dict[str, Any]:
    box = _netsuite(sandbox)
    _key(box, folder)
    return {"type": "netsuite", "account_id": box.state.account_id, "client_id": box.client_id,
            "certificate_id": box.certificate_id, "private_key_path": KEY_NAME, "rest_base_url": url,
            "restlet_url": url, "references": box.account_references()}


def _connection(sandbox: Sandbox, url: str, folder: Path) -> dict[str, str]:
    from q2c.sandboxes.netsuite.app import TOKEN_PATH

    box = _netsuite(sandbox)
    return {"base_url": url, "account_id": box.state.account_id, "token_url": url + TOKEN_PATH,
            "client_id": box.client_id, "certificate_id": box.certificate_id,
            "private_key_path": str(folder / KEY_NAME)}



def _scenario() -> Any:
    from q2c.sandboxes.netsuite.scenario import NetSuiteScenario

    return NetSuiteScenario()


SANDBOX = SandboxSpec(name="netsuite", label="NetSuite", role="erp", create=_create, settings=_settings,
                      connection=_connection, scenario=_scenario)
