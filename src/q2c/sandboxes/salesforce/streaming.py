"""The Streaming API: Bayeux long polling at /cometd/NN.N, delivering Opportunity change events.

A client handshakes with its bearer token (the Authorization header), subscribes to
/data/OpportunityChangeEvent or /data/ChangeEvents with the replay extension (-1 new events only,
-2 everything retained, or the last replayId it saw), then keeps one /meta/connect open after the
other on the same clientId (Streaming API Developer Guide, "How the Client Connects", "Clients and
Timeouts", "Message Durability"). An event message is {channel, data: {schema, payload, event:
{replayId}}}.

What the wire looks like, as observed from real orgs (cometd/cometd#775, Oyatel/CometD.NET#23,
kdcllc/CometD.NetCore.Salesforce#43), and done the same here:
- the handshake answer has clientId, version, minimumVersion, supportedConnectionTypes
  ["long-polling"], ext {replay: true, payload.format: true} and no advice;
- the first /meta/connect of a client is answered at once, without events, with the advice
  {reconnect: retry, interval: 0, timeout: 110000};
- later connects are held until an event arrives or the long-poll timeout (110 s on Salesforce;
  `long_poll_seconds` here) passes, and answered without advice, unless the connect itself carried
  advice: then the server advises again, and a `timeout` the client asks for is honoured, as the
  CometD server Salesforce runs does (cometd/cometd, BayeuxServerImpl.handleMetaConnect,
  "transient timeout"), up to the server's own;
- a client the server does not know (never, dropped, or silent for longer than the 40 s reconnect
  deadline after its last answer) gets `{channel, id, successful: false, error: "403::Unknown
  client", advice: {reconnect: handshake, interval: 0}}`, with no clientId;
- a replayId older than the 72-hour retention is refused at subscribe: `400::The replayId {N} you
  provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only
  new events.` (forcedotcom/EMP-Connector#14);
- a dead session is `401::Authentication invalid`.
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

RECONNECT_DEADLINE_SECONDS = 40.0  # "Clients and Timeouts": reconnect within 40 s of an answer, or start over
SALESFORCE_LONG_POLL_SECONDS = 110.0
UNKNOWN_CLIENT_ADVICE = {"reconnect": "handshake", "interval": 0}


@dataclass
class StreamingClient:
    client_id: str
    token: str
    subscriptions: dict[str, int] = field(default_factory=dict)  # channel -> last delivered replayId
    last_seen: float = field(default_factory=time.monotonic)
    connected: bool = False  # has had its first /meta/connect
    polling: bool = False  # a /meta/connect of it is being held open


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

    def first_connect(self, client_id: str) -> bool:
        """True the first time a client connects (that connect is answered at once)."""
        client = self._clients.get(client_id)
        if client is None or client.connected:
            return False
        client.connected = True
        return True

    def holding(self, client_id: str, held: bool) -> None:
        """A connect is held open (True) or answered (False); the reconnect deadline runs from the answer."""
        client = self._clients.get(client_id)
        if client is not None:
            client.polling = held
            client.last_seen = time.monotonic()

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
        horizon = time.monotonic() - RECONNECT_DEADLINE_SECONDS
        for client_id in [c.client_id for c in self._clients.values() if c.last_seen < horizon and not c.polling]:
            del self._clients[client_id]


def _malformed() -> Response:
    return PlainTextResponse("Malformed Bayeux message", status_code=400)


class BayeuxEndpoint:
    """POST /cometd/NN.N: one batch of Bayeux messages in, their replies (and any events) out."""

    def __init__(self, org: SalesforceOrg, *, long_poll_seconds: float = SALESFORCE_LONG_POLL_SECONDS) -> None:
        self.org = org
        self.long_poll_seconds = long_poll_seconds

    def _advice(self) -> dict[str, Any]:
        return {"reconnect": "retry", "interval": 0, "timeout": int(self.long_poll_seconds * 1000)}

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
                "supportedConnectionTypes": ["long-polling"], "successful": True,
                "ext": {"replay": True, "payload.format": True}}

    async def _client_message(self, base: dict[str, Any], message: dict[str, Any],
                              token: str | None) -> list[dict[str, Any]]:
        channel = base["channel"]
        client_id = str(message.get("clientId", ""))
        client = self.org.streaming_client(client_id)
        if channel.startswith("/meta/") and channel != "/meta/disconnect" and client is None:
            return [{**base, "successful": False, "error": "403::Unknown client",
                     "advice": dict(UNKNOWN_CLIENT_ADVICE)}]
        base["clientId"] = client_id
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
        if self.org.streaming_first_connect(client_id):
            return [{**base, "successful": True, "advice": self._advice()}]
        events = await self._long_poll(client_id, message)
        reply = {**base, "successful": True}
        if isinstance(message.get("advice"), dict):
            reply["advice"] = self._advice()
        return [*events, reply]

    async def _long_poll(self, client_id: str, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Hold the connect open until events arrive or the wait ends (the client may ask for less)."""
        advice = message.get("advice")
        asked = advice.get("timeout") if isinstance(advice, dict) else None
        wait = self.long_poll_seconds
        if isinstance(asked, int | float) and not isinstance(asked, bool):
            wait = min(wait, max(float(asked), 0.0) / 1000)
        deadline = time.monotonic() + wait
        self.org.streaming_holding(client_id, True)
        try:
            while True:
                events = self.org.streaming_collect(client_id)
                if events or time.monotonic() >= deadline:
                    return events
                await asyncio.sleep(min(0.02, max(deadline - time.monotonic(), 0.0)))
        finally:
            self.org.streaming_holding(client_id, False)
