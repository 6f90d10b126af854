"""The Harvest connector's settings: `systems.tracker` with `type: harvest` in the config.

One model, read as it is by the client: the API v2 root, the account, a personal access token and
the User-Agent Harvest requires, and the account's request budget.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from q2c.connectors.settings import SystemSettings, http_url


class HarvestSettings(SystemSettings):
    type: Literal["harvest"] = "harvest"
    base_url: str = "https://api.harvestapp.com/v2"
    account_id: str = Field(min_length=1)
    access_token: SecretStr
    user_agent: str = Field(default="q2c (ops@example.com)", min_length=1)
    requests_per_15s: int = Field(default=100, ge=1, le=1000)  # Harvest's documented limit for general endpoints
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        url = http_url(value).rstrip("/")
        if not urlsplit(url).path.endswith("/v2"):
            raise ValueError("must be the root of Harvest API v2, ending in /v2 (https://api.harvestapp.com/v2)")
        return url

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        if not value.strip().isdigit():
            raise ValueError("must be the numeric Harvest account id (Harvest > Developers > personal access token)")
        return value.strip()

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must be a personal access token (Harvest > Developers)")
        return value

    @field_validator("user_agent")
    @classmethod
    def _agent(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name the application and a contact, e.g. 'q2c (ops@your-firm.com)': "
                             "Harvest refuses requests without a User-Agent")
        return value
