"""The Salesforce connector's settings: `systems.crm` with `type: salesforce` in the config.

One model, read as it is by the client: the org's login URL, the connected app, and one grant,
either client credentials (`client_secret`) or the JWT bearer flow (`username` and the connected
app's private key, `private_key_path`).

The client credentials flow is served on the org's My Domain, https://MyDomainName.my.salesforce.com
(Salesforce Help, "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration" and its
sample request to `https://org_domain/services/oauth2/token`); the generic login servers answer it
with invalid_grant "request not supported on this domain" (observed:
pozil/pub-sub-api-node-client#58), so the settings refuse them up front. The JWT bearer flow may
use login.salesforce.com or test.salesforce.com (Help, "OAuth 2.0 JWT Bearer Flow for
Server-to-Server Integration").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from q2c.connectors.settings import SystemSettings, http_url, key_error, key_file, pem_text

GENERIC_LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})


class SalesforceSettings(SystemSettings):
    type: Literal["salesforce"] = "salesforce"
    login_url: str = Field(default="https://login.salesforce.com",
                           description="the org's My Domain URL (client credentials), or login/test.salesforce.com")
    client_id: str = Field(min_length=1, description="the connected app's consumer key")
    client_secret: SecretStr | None = None
    username: str | None = None
    private_key_path: Path | None = None  # read relative to the config file's folder
    private_key_pem: SecretStr | None = None  # the key itself, for programs that hold it in memory
    jwt_audience: str = "https://login.salesforce.com"  # https://test.salesforce.com for sandbox orgs
    api_version: str = "59.0"
    call_options_client: str = "q2c"  # how the platform names q2c's writes in change events (echo suppression)
    timeout_seconds: float = Field(default=30.0, gt=0)
    limit_exceeded_wait_seconds: float = Field(default=60.0, ge=0)  # pause after REQUEST_LIMIT_EXCEEDED
    api_reserve_share: float = Field(default=0.05, ge=0, lt=1)  # of the daily allocation, left to others
    reserve_wait_seconds: float = Field(default=60.0, ge=0)  # pause when only the reserve is left
    # How long one poll keeps the Streaming API connect open for change events to arrive (Salesforce holds a
    # connect up to 110 s; an event ends the wait at once). 0 takes only what is already queued.
    change_events_wait_seconds: float = Field(default=2.0, ge=0, le=110)
    # Contract changes: the Opportunity field whose value approves a change to a won deal's terms (a checkbox
    # such as Change_Approved__c, or a picklist with `change_approval_values`); none means a change to a won
    # deal counts as approved. `change_order_field` is the lookup on a change-order opportunity naming the
    # original deal (e.g. Original_Opportunity__c): a won change order amends that deal instead of being set up.
    change_approval_field: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    change_approval_values: tuple[str, ...] = ("true",)
    change_order_field: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    # Retainers: the OpportunityLineItem fields holding a Retainer line's term in months (e.g. Term_Months__c;
    # without it a retainer runs to the deal's end date), its overage rate per hour beyond the prepaid hours
    # (e.g. Overage_Rate__c) and how many months unused hours roll over (e.g. Rollover_Months__c; without it
    # they expire at the end of their month). The line's ServiceDate starts its term; Quantity is the hours
    # prepaid over the whole term.
    line_term_months_field: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    line_overage_rate_field: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    line_rollover_months_field: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    change_effective_date_field: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    # Fixed fees billed on a schedule: the custom object whose records (Opportunity__c, Line_Item_Id__c,
    # Percent__c, Bill_Date__c, Name) are a line's instalments. Read only where the org has it (its describe
    # answers); an org without it bills every fixed fee monthly. None: never read.
    billing_schedule_object: str | None = Field(default="Billing_Schedule_Line__c",
                                                pattern=r"^[A-Za-z][A-Za-z0-9_]*__c$")

    @field_validator("login_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value).rstrip("/")

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"\d{2,3}\.\d", value):
            raise ValueError("must be a REST API version such as 59.0")
        return value

    @field_validator("private_key_path", mode="before")
    @classmethod
    def _key(cls, value: object, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if not isinstance(value, str | Path):
            raise ValueError("must be the path of a PEM file")
        path = key_file(value, info)
        try:
            key = serialization.load_pem_private_key(pem_text(path).encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path} is not a readable unencrypted PEM private key ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} must hold an RSA private key: the JWT bearer flow signs with RS256")
        return path

    @model_validator(mode="after")
    def _one_grant(self) -> SalesforceSettings:
        if self.private_key_path is not None and self.private_key_pem is not None:
            raise key_error("private_key_pem", "give the key once: private_key_path or private_key_pem")
        jwt_parts = {"username": self.username,
                     "private_key_path": self.private_key_path or self.private_key_pem}
        given = [k for k, v in jwt_parts.items() if v is not None]
        if self.client_secret is not None and given:
            raise key_error(given[0], "give either client_secret (client credentials flow) or username and "
                                      "private_key_path (JWT bearer flow), not both")
        if self.client_secret is None and not given:
            raise key_error("client_secret", "required key is missing: give client_secret (client credentials "
                                             "flow), or username and private_key_path (JWT bearer flow)")
        if self.client_secret is None and len(given) == 1:
            missing = "private_key_path" if given[0] == "username" else "username"
            raise key_error(missing, f"required key is missing: the JWT bearer flow needs username and "
                                     f"private_key_path (only {given[0]} is given)")
        host = (urlsplit(self.login_url).hostname or "").rstrip(".").lower()
        if self.client_secret is not None and host in GENERIC_LOGIN_HOSTS:
            raise key_error("login_url", f"{self.login_url} does not serve the client credentials flow: use the "
                                         "org's My Domain URL, https://MyDomainName.my.salesforce.com (Setup > My "
                                         "Domain), or the JWT bearer flow (username and private_key_path)")
        return self

    @property
    def uses_jwt(self) -> bool:
        return self.client_secret is None

    def private_key(self) -> str:
        """The JWT bearer flow's private key, as PEM text."""
        if self.private_key_pem is not None:
            return self.private_key_pem.get_secret_value()
        assert self.private_key_path is not None, "the client credentials flow has no private key"
        return self.private_key_path.read_text(encoding="ascii")
