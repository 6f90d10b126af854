"""Toggl Track (API v9 and Reports API v3): the time tracker where people track time on projects q2c sets up.

The sandbox (`q2c.sandboxes.toggl.app`) is imported on its own, so the connector never pulls in the
server side.
"""

from q2c.connectors.registry import ConnectorSpec, Role
from q2c.connectors.toggl.client import PlanRequired, TogglClient, TogglNotFound
from q2c.connectors.toggl.doctor import check
from q2c.connectors.toggl.mapping import MappingError, hours_from_seconds, time_entry_from_toggl
from q2c.connectors.toggl.project_setup import TogglProjectLinks, set_up_project
from q2c.connectors.toggl.settings import TogglSettings
from q2c.connectors.toggl.tracker import TogglTracker
from q2c.engine.resilience import GuardRegistry

__all__ = [
    "CONNECTOR",
    "MappingError",
    "PlanRequired",
    "TogglClient",
    "TogglNotFound",
    "TogglProjectLinks",
    "TogglSettings",
    "TogglTracker",
    "hours_from_seconds",
    "set_up_project",
    "time_entry_from_toggl",
]


def _build(settings: TogglSettings, role: Role, guards: GuardRegistry) -> TogglTracker:
    return TogglTracker(TogglClient(settings, guards))


def _address(settings: TogglSettings) -> tuple[str, str]:
    return "base_url", settings.base_url


CONNECTOR = ConnectorSpec(name="toggl", label="Toggl Track", roles=frozenset({Role.TRACKER}),
                          settings=TogglSettings, build=_build, doctor=check, address=_address)
