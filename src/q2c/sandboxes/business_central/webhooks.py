"""Webhook subscriptions and the notifications Business Central pushes.

Documented ("Working with webhooks in Dynamics 365 Business Central"): `POST .../api/v2.0/subscriptions`
with `notificationUrl`, `resource` and an optional `clientState`; Business Central then calls the
`notificationUrl` with a `validationToken` query parameter and registers the subscription only if the
answer is 200 with the token as its body; `PATCH subscriptions({id})` renews it with the same handshake;
subscriptions expire after three days; a custom API's subscriptions live under its own route
(`api/q2c/integration/v1.0/subscriptions`); notifications are POSTed as `{"value": [{"subscriptionId",
"clientState", "expirationDateTime", "resource", "changeType", "lastModifiedDateTime"}]}`, `changeType`
created/updated/deleted, or `collection` (with a `$filter` on the resource) when more than 1,000 records
changed within the delay (30 seconds online); a change to a document line notifies its header; a
subscriber answering 408, 429 or 5xx is retried, any other failure deletes the subscription. Recalled: the
handshake is a POST; at most 200 subscriptions. The sandbox's own: the delay is configurable (default 1 s),
retries are a few seconds apart rather than spread over 36 hours.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from q2c.sandboxes.business_central.resources import ApiRequest, ApiResponse, Segment
from q2c.sandboxes.business_central.schema import CREATE, DELETE, READ, UPDATE, entity_set
from q2c.sandboxes.business_central.store import Change, Row, Store
from q2c.sandboxes.business_central.wire import EMPTY_GUID, BcError, bad_request, etag, not_found

LIFETIME = timedelta(days=3)
MAX_SUBSCRIPTIONS = 200
COLLECTION_THRESHOLD = 1000
_RESOURCE = re.compile(r"(?:^|/)api/(?P<api>v2\.0|q2c/integration/v1\.0)/companies\((?P<company>[0-9a-fA-F-]{36})\)"
                       r"/(?P<set>[A-Za-z]+)/?$")
RETRYABLE = {408, 429} | set(range(500, 600))


@dataclass
class Pending:
    subscription_id: str
    changes: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # entity resource -> type, when
    first: datetime | None = None


class Webhooks:
    def __init__(self, store: Store, *, delay_seconds: float = 1.0, retry_seconds: float = 2.0,
                 attempts: int = 3, handshake_timeout: float = 10.0) -> None:
        self.store = store
        self.delay_seconds = delay_seconds
        self.retry_seconds = retry_seconds
        self.attempts = attempts
        self.handshake_timeout = handshake_timeout
        self.delivered: list[dict[str, Any]] = []  # every POST made: url, body, status (for tests and the demo)
        self._pending: dict[str, Pending] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        store.listeners.append(self.record)

    # --- the subscriptions resource -------------------------------------------------------------------------
    def handle(self, request: ApiRequest, segs: list[Segment]) -> ApiResponse:
        self.expire()
        if len(segs) != 1:
            raise BcError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{segs[-1].name}'.")
        key = segs[0].key
        mine = {k: r for k, r in self.store.subscriptions.items() if r.values["_api"] == request.api}
        if key is None:
            if request.method == READ:
                return ApiResponse(200, {"@odata.context": f"{request.base}/$metadata#subscriptions",
                                         "value": [self.render(r) for r in mine.values()]})
            if request.method == CREATE:
                row = self.create(request)
                return ApiResponse(201, {"@odata.context": f"{request.base}/$metadata#subscriptions/$entity",
                                         **self.render(row)})
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{request.method}' requests for 'subscriptions' are "
                          "not allowed within Microsoft Dynamics 365 Business Central OData web services.")
        found = next((r for k, r in mine.items() if k.lower() == key), None)
        if found is None:
            raise not_found("API Webhook Subscription", key)
        row = found
        if request.method == READ:
            return ApiResponse(200, {"@odata.context": f"{request.base}/$metadata#subscriptions/$entity",
                                     **self.render(row)})
        self._check_etag(request, row)
        if request.method == UPDATE:
            self.renew(row, request.body)
            return ApiResponse(200, {"@odata.context": f"{request.base}/$metadata#subscriptions/$entity",
                                     **self.render(row)})
        if request.method == DELETE:
            del self.store.subscriptions[str(row.values["subscriptionId"])]
            return ApiResponse(204)
        raise BcError(405, "BadRequest_MethodNotAllowed", f"'{request.method}' requests for 'subscriptions' are not "
                      "allowed.")

    @staticmethod
    def render(row: Row) -> dict[str, Any]:
        shown = {k: v for k, v in row.values.items() if not k.startswith("_")}
        return {"@odata.etag": etag(str(row.values["subscriptionId"]), row.version), **shown}

    @staticmethod
    def _check_etag(request: ApiRequest, row: Row) -> None:
        wanted = request.headers.get("if-match")
        if wanted is None:
            raise BcError(400, "BadRequest_InvalidToken", "Could not validate the client concurrency token required "
                          "by the service. Please provide a valid token in the client request.")
        if wanted.strip() != "*" and wanted.strip() != etag(str(row.values["subscriptionId"]), row.version):
            raise BcError(412, "Request_EntityChanged", "Another user has already changed the record.")

    def create(self, request: ApiRequest) -> Row:
        body = request.body
        if not isinstance(body, dict):
            raise bad_request("The request body for subscriptions must be a JSON object.")
        unknown = set(body) - {"notificationUrl", "resource", "clientState", "@odata.etag"}
        if unknown:
            raise bad_request(f"The property '{sorted(unknown)[0]}' does not exist on type "
                              "'Microsoft.NAV.subscriptions'.")
        url, resource = str(body.get("notificationUrl") or ""), str(body.get("resource") or "")
        if not re.match(r"https?://", url):
            raise bad_request("notificationUrl must be an absolute http(s) URL.")
        match = _RESOURCE.search(resource)
        if match is None or match.group("api") != request.api:
            raise bad_request(f"The resource '{resource}' is not a webhook-supported entity set of api/{request.api}.")
        spec = entity_set(request.api, match.group("set"))
        if spec is None or not spec.webhooks:
            raise bad_request(f"The resource '{resource}' does not support webhooks.")
        if self.store.book(match.group("company").lower()) is None:
            raise not_found("Company", match.group("company"))
        if len(self.store.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise bad_request(f"The maximum number of subscriptions ({MAX_SUBSCRIPTIONS}) has been reached.")
        client_state = str(body.get("clientState") or "")
        if len(client_state) > 2048:
            raise bad_request("clientState can be at most 2048 characters.")
        self.handshake(url)
        now = self.store.now()
        subscription_id = secrets.token_hex(16)
        row = Row({"subscriptionId": subscription_id, "notificationUrl": url, "resource": resource,
                   "timestamp": 0, "userId": EMPTY_GUID, "lastModifiedDateTime": now, "clientState": client_state,
                   "expirationDateTime": now + LIFETIME, "systemCreatedAt": now, "systemCreatedBy": EMPTY_GUID,
                   "systemModifiedAt": now, "systemModifiedBy": EMPTY_GUID, "_api": request.api,
                   "_company": match.group("company").lower(), "_set": spec.name}, self.store.bump())
        self.store.subscriptions[subscription_id] = row
        return row

    def renew(self, row: Row, body: Any) -> None:
        if not isinstance(body, dict):
            raise bad_request("The request body for subscriptions must be a JSON object.")
        url = str(body.get("notificationUrl") or row.values["notificationUrl"])
        self.handshake(url)
        now = self.store.now()
        row.values.update(notificationUrl=url, clientState=str(body.get("clientState", row.values["clientState"])),
                          expirationDateTime=now + LIFETIME, lastModifiedDateTime=now, systemModifiedAt=now)
        row.version = self.store.bump()

    def handshake(self, url: str) -> None:
        token = secrets.token_urlsafe(24)
        try:
            answer = httpx.post(url, params={"validationToken": token}, timeout=self.handshake_timeout)
        except httpx.HTTPError as exc:
            raise bad_request(f"The notification URL {url} could not be reached for the handshake: {exc}.") from None
        if answer.status_code != 200 or answer.text.strip().strip('"') != token:
            raise bad_request(f"The handshake with the notification URL {url} failed: it answered "
                              f"{answer.status_code} without the validationToken in its body.")

    def expire(self) -> None:
        now = self.store.now()
        for key in [k for k, r in self.store.subscriptions.items() if r.values["expirationDateTime"] <= now]:
            del self.store.subscriptions[key]

    # --- notifications --------------------------------------------------------------------------------------
    def record(self, change: Change) -> None:
        """A store change, queued for each subscription on its entity set (sent after the delay)."""
        for row in list(self.store.subscriptions.values()):
            v = row.values
            if (v["_api"], v["_company"], v["_set"]) != (change.api, change.company_id, change.set_name):
                continue
            resource = f"api/{change.api}/companies({change.company_id})/{change.set_name}({change.row_id})"
            with self._lock:
                pending = self._pending.setdefault(str(v["subscriptionId"]), Pending(str(v["subscriptionId"])))
                now = self.store.now()
                pending.first = pending.first or now
                earlier = pending.changes.get(resource)
                kind = change.change_type
                if earlier is not None and earlier[0] == "created" and kind == "updated":
                    kind = "created"
                pending.changes[resource] = (kind, now)
                if self._timer is None:
                    self._timer = threading.Timer(self.delay_seconds, self.flush)
                    self._timer.daemon = True
                    self._timer.start()

    def flush(self) -> None:
        """Send what is queued now, one POST per notification URL."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._timer = None
        with self.store.lock:
            self.expire()
            by_url: dict[str, list[dict[str, Any]]] = {}
            for item in pending.values():
                row = self.store.subscriptions.get(item.subscription_id)
                if row is None:
                    continue
                v = row.values
                common = {"subscriptionId": v["subscriptionId"], "clientState": v["clientState"],
                          "expirationDateTime": v["expirationDateTime"]}
                entries = by_url.setdefault(str(v["notificationUrl"]), [])
                if len(item.changes) > COLLECTION_THRESHOLD:
                    since = item.first.strftime("%Y-%m-%dT%H:%M:%SZ") if item.first else ""
                    entries.append({**common, "resource": f"/api/{v['_api']}/companies({v['_company']})/{v['_set']}"
                                    f"?$filter=lastModifiedDateTime%20gt%20{since}", "changeType": "collection",
                                    "lastModifiedDateTime": self.store.now()})
                else:
                    entries.extend({**common, "resource": res, "changeType": kind, "lastModifiedDateTime": when}
                                   for res, (kind, when) in item.changes.items())
        for url, entries in by_url.items():
            self._deliver(url, {"value": entries}, self.attempts)

    def _deliver(self, url: str, body: dict[str, Any], attempts_left: int) -> None:
        from q2c.sandboxes.business_central.wire import wire_value
        from q2c.sandboxes.kit import render_json

        text = render_json(wire_value(body))
        try:
            status = httpx.post(url, content=text.encode(), headers={"Content-Type": "application/json"},
                                timeout=10.0).status_code
        except httpx.HTTPError:
            status = 0
        self.delivered.append({"url": url, "body": body, "status": status})
        if 200 <= status < 300:
            return
        if (status == 0 or status in RETRYABLE) and attempts_left > 1:
            timer = threading.Timer(self.retry_seconds, self._deliver, args=(url, body, attempts_left - 1))
            timer.daemon = True
            timer.start()
            return
        if status != 0 and status not in RETRYABLE:
            with self.store.lock:
                for key in [k for k, r in self.store.subscriptions.items() if r.values["notificationUrl"] == url]:
                    del self.store.subscriptions[key]
