"""The Business Central client: OData v4 over `VendorHttp`, signed in with an Entra ID app token.

Business Central limits OData per environment: 5 requests processed at a time (more wait in a queue
of 95; past it, 429), and 6,000 requests per user in a five-minute sliding window (429). One guard,
endpoint "environment", keeps both (`RateLimit(concurrency=5, requests=6000, window_seconds=300)`);
a 429 or 503 with Retry-After is waited out by `VendorHttp`. A read may be sent again in place.

A create is not: Business Central has no external-id upsert, and a POST whose answer was lost (a
timeout, a 5xx, a body cut short after the record was written) must not be sent blind a second time.
Creates and bound actions therefore go through a sibling guard with one attempt (same limiter and
circuit breaker), and `ensure` looks the record up by q2c's id before each try: only a lookup that
finds nothing leads to a POST. The same holds for `$batch` (creates only of what a lookup did not find).

A 401 drops the cached token and is asked once more with a fresh one; a second 401, or a 403, is
`AuthFailed`. Business Central's own error body (`{"error": {"code", "message"}}`) on a 4xx rejects
the record, naming it and the field the message names; any answer that is not such a body is transient.
Numbers are read as Decimal and written as JSON numbers from Decimal, never through float.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from q2c.connectors.business_central import odata
from q2c.connectors.business_central.mapping import SYSTEM, reject
from q2c.connectors.business_central.settings import SCOPE, BusinessCentralSettings
from q2c.connectors.entra import EntraToken, tls_verify
from q2c.connectors.http import VendorHttp
from q2c.engine.errors import AuthFailed, CircuitOpen, RateLimited, TransientError
from q2c.engine.resilience import EndpointGuard, GuardRegistry, RateLimit, RetryPolicy

ENDPOINT = "environment"
_ONCE = "environment:once"
WRITE_TRIES = 3  # lookups + creates of one record before the engine is asked to come back later


class NotFound(Exception):
    """Business Central answered 404: no such company, entity set or record."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


@dataclass(frozen=True)
class BatchOp:
    """One operation of a JSON `$batch`: `url` relative to the batch's API root."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchAnswer:
    status: int
    body: Any


def dumps(body: Any) -> bytes:
    """JSON with every Decimal written as the number it is (json.dumps would need a float)."""
    marks: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            token = f"@@dec{len(marks)}@@"
            marks[token] = format(value, "f")
            return token
        if isinstance(value, Mapping):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(body), separators=(",", ":"))
    for token, number in marks.items():
        text = text.replace(f'"{token}"', number)
    return text.encode()


class BusinessCentralClient:
    def __init__(self, settings: BusinessCentralSettings, guards: GuardRegistry, *,
                 token: EntraToken | None = None, sleep: Callable[[float], None] = time.sleep,
                 retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.token = token or EntraToken(settings, SCOPE, system=SYSTEM, key_prefix="systems.erp")
        self._sleep = sleep
        limit = RateLimit(requests=settings.requests_per_5_minutes, window_seconds=300.0,
                          concurrency=settings.max_concurrent_requests)
        self.guard = guards.get(SYSTEM, ENDPOINT, limit=limit, retry=retry)
        once = EndpointGuard(SYSTEM, ENDPOINT, retry=RetryPolicy(max_attempts=1, base_seconds=0.0, cap_seconds=0.0),
                             breaker=self.guard.breaker, limiter=self.guard.limiter)
        once.on_exchange = self.guard.on_exchange
        self._guards = {ENDPOINT: self.guard, _ONCE: once}
        self.http = VendorHttp(SYSTEM, settings.environment_base, guard_for=self._guards.__getitem__,
                               timeout=settings.timeout_seconds, verify=tls_verify(settings), sleep=sleep,
                               max_connections=settings.max_concurrent_requests,
                               headers={"Accept": "application/json"})

    def close(self) -> None:
        self.http.close()

    # --- URLs ---------------------------------------------------------------------------------------------
    def root(self, *, extension: bool = False) -> str:
        return self.settings.extension_base if extension else self.settings.api_base

    def company_path(self, company_id: str, entity_set: str, key: str | None = None) -> str:
        """`companies({id})/<entitySet>[({key})]`, relative to an API root (as `$batch` wants it)."""
        return f"companies({company_id})/{entity_set}" + (f"({key})" if key is not None else "")

    def url(self, company_id: str, entity_set: str, key: str | None = None, *, extension: bool = False) -> str:
        return f"{self.root(extension=extension)}/{self.company_path(company_id, entity_set, key)}"

    # --- the one request path -------------------------------------------------------------------------------
    def send(self, method: str, url: str, *, body: Any = None, params: Mapping[str, str] | None = None,
             headers: Mapping[str, str] | None = None, once: bool = False) -> httpx.Response:
        """Authorised, guarded; a 401 is asked once more with a fresh token."""
        extra = dict(headers or {})
        content = None
        if body is not None:
            content = dumps(body)
            extra["Content-Type"] = "application/json"
        for fresh in (False, True):
            extra["Authorization"] = self.token.authorization()
            response = self.http.send(method, url, endpoint=_ONCE if once else ENDPOINT, content=content,
                                      params=params, headers=extra)
            if response.status_code != 401:
                break
            if not fresh:
                self.token.forget()
        if response.status_code == 401:
            error = odata.parse_error(self._body(response, quiet=True), 401)
            raise AuthFailed(SYSTEM, f"systems.erp.client_id: Business Central refused a fresh token ({error.code}): "
                                     f"{error.message}; the app must be registered in Business Central (Microsoft "
                                     "Entra Applications) and the environment must exist")
        if response.status_code == 403:
            error = odata.parse_error(self._body(response, quiet=True), 403)
            raise AuthFailed(SYSTEM, f"systems.erp.client_id: Business Central refused {method} {url} "
                                     f"({error.code}): {error.message}; grant the app's Microsoft Entra "
                                     "Application card the permission sets q2c needs")
        return response

    def _body(self, response: httpx.Response, *, quiet: bool = False) -> Any:
        if not response.content:
            return None
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            if quiet:
                return None
            raise TransientError(SYSTEM, f"{response.request.method} {response.request.url.path}: malformed JSON "
                                         f"in HTTP {response.status_code} ({len(response.content)} bytes)") from None

    def checked(self, response: httpx.Response, *, obj: str, record_id: str) -> Any:
        """The decoded body of a 2xx; Business Central's refusal as `RecordRejected` or `NotFound`."""
        status = response.status_code
        if status < 300:
            return self._body(response)
        body = self._body(response, quiet=True)
        error = odata.parse_error(body, status)
        if status == 404:
            raise NotFound(str(response.request.url), error.message)
        if status in (400, 409, 412, 422) and isinstance(body, dict) and "error" in body:
            raise reject(obj, record_id, error.field, _rule(error.code),
                         f"Business Central refused {obj} {record_id}: {error.message} ({error.code})",
                         _action(error.code, error.field))
        raise TransientError(SYSTEM, f"{response.request.method} {response.request.url.path}: HTTP {status} "
                                     f"{error.code}: {error.message}")

    # --- reads --------------------------------------------------------------------------------------------
    def pages(self, url: str, *, params: Mapping[str, str] | None = None, obj: str = "record"
              ) -> Iterator[list[dict[str, Any]]]:
        """Server-driven paging: `Prefer: odata.maxpagesize`, then each `@odata.nextLink` as given."""
        prefer = {"Prefer": f"odata.maxpagesize={self.settings.page_size}"}
        if params is not None and odata.uses_in(params.get("$filter")):
            params = {**params, **odata.SCHEMA_21}
        next_url: str | None = url
        first = True
        seen: set[str] = set()
        while next_url is not None:
            body = self.read(next_url, params=params if first else None, headers=prefer, obj=obj)
            first = False
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise TransientError(SYSTEM, f"GET {url}: the answer is not an OData collection")
            yield [row for row in body["value"] if isinstance(row, dict)]
            link = body.get("@odata.nextLink")
            if link is not None and (not isinstance(link, str) or link in seen):
                raise TransientError(SYSTEM, f"GET {url}: unusable @odata.nextLink {link!r}")
            if isinstance(link, str):
                seen.add(link)
            next_url = link

    def read(self, url: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
             obj: str = "record") -> Any:
        """A GET, asked again when its answer cannot be read (a cut-off body, a proxy's page): reads change
        nothing, so sending one twice is safe."""
        for attempt in range(self.guard.retry.max_attempts):
            try:
                return self.checked(self.send("GET", url, params=params, headers=headers), obj=obj,
                                    record_id=url.rsplit("/", 1)[-1])
            except CircuitOpen:
                raise  # the guard has given up on the environment for now: asking again only waits
            except TransientError:
                if attempt == self.guard.retry.max_attempts - 1:
                    raise
                self._sleep(self.guard.retry.delay(attempt))
        raise AssertionError("unreachable")

    def rows(self, company_id: str, entity_set: str, *, filter: str | None = None, extension: bool = False,
             expand: str | None = None, select: Sequence[str] = ()) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("$filter", filter), ("$expand", expand), ("$select", ",".join(select))) if v}
        return [row for page in self.pages(self.url(company_id, entity_set, extension=extension), params=params,
                                           obj=entity_set) for row in page]

    def find(self, company_id: str, entity_set: str, filter: str, *, extension: bool = False,
             expand: str | None = None) -> dict[str, Any] | None:
        found = self.rows(company_id, entity_set, filter=filter, extension=extension, expand=expand)
        return found[0] if found else None

    def find_many(self, company_id: str, entity_set: str, field_name: str, values: Sequence[str], *,
                  extension: bool = False, select: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Every record whose `field_name` is one of `values`, asked in `in (...)` chunks."""
        out: list[dict[str, Any]] = []
        for chunk in odata.chunks(dict.fromkeys(values)):
            out.extend(self.rows(company_id, entity_set, filter=odata.one_of(field_name, chunk), extension=extension,
                                 select=select))
        return out

    def companies(self) -> list[dict[str, Any]]:
        return [row for page in self.pages(f"{self.settings.api_base}/companies", obj="companies") for row in page]

    # --- writes -------------------------------------------------------------------------------------------
    def ensure(self, company_id: str, entity_set: str, key_filter: str, body: Mapping[str, Any], *, obj: str,
               record_id: str, extension: bool = False) -> tuple[dict[str, Any], bool]:
        """The record `key_filter` finds, else the one created from `body`: (record, created). A create whose
        answer was lost is looked up again before anything is sent twice."""
        last: TransientError | None = None
        for attempt in range(WRITE_TRIES):
            found = self.find(company_id, entity_set, key_filter, extension=extension)
            if found is not None:
                return found, attempt > 0
            try:
                response = self.send("POST", self.url(company_id, entity_set, extension=extension), body=body,
                                     once=True)
                return self.checked(response, obj=obj, record_id=record_id), True
            except TransientError as exc:
                last = exc
                self._sleep(0.0 if isinstance(exc, RateLimited) else self.guard.retry.delay(attempt))
        assert last is not None
        raise last

    def update(self, url: str, entity: Mapping[str, Any], changes: Mapping[str, Any], *, obj: str,
               record_id: str) -> dict[str, Any]:
        """PATCH with the entity's ETag as If-Match; a stale ETag (412) is read afresh and asked once more."""
        if all(entity.get(k) == v for k, v in changes.items()):
            return dict(entity)
        current: Mapping[str, Any] = entity
        for attempt in range(2):
            response = self.send("PATCH", url, body=changes, headers={"If-Match": odata.etag(dict(current))})
            if response.status_code == 412 and attempt == 0:
                current = self.checked(self.send("GET", url), obj=obj, record_id=record_id)
                if all(current.get(k) == v for k, v in changes.items()):
                    return dict(current)
                continue
            return dict(self.checked(response, obj=obj, record_id=record_id))
        raise TransientError(SYSTEM, f"PATCH {url}: the record kept changing (412 twice)")

    def delete(self, url: str, entity: Mapping[str, Any], *, obj: str, record_id: str) -> None:
        response = self.send("DELETE", url, headers={"If-Match": odata.etag(dict(entity))})
        if response.status_code == 404:
            return
        self.checked(response, obj=obj, record_id=record_id)

    def action(self, url: str, name: str, *, obj: str, record_id: str) -> None:
        """A bound action (`.../Microsoft.NAV.post`): sent once; the caller reads the record to learn the outcome
        of an answer that was lost."""
        self.checked(self.send("POST", f"{url}/Microsoft.NAV.{name}", once=True), obj=obj, record_id=record_id)

    def batch(self, ops: Sequence[BatchOp], *, extension: bool = False) -> list[BatchAnswer]:
        """A JSON `$batch` of at most `batch_size` operations (Business Central takes 100), sent once: the
        caller looks up what a batch whose answer was lost did."""
        answers: list[BatchAnswer] = []
        for start in range(0, len(ops), self.settings.batch_size):
            chunk = ops[start:start + self.settings.batch_size]
            ids = [str(i) for i in itertools.islice(itertools.count(1), len(chunk))]
            requests = [{"id": op_id, "method": op.method, "url": op.url,
                         "headers": {"Content-Type": "application/json", **op.headers},
                         **({"body": dict(op.body)} if op.body is not None else {})}
                        for op_id, op in zip(ids, chunk, strict=True)]
            response = self.send("POST", f"{self.root(extension=extension)}/$batch", body={"requests": requests},
                                 once=True)
            body = self.checked(response, obj="$batch", record_id=uuid.uuid4().hex[:8])
            by_id = {str(r.get("id")): r for r in (body or {}).get("responses", []) if isinstance(r, dict)}
            if set(by_id) != set(ids):
                raise TransientError(SYSTEM, f"$batch: the answer has {len(by_id)} of {len(ids)} responses")
            answers.extend(BatchAnswer(int(by_id[i].get("status", 0)), by_id[i].get("body")) for i in ids)
        return answers


def _rule(code: str) -> str:
    return "refused." + "".join(c if c.isalnum() else "_" for c in code).strip("_").lower()


def _action(code: str, field_name: str | None) -> str:
    if code.startswith("Internal_RecordNotFound") or "NotFound" in code:
        return (f"Create or sync the record {field_name or 'the reference'} points at (q2c writes customers, "
                "projects and tasks first), or correct the reference, then replay")
    if code == "Request_EntityChanged":
        return "Someone changed the record in Business Central meanwhile; replay"
    return (f"Correct {field_name or 'the record'} in q2c's source or the Business Central set-up the message "
            "names, then replay")
