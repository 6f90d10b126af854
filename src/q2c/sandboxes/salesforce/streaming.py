"""The Streaming API: Bayeux long polling at /cometd/NN.N, delivering Opportunity change events.

A client handshakes with its bearer token (the Authorization header), subscribes to
/data/OpportunityChangeEvent or /data/ChangeEvents with the replay extension (-1 new events only,
-2 everything retained, or the last replayId it saw), then polls with /meta/connect. An event
message is {channel, data: {schema, payload, event: {replayId}}}. A client the server has
forgotten (idle, or dropped) is told `403::Unknown client` with advice to handshake again; a dead
session is `401::Authentication invalid`.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from q2c.sandboxes.salesforce.auth import bearer
from q2c.sandboxes.salesforce.changes import STREAMING_CHANNELS, ChangeLog, schema_id

if TYPE_CHECKING:
    from q2c.sandboxes.salesforce.org import SalesforceOrg

STREAMING_CLIENT_IDLE_SECONDS = 150.0  # 40 s reconnect + 110 s long-poll, as the real server allows
_CONNECT_ADVICE = {"reconnect": "retry", "interval": 0, "timeout": 110_000}


@dataclass
class StreamingClient:
    client_id: str
    token: str
    subscriptions: dict[str, int] = field(default_factory=dict)  # channel -> last delivered replayId
    last_seen: float = field(default_factory=time.monotonic)


class StreamingClients:
    """The CometD clients the server knows and where each stands in each channel. Not locked: the org locks."""

    def __init__(self, changes: ChangeLog) -> None:
        self._changes = changes
        self._clients: dict[str, StreamingClient] = {}

    def handshake(self, token: str) -> str:
        self._expire()
        client_id = secrets.token_hex(14)
        self._clients[client_id] = StreamingClient(client_id, token)
        return client_id

    def client(self, client_id: str) -> StreamingClient | None:
        self._expire()
        client = self._clients.get(client_id)
        if client is not None:
            client.last_seen = time.monotonic()
        return client

    def subscribe(self, client_id: str, channel: str, replay_from: int) -> str | None:
        """Subscribe; returns a Bayeux error text or None."""
        client = self._clients.get(client_id)
        if client is None:
            return "403::Unknown client"
        if channel not in STREAMING_CHANNELS:
            return f"400::The channel you requested to subscribe to does not exist {channel}"
        latest, earliest = self._changes.last_replay, self._changes.earliest
        if replay_from == -1:
            cursor = latest
        elif replay_from == -2:
            cursor = earliest - 1
        elif earliest - 1 <= replay_from <= latest:
            cursor = replay_from
        else:
            return (f"400::The replayId {{{replay_from}}} you provided was invalid.  Please provide a valid ID, "
                    "-2 to replay all events, or -1 to replay only new events.")
        client.subscriptions[channel] = cursor
        return None

    def unsubscribe(self, client_id: str, channel: str) -> None:
        client = self._clients.get(client_id)
        if client is not None:
            client.subscriptions.pop(channel, None)

    def disconnect(self, client_id: str) -> None:
        self._clients.pop(client_id, None)

    def drop_all(self) -> None:
        self._clients.clear()

    def collect(self, client_id: str) -> list[dict[str, Any]]:
        """Bayeux messages for the events this client has not yet been given; advances its cursors."""
        client = self._clients.get(client_id)
        if client is None:
            return []
        messages: list[dict[str, Any]] = []
        for channel, cursor in client.subscriptions.items():
            fresh = self._changes.after(cursor)
            for entry in fresh:
                messages.append({"channel": channel, "data": {
                    "schema": schema_id(), "payload": entry.payload, "event": {"replayId": entry.replay_id}}})
            if fresh:
                client.subscriptions[channel] = fresh[-1].replay_id
        return messages

    def _expire(self) -> None:
        horizon = time.monotonic() - STREAMING_CLIENT_IDLE_SECONDS
        for client_id in [c.client_id for c in self._clients.values() if c.last_seen < horizon]:
            del self._clients[client_id]


def _malformed() -> Response:
    return PlainTextResponse("Malformed Bayeux message", status_code=400)


class BayeuxEndpoint:
    """POST /cometd/NN.N: one batch of Bayeux messages in, their replies (and any events) out."""

    def __init__(self, org: SalesforceOrg, *, long_poll_seconds: float) -> None:
        self.org = org
        self.long_poll_seconds = long_poll_seconds

    async def handle(self, request: Request, version: str, suffix: str = "") -> Response:
        if not re.fullmatch(r"\d{2,3}\.\d", version):
            return PlainTextResponse("API version in the URI is mandatory. URI format: '/cometd/59.0'",
                                     status_code=400)
        if float(version) < 37.0:
            return PlainTextResponse("Unsupported API version. Only API versions '37.0' and later are "
                                     "supported. URI format: '/cometd/59.0'", status_code=400)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _malformed()
        messages = body if isinstance(body, list) else [body]
        if not all(isinstance(message, dict) for message in messages):
            return _malformed()
        token = bearer(request)
        replies: list[dict[str, Any]] = []
        cookie: str | None = None
        for message in messages:
            base: dict[str, Any] = {"channel": str(message.get("channel", ""))}
            if "id" in message:
                base["id"] = message["id"]
            if base["channel"] == "/meta/handshake":
                reply = self._handshake(base, token)
                cookie = reply.get("clientId", cookie)
                replies.append(reply)
            else:
                replies.extend(await self._client_message(base, message, token))
        response = JSONResponse(replies)
        if cookie is not None:
            response.set_cookie("BAYEUX_BROWSER", cookie, httponly=True)
        return response

    def _authenticated(self, token: str | None) -> bool:
        return token is not None and self.org.session(token) is not None

    def _handshake(self, base: dict[str, Any], token: str | None) -> dict[str, Any]:
        if token is None or not self._authenticated(token):
            reason = "401::Authentication invalid" if token else "401::Request requires authentication"
            return {**base, "successful": False, "error": "403::Handshake denied",
                    "ext": {"sfdc": {"failureReason": reason}}, "advice": {"reconnect": "none"}}
        return {**base, "clientId": self.org.streaming_handshake(token), "version": "1.0", "minimumVersion": "1.0",
                "supportedConnectionTypes": ["long-polling"], "successful": True, "advice": dict(_CONNECT_ADVICE),
                "ext": {"replay": True, "payload.format": True}}

    async def _client_message(self, base: dict[str, Any], message: dict[str, Any],
                              token: str | None) -> list[dict[str, Any]]:
        channel = base["channel"]
        client_id = str(message.get("clientId", ""))
        base["clientId"] = client_id
        client = self.org.streaming_client(client_id)
        if channel.startswith("/meta/") and channel != "/meta/disconnect" and client is None:
            return [{**base, "successful": False, "error": "403::Unknown client",
                     "advice": {"reconnect": "handshake", "interval": 500}}]
        if channel in {"/meta/connect", "/meta/subscribe"} and (
                not self._authenticated(token) or client is None or client.token != token):
            return [{**base, "successful": False, "error": "401::Authentication invalid",
                     "advice": {"reconnect": "none", "interval": 0}}]
        if channel == "/meta/subscribe":
            return [self._subscribe(base, client_id, message)]
        if channel == "/meta/unsubscribe":
            subscription = str(message.get("subscription", ""))
            self.org.streaming_unsubscribe(client_id, subscription)
            return [{**base, "subscription": subscription, "successful": True}]
        if channel == "/meta/connect":
            return await self._connect(base, client_id, message)
        if channel == "/meta/disconnect":
            self.org.streaming_disconnect(client_id)
            return [{**base, "successful": True}]
        return [{**base, "successful": False, "error": f"403::Publish denied on {channel}"}]

    def _subscribe(self, base: dict[str, Any], client_id: str, message: dict[str, Any]) -> dict[str, Any]:
        subscription = message.get("subscription")
        if not isinstance(subscription, str) or not subscription:
            return {**base, "successful": False, "error": "400::Channel name not specified"}
        if not subscription.startswith("/"):
            return {**base, "subscription": subscription, "successful": False,
                    "error": "400::Channel subscriptions must start with a leading '/'"}
        replay_ext = (message.get("ext") or {}).get("replay") or {}
        replay_from = replay_ext.get(subscription, -1) if isinstance(replay_ext, dict) else -1
        if isinstance(replay_from, bool) or not isinstance(replay_from, int):
            return {**base, "subscription": subscription, "successful": False,
                    "error": f"400::The replayId {{{replay_from}}} you provided was invalid."}
        error = self.org.streaming_subscribe(client_id, subscription, replay_from)
        if error is not None:
            return {**base, "subscription": subscription, "successful": False, "error": error}
        return {**base, "subscription": subscription, "successful": True}

    async def _connect(self, base: dict[str, Any], client_id: str, message: dict[str, Any]) -> list[dict[str, Any]]:
        connection_type = message.get("connectionType", "long-polling")
        if connection_type != "long-polling":
            return [{**base, "successful": False, "error": f"400::Invalid connection type {connection_type}"}]
        events = await self._long_poll(client_id, message)
        return [*events, {**base, "successful": True, "advice": dict(_CONNECT_ADVICE)}]

    async def _long_poll(self, client_id: str, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Hold the connect open until events arrive or the wait ends (the client may ask for less)."""
        asked = (message.get("advice") or {}).get("timeout")
        wait = self.long_poll_seconds
        if isinstance(asked, int | float) and not isinstance(asked, bool):
            wait = min(wait, max(float(asked), 0.0) / 1000)
        deadline = time.monotonic() + wait
        while True:
            events = self.org.streaming_collect(client_id)
            if events or time.monotonic() >= deadline:
                return events
            await asyncio.sleep(min(0.02, max(deadline - time.monotonic(), 0.0)))
