"""Webhook subscriptions for invoice status, and the notifications Business Central pushes.

Documented ("Working with webhooks in Dynamics 365 Business Central"): `POST {api}/subscriptions` with
`notificationUrl`, `resource` and `clientState`; before answering, Business Central calls the
`notificationUrl` with a `validationToken` query parameter and keeps the subscription only when the answer
is 200 with the token as its body; a subscription expires after three days and is renewed by
`PATCH subscriptions('{id}')` (with its ETag, and the same handshake); each notification is POSTed as
`{"value": [{"subscriptionId", "clientState", "expirationDateTime", "resource", "changeType",
"lastModifiedDateTime"}]}`, a change to a document line notifying its header.

q2c subscribes to `salesInvoices` and `salesCreditMemos` of every company. A notification only says "look
now": the invoice-status poll reads what changed (so a notice lost, late or for a document q2c does not
know costs nothing but the poll interval). Business Central sends the `clientState` q2c gave it back with
each notification, so a notification without it is not from q2c's subscription and is refused.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from q2c.connectors.business_central import odata
from q2c.connectors.business_central.client import BusinessCentralClient
from q2c.workflows.ports import Notice, NoticeKind, Subscriptions

WATCHED = ("salesInvoices", "salesCreditMemos")
RENEW_BEFORE = timedelta(days=1)  # of the three days a subscription lives: renewed on the first upkeep after two


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Notices:
    def __init__(self, client: BusinessCentralClient) -> None:
        self.client = client
        self.settings = client.settings

    @property
    def _state(self) -> str:
        secret = self.settings.notification_client_state
        return secret.get_secret_value() if secret is not None else ""

    def wanted(self) -> list[str]:
        """The resources q2c subscribes to, as Business Central names them."""
        return [f"/api/v2.0/companies({company})/{entity_set}"
                for company in dict.fromkeys(self.settings.companies.values()) for entity_set in WATCHED]

    def keep_subscribed(self, *, now: datetime | None = None) -> Subscriptions | None:
        """Create the subscriptions that are missing and renew those expiring within a day. A create whose answer
        was lost is found by the next upkeep (a second subscription to one resource would only notify twice)."""
        url = self.settings.notification_url
        if url is None:
            return None
        now = now or datetime.now(UTC)
        base = f"{self.settings.api_base}/subscriptions"
        mine: dict[str, dict[str, Any]] = {}
        for page in self.client.pages(base, obj="subscriptions"):
            for row in page:
                if row.get("notificationUrl") == url and hmac.compare_digest(str(row.get("clientState") or ""),
                                                                             self._state):
                    mine[str(row.get("resource", "")).lstrip("/").lower()] = row
        created = renewed = 0
        expiries: list[datetime] = []
        for resource in self.wanted():
            body = {"notificationUrl": url, "resource": resource, "clientState": self._state}
            held = mine.get(resource.lstrip("/").lower())
            if held is None:
                answer = self.client.checked(self.client.send("POST", base, body=body, once=True),
                                             obj="subscription", record_id=resource)
                created += 1
            else:
                expires = _when(held.get("expirationDateTime"))
                if expires is not None and expires - now > RENEW_BEFORE:
                    expiries.append(expires)
                    continue
                key = str(held["subscriptionId"])
                answer = self.client.checked(self.client.send(
                    "PATCH", f"{base}('{key}')", body=body, headers={"If-Match": odata.etag(held)}),
                    obj="subscription", record_id=resource)
                renewed += 1
            expires = _when(answer.get("expirationDateTime")) if isinstance(answer, dict) else None
            if expires is not None:
                expiries.append(expires)
        return Subscriptions(len(self.wanted()), created, renewed, min(expiries) if expiries else None)

    def notice(self, query: Mapping[str, str], body: bytes) -> Notice:
        """A handshake is answered with its token; a notification is q2c's when every entry carries q2c's
        clientState, and says invoices changed when an entry's resource is one of the watched sets."""
        token = query.get("validationToken")
        if token is not None:
            return Notice(reply=token)
        try:
            entries = json.loads(body or b"null").get("value")
        except (ValueError, AttributeError):
            return Notice(refused="the body is not a Business Central notification ({\"value\": [...]})")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return Notice(refused="the body is not a Business Central notification ({\"value\": [...]})")
        if not self._state or not all(hmac.compare_digest(str(e.get("clientState") or ""), self._state)
                                      for e in entries):
            return Notice(refused="a notification without q2c's clientState: not from q2c's subscription")
        changed: tuple[NoticeKind, ...] = ()
        if any(any(f"/{s}".lower() in str(e.get("resource", "")).lower() for s in WATCHED) for e in entries):
            changed = ("invoice",)
        return Notice(changed=changed)
