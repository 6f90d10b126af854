"""NetSuite's error answers, one shape per surface.

REST web services (records, SuiteQL) answer `{"type", "title", "status", "o:errorDetails"}`,
each detail `{"detail", "o:errorCode"}` plus, where NetSuite points at the cause, `o:errorPath`
(a field), `o:errorQueryParam` or `o:errorHeader`. `type` is the RFC 9110 section of the status,
as current accounts send it (older documentation shows RFC 2616 links; public client code quotes
the RFC 9110 form from live answers). A RESTlet whose script throws answers HTTP 400
`{"error": {"code", "message"}}` (from recall), and so does NetSuite itself when the account is
over its concurrency limit (`SSS_REQUEST_LIMIT_EXCEEDED`, documented); REST answers 429 then.

A `Problem` is one thing wrong with a write, before either surface words it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.responses import Response

from q2c.sandboxes.netsuite.wire import ERROR, PLAIN, json_response

_RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-"
_STATUS: dict[int, tuple[str, str]] = {
    400: ("Bad Request", f"{_RFC9110}15.5.1"), 401: ("Unauthorized", f"{_RFC9110}15.5.2"),
    403: ("Forbidden", f"{_RFC9110}15.5.4"), 404: ("Not Found", f"{_RFC9110}15.5.5"),
    405: ("Method Not Allowed", f"{_RFC9110}15.5.6"), 409: ("Conflict", f"{_RFC9110}15.5.10"),
    415: ("Unsupported Media Type", f"{_RFC9110}15.5.16"),
    429: ("Too Many Requests", "https://www.rfc-editor.org/rfc/rfc6585.html#section-4"),
    500: ("Internal Server Error", f"{_RFC9110}15.6.1"),
}

INVALID_LOGIN = ("Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
                 "Setup > Users/Roles > User Management > View Login Audit Trail.")
CONCURRENCY_MESSAGE = "Concurrent request limit exceeded. Request blocked."
RESTLET_LIMIT_MESSAGE = "Request limit exceeded. Try again after the current requests complete."

ProblemKind = Literal["missing", "unknown_field", "bad_value", "too_long", "no_such_ref", "no_such_external_ref",
                      "rule"]

# How each surface names a problem: the REST record service, and NetSuite's errors as the bulk script
# passes them on (its own Q2C_ codes where the script, not NetSuite, refuses). A select key that points
# nowhere fails SuiteScript's Record.save in standard mode as INVALID_KEY_OR_REF (from recall).
REST_CODES: dict[ProblemKind, str] = {
    "missing": "USER_ERROR", "unknown_field": "USER_ERROR", "bad_value": "INVALID_VALUE", "too_long": "USER_ERROR",
    "no_such_ref": "NONEXISTENT_ID", "no_such_external_ref": "NONEXISTENT_ID", "rule": "USER_ERROR"}
RESTLET_CODES: dict[ProblemKind, str] = {
    "missing": "USER_ERROR", "unknown_field": "Q2C_UNKNOWN_FIELD", "bad_value": "INVALID_FLD_VALUE",
    "too_long": "USER_ERROR", "no_such_ref": "INVALID_KEY_OR_REF", "no_such_external_ref": "Q2C_REFERENCE_NOT_FOUND",
    "rule": "USER_ERROR"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a write: what kind, which field (a path into sublists), NetSuite's words."""

    kind: ProblemKind
    field: str | None
    message: str


class RestFault(Exception):
    """A REST web services refusal; the app turns it into NetSuite's error body."""

    def __init__(self, status: int, details: list[dict[str, str]]) -> None:
        super().__init__(f"HTTP {status}: {details}")
        self.status = status
        self.details = details


def detail(text: str, code: str, path: str | None = None, *, query_param: str | None = None,
           header: str | None = None) -> dict[str, str]:
    """One entry of `o:errorDetails`, with the pointers NetSuite adds where it has one."""
    item = {"detail": text, "o:errorCode": code}
    for key, value in (("o:errorPath", path), ("o:errorQueryParam", query_param), ("o:errorHeader", header)):
        if value:
            item[key] = value
    return item


def fault(status: int, text: str, code: str, path: str | None = None, *, query_param: str | None = None,
          header: str | None = None) -> RestFault:
    return RestFault(status, [detail(text, code, path, query_param=query_param, header=header)])


def rest_error(status: int, details: list[dict[str, str]]) -> Response:
    title, kind = _STATUS.get(status, _STATUS[500])
    return json_response({"type": kind, "title": title, "status": status, "o:errorDetails": details}, status,
                         media_type=ERROR)


def unauthorized() -> RestFault:
    return fault(401, INVALID_LOGIN, "INVALID_LOGIN")


def problems_fault(problems: list[Problem]) -> RestFault:
    """Every problem of a refused write, as NetSuite lists them in one 400."""
    return RestFault(400, [detail(p.message, REST_CODES[p.kind], p.field) for p in problems])


def restlet_error(code: str, message: str, status: int = 400) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, media_type=PLAIN)


def over_limit(surface: str) -> Response:
    """The account is at its concurrency limit: each surface refuses in its own shape."""
    if surface == "restlet":
        return restlet_error("SSS_REQUEST_LIMIT_EXCEEDED", RESTLET_LIMIT_MESSAGE)
    return rest_error(429, [detail(CONCURRENCY_MESSAGE, "CONCURRENCY_LIMIT_EXCEEDED")])
