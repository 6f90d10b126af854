"""The NetSuite connector: REST record service, SuiteQL, and q2c's bulk RESTlet, under one account guard.

NetSuite limits concurrent requests per account (REST, RESTlets and SOAP together), not
requests per second. So the client uses a single guard, endpoint "account", whose concurrency
is the account's limit: never more requests in flight than configured, whichever path they
take. Over the limit NetSuite answers 429 on REST and 400 `SSS_REQUEST_LIMIT_EXCEEDED` on
RESTlets; both are throttle signals here and are waited out, not reported.

Writes are upserts by external id (the canonical id), so replays never duplicate. Volume goes
through the RESTlet in chunks of 160 with up to `concurrency_limit` chunks in flight; a few
records go one by one through REST.

An answer that cannot be read (a cut-off body, a proxy's page, a status NetSuite never sends)
is never taken for a refusal: only NetSuite's own error details reject a record. A read is asked
again; a write may have been saved before its answer was lost, so the record is read back by
external id, and only a record holding what was sent counts as written. Otherwise the write is
sent again, and when the tries are used up the error is transient: the engine retries later.
"""

from __future__ import annotations

import functools
import random
import threading
import time
import urllib.parse
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar

import httpx

from q2c.connectors.http import VendorHttp
from q2c.connectors.netsuite import wire
from q2c.connectors.netsuite.auth import CLIENT_ASSERTION_TYPE, TokenCache, client_assertion
from q2c.connectors.netsuite.credentials import BearerLogin, Login, LoginRefused, SignatureLogin, Surface, server_time
from q2c.connectors.netsuite.mapping import InvoiceState, transaction_state_from_netsuite
from q2c.connectors.netsuite.readback import written_as_sent
from q2c.connectors.netsuite.settings import TOKEN_PATH, NetSuiteSettings
from q2c.connectors.netsuite.suiteql import in_list, quote
from q2c.connectors.netsuite.tba import TokenCredentials
from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed, ConnectorError, RateLimited, RecordRejected, TransientError
from q2c.engine.resilience import CircuitBreaker, EndpointGuard, GuardRegistry, RateLimit, RetryPolicy

SYSTEM = "netsuite"
RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
# Records per RESTlet call. The script takes up to 200, but a call has 5,000 usage units and a time entry
# costs 30 (SuiteScript 2.x API Governance: create 10, save 20 on a transaction), so 200 would leave ~36 to a
# second call; 160 fit in one with the searches and the script's reserve.
RESTLET_CHUNK = 160
SUITEQL_PAGE = 1000
_IN_CHUNK = 500  # values per IN (...) list
ID_CACHE_SIZE = 20_000  # internal ids kept (a few MB): the reference records of a large account, recent timebills
_TRANSACTION_TYPES = {"salesorder": "SalesOrd", "invoice": "CustInvc", "creditmemo": "CustCred",
                      "journalentry": "Journal"}
_BILLING_TYPES = ("CustInvc", "CustCred")  # q2c's invoices and the credit memos it applies to them
_T = TypeVar("_T")




@dataclass(frozen=True)
class BulkResult:
    external_id: str
    internal_id: str | None
    # "upserted": created or updated, NetSuite did not say which (a REST PUT, or a record read back)
    status: Literal["created", "updated", "upserted", "error"]
    error: Violation | None = None


@dataclass(frozen=True)
class JobStatus:
    external_id: str
    internal_id: str
    status_id: str | None
    status_name: str | None
    closed: bool


@dataclass(frozen=True)
class Employee:
    internal_id: str
    email: str | None
    external_id: str | None
    inactive: bool
    first_name: str | None = None
    last_name: str | None = None
    entity_id: str | None = None  # the Employee ID the NetSuite UI shows: the firm's employee number
    role: str | None = None  # the value of `employee_role_field`, when the config names one

    @property
    def name(self) -> str:
        full = " ".join(p.strip() for p in (self.first_name, self.last_name) if p and p.strip())
        return full or self.entity_id or f"employee {self.internal_id}"


@dataclass(frozen=True)
class InvoiceStanding:
    external_id: str
    internal_id: str
    number: str | None
    state: InvoiceState
    total: str | None
    kind: Literal["invoice", "creditmemo"] = "invoice"
    modified_on: date | None = None  # lastmodifieddate, to the day (SuiteQL shows it in the date format)


def suiteql_date(value: str | None) -> date | None:
    """A SuiteQL date as the answer writes it (the account's date format: M/D/YYYY by default; ISO accepted)."""
    if not value:
        return None
    text = value.strip().split(" ")[0]
    try:
        if "/" in text:
            month, day, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def suiteql_date_literal(day: date) -> str:
    """A date literal SuiteQL compares a date column with, in the default date format (M/D/YYYY)."""
    return quote(f"{day.month}/{day.day}/{day.year}")


def _action(code: str, record_type: str, field: str | None) -> str:
    if record_type == "timebill" and field == "customer" and code == "USER_ERROR":
        return ("Reopen the project in NetSuite, or move the time entry to an open project in the time "
                "tracker, then replay.")
    if code in ("NONEXISTENT_ID", "Q2C_REFERENCE_NOT_FOUND", "INVALID_KEY_OR_REF"):
        return (f"Create or sync the record that {field or 'the reference'} points at (q2c syncs customers, "
                "projects and tasks first), or correct the reference, then replay.")
    if code in ("INSUFFICIENT_PERMISSION", "INVALID_LOGIN"):
        return "A NetSuite administrator must grant the q2c integration role this permission."
    if code in ("Q2C_UNKNOWN_FIELD",) or (field and field.startswith("custcol_q2c")):
        return "Deploy the q2c customisation bundle in NetSuite (custom fields), or remove the field from the mapping."
    if field:
        return f"Correct {field} in the system that owns it (or the q2c mapping), then replay."
    return "Read NetSuite's message, correct the record or the mapping, then replay."


def violation(record_type: str, record_id: str, code: str, message: str, field: str | None) -> Violation:
    """NetSuite's refusal as an exception-queue entry."""
    return Violation(system=SYSTEM, object=record_type, record_id=record_id, field=field,
                     rule=f"netsuite.{code}", message=message, action=_action(code, record_type, field))


class NetSuiteClient:
    """Talks to one account. Thread-safe; share one per process."""

    def __init__(self, config: NetSuiteSettings, guards: GuardRegistry, *, retry: RetryPolicy | None = None,
                 breaker: CircuitBreaker | None = None) -> None:
        self.config = config
        self.guard: EndpointGuard = guards.get(SYSTEM, "account",
                                               limit=RateLimit(concurrency=config.concurrency_limit),
                                               retry=retry, breaker=breaker)
        common: dict[str, Any] = {"guard_for": lambda _endpoint: self.guard, "timeout": config.timeout_seconds,
                                  "throttle_signal": self._restlet_throttle,
                                  "max_connections": config.concurrency_limit + 2}
        self._rest = VendorHttp(SYSTEM, config.rest_base, **common)
        restlet = urllib.parse.urlsplit(config.restlet_endpoint)
        self._restlet_path = restlet.path
        self._restlet = VendorHttp(SYSTEM, f"{restlet.scheme}://{restlet.netloc}", **common)
        self.login: Login = self._login(config)
        # internal ids by (record type, external id), the most recently used kept: reference records (customers,
        # jobs, tasks, employees) are looked up again and again, each timebill once, so a bounded cache holds the
        # first and lets the second go (memory stays flat however many entries pass; a miss asks SuiteQL)
        self._ids: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._ids_lock = threading.Lock()
        # writes whose answer was lost, by what reading the record back showed: "written" or "not_written"
        self.readbacks: Counter[str] = Counter()
        self._readbacks_lock = threading.Lock()

    def close(self) -> None:
        self._rest.close()
        self._restlet.close()

    def __enter__(self) -> NetSuiteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _login(self, config: NetSuiteSettings) -> Login:
        if config.auth == "m2m":
            return BearerLogin(TokenCache(self._fetch_token))
        assert config.consumer_key and config.consumer_secret and config.token_id and config.token_secret
        return SignatureLogin(TokenCredentials(config.realm, config.consumer_key,
                                               config.consumer_secret.get_secret_value(), config.token_id,
                                               config.token_secret.get_secret_value()))

    def sign_in(self) -> None:
        """M2M: trade the client assertion for a token now (TBA has nothing to fetch: each request is signed)."""
        if isinstance(self.login, BearerLogin):
            self.login.tokens.get()

    # --- transport ------------------------------------------------------------------------------
    def _restlet_throttle(self, response: httpx.Response) -> float | None:
        """Over the concurrency limit: RESTlets answer 400 SSS_REQUEST_LIMIT_EXCEEDED, REST a 429 with no
        Retry-After. Either way wait a little, jittered."""
        if response.status_code == 429 or (response.status_code == 400
                                           and b"SSS_REQUEST_LIMIT_EXCEEDED" in response.content):
            # jittered, so that the callers refused together do not come back together
            return self.config.throttle_wait_seconds * (0.5 + random.random())
        return None

    def _fetch_token(self) -> tuple[str, float]:
        def send() -> httpx.Response:
            assert self.config.client_id is not None and self.config.certificate_id is not None
            assertion = client_assertion(client_id=self.config.client_id, certificate_id=self.config.certificate_id,
                                         private_key_pem=self.config.private_key(), token_url=self.config.token_url,
                                         scope=self.config.scope)
            return self._rest.send("POST", TOKEN_PATH, endpoint="token", data={
                "grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": assertion})

        return self._read("token", send, self._token_answer)

    def _token_answer(self, response: httpx.Response) -> tuple[str, float]:
        body = _decode(response, "token") if response.content else {}
        if response.status_code == 200 and isinstance(body, dict) and "access_token" in body:
            try:
                expires_in = float(body.get("expires_in", 3600))
            except (TypeError, ValueError):
                expires_in = 3600.0
            return str(body["access_token"]), expires_in
        if response.status_code == 200:
            raise _Unreadable("token answer without an access_token")
        error = body.get("error", f"HTTP {response.status_code}") if isinstance(body, dict) else "refused"
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        raise AuthFailed(SYSTEM, f"token request refused for client {self.config.client_id} and certificate "
                                 f"{self.config.certificate_id}: {error} {description}".rstrip())

    def _call(self, http: VendorHttp, method: str, url: str, *, endpoint: str, body: Any = None,
              params: Mapping[str, str | int] | None = None, headers: Mapping[str, str] | None = None,
              content: bytes | None = None) -> httpx.Response:
        """Send signed in; after a 401 a bearer token is fetched afresh once, a signature is final."""
        if content is None and body is not None:
            content = wire.dumps(body)
        sent = {"Accept": "application/json", **(headers or {})}
        if content is not None:
            sent["Content-Type"] = "application/json"
        for attempt in (0, 1):
            auth = self.login.auth()
            response = http.send(method, url, endpoint=endpoint, content=content, params=params, headers=sent,
                                 auth=auth)
            if response.status_code != 401:
                return response
            if attempt or not self.login.refused(auth):
                break
        raise self._login_refused(method, endpoint, response)

    def _login_refused(self, method: str, endpoint: str, response: httpx.Response) -> LoginRefused:
        surface: Surface = "restlet" if endpoint == "restlet" else "rest"
        code = _error_code(response)
        what = ("refused a freshly issued token" if self.login.method == "m2m"
                else "refused the signed request (token-based authentication)")
        return LoginRefused(SYSTEM, f"{method} {endpoint}: NetSuite {what} (401{f' {code}' if code else ''})",
                            surface=surface, code=code, server_time=server_time(response))

    def _record(self, method: str, path: str, *, body: Any = None, params: Mapping[str, str | int] | None = None
                ) -> httpx.Response:
        headers = {"X-NetSuite-PropertyNameValidation": "error"}
        return self._call(self._rest, method, f"{RECORD_PATH}/{path}", endpoint="record", body=body,
                          params=params, headers=headers)

    def _refusal(self, response: httpx.Response, record_type: str, record_id: str) -> RecordRejected:
        """NetSuite's refusal in its own words; an error answer without them cannot be read."""
        body = _decode(response, "record")
        details = body.get("o:errorDetails") if isinstance(body, dict) else None
        if not isinstance(details, list) or not details or not isinstance(details[0], dict):
            raise _Unreadable(f"HTTP {response.status_code} without NetSuite's error details")
        first = details[0]
        message = str(first.get("detail", "")).strip()
        if len(details) > 1:
            message += " (and: " + "; ".join(str(d.get("detail", "")) for d in details[1:] if isinstance(d, dict)) + ")"
        path = first.get("o:errorPath")
        return RecordRejected(violation(record_type, record_id, str(first.get("o:errorCode", "ERROR")), message,
                                        str(path) if path else None))

    # --- answers that cannot be read ----------------------------------------------------------------
    def _unreadable(self, attempt: int) -> None:
        """Count a lost answer and wait before the next try (none after the last)."""
        self.guard.count("transient_failures")
        if attempt + 1 < self.guard.retry.max_attempts:
            time.sleep(self.guard.retry.delay(attempt))

    def _read(self, what: str, send: Callable[[], httpx.Response], read: Callable[[httpx.Response], _T]) -> _T:
        """A read is safe to repeat, so an answer that cannot be read is asked for again, a few times."""
        problem = "no answer"
        for attempt in range(self.guard.retry.max_attempts):
            if attempt:
                self.guard.count("retries")
            try:
                return read(send())
            except _Unreadable as exc:
                problem = str(exc)
                self._unreadable(attempt)
        raise TransientError(SYSTEM, f"{what}: {self.guard.retry.max_attempts} answers in a row could not be read "
                                     f"(last: {problem})")

    def _write(self, what: str, send: Callable[[], httpx.Response], read: Callable[[httpx.Response], _T],
               confirm: Callable[[], _T | None], *, confirm_each: bool = True) -> _T:
        """Send a write; when its answer cannot be read, learn from NetSuite itself whether it happened.

        An unreadable answer says nothing about the write: it may have been saved before the answer
        was lost. The record read back by external id decides: written as sent, that is the result;
        not (absent, or not updated), the write is sent again, which an upsert makes harmless. With
        `confirm_each` the record is read back after every lost answer (a read is cheaper than a
        second write); otherwise the write is simply sent again, and read back once the tries are
        used up. When nothing shows the write happened, the error is transient: the work is retried.
        """
        problem = "no answer"
        attempts = self.guard.retry.max_attempts
        for attempt in range(attempts):
            if attempt:
                self.guard.count("retries")
            try:
                return read(send())
            except _Unreadable as exc:
                problem = str(exc)
            if confirm_each or attempt + 1 == attempts:
                found = confirm()
                self._count_readback(found is not None)
                if found is not None:
                    return found
            self._unreadable(attempt)
        raise TransientError(SYSTEM, f"{what}: {attempts} answers in a row could not be read (last: {problem}), "
                                     "and reading it back did not show it written as sent; it is sent again later")

    def _count_readback(self, written: bool) -> None:
        with self._readbacks_lock:
            self.readbacks["written" if written else "not_written"] += 1

    def _written(self, response: httpx.Response, record_type: str, record_id: str) -> str:
        """The internal id a write answered with (204 + Location), or NetSuite's refusal."""
        if response.status_code == 204:
            return _location_id(response)
        if 400 <= response.status_code < 500:
            raise self._refusal(response, record_type, record_id)
        raise _Unreadable(f"HTTP {response.status_code} to a write, which NetSuite answers with 204")

    def _confirm(self, record_type: str, key: str, sent: Mapping[str, Any]) -> str | None:
        """One read of the record after a lost answer: its internal id if it holds what was sent."""
        expand = any(isinstance(v, dict) and "items" in v for v in sent.values())
        response = self._record("GET", f"{record_type}/{key}",
                                params={"expandSubResources": "true"} if expand else None)
        if response.status_code != 200:
            return None  # absent (404), or an answer that says nothing: either way not shown written
        try:
            stored = _decode(response, "record")
        except _Unreadable:
            return None
        if not isinstance(stored, dict) or stored.get("id") is None or not written_as_sent(sent, stored):
            return None
        return str(stored["id"])

    # --- references -----------------------------------------------------------------------------
    def _resolve(self, record_type: str, record_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Turn `{"externalId", "type"}` references into `{"id"}` for the REST record service."""
        wanted: dict[str, set[str]] = {}

        def collect(value: Any) -> None:
            if isinstance(value, dict):
                if set(value) == {"externalId", "type"}:
                    wanted.setdefault(str(value["type"]), set()).add(str(value["externalId"]))
                else:
                    for inner in value.values():
                        collect(inner)
            elif isinstance(value, list):
                for inner in value:
                    collect(inner)

        collect(dict(fields))
        found = {t: self.internal_ids_for(t, sorted(ids)) for t, ids in wanted.items()}

        def rewrite(value: Any, path: str) -> Any:
            if isinstance(value, dict):
                if set(value) == {"externalId", "type"}:
                    internal = found[str(value["type"])].get(str(value["externalId"]))
                    if internal is None:
                        raise RecordRejected(violation(
                            record_type, record_id, "NONEXISTENT_ID",
                            f"no {value['type']} with external ID {value['externalId']} exists in NetSuite", path))
                    return {"id": internal}
                return {k: rewrite(v, k if not path else f"{path}.{k}") for k, v in value.items()}
            if isinstance(value, list):
                return [rewrite(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return value

        return {k: rewrite(v, k) for k, v in fields.items()}

    def _remember(self, record_type: str, external_id: str, internal_id: str) -> None:
        with self._ids_lock:
            self._ids[(record_type, external_id)] = internal_id
            self._ids.move_to_end((record_type, external_id))
            while len(self._ids) > ID_CACHE_SIZE:
                self._ids.popitem(last=False)

    def internal_id_for(self, record_type: str, external_id: str) -> str | None:
        """NetSuite's internal id for q2c's external id, cached (ids never change once given)."""
        return self.internal_ids_for(record_type, [external_id]).get(external_id)

    def internal_ids_for(self, record_type: str, external_ids: Sequence[str]) -> dict[str, str]:
        with self._ids_lock:
            found = {}
            for e in external_ids:
                internal = self._ids.get((record_type, e))
                if internal is not None:
                    found[e] = internal
                    self._ids.move_to_end((record_type, e))
        missing = [e for e in dict.fromkeys(external_ids) if e not in found]
        found.update(self._present(record_type, missing))
        return found

    def _present(self, record_type: str, external_ids: Sequence[str]) -> dict[str, str]:
        """Which of these external ids NetSuite holds now (SuiteQL, never the cache), with internal ids."""
        table, type_filter = (("transaction", _TRANSACTION_TYPES[record_type]) if record_type in _TRANSACTION_TYPES
                              else (record_type, None))
        found: dict[str, str] = {}
        ids = list(dict.fromkeys(external_ids))
        for start in range(0, len(ids), _IN_CHUNK):
            where = f"externalid IN {in_list(ids[start:start + _IN_CHUNK])}"
            if type_filter is not None:
                where += f" AND type = {quote(type_filter)}"
            for row in self.suiteql(f"SELECT id, externalid FROM {table} WHERE {where}"):
                found[row["externalid"]] = row["id"]
                self._remember(record_type, row["externalid"], row["id"])
        return found

    # --- record service -------------------------------------------------------------------------
    def create(self, record_type: str, fields: Mapping[str, Any]) -> str:
        """POST a new record; returns the internal id from the Location header.

        With an externalId a lost answer is settled by reading the record back; without one it
        cannot be, and creating again could make a second record, so that is left to a person.
        """
        external = fields.get("externalId")
        record_id = str(external) if external is not None else "(new)"
        body = self._resolve(record_type, record_id, fields)

        def confirm() -> str | None:
            if external is None:
                raise ConnectorError(SYSTEM, f"POST {record_type}: the answer could not be read, and a record "
                                             "without externalId cannot be looked up; check NetSuite before "
                                             "creating it again")
            return self._confirm(record_type, _eid(str(external)), body)

        internal = self._write(f"POST {record_type} {record_id}", lambda: self._record("POST", record_type, body=body),
                               lambda r: self._written(r, record_type, record_id), confirm)
        if external is not None:
            self._remember(record_type, str(external), internal)
        return internal

    def upsert(self, record_type: str, external_id: str, fields: Mapping[str, Any]) -> str:
        """PUT .../eid:{externalId}: creates or updates; returns the internal id."""
        body = self._resolve(record_type, external_id, {k: v for k, v in fields.items() if k != "externalId"})
        key = _eid(external_id)
        internal = self._write(f"PUT {record_type} {external_id}",
                               lambda: self._record("PUT", f"{record_type}/{key}", body=body),
                               lambda r: self._written(r, record_type, external_id),
                               lambda: self._confirm(record_type, key, body))
        self._remember(record_type, external_id, internal)
        return internal

    def update(self, record_type: str, internal_id: str, fields: Mapping[str, Any]) -> None:
        body = self._resolve(record_type, internal_id, fields)
        self._write(f"PATCH {record_type} {internal_id}",
                    lambda: self._record("PATCH", f"{record_type}/{internal_id}", body=body),
                    lambda r: self._written(r, record_type, internal_id),
                    lambda: self._confirm(record_type, internal_id, body))

    def delete(self, record_type: str, internal_id: str) -> None:
        def read(response: httpx.Response) -> bool:
            if response.status_code in (204, 404):
                return True
            if 400 <= response.status_code < 500:
                raise self._refusal(response, record_type, internal_id)
            raise _Unreadable(f"HTTP {response.status_code} to a delete, which NetSuite answers with 204")

        def confirm() -> bool | None:
            return True if self._record("GET", f"{record_type}/{internal_id}").status_code == 404 else None

        self._write(f"DELETE {record_type} {internal_id}",
                    lambda: self._record("DELETE", f"{record_type}/{internal_id}"), read, confirm)

    def get(self, record_type: str, internal_id: str, *, expand: bool = False) -> dict[str, Any] | None:
        return self._get(record_type, internal_id, internal_id, expand)

    def get_by_external_id(self, record_type: str, external_id: str, *, expand: bool = False
                           ) -> dict[str, Any] | None:
        return self._get(record_type, _eid(external_id), external_id, expand)

    def _get(self, record_type: str, key: str, record_id: str, expand: bool) -> dict[str, Any] | None:
        params = {"expandSubResources": "true"} if expand else None

        def read(response: httpx.Response) -> dict[str, Any] | None:
            if response.status_code == 404:
                self._refusal(response, record_type, record_id)  # a 404 that is NetSuite's, not a proxy's
                return None
            if response.status_code != 200:
                raise self._refusal(response, record_type, record_id)
            body = _decode(response, "record")
            if not isinstance(body, dict):
                raise _Unreadable(f"GET {record_type} {record_id}: body is not a record")
            return body

        return self._read(f"GET {record_type} {record_id}",
                          lambda: self._record("GET", f"{record_type}/{key}", params=params), read)

    # --- SuiteQL --------------------------------------------------------------------------------
    def suiteql(self, query: str, *, page_size: int = SUITEQL_PAGE) -> Iterator[dict[str, str]]:
        """Rows of a SuiteQL query, page after page while hasMore; values are strings."""
        offset = 0

        def read(response: httpx.Response) -> tuple[list[dict[str, Any]], bool]:
            if response.status_code != 200:
                raise self._refusal(response, "suiteql", query[:200])
            page = _decode(response, "suiteql")
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise _Unreadable("SuiteQL page without items")
            return items, bool(page.get("hasMore"))

        def send(at: int) -> httpx.Response:
            return self._call(self._rest, "POST", SUITEQL_PATH, endpoint="suiteql", body={"q": query},
                              params={"limit": page_size, "offset": at}, headers={"Prefer": "transient"})

        while True:
            items, more = self._read("suiteql", functools.partial(send, offset), read)
            for item in items:
                yield {k: str(v) for k, v in item.items() if k != "links"}
            if not more:
                return
            offset += len(items)
            if not items:
                raise TransientError(SYSTEM, "suiteql: hasMore with an empty page")

    def jobs_status(self, external_ids: Iterable[str]) -> dict[str, JobStatus]:
        """Project status by canonical project id, for checking time before it is sent."""
        refs = self.config.references
        closed_id = refs.job_statuses.get("closed")
        closed_names = {n.lower() for n in refs.closed_job_status_names}
        result: dict[str, JobStatus] = {}
        ids = list(dict.fromkeys(external_ids))
        for start in range(0, len(ids), _IN_CHUNK):
            query = ("SELECT id, externalid, entitystatus, BUILTIN.DF(entitystatus) AS statusname FROM job "
                     f"WHERE externalid IN {in_list(ids[start:start + _IN_CHUNK])}")
            for row in self.suiteql(query):
                status_id, name = row.get("entitystatus"), row.get("statusname")
                closed = status_id == closed_id or (name or "").lower() in closed_names
                result[row["externalid"]] = JobStatus(row["externalid"], row["id"], status_id, name, closed)
                self._remember("job", row["externalid"], row["id"])
        return result

    def employees(self, *, role_field: str | None = None) -> list[Employee]:
        """Every employee with id, email, whether inactive, name and Employee ID (entityid), and the value of
        `role_field` (`title` or a custom entity field) when given (reference data, refreshed in batch)."""
        extra = f", {role_field}" if role_field else ""
        query = (f"SELECT id, email, externalid, isinactive, entityid, firstname, lastname{extra} FROM employee "
                 "ORDER BY id")
        try:
            rows = list(self.suiteql(query))
        except RecordRejected as exc:
            if not role_field:
                raise
            raise RecordRejected(exc.violation.model_copy(update={
                "object": "employee", "field": role_field,
                "message": f"NetSuite refused to read the employee field {role_field} "
                           f"(systems.erp.employee_role_field): {exc.violation.message}",
                "action": "Set systems.erp.employee_role_field to title or to the id of an employee custom field "
                          "that holds the role (or remove it), then run `q2c reference sync` again"})) from None

        def text(row: Mapping[str, Any], key: str) -> str | None:
            value = row.get(key)
            return (str(value).strip() or None) if value is not None else None

        return [Employee(row["id"], text(row, "email"), text(row, "externalid"), row.get("isinactive") == "T",
                         first_name=text(row, "firstname"), last_name=text(row, "lastname"),
                         entity_id=text(row, "entityid"), role=text(row, role_field) if role_field else None)
                for row in rows]

    def employee_ids_by_email(self) -> dict[str, str]:
        """Active employees' internal ids by lower-cased email, for rating and posting time."""
        return {e.email.lower(): e.internal_id for e in self.employees() if e.email and not e.inactive}

    def invoices(self, external_ids: Iterable[str]) -> dict[str, InvoiceStanding]:
        """Where q2c's invoices and credit memos stand in NetSuite (open, paid, applied, voided): the 'invoice
        posted' path."""
        result: dict[str, InvoiceStanding] = {}
        ids = list(dict.fromkeys(external_ids))
        for start in range(0, len(ids), _IN_CHUNK):
            for standing in self._billing_documents(f"externalid IN {in_list(ids[start:start + _IN_CHUNK])}"):
                result[standing.external_id] = standing
        return result

    def invoices_changed(self, since: date | None) -> list[InvoiceStanding]:
        """Invoices and credit memos with an external id whose lastmodifieddate is on or after `since` (all without
        it), oldest change first. Dates compare to the day, so the day of the last change is read again: a
        status seen twice changes nothing."""
        where = "externalid IS NOT NULL"
        if since is not None:
            where += f" AND lastmodifieddate >= {suiteql_date_literal(since)}"
        return self._billing_documents(where, order="lastmodifieddate, id")

    def _billing_documents(self, where: str, *, order: str | None = None) -> list[InvoiceStanding]:
        query = ("SELECT id, externalid, type, tranid, status, foreigntotal, lastmodifieddate FROM transaction "
                 f"WHERE type IN {in_list(_BILLING_TYPES)} AND {where}" + (f" ORDER BY {order}" if order else ""))
        out = []
        for row in self.suiteql(query):
            kind: Literal["invoice", "creditmemo"] = "creditmemo" if row.get("type") == "CustCred" else "invoice"
            out.append(InvoiceStanding(row["externalid"], row["id"], row.get("tranid"),
                                       transaction_state_from_netsuite(row.get("type", ""), row.get("status", "")),
                                       row.get("foreigntotal"), kind, suiteql_date(row.get("lastmodifieddate"))))
            self._remember(kind, row["externalid"], row["id"])
        return out

    # --- currency exchange rates -----------------------------------------------------------------
    def currency_rates(self, since: date | None) -> list[dict[str, str]]:
        """The `currencyrate` table's rows (id, basecurrency, transactioncurrency, exchangerate, effectivedate;
        currencies as internal ids), entered or changed on or after `since` (all without it), by id.

        Table and columns as NetSuite's SuiteQL has them (SuiteScript Records Browser 2026.1 "Currency Rate";
        queried by these names, with lastmodifieddate, in public SuiteQL examples: timdietrich.me, "SuiteQL,
        Currencies, and Exchange Rates"). `currencyratetype` (the Currency Exchange Rate Types feature) is not
        read: it exists only where that feature is on [not confirmed how SuiteQL answers without it]. Paged as
        every SuiteQL read; a query returns at most 100,000 rows, so `since` keeps the refreshes small."""
        where = f" WHERE lastmodifieddate >= {suiteql_date_literal(since)}" if since is not None else ""
        return list(self.suiteql("SELECT id, basecurrency, transactioncurrency, exchangerate, effectivedate "
                                 f"FROM currencyrate{where} ORDER BY id"))

    def currency_symbols(self) -> dict[str, str]:
        """Every currency record's ISO code (`symbol`) by internal id."""
        return {row["id"]: row.get("symbol", "") for row in self.suiteql("SELECT id, symbol FROM currency ORDER BY id")}

    # --- bulk -----------------------------------------------------------------------------------
    def bulk_upsert(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        """Upsert many records of one type by externalId; one result per record, in input order.

        Below `bulk_threshold` records go one by one through REST; otherwise through the RESTlet
        in chunks of `RESTLET_CHUNK`, up to `concurrency_limit` chunks at once (the account guard keeps the
        total in flight within the limit, whatever else this process sends meanwhile).
        """
        for index, record in enumerate(records):
            if not isinstance(record.get("externalId"), str) or not record["externalId"]:
                raise ValueError(f"{record_type} record {index} has no externalId: bulk writes are upserts")
        if len(records) < self.config.bulk_threshold:
            return [self._rest_upsert_result(record_type, r) for r in records]
        chunks = [list(records[i:i + RESTLET_CHUNK]) for i in range(0, len(records), RESTLET_CHUNK)]
        workers = max(1, min(self.config.concurrency_limit, len(chunks)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="netsuite-bulk") as pool:
            futures = [pool.submit(self._restlet_chunk, record_type, chunk) for chunk in chunks]
            outcomes: list[list[BulkResult] | TransientError] = []
            for future in futures:
                try:
                    outcomes.append(future.result())
                except TransientError as exc:
                    outcomes.append(exc)
        for outcome in outcomes:
            if isinstance(outcome, TransientError):
                raise outcome  # the others are written; a replay upserts them again harmlessly
        return [result for outcome in outcomes if isinstance(outcome, list) for result in outcome]

    def _rest_upsert_result(self, record_type: str, record: Mapping[str, Any]) -> BulkResult:
        external = str(record["externalId"])
        try:
            internal = self.upsert(record_type, external, record)
        except RecordRejected as exc:
            return BulkResult(external, None, "error", exc.violation)
        return BulkResult(external, internal, "upserted")

    def _send_chunk(self, body: bytes, params: Mapping[str, str], *, patience: int = 6) -> httpx.Response:
        """A chunk refused for concurrency again and again (others hold the account's slots) waits longer.

        The chunk is an upsert by external id, so sending it again is always safe.
        """
        for round_ in range(patience):
            try:
                return self._call(self._restlet, "POST", self._restlet_path, endpoint="restlet", content=body,
                                  params=params)
            except RateLimited:
                if round_ == patience - 1:
                    raise
                time.sleep(self.config.throttle_wait_seconds * (2 ** round_) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _restlet_chunk(self, record_type: str, chunk: list[Mapping[str, Any]], *, rounds: int = 5
                       ) -> list[BulkResult]:
        """One RESTlet call per round; records the script deferred (governance) go again."""
        results: dict[int, BulkResult] = {}
        pending = list(range(len(chunk)))
        for _ in range(rounds):
            if not pending:
                break
            outcome = self._restlet_call(record_type, [chunk[i] for i in pending])
            if isinstance(outcome, ScriptRefusal):
                for i in pending:
                    external = str(chunk[i]["externalId"])
                    results[i] = BulkResult(external, None, "error",
                                            violation(record_type, external, outcome.code, outcome.message, None))
                pending = []
                break
            deferred: list[int] = []
            for i, answer in zip(pending, outcome, strict=True):
                external = str(chunk[i]["externalId"])
                status = answer.get("status")
                internal = answer.get("internalId")
                if status in ("created", "updated", "upserted") and internal:
                    results[i] = BulkResult(external, str(internal), status)
                    self._remember(record_type, external, str(internal))
                    continue
                error = answer.get("error") or {}
                error = error if isinstance(error, dict) else {}
                code = str(error.get("code", "ERROR"))
                if code == "Q2C_GOVERNANCE_DEFERRED":
                    deferred.append(i)
                    continue
                field = error.get("field")
                results[i] = BulkResult(external, str(internal) if internal else None, "error",
                                        violation(record_type, external, code, str(error.get("message", "")),
                                                  str(field) if field else None))
            pending = deferred
        for i in pending:
            external = str(chunk[i]["externalId"])
            results[i] = BulkResult(external, None, "error", Violation(
                system=SYSTEM, object=record_type, record_id=external, field=None,
                rule="netsuite.Q2C_GOVERNANCE_DEFERRED",
                message="the bulk upsert script ran out of governance units several times in a row",
                action="Replay later; if it persists, lower the chunk size or raise the script's governance.",
                retryable=True))
        return [results[i] for i in range(len(chunk))]

    def _restlet_call(self, record_type: str, records: list[Mapping[str, Any]]
                      ) -> list[dict[str, Any]] | ScriptRefusal:
        """One chunk through the RESTlet: its per-record answers, or the script's refusal of the call.

        A lost answer means the chunk is sent again (one call covers up to 200 records, where
        reading them back costs a call each); once the tries are used up the records are read back.
        """
        body = restlet_request(record_type, records)
        params = {"script": self.config.restlet_script, "deploy": self.config.restlet_deploy}
        return self._write(f"RESTlet {record_type} x{len(records)}", lambda: self._send_chunk(body, params),
                           lambda r: _restlet_answers(r, len(records)),
                           lambda: self._confirm_chunk(record_type, records), confirm_each=False)

    def restlet_answers_empty_batch(self) -> ScriptRefusal | None:
        """First contact with the bulk RESTlet: an empty chunk; None when the script answers it cleanly."""
        params = {"script": self.config.restlet_script, "deploy": self.config.restlet_deploy}
        outcome = self._read("RESTlet (empty batch)",
                             lambda: self._send_chunk(restlet_request("timebill", []), params, patience=1),
                             lambda r: _restlet_answers(r, 0))
        return outcome if isinstance(outcome, ScriptRefusal) else None

    def _confirm_chunk(self, record_type: str, records: list[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
        """The chunk's records read back: answers as the script would give them if every one is written as sent."""
        externals = [str(r["externalId"]) for r in records]
        present = self._present(record_type, externals)
        if any(e not in present for e in externals):
            return None  # at least one is not there: the chunk goes again
        answers: list[dict[str, Any]] = []
        for external, record in zip(externals, records, strict=True):
            try:
                sent = self._resolve(record_type, external, {k: v for k, v in record.items() if k != "externalId"})
            except RecordRejected:
                return None  # a reference that does not exist: the script refused this record
            expand = any(isinstance(v, dict) and "items" in v for v in sent.values())
            stored = self.get_by_external_id(record_type, external, expand=expand)
            if stored is None or not written_as_sent(sent, stored):
                return None
            answers.append({"externalId": external, "internalId": present[external], "status": "upserted"})
        return answers


def restlet_request(record_type: str, records: Sequence[Mapping[str, Any]]) -> bytes:
    """The bulk RESTlet's request body for one chunk, byte for byte as it is sent."""
    return wire.dumps({"recordType": record_type, "records": [dict(r) for r in records]})


@dataclass(frozen=True)
class ScriptRefusal:
    """The RESTlet refused the whole call (HTTP 400 {"error": {"code", "message"}}): the script, or NetSuite
    in front of it (no such deployment, a role outside its audience)."""

    code: str
    message: str


class _Unreadable(Exception):
    """An answer that says nothing reliable: a cut-off body, a page from a proxy, a status NetSuite never sends."""


def _restlet_answers(response: httpx.Response, expected: int) -> list[dict[str, Any]] | ScriptRefusal:
    payload = _decode(response, "restlet")
    if response.status_code != 200:
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict) or not error.get("code"):
            raise _Unreadable(f"RESTlet answered HTTP {response.status_code} without an error code")
        return ScriptRefusal(str(error["code"]), str(error.get("message", "the bulk upsert script refused the call")))
    answers = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(answers, list) or len(answers) != expected or not all(isinstance(a, dict) for a in answers):
        raise _Unreadable(f"restlet: expected {expected} results, got "
                          f"{len(answers) if isinstance(answers, list) else 'none'}")
    return answers


def _error_code(response: httpx.Response) -> str | None:
    """The error code of a refusal in either surface's shape: o:errorDetails (REST) or error.code (RESTlet)."""
    try:
        body = wire.loads(response.content) if response.content else None
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    details = body.get("o:errorDetails")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return str(details[0].get("o:errorCode") or "") or None
    error = body.get("error")
    return str(error.get("code") or "") or None if isinstance(error, dict) else None


def _decode(response: httpx.Response, endpoint: str) -> Any:
    """JSON with exact decimals; a body that is not JSON cannot be read (a proxy page, a cut-off body)."""
    try:
        return wire.loads(response.content)
    except ValueError as exc:
        raise _Unreadable(f"{endpoint}: malformed JSON in HTTP {response.status_code} response "
                          f"({len(response.content)} bytes)") from exc


def _eid(external_id: str) -> str:
    return f"eid:{urllib.parse.quote(external_id, safe='')}"


def _location_id(response: httpx.Response) -> str:
    """The internal id at the end of the Location header (NetSuite's internal ids are numbers)."""
    location = response.headers.get("Location", "")
    internal = urllib.parse.unquote(location.rstrip("/").rsplit("/", 1)[-1])
    if not location or not internal.isdigit():
        raise _Unreadable(f"write answered 204 without a record Location ({location or 'none'})")
    return internal
