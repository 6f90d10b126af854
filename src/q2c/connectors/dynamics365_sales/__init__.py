"""Dynamics 365 Sales: the CRM connector (Dataverse Web API + Entra ID). Registered as `dynamics365_sales`.

`client` talks to any environment's Web API; `reads` names the tables and columns q2c reads and writes;
`values` and `mapping` turn rows into canonical records; `changes` turns change tracking into the
hub's integer positions; `crm` is the adapter behind the CRM port; `doctor` checks an environment for
`q2c doctor`. Its sandbox is `q2c.sandboxes.dynamics365_sales`.
"""

from q2c.connectors.dynamics365_sales.changes import ChangeFeed, RowChange
from q2c.connectors.dynamics365_sales.client import WEB_API, DataverseClient, DeltaExpired, Tracked, delta_version
from q2c.connectors.dynamics365_sales.crm import NAMES, Dynamics365SalesCrm
from q2c.connectors.dynamics365_sales.doctor import check
from q2c.connectors.dynamics365_sales.mapping import (
    ID_PREFIX,
    canonical_id,
    customers_from_bundle,
    erp_owned_columns,
    erp_writeback_columns,
    opportunity_from_bundle,
)
from q2c.connectors.dynamics365_sales.settings import Columns, Dynamics365SalesSettings
from q2c.connectors.dynamics365_sales.values import SYSTEM, MappingError
from q2c.connectors.registry import ConnectorSpec, Role
from q2c.engine.resilience import GuardRegistry

__all__ = [
    "CONNECTOR",
    "ID_PREFIX",
    "NAMES",
    "SYSTEM",
    "WEB_API",
    "ChangeFeed",
    "Columns",
    "DataverseClient",
    "DeltaExpired",
    "Dynamics365SalesCrm",
    "Dynamics365SalesSettings",
    "MappingError",
    "RowChange",
    "Tracked",
    "canonical_id",
    "customers_from_bundle",
    "delta_version",
    "erp_owned_columns",
    "erp_writeback_columns",
    "opportunity_from_bundle",
]


def _build(settings: Dynamics365SalesSettings, role: Role, guards: GuardRegistry) -> Dynamics365SalesCrm:
    return Dynamics365SalesCrm(DataverseClient(settings, guards))


def _address(settings: Dynamics365SalesSettings) -> tuple[str, str]:
    return "org_url", settings.org_url


CONNECTOR = ConnectorSpec(name="dynamics365_sales", label="Dynamics 365 Sales", roles=frozenset({Role.CRM}),
                          settings=Dynamics365SalesSettings, build=_build, doctor=check, address=_address)
