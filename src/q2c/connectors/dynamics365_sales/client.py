"""The Dataverse Web API of one Dynamics 365 Sales environment: rows read, paged, written and tracked.

Every call goes through `VendorHttp` (system "dynamics365_sales", endpoint "web-api") at
`{org_url}/api/data/v{api_version}/` with the headers Microsoft asks of every request (`Accept:
application/json`, `OData-MaxVersion: 4.0`, `OData-Version: 4.0`, `If-None-Match: null`), a Bearer token
from Entra ID for `{org_url}/.default` (a 401 drops the cached token and retries once), and
`Prefer: odata.maxpagesize=N, odata.include-annotations="*"` on reads, so a choice column comes with its
label and a lookup with the table it names. Pages are followed through `@odata.nextLink` as given.
Numbers are decoded as `Decimal`. Errors come as `{"error": {"code": "0x8004...", "message": ...}}`
and become q2c's: 401/403 `AuthFailed`, 400/404/405/409/412 `RecordRejected` naming the table, row and
(when the message names one) column. Service protection answers 429 with Retry-After in seconds,
which `VendorHttp` waits out; the guard keeps to the documented per-user limits (6,000 requests in a
5-minute sliding window, 52 concurrent).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from q2c.connectors.dynamics365_sales.settings import Dynamics365SalesSettings
from q2c.connectors.dynamics365_sales.values import LABEL, SYSTEM
from q2c.connectors.entra import EntraToken, tls_verify
from q2c.connectors.http import VendorHttp
from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed, ConnectorError, RecordRejected, TransientError
from q2c.engine.resilience import EndpointGuard, GuardRegistry, RateLimit, RetryPolicy

WEB_API = "web-api"
KEY_PREFIX = "systems.crm"
PREFER_READ = 'odata.include-annotations="*"'
_COLUMN_IN_MESSAGE = re.compile(r"property named '(?P<column>[A-Za-z0-9_]+)'|attribute '?(?P<attr>[a-z0-9_]+)'?")


def _wire(value: Any) -> Any:
    if isinstance(value, Decimal):
        number = float(value)
        if Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be sent as a JSON number without losing precision")
        return number
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot send {type(value).__name__} to Dataverse")


def odata_literal(value: str) -> str:
    """A string literal in an OData URL: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def odata_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def delta_version(delta_link: str) -> int:
    """The version number a delta link's `$deltatoken` starts with (`919042!08/22/2017 08:10:44`)."""
    tokens = parse_qs(urlsplit(delta_link).query).get("$deltatoken") or []
    match = re.match(r"\s*(\d+)", tokens[0]) if tokens else None
    if match is None:
        raise TransientError(SYSTEM, f"delta link without a versioned $deltatoken: {delta_link[:200]}")
    return int(match.group(1))


@dataclass(frozen=True)
class Tracked:
    """One change-tracking answer: the rows changed (or all of them, on the first request), the ids of rows
    deleted, and the delta link to ask with next time."""

    rows: list[dict[str, Any]]
    deleted: list[str]
    delta_link: str

    @property
    def version(self) -> int:
        return delta_version(self.delta_link)


class DeltaExpired(ConnectorError):
    """The delta token is older than the environment keeps changes (ExpireChangeTrackingInDays)."""


class StaleRow(ConnectorError):
    """412 on a PATCH with an ETag: the row changed since it was read."""


class DataverseClient:
    """One environment's Web API, guarded and authenticated. Thread-safe."""

    def __init__(self, settings: Dynamics365SalesSettings, guards: GuardRegistry, *,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.token = EntraToken(settings, settings.scope, system=SYSTEM, key_prefix=KEY_PREFIX)
        self._guard_value: EndpointGuard = guards.get(
            SYSTEM, f"{WEB_API}:{urlsplit(settings.org_url).netloc}",
            limit=RateLimit(requests=settings.requests_per_five_minutes, window_seconds=300.0,
                            concurrency=settings.max_concurrent_requests), retry=retry)
        self._http = VendorHttp(SYSTEM, settings.org_url, guard_for=lambda _endpoint: self._guard_value,
                                headers={"Accept": "application/json", "OData-MaxVersion": "4.0",
                                         "OData-Version": "4.0", "If-None-Match": "null"},
                                timeout=settings.timeout_seconds, sleep=sleep, verify=tls_verify(settings),
                                max_connections=min(20, settings.max_concurrent_requests))
        self._who: dict[str, Any] | None = None
        self._currencies: dict[str, str] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DataverseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ---------------------------------------------------------------------------
    def path(self, resource: str) -> str:
        return f"{self.settings.api_root}/{resource.lstrip('/')}"

    def call(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
             body: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """One request with the token; a 401 drops the cached token and asks Entra once more."""
        content = json.dumps(dict(body), default=_wire).encode() if body is not None else None
        for attempt in range(2):
            all_headers = {"Authorization": self.token.authorization(), **(headers or {})}
            if content is not None:
                all_headers["Content-Type"] = "application/json"
            response = self._http.send(method, url, endpoint=WEB_API, params=params, content=content,
                                       headers=all_headers)
            if response.status_code != 401:
                return response
            self.token.forget()
            if attempt:
                raise AuthFailed(SYSTEM, f"{KEY_PREFIX}.client_id: {self.settings.org_url} refused a fresh token "
                                         f"({_error(response)[1] or 'HTTP 401'}); check that the app is an "
                                         f"application user of the environment (Power Platform admin center > "
                                         "Environment > Settings > Application users)")
        raise AssertionError("unreachable")

    def decode(self, response: httpx.Response) -> Any:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise TransientError(SYSTEM, f"{WEB_API}: malformed JSON in HTTP {response.status_code} response "
                                 f"({len(response.content)} bytes)") from exc

    def check(self, response: httpx.Response, *, table: str, record_id: str, ok: tuple[int, ...]) -> None:
        """Map a refusal to q2c's errors, naming the table, the row and the column when the message names one."""
        status = response.status_code
        if status in ok:
            return
        code, message = _error(response)
        if status in (401, 403):
            raise AuthFailed(SYSTEM, f"{KEY_PREFIX}.client_id: {table} {record_id}: refused (HTTP {status} "
                                     f"{code}): {message}. Check the application user's security roles in "
                                     f"{LABEL}")
        if status in (400, 404, 405, 409, 412):
            found = _COLUMN_IN_MESSAGE.search(message)
            column = (found.group("column") or found.group("attr")) if found else None
            raise RecordRejected(Violation(
                system=SYSTEM, object=table, record_id=record_id, field=column,
                rule=f"{SYSTEM}.{code or f'http_{status}'}", message=message or f"HTTP {status}",
                action=_action(status, table, record_id, column)))
        raise ConnectorError(SYSTEM, f"{table} {record_id}: unexpected HTTP {status} ({code}): {message[:200]}")

    # --- reads -------------------------------------------------------------------------------
    def rows(self, entity_set: str, *, select: list[str], filter: str | None = None, orderby: str | None = None,
             table: str | None = None) -> Iterator[dict[str, Any]]:
        """Every row the query returns, page by page through `@odata.nextLink`."""
        params = {"$select": ",".join(dict.fromkeys(select))}
        if filter:
            params["$filter"] = filter
        if orderby:
            params["$orderby"] = orderby
        prefer = {"Prefer": f"odata.maxpagesize={self.settings.page_size},{PREFER_READ}"}
        response = self.call("GET", self.path(entity_set), params=params, headers=prefer)
        while True:
            self.check(response, table=table or entity_set, record_id=f"query {filter or '(all)'}", ok=(200,))
            page = self.decode(response)
            if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                raise TransientError(SYSTEM, f"{entity_set}: answer without a value list")
            yield from (dict(row) for row in page["value"] if isinstance(row, dict))
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return
            response = self.call("GET", str(next_link), headers=prefer)

    def row(self, entity_set: str, row_id: str, *, select: list[str], table: str) -> dict[str, Any] | None:
        """One row by id; None when it does not exist (404)."""
        response = self.call("GET", self.path(f"{entity_set}({row_id})"),
                             params={"$select": ",".join(dict.fromkeys(select))}, headers={"Prefer": PREFER_READ})
        if response.status_code == 404:
            return None
        self.check(response, table=table, record_id=row_id, ok=(200,))
        body = self.decode(response)
        if not isinstance(body, dict):
            raise TransientError(SYSTEM, f"{table} {row_id}: answer is not a row")
        return body

    def who_am_i(self) -> dict[str, Any]:
        """WhoAmI: the application user q2c runs as (`UserId`), its business unit and organization."""
        if self._who is None:
            response = self.call("GET", self.path("WhoAmI"))
            self.check(response, table="WhoAmI", record_id="(caller)", ok=(200,))
            body = self.decode(response)
            if not isinstance(body, dict) or not body.get("UserId"):
                raise TransientError(SYSTEM, "WhoAmI answered without a UserId")
            self._who = body
        return self._who

    def app_user_id(self) -> str:
        return str(self.who_am_i()["UserId"]).lower()

    def currencies(self, *, refresh: bool = False) -> dict[str, str]:
        """transactioncurrencyid -> ISO code, read once per client (again when a row names an unknown one)."""
        if refresh or not self._currencies:
            self._currencies = {str(r["transactioncurrencyid"]).lower(): str(r.get("isocurrencycode") or "")
                                for r in self.rows("transactioncurrencies",
                                                   select=["transactioncurrencyid", "isocurrencycode"],
                                                   table="transactioncurrency")}
        return self._currencies

    def columns_of(self, table: str) -> set[str] | None:
        """The logical names of a table's columns (EntityDefinitions); None when the table does not exist."""
        response = self.call("GET", self.path(f"EntityDefinitions(LogicalName={odata_literal(table)})/Attributes"),
                             params={"$select": "LogicalName"})
        if response.status_code == 404:
            return None
        self.check(response, table="EntityDefinitions", record_id=table, ok=(200,))
        body = self.decode(response)
        values = body.get("value") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise TransientError(SYSTEM, f"EntityDefinitions of {table}: answer without a value list")
        return {str(a.get("LogicalName")) for a in values if isinstance(a, dict)}

    # --- writes ------------------------------------------------------------------------------
    def update(self, entity_set: str, row_id: str, values: Mapping[str, Any], *, etag: str = "*",
               table: str) -> None:
        """PATCH one row with `If-Match` (its ETag, or `*`: update only, never create)."""
        response = self.call("PATCH", self.path(f"{entity_set}({row_id})"), body=values, headers={"If-Match": etag})
        if response.status_code == 412 and etag != "*":
            raise StaleRow(SYSTEM, f"{table} {row_id}: {_error(response)[1] or 'the version changed'}")
        self.check(response, table=table, record_id=row_id, ok=(204, 200))

    def upsert(self, entity_set: str, key: Mapping[str, str], values: Mapping[str, Any], *, table: str,
               only: str | None = None) -> str | None:
        """Create or update by alternate key: `PATCH accounts(accountnumber='X')`. `only="update"` sends
        `If-Match: *` (404 when no row has the key), `only="create"` `If-None-Match: *` (412 when one has).
        The row's id from the `OData-EntityId` header, when the answer carries one."""
        address = ",".join(f"{k}={odata_literal(v)}" for k, v in key.items())
        headers = {"If-Match": "*"} if only == "update" else {"If-None-Match": "*"} if only == "create" else {}
        response = self.call("PATCH", self.path(f"{entity_set}({address})"), body=values, headers=headers)
        self.check(response, table=table, record_id=address, ok=(204, 200, 201))
        entity = response.headers.get("OData-EntityId", "")
        found = re.search(r"\(([0-9a-fA-F-]{36})\)\s*$", entity)
        return found.group(1).lower() if found else None

    # --- change tracking ---------------------------------------------------------------------
    def track(self, entity_set: str, *, select: list[str], delta_link: str | None = None) -> Tracked:
        """The first change-tracking request (every row, and a delta link), or the changes since `delta_link`.
        Follows `@odata.nextLink` until the page that carries `@odata.deltaLink`."""
        prefer = {"Prefer": f"odata.track-changes,odata.maxpagesize={self.settings.page_size},{PREFER_READ}"}
        if delta_link is None:
            response = self.call("GET", self.path(entity_set), params={"$select": ",".join(dict.fromkeys(select))},
                                 headers=prefer)
        else:
            response = self.call("GET", delta_link, headers=prefer)
        rows: list[dict[str, Any]] = []
        deleted: list[str] = []
        while True:
            if response.status_code in (400, 410) and delta_link is not None and _expired(response):
                raise DeltaExpired(SYSTEM, f"{entity_set}: {_error(response)[1]}")
            self.check(response, table=entity_set, record_id="change tracking", ok=(200,))
            page = self.decode(response)
            if not isinstance(page, dict):
                raise TransientError(SYSTEM, f"{entity_set}: change tracking answer is not an object")
            for item in page.get("value") or []:
                if not isinstance(item, dict):
                    continue
                if "$deletedEntity" in str(item.get("@odata.context", "")):
                    deleted.append(str(item.get("id", "")).lower())
                else:
                    rows.append(dict(item))
            if page.get("@odata.deltaLink"):
                return Tracked(rows, deleted, str(page["@odata.deltaLink"]))
            next_link = page.get("@odata.nextLink")
            if not next_link:
                raise TransientError(SYSTEM, f"{entity_set}: change tracking answer without @odata.deltaLink "
                                             "(is change tracking enabled for the table?)")
            response = self.call("GET", str(next_link), headers=prefer)


def _error(response: httpx.Response) -> tuple[str, str]:
    """The Web API error body's (code, message); ("", the start of the body) when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or ""), str(error.get("message") or "")
    return "", str(body)[:300]


def _expired(response: httpx.Response) -> bool:
    """A delta token past the environment's change tracking retention ("Version stamp associated with the
    client has expired. Please perform a full sync.", as Dataverse words it)."""
    message = _error(response)[1].lower()
    return "expired" in message or "full sync" in message


def _action(status: int, table: str, record_id: str, column: str | None) -> str:
    named = column or "the rejected value"
    if status == 404:
        return (f"The {table} row {record_id} no longer exists in {LABEL} or the application user cannot see it: "
                "restore it or check the user's security roles, then replay")
    if status == 412:
        return f"The {table} row {record_id} changed while q2c wrote it: replay to write again on the new version"
    if column:
        return (f"{LABEL} admin: check that column {column} exists on table {table} and that the application user "
                "may read and write it, then replay")
    return f"Fix {named} on {table} {record_id} in {LABEL}, then replay"
