"""Change Data Capture over the Streaming API: one CometD (Bayeux long-polling) session, kept across polls.

Salesforce delivers change events to non-gRPC clients through CometD at /cometd/NN.N (Streaming
API Developer Guide, "How the Client Connects", "Clients and Timeouts", "Message Durability"):
handshake once, subscribe once with the replay extension (-1 new events only, -2 everything
retained, or the last replayId seen), then /meta/connect after /meta/connect on the same clientId.
The first connect of a session is answered at once with advice only ({reconnect: retry, interval:
0, timeout: 110000}, as observed from real orgs); later ones are held until events arrive or the
timeout passes. A connect asks the server to hold it no longer than the poll's wait (the CometD
server honours a connect's advice timeout), so a poll never blocks the hub for 110 s.

When the server forgets the client (403::Unknown client, advice reconnect=handshake: dropped, or
silent for more than the 40 s reconnect deadline), the stream handshakes and subscribes again from
`last_replay_id`, so nothing is missed or repeated; when the session expired (401::) it
re-authenticates first. Store `last_replay_id` durably to resume after a restart, within the
org's retention of 72 hours.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from q2c.connectors.salesforce.client import SYSTEM, SalesforceClient
from q2c.engine.errors import AuthFailed, ConnectorError, FeedGap, TransientError

OPPORTUNITY_CHANNEL = "/data/OpportunityChangeEvent"
REPLAY_NEW = -1
REPLAY_ALL = -2


class ReplayUnavailable(FeedGap):
    """The stored replay id is outside the org's retention: resume from a SOQL poll instead."""


@dataclass(frozen=True)
class ChangeEvent:
    """One change event: the ChangeEventHeader plus the changed field values."""

    channel: str
    replay_id: int
    entity_name: str
    change_type: str  # CREATE, UPDATE, DELETE, UNDELETE, GAP_*, GAP_OVERFLOW
    record_ids: tuple[str, ...]
    change_origin: str
    transaction_key: str
    sequence_number: int
    commit_timestamp: datetime
    commit_number: int
    commit_user: str
    changed_fields: tuple[str, ...]
    nulled_fields: tuple[str, ...]
    diff_fields: tuple[str, ...]
    fields: Mapping[str, Any] = field(default_factory=dict)
    schema: str | None = None

    @property
    def client(self) -> str | None:
        """The API client named in changeOrigin ("com/salesforce/api/rest/59.0;client=q2c" -> "q2c")."""
        for part in self.change_origin.split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip() == "client":
                return value.strip() or None
        return None

    def written_by(self, client: str) -> bool:
        """True when the change came from API calls that identified themselves as `client` (echo check)."""
        return self.client == client

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> ChangeEvent:
        data = message.get("data")
        if not isinstance(data, Mapping):
            raise ValueError("event message without data")
        payload, event = data.get("payload"), data.get("event")
        if not isinstance(payload, Mapping) or not isinstance(event, Mapping):
            raise ValueError("event data without payload or event")
        header = payload.get("ChangeEventHeader")
        if not isinstance(header, Mapping):
            raise ValueError("payload without ChangeEventHeader")
        return cls(
            channel=str(message.get("channel", "")),
            replay_id=int(event["replayId"]),
            entity_name=str(header["entityName"]),
            change_type=str(header["changeType"]),
            record_ids=tuple(str(r) for r in header.get("recordIds") or ()),
            change_origin=str(header.get("changeOrigin") or ""),
            transaction_key=str(header.get("transactionKey") or ""),
            sequence_number=int(header.get("sequenceNumber") or 0),
            commit_timestamp=datetime.fromtimestamp(int(header["commitTimestamp"]) / 1000, UTC),
            commit_number=int(header.get("commitNumber") or 0),
            commit_user=str(header.get("commitUser") or ""),
            changed_fields=tuple(str(f) for f in header.get("changedFields") or ()),
            nulled_fields=tuple(str(f) for f in header.get("nulledFields") or ()),
            diff_fields=tuple(str(f) for f in header.get("diffFields") or ()),
            fields={k: v for k, v in payload.items() if k != "ChangeEventHeader"},
            schema=str(data["schema"]) if data.get("schema") is not None else None,
        )


class ChangeEventStream:
    """One CometD session on one change-event channel. Not thread-safe: one poller per stream."""

    MAX_EXCHANGES = 12  # connects (and re-handshakes) in one poll, however the server answers

    def __init__(self, client: SalesforceClient, channel: str = OPPORTUNITY_CHANNEL, replay_id: int = REPLAY_NEW,
                 *, wait_seconds: float = 10.0) -> None:
        self.client = client
        self.channel = channel
        self.wait_seconds = wait_seconds
        self.handshakes = 0  # sessions opened, for the curious (and the tests)
        self._replay_id = replay_id
        self._client_id: str | None = None
        self._connected = False  # the session has had its first connect
        self._ids = itertools.count(1)

    @property
    def last_replay_id(self) -> int:
        """The replayId of the last event returned (or the starting option while none was)."""
        return self._replay_id

    @property
    def client_id(self) -> str | None:
        """The CometD clientId of the open session, None when there is none."""
        return self._client_id

    def _exchange(self, message: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        message["id"] = str(next(self._ids))
        return self.client.bayeux([message], timeout=timeout)

    @staticmethod
    def _reply(replies: list[dict[str, Any]], channel: str) -> dict[str, Any]:
        for reply in replies:
            if reply.get("channel") == channel:
                return reply
        raise TransientError(SYSTEM, f"streaming API gave no {channel} reply")

    # --- the session ---------------------------------------------------------------------------
    def _handshake(self) -> None:
        for attempt in range(2):
            replies = self._exchange({"channel": "/meta/handshake", "version": "1.0", "minimumVersion": "1.0",
                                      "supportedConnectionTypes": ["long-polling"], "ext": {"replay": True}},
                                     timeout=30.0)
            reply = self._reply(replies, "/meta/handshake")
            if reply.get("successful"):
                self._client_id = str(reply["clientId"])
                self._connected = False
                self.handshakes += 1
                return
            reason = str(((reply.get("ext") or {}).get("sfdc") or {}).get("failureReason") or reply.get("error"))
            if reason.startswith("401::") and attempt == 0:
                self.client.renew_session(self.client.access_token)
                continue
            raise AuthFailed(SYSTEM, f"streaming handshake refused: {reason}")

    def _subscribe(self) -> None:
        replies = self._exchange({"channel": "/meta/subscribe", "clientId": self._client_id,
                                  "subscription": self.channel, "ext": {"replay": {self.channel: self._replay_id}}},
                                 timeout=30.0)
        reply = self._reply(replies, "/meta/subscribe")
        if reply.get("successful"):
            return
        error = str(reply.get("error", ""))
        self._client_id = None
        if "replayId" in error:
            raise ReplayUnavailable(SYSTEM, f"cannot resume {self.channel} from replayId {self._replay_id}: {error}")
        if error.startswith(("403::", "401::")):
            raise _Reopen(error)
        raise ConnectorError(SYSTEM, f"subscribe to {self.channel} refused: {error}")

    def _open(self) -> None:
        """Handshake and subscribe from the last replay id (again after the server forgot the client)."""
        self._handshake()
        self._subscribe()

    # --- polling -------------------------------------------------------------------------------
    def _events(self, replies: list[dict[str, Any]]) -> list[ChangeEvent]:
        events = []
        for message in replies:
            if message.get("channel") != self.channel:
                continue
            try:
                events.append(ChangeEvent.from_message(message))
            except (KeyError, TypeError, ValueError) as exc:
                raise TransientError(SYSTEM, f"malformed change event on {self.channel}: {exc}") from None
        if events:
            self._replay_id = max(self._replay_id, *(e.replay_id for e in events))
        return events

    def _refused(self, connect: dict[str, Any]) -> None:
        """Act on a refused connect as its advice says: reconnect, re-handshake, or give up."""
        error = str(connect.get("error", ""))
        reconnect = (connect.get("advice") or {}).get("reconnect")
        if error.startswith("401::"):
            self._client_id = None
            self.client.renew_session(self.client.access_token)
        elif reconnect == "handshake" or error.startswith("403::"):
            self._client_id = None
        elif reconnect != "retry":
            self._client_id = None
            raise ConnectorError(SYSTEM, f"streaming connect refused: {error or connect}")

    def poll(self, wait_seconds: float | None = None) -> list[ChangeEvent]:
        """The events that arrived since the last poll, waiting up to `wait_seconds` for the first one (less if
        the server's long-poll timeout is shorter)."""
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        deadline = time.monotonic() + wait
        refusals = 0
        for _ in range(self.MAX_EXCHANGES):
            if self._client_id is None:
                try:
                    self._open()
                except _Reopen as exc:
                    refusals += 1
                    if refusals >= 3:
                        raise TransientError(SYSTEM, f"streaming subscribe kept failing ({exc}); will retry later"
                                             ) from None
                    continue
            first = not self._connected
            hold = 0.0 if first else max(deadline - time.monotonic(), 0.0)
            replies = self._exchange({"channel": "/meta/connect", "clientId": self._client_id,
                                      "connectionType": "long-polling", "advice": {"timeout": int(hold * 1000)}},
                                     timeout=hold + 30.0)
            connect = self._reply(replies, "/meta/connect")
            events = self._events(replies)
            if connect.get("successful"):
                self._connected = True
                if events or not first:
                    return events  # one held connect per poll: the server ends it at the first event or its timeout
                continue  # a session's first connect is answered at once, with advice only
            self._refused(connect)
            if events:
                return events
            refusals += 1
            if refusals >= 3:
                raise TransientError(SYSTEM, f"streaming connect on {self.channel} kept failing; will retry later")
        return []

    def close(self) -> None:
        """Leave politely; the server would otherwise expire the client after the reconnect deadline. A goodbye
        that does not arrive changes nothing, so its failure is ignored."""
        if self._client_id is not None:
            try:
                self._exchange({"channel": "/meta/disconnect", "clientId": self._client_id}, timeout=10.0)
            except ConnectorError:
                pass
            finally:
                self._client_id = None


class _Reopen(Exception):
    """The server forgot the client between handshake and subscribe: handshake again."""
