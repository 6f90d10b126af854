"""Salesforce's error answers: a JSON array of {message, errorCode[, fields]}, never a single object.

Every layer of the sandbox raises `ApiFault`; the HTTP layer turns it into the status and body.
A 300 (several records share an external id) carries the matching records' URLs instead of errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

NOT_FOUND_MESSAGE = "The requested resource does not exist"


class ApiFault(Exception):
    """A Salesforce error answer: HTTP status and body (an error array, or a list of URLs for 300)."""

    def __init__(self, status: int, body: list[Any]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def api_error(code: str, message: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """One entry of the error array; `fields` only where Salesforce names the fields at fault."""
    error: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        error["fields"] = list(fields)
    return error


def fault(status: int, code: str, message: str, fields: Iterable[str] | None = None) -> ApiFault:
    return ApiFault(status, [api_error(code, message, fields)])


def not_found(message: str = NOT_FOUND_MESSAGE) -> ApiFault:
    return fault(404, "NOT_FOUND", message)
