"""Dynamics 365 Business Central: the ERP connector (API v2.0 and q2c's AL extension). Registered as
`business_central`."""

from __future__ import annotations

from q2c.connectors.business_central.client import BusinessCentralClient
from q2c.connectors.business_central.doctor import check
from q2c.connectors.business_central.erp import BusinessCentralErp
from q2c.connectors.business_central.settings import BusinessCentralSettings
from q2c.connectors.registry import ConnectorSpec, Role
from q2c.engine.resilience import GuardRegistry

__all__ = ["CONNECTOR", "BusinessCentralClient", "BusinessCentralErp", "BusinessCentralSettings"]


def _build(settings: BusinessCentralSettings, role: Role, guards: GuardRegistry) -> BusinessCentralErp:
    return BusinessCentralErp(BusinessCentralClient(settings, guards))


def _address(settings: BusinessCentralSettings) -> tuple[str, str]:
    return "api_url", settings.api_base


CONNECTOR = ConnectorSpec(name="business_central", label="Business Central", roles=frozenset({Role.ERP}),
                          settings=BusinessCentralSettings, build=_build, doctor=check, address=_address)
