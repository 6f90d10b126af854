"""`q2c sandbox up`: a CRM, a time tracker and an ERP sandbox in one process, and a q2c config that
points at them.

It is the way to try q2c for real without vendor accounts: the sandboxes speak the vendors' wire
protocols, so anything that can talk to Salesforce, Harvest or NetSuite (simple-salesforce, curl,
httpx) can create accounts, deals and people in them, and `q2c sync --config DIR/q2c.yaml` then
does what it would do against the real systems. Credentials are fresh random values on every run.
Which sandbox plays each role is found by name in the sandbox registry (salesforce, harvest and
netsuite unless told otherwise).

DIR receives `q2c.yaml` (relative paths in it are DIR's), the files a sandbox's settings need (the
NetSuite M2M private key) and `sandboxes.json` (what a vendor client needs to reach each sandbox).
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from q2c.config import load_config
from q2c.entrypoints.demo import demo_settings, seed_demo
from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.kit import Sandbox, SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox
from q2c.sandboxes.registry import SandboxSpec, make_sandbox, sandbox_for
from q2c.sandboxes.salesforce.app import SalesforceSandbox

DEFAULT_SANDBOXES: Mapping[str, str] = {"crm": "salesforce", "tracker": "harvest", "erp": "netsuite"}

Seed = Literal["empty", "demo"]
SEEDS: tuple[Seed, ...] = ("empty", "demo")
CONFIG_NAME = "q2c.yaml"
DATABASE_NAME = "q2c.sqlite"
CONNECTION_NAME = "sandboxes.json"

_HEADER = """\
# Written by `q2c sandbox up`: q2c pointed at the sandboxes it runs (a CRM, a time tracker and an ERP).
# Relative paths (the database, the key file) are read from this file's folder. The credentials are
# new on every `q2c sandbox up`; the sandboxes keep their data in memory until they stop.
"""


class SandboxDirError(ValueError):
    """DIR cannot hold a fresh sandbox run (it names the file and what to do)."""


@dataclass
class RunningSandboxes:
    """The started sandboxes by role, their servers, and what `sandboxes.json` says about them."""

    directory: Path
    boxes: dict[str, Sandbox]
    servers: dict[str, SandboxServer]
    connection: dict[str, dict[str, str]]
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_NAME

    @property
    def salesforce(self) -> SalesforceSandbox:
        box = self.boxes["crm"]
        assert isinstance(box, SalesforceSandbox)
        return box

    @property
    def harvest(self) -> HarvestSandbox:
        box = self.boxes["tracker"]
        assert isinstance(box, HarvestSandbox)
        return box

    @property
    def netsuite(self) -> NetSuiteSandbox:
        box = self.boxes["erp"]
        assert isinstance(box, NetSuiteSandbox)
        return box

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


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
        # the audit trail's key and checkpoints belong to that database: kept, they would vouch for a trail
        # that is no longer there
        from q2c.store.audit_key import ANCHOR_DIR_SUFFIX, KEY_FILE_SUFFIX

        (directory / f"{DATABASE_NAME}{KEY_FILE_SUFFIX}").unlink(missing_ok=True)
        shutil.rmtree(directory / f"{DATABASE_NAME}{ANCHOR_DIR_SUFFIX}", ignore_errors=True)
    return directory


def start_sandboxes(directory: Path, *, seed: Seed = "empty", host: str = "127.0.0.1", reset: bool = False,
                    sandboxes: Mapping[str, str] = DEFAULT_SANDBOXES) -> RunningSandboxes:
    """Start a sandbox per role on loopback, seed them, and write q2c.yaml, their files and sandboxes.json."""
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; allowed: {', '.join(SEEDS)}")
    specs: dict[str, SandboxSpec] = {role: sandbox_for(role, name) for role, name in sandboxes.items()}
    directory = prepare_directory(directory, reset=reset)
    boxes = {role: make_sandbox(spec.name, fresh_credentials=True) for role, spec in specs.items()}
    servers: dict[str, SandboxServer] = {}
    try:
        for role, box in boxes.items():
            servers[role] = SandboxServer(box, host=host).start()
        systems = {role: spec.settings(boxes[role], servers[role].url, directory) for role, spec in specs.items()}
        connection = {spec.name: spec.connection(boxes[role], servers[role].url, directory)
                      for role, spec in specs.items()}
        running = RunningSandboxes(directory, boxes, servers, connection)
        if seed == "demo":
            running.ids = seed_demo(boxes)
        settings = demo_settings(database=f"sqlite:///{DATABASE_NAME}", systems=systems,
                                 webhook_secret=secrets.token_urlsafe(32))
        running.config_path.write_text(_HEADER + yaml.safe_dump(settings, sort_keys=False, default_flow_style=False,
                                                                allow_unicode=True))
        load_config(running.config_path)  # what we wrote must load as it is
        (directory / CONNECTION_NAME).write_text(json.dumps(running.connection, indent=2) + "\n")
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return running
