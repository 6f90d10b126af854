"""The Toggl Track connector's settings: `systems.tracker` with `type: toggl` in the config.

One model, read as it is by the client: the API host, the workspace, an API token (Toggl > Profile
settings > API Token), the request budget, and how far back time is read.
"""

from __future__ import annotations

import zoneinfo
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from q2c.connectors.settings import SystemSettings, http_url


class TogglSettings(SystemSettings):
    type: Literal["toggl"] = "toggl"
    # The host root: q2c adds /api/v9 and /reports/api/v3 (both live on the same host).
    base_url: str = "https://api.track.toggl.com"
    workspace_id: int = Field(ge=1)
    api_token: SecretStr
    # Work dates: None takes the start's date as Toggl returns it (in the token owner's profile timezone);
    # an IANA name converts every start to that zone first.
    timezone: str | None = None
    # Toggl's leaky bucket: "a safe window will be 1 request per second" (API overview).
    requests_per_second: int = Field(default=1, ge=1, le=100)
    history_days: int = Field(default=90, ge=1, le=3660)  # the first pass reads this many days of work back
    lookback_days: int = Field(default=35, ge=1, le=366)  # later passes re-read this many days for edits
    page_size: int = Field(default=50, ge=1, le=1000)  # detailed report rows a request (Toggl's default: 50)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        url = http_url(value).rstrip("/")
        path = urlsplit(url).path.rstrip("/")
        if path.endswith(("/api/v9", "/reports/api/v3")):
            raise ValueError("must be the Toggl API host without /api/v9, such as https://api.track.toggl.com "
                             "(q2c adds /api/v9 and /reports/api/v3 itself)")
        return url

    @field_validator("api_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must be the API token of a workspace admin (Toggl Track > Profile settings > "
                             "API Token)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA timezone; use a name such as America/New_York, Europe/London "
                             "or UTC") from None
        return value
