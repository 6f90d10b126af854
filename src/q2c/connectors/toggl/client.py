"""The Toggl Track client: API v9 (engineering.toggl.com/docs/api) and the Reports API v3 detailed report.

Authentication is HTTP Basic with `<api_token>:api_token` (docs/authentication); a refused
token answers 403, as does a workspace the token's user cannot see. Errors come back as a bare
JSON string ("Invalid project_id"). Two limits apply (API overview; support article "API & Webhook
limits"): a leaky bucket answering 429 ("a safe window will be 1 request per second"), kept by the
guard's `RateLimit`, and an hourly quota per user per organization answering 402, with the
`X-Toggl-Quota-Remaining` / `X-Toggl-Quota-Resets-In` headers on every answer (header names as Toggl's
API overview gives them, through third-party readers; not seen on a real answer here). When the quota
is spent the client fails fast with `RateLimited` until it resets, so the engine reschedules the work
durably instead of a worker sleeping for up to an hour. 402 also means "a paid feature" (approvals,
tasks): that is `PlanRequired`, permanent until the plan changes.

Numbers are decoded straight to `Decimal`, never float. Toggl has no upsert: every create here is
find-then-create, and a lost answer to a POST is recovered by finding the record.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from q2c.connectors.http import VendorHttp
from q2c.connectors.toggl.settings import TogglSettings
from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed, ConnectorError, RateLimited, RecordRejected, TransientError
from q2c.engine.resilience import CircuitBreaker, EndpointGuard, GuardRegistry, RateLimit, RetryPolicy

SYSTEM = "toggl"
API = "/api/v9"
REPORTS = "/reports/api/v3"
QUOTA_REMAINING = "X-Toggl-Quota-Remaining"
QUOTA_RESETS_IN = "X-Toggl-Quota-Resets-In"
PROJECTS_PER_PAGE = 200  # the most `GET /workspaces/{wid}/projects` gives a page (v9 reference)
TIMESHEETS_PER_PAGE = 1000  # "defaults to 20 if provided an greater than 1000" (approvals reference)
TASKS_PER_PAGE = 200

Record = dict[str, Any]


class TogglNotFound(RecordRejected):
    """Toggl answered 404: the record does not exist (or is deleted)."""


class PlanRequired(ConnectorError):
    """Toggl answered 402 for a paid feature (approvals, tasks, rates) the workspace's plan lacks."""


@dataclass(frozen=True)
class ReportPage:
    """One page of the detailed report: its rows, and where the next page starts (None: the last one)."""

    rows: list[Record]
    next_id: int | None
    next_row_number: int | None


def _text(response: httpx.Response) -> str:
    """Toggl's error body: a JSON string, sometimes plain text, sometimes nothing."""
    try:
        decoded = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(decoded, str):
        return decoded.strip()
    if isinstance(decoded, dict):
        return str(decoded.get("message") or decoded.get("error") or decoded)[:300]
    return str(decoded)[:300]


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


class TogglClient:
    """Talks to one Toggl Track workspace. Not tied to the sandbox: any base URL with a real token works."""

    def __init__(self, config: TogglSettings, guards: GuardRegistry, *, retry: RetryPolicy | None = None,
                 breaker: CircuitBreaker | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.workspace_id = config.workspace_id
        self.guard: EndpointGuard = guards.get(
            SYSTEM, f"workspace:{config.workspace_id}",
            limit=RateLimit(requests=config.requests_per_second, window_seconds=1.0),
            retry=retry, breaker=breaker)
        self._clock = clock
        self._quota_spent_until = 0.0
        basic = base64.b64encode(f"{config.api_token.get_secret_value()}:api_token".encode()).decode()
        self._http = VendorHttp(SYSTEM, config.base_url, guard_for=lambda _endpoint: self.guard,
                                timeout=config.timeout_seconds, sleep=sleep,
                                headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TogglClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the one request path --------------------------------------------------------------------
    def _request(self, method: str, path: str, *, endpoint: str, obj: str, record_id: str,
                 params: Mapping[str, Any] | None = None, body: Any = None) -> tuple[Any, httpx.Response]:
        waiting = self._quota_spent_until - self._clock()
        if waiting > 0:
            raise RateLimited(SYSTEM, f"{endpoint}: the hourly API quota is spent; it resets in {waiting:.0f} s",
                              retry_after=waiting)
        content = None if body is None else json.dumps(body, default=_json_default).encode()
        headers = None if content is None else {"Content-Type": "application/json"}
        response = self._http.send(method, path, endpoint=endpoint, params=params, content=content,
                                   headers=headers)
        self._note_quota(response)
        self._raise_for_status(response, endpoint=endpoint, obj=obj, record_id=record_id)
        if not response.content.strip():
            return None, response
        try:
            return json.loads(response.content, parse_float=Decimal), response
        except ValueError as exc:
            raise TransientError(SYSTEM, f"{endpoint}: malformed JSON in HTTP {response.status_code} response "
                                 f"({len(response.content)} bytes)") from exc

    def _call(self, method: str, path: str, *, endpoint: str, obj: str, record_id: str = "*",
              params: Mapping[str, Any] | None = None, body: Any = None,
              expect: type | tuple[type, ...] = dict) -> Any:
        decoded, _ = self._request(method, path, endpoint=endpoint, obj=obj, record_id=record_id, params=params,
                                   body=body)
        if not isinstance(decoded, expect):
            raise TransientError(SYSTEM, f"{endpoint}: the answer is not the JSON Toggl sends here "
                                         f"(got {type(decoded).__name__})")
        return decoded

    def _note_quota(self, response: httpx.Response) -> None:
        remaining = response.headers.get(QUOTA_REMAINING)
        resets_in = _seconds(response.headers.get(QUOTA_RESETS_IN))
        if remaining is not None and remaining.strip() == "0" and resets_in is not None:
            self._quota_spent_until = self._clock() + resets_in

    def _raise_for_status(self, response: httpx.Response, *, endpoint: str, obj: str, record_id: str) -> None:
        status = response.status_code
        if status < 400:
            return
        message = _text(response) or f"HTTP {status}"
        if status == 402:
            resets_in = _seconds(response.headers.get(QUOTA_RESETS_IN))
            if response.headers.get(QUOTA_REMAINING, "").strip() == "0" and resets_in is not None:
                self.guard.count("rate_limited")
                raise RateLimited(SYSTEM, f"{endpoint}: the hourly API quota is spent (HTTP 402: {message}); it "
                                          f"resets in {resets_in:.0f} s", retry_after=resets_in)
            raise PlanRequired(SYSTEM, f"{endpoint}: Toggl needs a paid plan for this (HTTP 402: {message})")
        if status in (401, 403):
            said = message if response.content.strip() else "no credentials were accepted"
            raise AuthFailed(SYSTEM, f"{endpoint}: Toggl refused the request (HTTP {status}): {said}. Check the "
                                     f"API token and that its user belongs to workspace {self.workspace_id}.")
        if status == 404:
            raise TogglNotFound(Violation(
                system=SYSTEM, object=obj, record_id=record_id, field=None, rule="toggl.not_found",
                message=f"Toggl has no {obj} {record_id} ({endpoint}: {message})",
                action="It was deleted or never existed in Toggl Track; re-read the source or re-create it."))
        raise RecordRejected(Violation(
            system=SYSTEM, object=obj, record_id=record_id, field=None, rule=f"toggl.http_{status}",
            message=f"Toggl refused {endpoint} (HTTP {status}): {message}",
            action=f"Correct the {obj} data sent to Toggl Track, then replay."))

    def _ws(self, tail: str = "") -> str:
        return f"{API}/workspaces/{self.workspace_id}{tail}"

    # --- the user, the workspace, its people --------------------------------------------------------
    def me(self) -> Record:
        result: Record = self._call("GET", f"{API}/me", endpoint="GET /me", obj="user", record_id="me")
        return result

    def workspace(self) -> Record:
        result: Record = self._call("GET", self._ws(), endpoint="GET /workspaces/{wid}", obj="workspace",
                                    record_id=str(self.workspace_id))
        return result

    def users(self) -> list[Record]:
        """`GET /workspaces/{wid}/users`: `{id, email, fullname, inactive, is_active, is_admin, role}`."""
        rows: list[Record] = self._call("GET", self._ws("/users"), endpoint="GET /workspaces/{wid}/users",
                                        obj="user", expect=list)
        return rows

    # --- clients, projects, tasks, project users ----------------------------------------------------
    def clients(self) -> list[Record]:
        rows = self._call("GET", self._ws("/clients"), endpoint="GET /workspaces/{wid}/clients", obj="client",
                          params={"status": "both"}, expect=(list, type(None)))
        return list(rows or [])

    def projects(self) -> list[Record]:
        """Every project, active or archived, page by page (the list is a plain array)."""
        found: list[Record] = []
        page = 1
        while True:
            rows = self._call("GET", self._ws("/projects"), endpoint="GET /workspaces/{wid}/projects",
                              obj="project", params={"active": "both", "page": page, "per_page": PROJECTS_PER_PAGE},
                              expect=(list, type(None))) or []
            found.extend(rows)
            if len(rows) < PROJECTS_PER_PAGE:
                return found
            page += 1

    def tasks(self) -> list[Record]:
        """Every task of the workspace (`{data, page, per_page, total_count}` pages)."""
        found: list[Record] = []
        page = 1
        while True:
            body = self._call("GET", self._ws("/tasks"), endpoint="GET /workspaces/{wid}/tasks", obj="task",
                              params={"active": "both", "page": page, "per_page": TASKS_PER_PAGE})
            rows = body.get("data") or []
            found.extend(rows)
            if not rows or len(found) >= int(body.get("total_count") or 0):
                return found
            page += 1

    def project_tasks(self, project_id: int) -> list[Record]:
        rows = self._call("GET", self._ws(f"/projects/{project_id}/tasks"),
                          endpoint="GET /workspaces/{wid}/projects/{pid}/tasks", obj="task",
                          record_id=str(project_id), expect=(list, type(None)))
        return list(rows or [])

    def project_users(self, project_id: int) -> list[Record]:
        rows = self._call("GET", self._ws("/project_users"), endpoint="GET /workspaces/{wid}/project_users",
                          obj="project_user", params={"project_ids": str(project_id)}, expect=(list, type(None)))
        return list(rows or [])

    def _create(self, path: str, body: Mapping[str, Any], *, obj: str, record_id: str,
                recover: Callable[[], Record | None]) -> Record:
        """POST once; if the answer is lost the record may exist, so look before failing (never a duplicate)."""
        try:
            endpoint = "POST " + path.replace(str(self.workspace_id), "{wid}", 1)
            created: Record = self._call("POST", path, endpoint=endpoint, obj=obj, record_id=record_id,
                                         body=dict(body))
            return created
        except TransientError:
            found = recover()
            if found is not None:
                return found
            raise

    def create_client(self, name: str) -> Record:
        return self._create(self._ws("/clients"), {"name": name, "wid": self.workspace_id}, obj="client",
                            record_id=name, recover=lambda: next(
                                (c for c in self.clients() if str(c.get("name", "")).casefold() == name.casefold()),
                                None))

    def create_project(self, fields: Mapping[str, Any]) -> Record:
        name = str(fields["name"])
        return self._create(self._ws("/projects"), fields, obj="project", record_id=name,
                            recover=lambda: next((p for p in self.projects() if p.get("name") == name), None))

    def update_project(self, project_id: int, changes: Mapping[str, Any]) -> Record:
        result: Record = self._call("PUT", self._ws(f"/projects/{project_id}"),
                                    endpoint="PUT /workspaces/{wid}/projects/{pid}", obj="project",
                                    record_id=str(project_id), body=dict(changes))
        return result

    def create_task(self, project_id: int, name: str) -> Record:
        return self._create(self._ws(f"/projects/{project_id}/tasks"), {"name": name, "active": True}, obj="task",
                            record_id=name, recover=lambda: next(
                                (t for t in self.project_tasks(project_id) if t.get("name") == name), None))

    def add_project_user(self, project_id: int, user_id: int) -> Record:
        def recover() -> Record | None:
            return next((u for u in self.project_users(project_id) if u.get("user_id") == user_id), None)

        return self._create(self._ws("/project_users"), {"project_id": project_id, "user_id": user_id},
                            obj="project_user", record_id=f"{project_id}/{user_id}", recover=recover)

    # --- approvals ------------------------------------------------------------------------------------
    def timesheet_setups(self) -> list[Record]:
        """`GET /workspaces/{wid}/timesheet_setups` -> `{data: [...]}`; `PlanRequired` without approvals."""
        body = self._call("GET", self._ws("/timesheet_setups"), endpoint="GET /workspaces/{wid}/timesheet_setups",
                          obj="timesheet_setup")
        return list(body.get("data") or [])

    def timesheets(self, *, after: date | None = None) -> list[Record]:
        """Every timesheet starting after `after`; the answer is an array of `{data, page, per_page,
        total_count}` (the approvals reference's `List<TimesheetsGetPaginatedResponse>`)."""
        found: list[Record] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "per_page": TIMESHEETS_PER_PAGE}
            if after is not None:
                params["after"] = after.isoformat()
            body = self._call("GET", self._ws("/timesheets"), endpoint="GET /workspaces/{wid}/timesheets",
                              obj="timesheet", params=params, expect=(list, dict))
            pages = body if isinstance(body, list) else [body]
            rows = [row for p in pages if isinstance(p, dict) for row in (p.get("data") or [])]
            total = max((int(p.get("total_count") or 0) for p in pages if isinstance(p, dict)), default=0)
            found.extend(rows)
            if not rows or len(found) >= total:
                return found
            page += 1

    # --- the detailed report: everyone's time ---------------------------------------------------------
    def report_pages(self, start: date, end: date, *, page_size: int | None = None,
                     time_entry_ids: list[int] | None = None) -> Iterator[ReportPage]:
        """`POST /reports/api/v3/workspace/{wid}/search/time_entries` for work dates `start`..`end`, one
        entry a row (`grouped` false), oldest first, following `X-Next-ID` / `X-Next-Row-Number`."""
        path = f"{REPORTS}/workspace/{self.workspace_id}/search/time_entries"
        endpoint = "POST /reports/api/v3/workspace/{wid}/search/time_entries"
        body: dict[str, Any] = {"start_date": start.isoformat(), "end_date": end.isoformat(), "grouped": False,
                                "order_by": "date", "order_dir": "ASC", "page_size": page_size or self.config.page_size}
        if time_entry_ids is not None:
            body["time_entry_ids"] = time_entry_ids
        while True:
            decoded, response = self._request("POST", path, endpoint=endpoint, obj="time_entry", record_id="*",
                                              body=body)
            if not isinstance(decoded, list):
                raise TransientError(SYSTEM, f"{endpoint}: the answer is not a JSON array of report rows")
            next_id = _int_header(response, "X-Next-ID")
            next_row = _int_header(response, "X-Next-Row-Number")
            yield ReportPage(decoded, next_id, next_row)
            if next_row is None:
                return
            body = {**body, "first_row_number": next_row, **({"first_id": next_id} if next_id is not None else {})}


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None and value.strip() else None
    except ValueError:
        raise TransientError(SYSTEM, f"the {name} header is {value!r}, not a number") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to Toggl")
