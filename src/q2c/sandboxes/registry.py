"""The sandboxes q2c can run, found by name: `q2c sandbox NAME`, `q2c sandbox up` and the demo use this.

Each vendor package registers one `SandboxSpec` through the `q2c.sandboxes` entry point group (see
pyproject.toml), so a new sandbox is found without editing this file. A spec says which system and
role it stands in for, how to start it, and what a client needs to reach it: the `systems.<role>`
block of a q2c config, and the entry of `sandboxes.json` that any client of the vendor's API uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from q2c.sandboxes.kit import Faults, Sandbox

ENTRY_POINT_GROUP = "q2c.sandboxes"


@dataclass(frozen=True)
class SandboxOptions:
    """How to start a sandbox: its faults, whether it keeps the vendor's documented limits, and whether it
    makes fresh random credentials (`sandbox up`) or keeps its fixed test ones (tests, the demo)."""

    faults: Faults = field(default_factory=Faults)
    vendor_limits: bool = False
    fresh_credentials: bool = False


@dataclass(frozen=True)
class SandboxSpec:
    name: str  # the system it stands in for, as the config names it (`type: netsuite`)
    label: str
    role: str  # crm, tracker or erp
    create: Callable[[SandboxOptions], Sandbox]
    # (sandbox, its base URL, the folder config files go to) -> the `systems.<role>` block of q2c.yaml; it may
    # write files there (a key), named relative to the folder
    settings: Callable[[Sandbox, str, Path], dict[str, Any]]
    # (sandbox, its base URL, that folder) -> what a client of the vendor's API needs (sandboxes.json)
    connection: Callable[[Sandbox, str, Path], dict[str, str]]


class UnknownSandbox(ValueError):
    pass


@cache
def _registered() -> Mapping[str, SandboxSpec]:
    found: dict[str, SandboxSpec] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        spec = point.load()
        if not isinstance(spec, SandboxSpec):
            raise TypeError(f"entry point {point.name} = {point.value} in group {ENTRY_POINT_GROUP} is not a "
                            "SandboxSpec")
        if spec.name in found:
            raise ValueError(f"two sandboxes are registered as {spec.name!r}")
        found[spec.name] = spec
    return found


def sandbox_names() -> tuple[str, ...]:
    return tuple(sorted(_registered()))


def sandbox_spec(name: str) -> SandboxSpec:
    try:
        return _registered()[name]
    except KeyError:
        raise UnknownSandbox(f"unknown sandbox {name!r}; allowed: {', '.join(sandbox_names())}") from None


def sandbox_for(role: str, name: str) -> SandboxSpec:
    """The sandbox `name`, checked to stand in for `role`."""
    spec = sandbox_spec(name)
    if spec.role != role:
        raise UnknownSandbox(f"sandbox {name!r} plays the {spec.role} role, not the {role} role")
    return spec


def make_sandbox(name: str, *, faults: Faults | None = None, vendor_limits: bool = False,
                 fresh_credentials: bool = False) -> Sandbox:
    return sandbox_spec(name).create(SandboxOptions(faults=faults or Faults(), vendor_limits=vendor_limits,
                                                    fresh_credentials=fresh_credentials))
