"""One Web API request and its answer, independent of the HTTP server, so `$batch` parts run through
the same code as top-level requests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from q2c.sandboxes.dynamics365_sales.errors import DataverseError, bad_request
from q2c.sandboxes.kit import render_json

API_PATH = "/api/data/v9.2"


@dataclass
class ApiRequest:
    method: str
    path: str  # after /api/data/v9.2/
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    org_url: str
    actor: str
    references: dict[str, tuple[str, str]] = field(default_factory=dict)  # change set `$n` -> (table, id)

    @property
    def api(self) -> str:
        return self.org_url + API_PATH

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            raise bad_request("The request body is empty; a JSON object was expected.")
        try:
            value = json.loads(self.body, parse_float=Decimal)
        except ValueError as exc:
            raise bad_request(f"The request body is not valid JSON: {exc}.") from None
        if not isinstance(value, dict):
            raise bad_request("The request body must be a JSON object.")
        return value


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    created: tuple[str, str] | None = None  # (table, id) of a row this request created or addressed

    @classmethod
    def of_json(cls, status: int, value: Any, headers: dict[str, str] | None = None) -> ApiResponse:
        return cls(status, {"Content-Type": "application/json; odata.metadata=minimal", "OData-Version": "4.0",
                            **(headers or {})}, render_json(value).encode())

    @classmethod
    def of_error(cls, error: DataverseError) -> ApiResponse:
        return cls.of_json(error.status, error.body())

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> ApiResponse:
        return cls(status, {"OData-Version": "4.0", **(headers or {})})
