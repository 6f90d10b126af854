"""Salesforce: the CRM connector (REST + OAuth + CDC over CometD) and its mapping. Registered as `salesforce`.

`client` and `streaming` talk to any org; `describe` and `fields` fit the queries to what the org
has (single currency, missing or hidden fields); `mapping` turns its records into canonical ones;
`crm` is the adapter behind the CRM port; `doctor` checks an org for `q2c doctor`. Its sandbox is
`q2c.sandboxes.salesforce`.
"""

from q2c.connectors.registry import ConnectorSpec, Role
from q2c.connectors.salesforce.client import (
    ENDPOINTS,
    REST_ENDPOINT,
    STREAMING_ENDPOINT,
    SYSTEM,
    TOKEN_ENDPOINT,
    SalesforceClient,
    UpsertResult,
)
from q2c.connectors.salesforce.crm import SalesforceCrm
from q2c.connectors.salesforce.doctor import check
from q2c.connectors.salesforce.fields import FieldProblem, FieldsMissing
from q2c.connectors.salesforce.mapping import (
    ERP_OWNED_FIELDS,
    MappingError,
    customer_from_account,
    customers_from_bundle,
    erp_writeback_fields,
    opportunity_from_salesforce,
)
from q2c.connectors.salesforce.settings import SalesforceSettings
from q2c.connectors.salesforce.streaming import (
    OPPORTUNITY_CHANNEL,
    REPLAY_ALL,
    REPLAY_NEW,
    ChangeEvent,
    ChangeEventStream,
    ReplayUnavailable,
)
from q2c.engine.resilience import GuardRegistry

__all__ = [
    "CONNECTOR",
    "ENDPOINTS",
    "ERP_OWNED_FIELDS",
    "OPPORTUNITY_CHANNEL",
    "REPLAY_ALL",
    "REPLAY_NEW",
    "REST_ENDPOINT",
    "STREAMING_ENDPOINT",
    "SYSTEM",
    "TOKEN_ENDPOINT",
    "ChangeEvent",
    "ChangeEventStream",
    "FieldProblem",
    "FieldsMissing",
    "MappingError",
    "ReplayUnavailable",
    "SalesforceClient",
    "SalesforceSettings",
    "UpsertResult",
    "customer_from_account",
    "customers_from_bundle",
    "erp_writeback_fields",
    "opportunity_from_salesforce",
]


def _build(settings: SalesforceSettings, role: Role, guards: GuardRegistry) -> SalesforceCrm:
    return SalesforceCrm(SalesforceClient(settings, guards))


def _address(settings: SalesforceSettings) -> tuple[str, str]:
    return "login_url", settings.login_url


CONNECTOR = ConnectorSpec(name="salesforce", label="Salesforce", roles=frozenset({Role.CRM}),
                          settings=SalesforceSettings, build=_build, doctor=check, address=_address)
