"""Harvest API v2: the time tracker where people log time on projects q2c sets up.

The sandbox (`q2c.sandboxes.harvest.app`) is imported on its own, so the connector
never pulls in the server side.
"""

from q2c.connectors.harvest.client import HarvestClient, HarvestNotFound, TimeEntryPage
from q2c.connectors.harvest.doctor import check
from q2c.connectors.harvest.mapping import (
    MappingError,
    project_codes_by_id,
    resource_ids_by_user,
    time_entries_from_harvest,
    time_entry_from_harvest,
)
from q2c.connectors.harvest.project_setup import HarvestProjectLinks, set_up_project
from q2c.connectors.harvest.settings import HarvestSettings
from q2c.connectors.harvest.tracker import HarvestTracker
from q2c.connectors.registry import ConnectorSpec, Role
from q2c.engine.resilience import GuardRegistry

__all__ = [
    "CONNECTOR",
    "HarvestClient",
    "HarvestNotFound",
    "HarvestProjectLinks",
    "HarvestSettings",
    "MappingError",
    "TimeEntryPage",
    "project_codes_by_id",
    "resource_ids_by_user",
    "set_up_project",
    "time_entries_from_harvest",
    "time_entry_from_harvest",
]


def _build(settings: HarvestSettings, role: Role, guards: GuardRegistry) -> HarvestTracker:
    return HarvestTracker(HarvestClient(settings, guards))


def _address(settings: HarvestSettings) -> tuple[str, str]:
    return "base_url", settings.base_url


CONNECTOR = ConnectorSpec(name="harvest", label="Harvest", roles=frozenset({Role.TRACKER}),
                          settings=HarvestSettings, build=_build, doctor=check, address=_address)
