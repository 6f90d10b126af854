"""NetSuite: the ERP connector (REST web services, SuiteQL, q2c's bulk RESTlet) and its sandbox."""

from q2c.connectors.netsuite.client import (
           BulkResult,
           Employee,
           InvoiceStanding,
           JobStatus,
           NetSuiteClient,
           NetSuiteConfig,
)
from q2c.connectors.netsuite.mapping import AccountReferences, InvoiceState

__all__ = ["AccountReferences", "BulkResult", "Employee", "InvoiceStanding", "InvoiceState", "JobStatus",
           "NetSuiteClient", "NetSuiteConfig"]
