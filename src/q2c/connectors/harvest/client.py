"""The Harvest API v2 client: time entries in, project setup out.

Harvest limits a token to 100 requests per 15 seconds across its general endpoints, so the
whole account shares one guard (one budget, one breaker); the guard keeps under the limit on
its own and still absorbs a 429 + Retry-After if something else spends the same budget.
Harvest has no upsert, so project setup is find-then-create; every find-or-create here is safe to
run twice. Numbers in responses are decoded straight to `Decimal` (hours, rates), never float.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx

from q2c.connectors.harvest.settings import HarvestSettings
from q2c.connectors.http import VendorHttp
from q2c.domain.money import check_currency
from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed, ConnectorError, RecordRejected, TransientError
from q2c.engine.resilience import CircuitBreaker, EndpointGuard, GuardRegistry, RateLimit, RetryPolicy

SYSTEM = "harvest"
MAX_PER_PAGE = 2000
LIMIT_WINDOW_SECONDS = 15.0

Record = dict[str, Any]




class HarvestNotFound(RecordRejected):
    """Harvest answered 404: the record does not exist (time entries are deleted without a trace)."""


@dataclass(frozen=True)
class TimeEntryPage:
    """One page of `GET /time_entries` as Harvest sent it.

    `number` counts pages in this walk from 1; `page` is Harvest's own page number (null on the
    middle pages of a cursor walk); `url` fetched this page and `next_url` fetches the next one,
    so either is a resumable checkpoint.
    """

    entries: list[Record]
    number: int
    page: int | None
    cursor: str | None
    url: str
    next_url: str | None
    total_entries: int
    total_pages: int
    per_page: int


def _json_default(value: Any) -> Any:
    # Decimal goes as a numeric string: Harvest parses form-style strings for numbers, and a float
    # would change the amount.
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to Harvest")


def _instant(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("updated_since must carry a timezone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _field_in(message: str, sent: Mapping[str, Any] | None) -> str | None:
    """Name the request field a Harvest message is about ("Spent date can't be blank" -> spent_date)."""
    lowered = message.lower()
    for name in sent or ():
        label = (name[:-3] if name.endswith("_id") else name).replace("_", " ")
        if lowered.startswith(label):
            return name
    return None


class HarvestClient:
    """Talks to one Harvest account. Not tied to the sandbox: any base URL with real credentials works."""

    def __init__(self, config: HarvestSettings, guards: GuardRegistry, *, retry: RetryPolicy | None = None,
                 breaker: CircuitBreaker | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.guard: EndpointGuard = guards.get(
            SYSTEM, f"account:{config.account_id}",
            limit=RateLimit(requests=config.requests_per_15s, window_seconds=LIMIT_WINDOW_SECONDS),
            retry=retry, breaker=breaker)
        self._sleep = sleep
        self._http = VendorHttp(
            SYSTEM, config.base_url, guard_for=lambda _endpoint: self.guard, timeout=config.timeout_seconds,
            sleep=sleep,
            headers={"Authorization": f"Bearer {config.access_token.get_secret_value()}",
                     "Harvest-Account-Id": config.account_id, "User-Agent": config.user_agent,
                     "Accept": "application/json"})
        parts = urlsplit(self._http.base_url)
        self._origin = (parts.scheme, parts.netloc)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HarvestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the one request path --------------------------------------------------------------------
    def _exchange(self, method: str, url: str, *, endpoint: str, obj: str, record_id: str,
                  params: Mapping[str, Any] | None = None, body: Mapping[str, Any] | None = None,
                  expect: str | None = None, retry_unreadable: bool = True) -> tuple[Any, str]:
        """Send, classify, decode. A 200 whose body is not the JSON we expect is retried in place
        (reads and idempotent writes); the caller decides what a lost POST answer means."""
        content = None if body is None else json.dumps(body, default=_json_default).encode()
        headers = None if content is None else {"Content-Type": "application/json"}
        attempts = self.guard.retry.max_attempts if retry_unreadable else 1
        last: TransientError | None = None
        for attempt in range(attempts):
            if attempt:
                self.guard.count("retries")
            response = self._http.send(method, url, endpoint=endpoint, params=params, content=content,
                                       headers=headers)
            self._raise_for_status(response, endpoint=endpoint, obj=obj, record_id=record_id, sent=body)
            try:
                return self._decode(response, endpoint=endpoint, expect=expect), str(response.url)
            except TransientError as exc:
                self.guard.count("transient_failures")
                last = exc
                if attempt + 1 < attempts:
                    self._sleep(self.guard.retry.delay(attempt))
        assert last is not None
        raise last

    def _call(self, method: str, url: str, *, endpoint: str, obj: str, record_id: str,
              params: Mapping[str, Any] | None = None, body: Mapping[str, Any] | None = None,
              expect: str | None = None) -> Any:
        return self._exchange(method, url, endpoint=endpoint, obj=obj, record_id=record_id, params=params,
                              body=body, expect=expect)[0]

    def _decode(self, response: httpx.Response, *, endpoint: str, expect: str | None) -> Any:
        if not response.content.strip():
            if expect is not None:
                raise TransientError(SYSTEM, f"{endpoint}: empty body in HTTP {response.status_code}")
            return None
        try:
            decoded = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise TransientError(SYSTEM, f"{endpoint}: malformed JSON in HTTP {response.status_code} "
                                 f"response ({len(response.content)} bytes)") from exc
        if expect is not None and not (isinstance(decoded, dict) and isinstance(decoded.get(expect), list)):
            raise TransientError(SYSTEM, f"{endpoint}: response has no '{expect}' list")
        if expect is None and not isinstance(decoded, dict):
            raise TransientError(SYSTEM, f"{endpoint}: response is not a JSON object")
        return decoded

    def _raise_for_status(self, response: httpx.Response, *, endpoint: str, obj: str, record_id: str,
                          sent: Mapping[str, Any] | None) -> None:
        status = response.status_code
        if status < 400:
            return
        try:
            detail = response.json()
        except ValueError:
            detail = {}
        if not isinstance(detail, dict):
            detail = {}
        message = str(detail.get("message") or detail.get("error_description") or detail.get("error")
                      or response.text[:200] or f"HTTP {status}")
        if status in (401, 403):
            what = "refused the credentials" if status == 401 else "denied access with these credentials"
            raise AuthFailed(SYSTEM, f"{endpoint}: Harvest {what} (HTTP {status}): {message.rstrip('.')}. Check the "
                                     f"access token and Harvest-Account-Id {self.config.account_id}.")
        if status == 404:
            raise HarvestNotFound(Violation(
                system=SYSTEM, object=obj, record_id=record_id, field=None, rule="harvest.not_found",
                message=f"Harvest has no {obj} {record_id} ({endpoint}: {message})",
                action="It was deleted or never existed in Harvest; re-read the source or re-create it."))
        field = _field_in(message, sent)
        if status == 422 and "locked" in message.lower():
            rule = f"{obj}.locked"
            action = ("The entry is approved or invoiced in Harvest: a manager must withdraw the approval in "
                      "Harvest before it can change, or record the change as a correction.")
        else:
            rule = f"harvest.{'validation' if status == 422 else f'http_{status}'}"
            action = (f"Correct the {obj} data sent to Harvest"
                      + (f" (field {field})" if field else "") + ", then replay.")
        raise RecordRejected(Violation(system=SYSTEM, object=obj, record_id=record_id, field=field, rule=rule,
                                       message=f"Harvest refused {endpoint} (HTTP {status}): {message}",
                                       action=action))

    def _next_link(self, body: Mapping[str, Any], endpoint: str) -> str | None:
        """`links.next`, followed verbatim, but never to another host: the token goes with it."""
        links = body.get("links")
        following = links.get("next") if isinstance(links, dict) else None
        if not following:
            return None
        parts = urlsplit(str(following))
        if (parts.scheme, parts.netloc) != self._origin:
            raise ConnectorError(SYSTEM, f"{endpoint}: links.next points to {parts.scheme}://{parts.netloc}, "
                                         f"not to {self._origin[0]}://{self._origin[1]}; refusing to follow")
        return str(following)

    def _walk(self, path: str, key: str, *, obj: str, params: Mapping[str, Any] | None = None) -> Iterator[Record]:
        endpoint = f"GET {path}"
        url: str | None = path
        query: Mapping[str, Any] | None = {"per_page": MAX_PER_PAGE, **(params or {})}
        while url is not None:
            body = self._call("GET", url, endpoint=endpoint, obj=obj, record_id="*", params=query, expect=key)
            yield from body[key]
            url, query = self._next_link(body, endpoint), None

    # --- reading ----------------------------------------------------------------------------------
    def company(self) -> Record:
        result: Record = self._call("GET", "/company", endpoint="GET /company", obj="company", record_id="company")
        return result

    def me(self) -> Record:
        result: Record = self._call("GET", "/users/me", endpoint="GET /users/me", obj="user", record_id="me")
        return result

    def users(self, *, is_active: bool | None = None) -> list[Record]:
        params = None if is_active is None else {"is_active": str(is_active).lower()}
        return list(self._walk("/users", "users", obj="user", params=params))

    def clients(self) -> list[Record]:
        return list(self._walk("/clients", "clients", obj="client"))

    def projects(self, *, client_id: int | None = None) -> list[Record]:
        params = None if client_id is None else {"client_id": client_id}
        return list(self._walk("/projects", "projects", obj="project", params=params))

    def tasks(self) -> list[Record]:
        return list(self._walk("/tasks", "tasks", obj="task"))

    def task_assignments(self, project_id: int) -> list[Record]:
        return list(self._walk(f"/projects/{project_id}/task_assignments", "task_assignments",
                               obj="task_assignment"))

    def user_assignments(self, project_id: int) -> list[Record]:
        return list(self._walk(f"/projects/{project_id}/user_assignments", "user_assignments",
                               obj="user_assignment"))

    def iter_time_entry_pages(self, updated_since: datetime | None = None, per_page: int = MAX_PER_PAGE, *,
                              user_id: int | None = None, project_id: int | None = None,
                              is_billed: bool | None = None, spent_from: date | None = None,
                              spent_to: date | None = None, page: int | None = None
                              ) -> Generator[TimeEntryPage, None, None]:
        """Every page of time entries matching the filters from page `page` (the first when None), following
        `links.next` (page or cursor)."""
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
        params: dict[str, Any] = {"per_page": per_page}
        if page is not None:
            params["page"] = page
        if updated_since is not None:
            params["updated_since"] = _instant(updated_since)
        if user_id is not None:
            params["user_id"] = user_id
        if project_id is not None:
            params["project_id"] = project_id
        if is_billed is not None:
            params["is_billed"] = str(is_billed).lower()
        if spent_from is not None:
            params["from"] = spent_from.isoformat()
        if spent_to is not None:
            params["to"] = spent_to.isoformat()
        endpoint = "GET /time_entries"
        url: str | None = "/time_entries"
        query: Mapping[str, Any] | None = params
        number = 0
        while url is not None:
            body, fetched = self._exchange("GET", url, endpoint=endpoint, obj="time_entry", record_id="*",
                                           params=query, expect="time_entries")
            number += 1
            following = self._next_link(body, endpoint)
            cursor = parse_qs(urlsplit(fetched).query).get("cursor", [None])[0]
            yield TimeEntryPage(entries=body["time_entries"], number=number, page=body.get("page"), cursor=cursor,
                                url=fetched, next_url=following, total_entries=int(body.get("total_entries") or 0),
                                total_pages=int(body.get("total_pages") or 0),
                                per_page=int(body.get("per_page") or per_page))
            url, query = following, None

    def time_entry_page(self, updated_since: datetime | None = None, per_page: int = MAX_PER_PAGE, *,
                        page: int | None = None, spent_from: date | None = None,
                        spent_to: date | None = None) -> TimeEntryPage:
        """One page (the first when `page` is None) of the entries matching the filters: one request, one
        instant of Harvest's data."""
        pages = self.iter_time_entry_pages(updated_since, per_page, spent_from=spent_from, spent_to=spent_to,
                                           page=page)
        try:
            return next(pages)
        finally:
            pages.close()

    def time_entry(self, entry_id: int) -> Record:
        result: Record = self._call("GET", f"/time_entries/{entry_id}", endpoint="GET /time_entries/{id}",
                                    obj="time_entry", record_id=str(entry_id))
        return result

    # --- find-or-create for project setup (Harvest has no upsert) ---------------------------------
    def _create(self, path: str, body: Mapping[str, Any], *, obj: str, record_id: str,
                recover: Callable[[], Record | None]) -> Record:
        """POST once. If the answer is lost (unreadable body), the record may exist: look it up
        instead of posting again, so a retry never makes a duplicate."""
        endpoint = f"POST {path}"
        try:
            created: Record = self._exchange("POST", path, endpoint=endpoint, obj=obj, record_id=record_id,
                                             body=body, retry_unreadable=False)[0]
            return created
        except TransientError:
            found = recover()
            if found is not None:
                return found
            raise

    @staticmethod
    def _single(matches: list[Record], *, obj: str, record_id: str, field: str) -> Record | None:
        if len(matches) > 1:
            ids = ", ".join(str(m.get("id")) for m in matches)
            raise RecordRejected(Violation(
                system=SYSTEM, object=obj, record_id=record_id, field=field, rule=f"{obj}.ambiguous",
                message=f"{len(matches)} Harvest {obj}s have {field} '{record_id}' (ids {ids})",
                action=f"Archive or rename the duplicates in Harvest so that one {obj} carries this {field}."))
        return matches[0] if matches else None

    # `among` / `known`: records the caller has just listed, to spare requests from the shared budget

    def find_client(self, name: str, *, among: Iterable[Record] | None = None) -> Record | None:
        wanted = name.strip().casefold()
        matches = [c for c in (self.clients() if among is None else among)
                   if str(c.get("name", "")).strip().casefold() == wanted]
        return self._single(matches, obj="client", record_id=name, field="name")

    def create_client(self, name: str, currency: str) -> Record:
        body = {"name": name.strip(), "currency": check_currency(currency), "is_active": True}
        return self._create("/clients", body, obj="client", record_id=name, recover=lambda: self.find_client(name))

    def find_project_by_code(self, code: str, *, among: Iterable[Record] | None = None) -> Record | None:
        wanted = code.strip()
        matches = [p for p in (self.projects() if among is None else among)
                   if str(p.get("code") or "").strip() == wanted]
        return self._single(matches, obj="project", record_id=code, field="code")

    def create_project(self, client_id: int, name: str, code: str, *, is_billable: bool = True,
                       bill_by: str = "Tasks", starts_on: date | None = None, ends_on: date | None = None,
                       budget: Decimal | None = None, budget_by: str = "none",
                       hourly_rate: Decimal | None = None, is_fixed_fee: bool = False, fee: Decimal | None = None,
                       notes: str | None = None, is_active: bool = True) -> Record:
        body: dict[str, Any] = {
            "client_id": client_id, "name": name, "code": code, "is_billable": is_billable, "bill_by": bill_by,
            "budget_by": budget_by, "is_fixed_fee": is_fixed_fee, "is_active": is_active,
        }
        optional = {"starts_on": starts_on, "ends_on": ends_on, "budget": budget, "hourly_rate": hourly_rate,
                    "fee": fee, "notes": notes}
        body.update({k: v for k, v in optional.items() if v is not None})
        return self._create("/projects", body, obj="project", record_id=code,
                            recover=lambda: self.find_project_by_code(code))

    def update_project(self, project_id: int, fields: Mapping[str, Any]) -> Record:
        result: Record = self._call("PATCH", f"/projects/{project_id}", endpoint="PATCH /projects/{id}",
                                    obj="project", record_id=str(project_id), body=dict(fields))
        return result

    def find_task(self, name: str, *, among: Iterable[Record] | None = None) -> Record | None:
        wanted = name.strip().casefold()
        matches = [t for t in (self.tasks() if among is None else among)
                   if str(t.get("name", "")).strip().casefold() == wanted]
        return self._single(matches, obj="task", record_id=name, field="name")

    def create_task(self, name: str, *, billable_by_default: bool = True,
                    default_hourly_rate: Decimal | None = None) -> Record:
        body: dict[str, Any] = {"name": name.strip(), "billable_by_default": billable_by_default}
        if default_hourly_rate is not None:
            body["default_hourly_rate"] = default_hourly_rate
        return self._create("/tasks", body, obj="task", record_id=name, recover=lambda: self.find_task(name))

    def assign_task(self, project_id: int, task_id: int, *, billable: bool = True,
                    hourly_rate: Decimal | None = None, known: Iterable[Record] | None = None) -> Record:
        """The project's assignment of the task: reused (and brought in line) if it exists."""
        return self._assignment(project_id, "task", task_id, {"billable": billable, "is_active": True,
                                                              "hourly_rate": hourly_rate}, known)

    def assign_user(self, project_id: int, user_id: int, *, hourly_rate: Decimal | None = None,
                    known: Iterable[Record] | None = None) -> Record:
        """The person's assignment to the project: reused (and reactivated) if it exists."""
        return self._assignment(project_id, "user", user_id, {"is_active": True, "hourly_rate": hourly_rate}, known)

    def _assignment(self, project_id: int, kind: Literal["task", "user"], member_id: int,
                    wanted: Mapping[str, Any], known: Iterable[Record] | None) -> Record:
        """Find-or-create a task or user assignment of a project, then patch only what differs from `wanted`
        (None values are left as they are)."""
        record_id = f"project {project_id} {kind} {member_id}"
        listing = self.task_assignments if kind == "task" else self.user_assignments

        def existing(listed: Iterable[Record] | None = None) -> Record | None:
            rows = listing(project_id) if listed is None else listed
            return next((a for a in rows if a[kind]["id"] == member_id), None)

        current = existing(known)
        wanted = {k: v for k, v in wanted.items() if v is not None}
        if current is None:
            return self._create(f"/projects/{project_id}/{kind}_assignments", {f"{kind}_id": member_id, **wanted},
                                obj=f"{kind}_assignment", record_id=record_id, recover=existing)
        changes = {k: v for k, v in wanted.items() if current.get(k) != v}
        if not changes:
            return current
        result: Record = self._call(
            "PATCH", f"/projects/{project_id}/{kind}_assignments/{current['id']}",
            endpoint=f"PATCH /projects/{{id}}/{kind}_assignments/{{id}}", obj=f"{kind}_assignment",
            record_id=record_id, body=changes)
        return result

    # --- time entries: writing (people logging time, corrections) ----------------------------------
    def create_time_entry(self, project_id: int, task_id: int, spent_date: date, hours: Decimal, *,
                          user_id: int | None = None, notes: str | None = None,
                          external_reference: Mapping[str, Any] | None = None) -> Record:
        """A stopped entry of `hours`. With an `external_reference` id, a lost answer is recovered
        by looking the entry up instead of posting twice."""
        body: dict[str, Any] = {"project_id": project_id, "task_id": task_id, "spent_date": spent_date,
                                "hours": hours}
        if user_id is not None:
            body["user_id"] = user_id
        if notes is not None:
            body["notes"] = notes
        if external_reference is not None:
            body["external_reference"] = dict(external_reference)
        reference = None if external_reference is None else str(external_reference.get("id") or "") or None
        record_id = reference or f"user {user_id or 'me'} {spent_date.isoformat()} project {project_id}"

        def recover() -> Record | None:
            if reference is None:
                return None
            found = self._call("GET", "/time_entries", endpoint="GET /time_entries", obj="time_entry",
                               record_id=reference, params={"external_reference_id": reference},
                               expect="time_entries")["time_entries"]
            return found[0] if found else None

        return self._create("/time_entries", body, obj="time_entry", record_id=record_id, recover=recover)

    def update_time_entry(self, entry_id: int, fields: Mapping[str, Any]) -> Record:
        result: Record = self._call("PATCH", f"/time_entries/{entry_id}", endpoint="PATCH /time_entries/{id}",
                                    obj="time_entry", record_id=str(entry_id), body=dict(fields))
        return result

    def delete_time_entry(self, entry_id: int) -> None:
        """Delete; an entry that is already gone counts as deleted (a retried DELETE is not an error)."""
        try:
            self._call("DELETE", f"/time_entries/{entry_id}", endpoint="DELETE /time_entries/{id}",
                       obj="time_entry", record_id=str(entry_id))
        except HarvestNotFound:
            return
