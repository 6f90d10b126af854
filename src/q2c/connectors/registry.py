"""The systems q2c can connect, found by name: the config's `systems.<role>.type` picks one.

Each connector package registers one `ConnectorSpec` through the `q2c.connectors` entry point
group (pyproject.toml for the built-in ones; a third-party package declares its own), so adding
a system edits no q2c file: it brings its settings model (validated at config load, every key
named in errors as `systems.<role>.<key>`), a builder that returns the adapter behind the role's
port (`q2c.workflows.ports`), and a first-contact check for `q2c doctor`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from q2c.connectors.checks import Check
from q2c.connectors.settings import SystemSettings
from q2c.engine.resilience import GuardRegistry

ENTRY_POINT_GROUP = "q2c.connectors"


class Role(StrEnum):
    CRM = "crm"
    TRACKER = "tracker"
    ERP = "erp"


ROLE_WORDS = {Role.CRM: "CRM", Role.TRACKER: "time tracker", Role.ERP: "ERP"}


@dataclass(frozen=True)
class ConnectorSpec:
    name: str  # as the config names it: `type: netsuite`
    label: str  # as people name it: NetSuite
    roles: frozenset[Role]
    settings: type[SystemSettings]
    # (its settings, the role it plays, the hub's guards) -> the adapter behind that role's port
    build: Callable[[Any, Role, GuardRegistry], Any]
    # (its settings, the config key it sits under such as "systems.erp", a timeout) -> first contact, in words
    doctor: Callable[[Any, str, float], Check]
    # its settings -> (the key of the URL it is reached at, that URL), for errors met after first contact
    address: Callable[[Any], tuple[str, str]]


class UnknownSystem(ValueError):
    pass


@cache
def _registered() -> Mapping[str, ConnectorSpec]:
    found: dict[str, ConnectorSpec] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        spec = point.load()
        if not isinstance(spec, ConnectorSpec):
            raise TypeError(f"entry point {point.name} = {point.value} in group {ENTRY_POINT_GROUP} is not a "
                            "ConnectorSpec")
        if spec.name in found:
            raise ValueError(f"two connectors are registered as {spec.name!r}")
        found[spec.name] = spec
    return found


def connector_names(role: Role | None = None) -> tuple[str, ...]:
    return tuple(sorted(n for n, s in _registered().items() if role is None or role in s.roles))


def connector(name: str) -> ConnectorSpec:
    try:
        return _registered()[name]
    except KeyError:
        raise UnknownSystem(f"no connector is named {name!r}; installed: {', '.join(connector_names())}") from None
