"""The Business Central connector's settings: `systems.erp` with `type: business_central` in the config.

One model, read as it is by the client: the Entra ID app q2c signs in as (tenant, client, secret or
certificate), the environment's API host, the company of each legal entity, the companies' set-up by
the firm's codes (`references`: the same in every company), and the documented limits the client keeps
to. Business Central allows 6,000 OData requests per user in a five-minute sliding window, processes
5 requests of an environment at a time (more wait in a queue of 95, then 429), and takes at most 100
operations in one `$batch`: those are the defaults, and a config may only go lower on the batch.
"""

from __future__ import annotations

import re
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from q2c.connectors.entra import EntraSettings
from q2c.connectors.settings import http_url, key_error
from q2c.domain.model import BillingType

DEFAULT_API_URL = "https://api.businesscentral.dynamics.com"
SCOPE = "https://api.businesscentral.dynamics.com/.default"
EXTENSION_PATH = "api/q2c/integration/v1.0"  # q2c's AL extension: publisher q2c, group integration, v1.0
MAX_BATCH = 100  # operations per $batch request (documented)
MAX_PAGE = 20_000  # entities per page (documented)
_CODE = re.compile(r"[^\s].{0,19}")  # a Code[20] value: 1 to 20 characters, not starting with a space
_BILLING_TYPES = {b.value for b in BillingType}


class DimensionCodes(BaseModel):
    """The codes of the dimensions each sales line and journal line carries (Dimensions page, Code)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service_offering: str | None = Field(default=None, examples=["SERVICEOFFERING"])
    legal_entity: str | None = Field(default=None, examples=["LEGALENTITY"])

    @field_validator("service_offering", "legal_entity")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return None if value is None else _code(value, "a dimension code")


class CompanyReferences(BaseModel):
    """The companies' set-up q2c names by the firm's codes; the same codes in every company."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # G/L account no. of the sales lines of each billing type (lineType Account), and of any other line
    invoice_accounts: dict[str, str] = Field(default_factory=dict)
    default_invoice_account: str | None = None
    payment_terms: dict[str, str] = Field(default_factory=dict)  # q2c's payment terms -> Payment Terms code
    journal: str = "Q2C"  # the general journal batch (journals.code) q2c posts revenue to
    dimensions: DimensionCodes = Field(default_factory=DimensionCodes)

    @field_validator("invoice_accounts")
    @classmethod
    def _accounts(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - _BILLING_TYPES)
        if unknown:
            raise ValueError(f"{', '.join(unknown)} is not a billing type (known: {', '.join(sorted(_BILLING_TYPES))})")
        return {k: _code(v, "a G/L account no.") for k, v in value.items()}

    @field_validator("default_invoice_account", "journal")
    @classmethod
    def _one_code(cls, value: str | None) -> str | None:
        return None if value is None else _code(value, "a Business Central code")

    def invoice_account(self, billing_type: str | None) -> str | None:
        """The G/L account no. of a sales line of this billing type (None: the config names none)."""
        if billing_type is not None and billing_type in self.invoice_accounts:
            return self.invoice_accounts[billing_type]
        return self.default_invoice_account


def _code(value: str, what: str) -> str:
    text = value.strip()
    if not _CODE.fullmatch(text):
        raise ValueError(f"must be {what}: 1 to 20 characters (Business Central's Code[20]), got {value!r}")
    return text.upper()


class BusinessCentralSettings(EntraSettings):
    type: Literal["business_central"] = "business_central"
    api_url: str = DEFAULT_API_URL
    environment: str = Field(default="production", min_length=1, max_length=30, examples=["production", "sandbox"])
    companies: dict[str, str] = Field(min_length=1)  # legal entity code -> Business Central company id
    references: CompanyReferences = Field(default_factory=CompanyReferences)
    # legal entity code -> local currency (LCY) code; read from the company information when left out
    local_currencies: dict[str, str] = Field(default_factory=dict)
    # documented limits (Operational limits for Business Central online; Work with API limits)
    max_concurrent_requests: int = Field(default=5, ge=1, le=100)
    requests_per_5_minutes: int = Field(default=6000, ge=1)
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    page_size: int = Field(default=1000, ge=1, le=MAX_PAGE)
    timeout_seconds: float = Field(default=120.0, gt=0.0)
    # Webhook subscriptions for invoice status: where Business Central posts its notifications (`q2c serve`'s
    # /webhooks/erp, as Business Central reaches it) and the clientState it must send back with each. None:
    # invoice status is polled only.
    notification_url: str | None = None
    notification_client_state: SecretStr | None = Field(default=None, min_length=16, max_length=2048)

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value).rstrip("/")

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", value):
            raise ValueError("must be the environment's name as the admin center shows it, such as production")
        return value

    @field_validator("companies")
    @classmethod
    def _companies(cls, value: dict[str, str]) -> dict[str, str]:
        for code, company_id in value.items():
            try:
                uuid.UUID(company_id)
            except ValueError:
                raise ValueError(f"{code}: {company_id!r} is not a company id (a GUID: GET .../api/v2.0/companies "
                                 "lists them)") from None
        return {code: company_id.lower() for code, company_id in value.items()}

    @model_validator(mode="after")
    def _notifications(self) -> BusinessCentralSettings:
        if self.notification_url is None:
            return self
        if not re.match(r"https?://[^/\s]+", self.notification_url):
            raise key_error("notification_url", "must be an absolute http(s) URL that Business Central can reach")
        if self.notification_client_state is None:
            raise key_error("notification_client_state", "is required with notification_url: a secret of at "
                                                         "least 16 characters Business Central sends back with "
                                                         "each notification, so q2c can tell its own")
        return self

    @model_validator(mode="after")
    def _tenant(self) -> BusinessCentralSettings:
        try:
            uuid.UUID(self.tenant_id)
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", self.tenant_id):
                raise key_error("tenant_id", "must be the directory (tenant) id, a GUID, or the tenant's domain "
                                             "name such as contoso.onmicrosoft.com") from None
        return self

    @property
    def environment_base(self) -> str:
        return f"{self.api_url}/v2.0/{self.tenant_id}/{self.environment}"

    @property
    def api_base(self) -> str:
        """The standard API v2.0: `{api_url}/v2.0/{tenant}/{environment}/api/v2.0`."""
        return f"{self.environment_base}/api/v2.0"

    @property
    def extension_base(self) -> str:
        """q2c's AL extension: `{api_url}/v2.0/{tenant}/{environment}/api/q2c/integration/v1.0`."""
        return f"{self.environment_base}/{EXTENSION_PATH}"

    def company(self, legal_entity: str | None, *, record: str, record_id: str) -> str:
        """The company id of a legal entity; a legal entity the config does not name is refused, naming it."""
        if legal_entity is not None and legal_entity in self.companies:
            return self.companies[legal_entity]
        from q2c.domain.violations import Violation
        from q2c.engine.errors import RecordRejected

        known = ", ".join(sorted(self.companies))
        raise RecordRejected(Violation(
            system="business_central", object=record, record_id=record_id, field="legal_entity",
            rule="business_central.company_unknown",
            message=f"legal entity {legal_entity!r} has no Business Central company (known: {known})",
            action="Add the legal entity's company id under systems.erp.companies, then replay"))
