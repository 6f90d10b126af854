"""`q2c sandbox up`: the three vendor sandboxes in one process, and a q2c config that points at them.

It is the way to try q2c for real without vendor accounts: the sandboxes speak the vendors' wire
protocols, so anything that can talk to Salesforce, Harvest or NetSuite (simple-salesforce, curl,
httpx) can create accounts, deals and people in them, and `q2c sync --config DIR/q2c.yaml` then
does what it would do against the real systems. Credentials are fresh random values on every run.

DIR receives `q2c.yaml` (relative paths in it are DIR's), `netsuite-m2m.pem` (the M2M private
key) and `sandboxes.json` (what a vendor client needs to reach each sandbox).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from q2c.config import load_config
from q2c.entrypoints.demo import demo_settings, seed_demo
from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.harvest.app import create_sandbox as harvest_sandbox
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import TOKEN_PATH, NetSuiteSandbox
from q2c.sandboxes.netsuite.app import create_sandbox as netsuite_sandbox
from q2c.sandboxes.salesforce.app import SalesforceSandbox
from q2c.sandboxes.salesforce.app import create_sandbox as salesforce_sandbox

Seed = Literal["empty", "demo"]
SEEDS: tuple[Seed, ...] = ("empty", "demo")
CONFIG_NAME = "q2c.yaml"
DATABASE_NAME = "q2c.sqlite"
KEY_NAME = "netsuite-m2m.pem"
CONNECTION_NAME = "sandboxes.json"

_HEADER = """\
# Written by `q2c sandbox up`: q2c pointed at the Salesforce, Harvest and NetSuite sandboxes it runs.
# Relative paths (the database, the key file) are read from this file's folder. The credentials are
# new on every `q2c sandbox up`; the sandboxes keep their data in memory until they stop.
"""


class SandboxDirError(ValueError):
    """DIR cannot hold a fresh sandbox run (it names the file and what to do)."""


@dataclass
class RunningSandboxes:
    """The started sandboxes, their servers, and what `sandboxes.json` says about them."""

    directory: Path
    salesforce: SalesforceSandbox
    harvest: HarvestSandbox
    netsuite: NetSuiteSandbox
    servers: dict[str, SandboxServer]
    connection: dict[str, dict[str, str]]
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_NAME

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


def _credentials() -> dict[str, str]:
    return {
        "salesforce_client_id": f"3MVG9q2c{secrets.token_urlsafe(24)}",
        "salesforce_client_secret": secrets.token_hex(32).upper(),
        "webhook_secret": secrets.token_urlsafe(32),
        "harvest_account_id": str(1_000_000 + secrets.randbelow(9_000_000)),
        "harvest_token": f"{secrets.randbelow(9_000_000) + 1_000_000}.pt.{secrets.token_urlsafe(48)}",
        "netsuite_account_id": f"{1_000_000 + secrets.randbelow(9_000_000)}_SB1",
        "netsuite_client_id": secrets.token_hex(32),
        "netsuite_certificate_id": secrets.token_urlsafe(32),
    }


def hub_settings(sandboxes: RunningSandboxes, credentials: dict[str, str], *, webhook_secret: str) -> dict[str, Any]:
    """The q2c.yaml content: the demo's firm (entities, offerings, rate cards, people) on these sandboxes."""
    refs = sandboxes.netsuite.account_references()
    urls = {name: server.url for name, server in sandboxes.servers.items()}
    settings = demo_settings(database=f"sqlite:///{DATABASE_NAME}", salesforce_url=urls["salesforce"],
                             harvest_url=urls["harvest"], netsuite_url=urls["netsuite"],
                             netsuite_key_path=Path(KEY_NAME),
                             netsuite_references=refs)
    systems = settings["systems"]
    systems["salesforce"].update(client_id=credentials["salesforce_client_id"],
                                 client_secret=credentials["salesforce_client_secret"], webhook_secret=webhook_secret)
    systems["harvest"].update(account_id=credentials["harvest_account_id"], access_token=credentials["harvest_token"])
    systems["netsuite"].update(account_id=credentials["netsuite_account_id"],
                               client_id=credentials["netsuite_client_id"],
                               certificate_id=credentials["netsuite_certificate_id"])
    entities = settings["legal_entities"]
    unknown = [e["code"] for e in entities if e["code"] not in refs["subsidiaries"]]
    if unknown:
        raise RuntimeError(f"the NetSuite sandbox has no subsidiary for legal entities {', '.join(unknown)}")
    for entity in entities:
        entity["netsuite_subsidiary"] = refs["subsidiaries"][entity["code"]]
    systems["netsuite"]["references"]["subsidiaries"] = {e["code"]: refs["subsidiaries"][e["code"]] for e in entities}
    return settings


def _connection(sandboxes: RunningSandboxes, credentials: dict[str, str], key_path: Path) -> dict[str, dict[str, str]]:
    urls = {name: server.url for name, server in sandboxes.servers.items()}
    return {
        "salesforce": {"instance_url": urls["salesforce"], "client_id": credentials["salesforce_client_id"],
                       "client_secret": credentials["salesforce_client_secret"]},
        "harvest": {"base_url": urls["harvest"], "account_id": credentials["harvest_account_id"],
                    "access_token": credentials["harvest_token"]},
        "netsuite": {"base_url": urls["netsuite"], "account_id": credentials["netsuite_account_id"],
                     "token_url": urls["netsuite"] + TOKEN_PATH, "client_id": credentials["netsuite_client_id"],
                     "certificate_id": credentials["netsuite_certificate_id"], "private_key_path": str(key_path)},
    }


def prepare_directory(directory: Path, *, reset: bool) -> Path:
    """DIR, created if need be; a database left by an earlier run refers to records these sandboxes lack."""
    directory = directory.expanduser().resolve()
    if directory.exists() and not directory.is_dir():
        raise SandboxDirError(f"--dir {directory}: exists and is not a folder")
    directory.mkdir(parents=True, exist_ok=True)
    leftovers = [directory / name for name in (DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm")]
    if any(p.exists() for p in leftovers):
        if not reset:
            raise SandboxDirError(f"--dir {directory}: holds {DATABASE_NAME} from an earlier run, whose links point at "
                                  "records the new sandboxes do not have; pass --reset to delete it, or use another "
                                  "--dir")
        for path in leftovers:
            path.unlink(missing_ok=True)
    return directory


def start_sandboxes(directory: Path, *, seed: Seed = "empty", host: str = "127.0.0.1",
                    reset: bool = False) -> RunningSandboxes:
    """Start the three sandboxes on loopback, seed them, and write q2c.yaml, the key and sandboxes.json."""
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; allowed: {', '.join(SEEDS)}")
    directory = prepare_directory(directory, reset=reset)
    credentials = _credentials()
    salesforce = salesforce_sandbox(client_id=credentials["salesforce_client_id"],
                                    client_secret=credentials["salesforce_client_secret"])
    harvest = harvest_sandbox(account_id=credentials["harvest_account_id"], token=credentials["harvest_token"])
    netsuite = netsuite_sandbox(account_id=credentials["netsuite_account_id"],
                                client_id=credentials["netsuite_client_id"],
                                certificate_id=credentials["netsuite_certificate_id"])
    servers: dict[str, SandboxServer] = {}
    try:
        for name, box in (("salesforce", salesforce), ("harvest", harvest), ("netsuite", netsuite)):
            servers[name] = SandboxServer(box, host=host).start()
        key_path = directory / KEY_NAME
        assert netsuite.private_key_pem is not None  # created without a public key: the pair is ours
        key_path.write_text(netsuite.private_key_pem)
        key_path.chmod(0o600)
        running = RunningSandboxes(directory, salesforce, harvest, netsuite, servers, {})
        running.connection = _connection(running, credentials, key_path)
        if seed == "demo":
            running.ids = seed_demo(salesforce, harvest, netsuite)
        settings = hub_settings(running, credentials, webhook_secret=credentials["webhook_secret"])
        running.config_path.write_text(_HEADER + yaml.safe_dump(settings, sort_keys=False, default_flow_style=False,
                                                                allow_unicode=True))
        load_config(running.config_path)  # what we wrote must load as it is
        (directory / CONNECTION_NAME).write_text(json.dumps(running.connection, indent=2) + "\n")
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return running
