"""Salesforce: the CRM connector (REST + OAuth + CDC over CometD), its mapping, and its sandbox.

`client` and `streaming` talk to any org; `mapping` turns its records into canonical ones;
`sandbox` (with `org`, `schema`) is the loopback stand-in used by tests and the demo.
"""

from q2c.connectors.salesforce.client import (
    ENDPOINTS,
    REST_ENDPOINT,
    STREAMING_ENDPOINT,
    SYSTEM,
    TOKEN_ENDPOINT,
    SalesforceClient,
    SalesforceConfig,
    UpsertResult,
)
from q2c.connectors.salesforce.mapping import (
    ERP_OWNED_FIELDS,
    MappingError,
    customer_from_account,
    customers_from_bundle,
    erp_writeback_fields,
    opportunity_from_salesforce,
)
from q2c.connectors.salesforce.streaming import (
    OPPORTUNITY_CHANNEL,
    REPLAY_ALL,
    REPLAY_NEW,
    ChangeEvent,
    ChangeEventStream,
    ReplayUnavailable,
)

__all__ = [
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
    "MappingError",
    "ReplayUnavailable",
    "SalesforceClient",
    "SalesforceConfig",
    "UpsertResult",
    "customer_from_account",
    "customers_from_bundle",
    "erp_writeback_fields",
    "opportunity_from_salesforce",
]
