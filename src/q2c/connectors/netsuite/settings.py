"""The NetSuite connector's settings: `systems.erp` with `type: netsuite` in the config.

One model, read as it is by the client: the account, q2c's integration record and M2M certificate
(OAuth 2.0 client credentials with a JWT assertion), the account-specific hosts (derived from the
account id unless given), the account's concurrency limit shared by every integration, when to use
q2c's bulk RESTlet, and the internal ids of the account's setup records (`references`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from q2c.connectors.netsuite.auth import signing_algorithm
from q2c.connectors.netsuite.mapping import AccountReferences
from q2c.connectors.settings import SystemSettings, http_url, key_error, key_file, pem_text

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
RESTLET_PATH = "/app/site/hosting/restlet.nl"


class NetSuiteSettings(SystemSettings):
    type: Literal["netsuite"] = "netsuite"
    account_id: str = Field(min_length=1, examples=["1234567_SB1"])
    client_id: str = Field(min_length=1)
    certificate_id: str = Field(min_length=1)
    private_key_path: Path | None = None  # read relative to the config file's folder
    private_key_pem: SecretStr | None = None  # the key itself, for programs that hold it in memory
    scope: str = "rest_webservices,restlets"
    concurrency_limit: int = Field(default=5, ge=1, le=100)  # the account's limit, shared by all integrations
    bulk_threshold: int = Field(default=20, ge=1)  # at or above this many records, use q2c's RESTlet
    rest_base_url: str | None = None  # default https://{account}.suitetalk.api.netsuite.com
    restlet_url: str | None = None  # default https://{account}.restlets.api.netsuite.com
    restlet_script: str = "customscript_q2c_bulk_upsert"
    restlet_deploy: str = "customdeploy_q2c_bulk_upsert"
    throttle_wait_seconds: float = Field(default=1.0, ge=0.0)
    timeout_seconds: float = Field(default=120.0, gt=0.0)
    # Internal ids of the account's setup records: subsidiaries (by legal entity code), currencies (by ISO
    # code), terms (by name), service_items (by offering), billing_type_items, default_service_item,
    # tax_items (by tax code). See q2c.connectors.netsuite.mapping.AccountReferences.
    references: AccountReferences = Field(default_factory=AccountReferences)

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*", value):
            raise ValueError("must be the NetSuite account id, such as 1234567 or 1234567_SB1 "
                             "(Setup > Company > Company Information)")
        return value

    @field_validator("rest_base_url", "restlet_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value)

    @field_validator("private_key_path", mode="before")
    @classmethod
    def _key(cls, value: object, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if not isinstance(value, str | Path):
            raise ValueError("must be the path of a PEM file")
        path = key_file(value, info)
        try:
            signing_algorithm(pem_text(path))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        return path

    @model_validator(mode="after")
    def _one_key(self) -> NetSuiteSettings:
        if self.private_key_pem is not None and self.private_key_path is not None:
            raise key_error("private_key_pem", "give the key once: private_key_path or private_key_pem")
        if self.private_key_pem is None and self.private_key_path is None:
            raise key_error("private_key_path", "required key is missing: the M2M certificate's private key "
                                                "(a PEM file)")
        return self

    @property
    def host_prefix(self) -> str:
        """`1234567_SB1` -> `1234567-sb1`, as NetSuite's account-specific hosts spell it."""
        return self.account_id.lower().replace("_", "-")

    @property
    def rest_base(self) -> str:
        return (self.rest_base_url or f"https://{self.host_prefix}.suitetalk.api.netsuite.com").rstrip("/")

    @property
    def restlet_endpoint(self) -> str:
        url = (self.restlet_url or f"https://{self.host_prefix}.restlets.api.netsuite.com").rstrip("/")
        return url if url.endswith(".nl") else url + RESTLET_PATH

    @property
    def token_url(self) -> str:
        return self.rest_base + TOKEN_PATH

    def private_key(self) -> str:
        if self.private_key_pem is not None:
            return self.private_key_pem.get_secret_value()
        assert self.private_key_path is not None
        return self.private_key_path.read_text(encoding="ascii")
