"""The NetSuite connector's settings: `systems.erp` with `type: netsuite` in the config.

One model, read as it is by the client: the account, how q2c signs in, the account-specific hosts
(derived from the account id unless given), the account's concurrency limit shared by every
integration, when to use q2c's bulk RESTlet, and the internal ids of the account's setup records
(`references`).

Two ways to sign in, chosen by `auth`:
- `m2m` (the default): OAuth 2.0 client credentials; `client_id` of the integration record,
  `certificate_id` of its M2M mapping and the certificate's private key.
- `tba`: token-based authentication (OAuth 1.0a, HMAC-SHA256), which many existing accounts use;
  `consumer_key` and `consumer_secret` of the integration record, `token_id` and `token_secret` of
  the access token issued for q2c's user and role. NetSuite shows each as 64 hexadecimal characters,
  once, when it is created; a value of another shape is a copying mistake, caught here.
The keys of the other method are refused rather than ignored, so a half-changed config is noticed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from q2c.connectors.netsuite.auth import signing_algorithm
from q2c.connectors.netsuite.mapping import DIMENSION_REFERENCES, AccountReferences
from q2c.connectors.settings import SystemSettings, http_url, key_error, key_file, pem_text
from q2c.domain.dimensions import DimensionUse

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
RESTLET_PATH = "/app/site/hosting/restlet.nl"
M2M_KEYS = ("client_id", "certificate_id", "private_key_path", "private_key_pem")
TBA_KEYS = ("consumer_key", "consumer_secret", "token_id", "token_secret")
_TBA_WHAT = {"consumer_key": "the integration record's consumer key", "consumer_secret": "its consumer secret",
             "token_id": "the access token's token ID", "token_secret": "its token secret"}
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


class NetSuiteSettings(SystemSettings):
    type: Literal["netsuite"] = "netsuite"
    account_id: str = Field(min_length=1, examples=["1234567_SB1"])
    auth: Literal["m2m", "tba"] = "m2m"
    # auth: m2m (OAuth 2.0 client credentials)
    client_id: str | None = Field(default=None, min_length=1)
    certificate_id: str | None = Field(default=None, min_length=1)
    private_key_path: Path | None = None  # read relative to the config file's folder
    private_key_pem: SecretStr | None = None  # the key itself, for programs that hold it in memory
    scope: str = "rest_webservices,restlets"
    # auth: tba (token-based authentication)
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    token_id: str | None = None
    token_secret: SecretStr | None = None
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
    # tax_items (by tax code), classes, departments and locations (by the firm's dimension codes). See
    # q2c.connectors.netsuite.mapping.AccountReferences.
    references: AccountReferences = Field(default_factory=AccountReferences)
    # The employee field that holds a person's role, shown beside the config's (which rates time): the
    # standard `title` (Job Title) or a free-form text custom entity field (`custentity_...`); None: no role.
    employee_role_field: str | None = Field(default=None, examples=["title", "custentity_q2c_role"])

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*", value):
            raise ValueError("must be the NetSuite account id, such as 1234567 or 1234567_SB1 "
                             "(Setup > Company > Company Information)")
        return value

    @field_validator("employee_role_field")
    @classmethod
    def _role_field(cls, value: str | None) -> str | None:
        if value is None or value.lower() == "title" or re.fullmatch(r"custentity[a-z0-9_]+", value.lower()):
            return None if value is None else value.lower()
        raise ValueError("must be title (the employee's Job Title) or the id of a custom entity field, such as "
                         "custentity_q2c_role (Customization > Lists, Records, & Fields > Entity Fields)")

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
    def _one_sign_in(self) -> NetSuiteSettings:
        mine, theirs = (M2M_KEYS, TBA_KEYS) if self.auth == "m2m" else (TBA_KEYS, M2M_KEYS)
        stray = next((key for key in theirs if getattr(self, key) is not None), None)
        if stray is not None:
            other = "tba" if self.auth == "m2m" else "m2m"
            raise key_error(stray, f"is for auth: {other}, and this config signs in with auth: {self.auth} "
                                   f"({', '.join(mine[:3])}{', ...' if len(mine) > 3 else ''}); remove it, or "
                                   f"set auth: {other}")
        if self.auth == "tba":
            for key in TBA_KEYS:
                self._check_tba_value(key)
            return self
        for key, what in (("client_id", "the integration record's client ID"),
                          ("certificate_id", "the certificate ID of the integration's M2M mapping")):
            if getattr(self, key) is None:
                raise key_error(key, f"required key is missing: {what}")
        if self.private_key_pem is not None and self.private_key_path is not None:
            raise key_error("private_key_pem", "give the key once: private_key_path or private_key_pem")
        if self.private_key_pem is None and self.private_key_path is None:
            raise key_error("private_key_path", "required key is missing: the M2M certificate's private key "
                                                "(a PEM file)")
        return self

    def _check_tba_value(self, key: str) -> None:
        """Present and of NetSuite's shape; the error never repeats the value (two of the four are secrets)."""
        value = getattr(self, key)
        if value is None:
            raise key_error(key, f"required key is missing with auth: tba: {_TBA_WHAT[key]}")
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not _HEX64.fullmatch(text):
            raise key_error(key, f"must be {_TBA_WHAT[key]}: 64 hexadecimal characters, as NetSuite showed it when "
                                 f"it was created (this value has {len(text)} characters)")

    def dimension_problems(self, uses: Sequence[DimensionUse]) -> list[tuple[str, str]]:
        """(config key, problem) for each dimension code the config sets that `references` gives no internal id
        (classes, departments, locations), checked when the config is loaded."""
        problems = []
        for use in uses:
            key = DIMENSION_REFERENCES.get(use.dimension)
            table = self.references.dimension_ids(use.dimension) if key else {}
            if key and use.code not in table:
                known = ", ".join(sorted(table)) or "none"
                problems.append((use.key, f"{use.dimension} {use.code!r} has no NetSuite internal id; add it under "
                                          f"systems.erp.references.{key} (known: {known})"))
        return problems

    @property
    def realm(self) -> str:
        """The account id as TBA's realm spells it: upper case, `_` before a sandbox suffix (1234567_SB1)."""
        return self.account_id.upper()

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
