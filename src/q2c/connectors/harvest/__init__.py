"""Harvest API v2: the time tracker where people log time on projects q2c sets up.

The sandbox (`q2c.sandboxes.harvest.app`) is imported on its own, so the connector
never pulls in the server side.
"""

from q2c.connectors.harvest.client import HarvestClient, HarvestConfig, HarvestNotFound, TimeEntryPage
from q2c.connectors.harvest.mapping import (
    MappingError,
    project_codes_by_id,
    resource_ids_by_user,
    time_entries_from_harvest,
    time_entry_from_harvest,
)
from q2c.connectors.harvest.project_setup import HarvestProjectLinks, set_up_project

__all__ = [
    "HarvestClient",
    "HarvestConfig",
    "HarvestNotFound",
    "HarvestProjectLinks",
    "MappingError",
    "TimeEntryPage",
    "project_codes_by_id",
    "resource_ids_by_user",
    "set_up_project",
    "time_entries_from_harvest",
    "time_entry_from_harvest",
]
