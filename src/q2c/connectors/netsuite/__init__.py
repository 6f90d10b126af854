"""NetSuite: the ERP connector (REST web services, SuiteQL, q2c's bulk RESTlet). Registered as `netsuite`."""

from q2c.connectors.netsuite.client import (
    BulkResult,
    Employee,
    InvoiceStanding,
    JobStatus,
    NetSuiteClient,
)
from q2c.connectors.netsuite.doctor import check
from q2c.connectors.netsuite.erp import NetSuiteErp
from q2c.connectors.netsuite.mapping import AccountReferences, InvoiceState
from q2c.connectors.netsuite.settings import NetSuiteSettings
from q2c.connectors.registry import ConnectorSpec, Role
from q2c.engine.resilience import GuardRegistry

__all__ = ["CONNECTOR", "AccountReferences", "BulkResult", "Employee", "InvoiceStanding", "InvoiceState",
           "JobStatus", "NetSuiteClient", "NetSuiteSettings"]


def _build(settings: NetSuiteSettings, role: Role, guards: GuardRegistry) -> NetSuiteErp:
    return NetSuiteErp(NetSuiteClient(settings, guards))


def _address(settings: NetSuiteSettings) -> tuple[str, str]:
    return ("rest_base_url" if settings.rest_base_url else "account_id"), settings.rest_base


CONNECTOR = ConnectorSpec(name="netsuite", label="NetSuite", roles=frozenset({Role.ERP}), settings=NetSuiteSettings,
                          build=_build, doctor=check, address=_address)
