"""Change Data Capture over the Streaming API: a CometD (Bayeux long-polling) subscriber.

Salesforce delivers change events to non-gRPC clients through CometD at /cometd/NN.N: one
handshake, one subscribe (with the replay extension: -1 new events only, -2 everything retained,
or the last replayId seen to resume), then one /meta/connect per poll that returns the queued events
or waits. When the server forgets the client (403::Unknown client, advice reconnect=handshake) the
stream handshakes again and resumes from `last_replay_id`; when the session expired (401::) it
re-authenticates first. Store `last_replay_id` durably to resume after a restart (within the org's
event retention, about three days).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from q2c.connectors.salesforce.client import SYSTEM, SalesforceClient
from q2c.engine.errors import AuthFailed, ConnectorError, TransientError

OPPORTUNITY_CHANNEL = "/data/OpportunityChangeEvent"
REPLAY_NEW = -1
REPLAY_ALL = -2


class ReplayUnavailable(ConnectorError):
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
    """Subscriber to one change-event channel. Not thread-safe: one poller per stream."""

    def __init__(self, client: SalesforceClient, channel: str = OPPORTUNITY_CHANNEL, replay_id: int = REPLAY_NEW,
                 *, wait_seconds: float = 10.0) -> None:
        self.client = client
        self.channel = channel
        self.wait_seconds = wait_seconds
        self._replay_id = replay_id
        self._client_id: str | None = None
        self._ids = itertools.count(1)

    @property
    def last_replay_id(self) -> int:
        """The replayId of the last event returned (or the starting option while none was)."""
        return self._replay_id

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _exchange(self, message: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        message["id"] = self._next_id()
        return self.client.bayeux([message], timeout=timeout)

    @staticmethod
    def _reply(replies: list[dict[str, Any]], channel: str) -> dict[str, Any]:
        for reply in replies:
            if reply.get("channel") == channel:
                return reply
        raise TransientError(SYSTEM, f"streaming API gave no {channel} reply")

    def _handshake(self) -> None:
        for attempt in range(2):
            replies = self._exchange({"channel": "/meta/handshake", "version": "1.0", "minimumVersion": "1.0",
                                      "supportedConnectionTypes": ["long-polling"], "ext": {"replay": True},
                                      "advice": {"timeout": 60_000, "interval": 0}}, timeout=30.0)
            reply = self._reply(replies, "/meta/handshake")
            if reply.get("successful"):
                self._client_id = str(reply["clientId"])
                break
            reason = str(((reply.get("ext") or {}).get("sfdc") or {}).get("failureReason") or reply.get("error"))
            if reason.startswith("401::") and attempt == 0:
                self.client.renew_session(self.client.access_token)
                continue
            raise AuthFailed(SYSTEM, f"streaming handshake refused: {reason}")
        replies = self._exchange({"channel": "/meta/subscribe", "clientId": self._client_id,
                                  "subscription": self.channel, "ext": {"replay": {self.channel: self._replay_id}}},
                                 timeout=30.0)
        reply = self._reply(replies, "/meta/subscribe")
        if not reply.get("successful"):
            error = str(reply.get("error", ""))
            self._client_id = None
            if "replayId" in error:
                raise ReplayUnavailable(SYSTEM, f"cannot resume {self.channel} from replayId {self._replay_id}: "
                                                f"{error}")
            raise ConnectorError(SYSTEM, f"subscribe to {self.channel} refused: {error}")

    def poll(self, wait_seconds: float | None = None) -> list[ChangeEvent]:
        """The events that arrived since the last poll, waiting up to `wait_seconds` for the first one."""
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        for _ in range(3):
            if self._client_id is None:
                self._handshake()
            replies = self._exchange({"channel": "/meta/connect", "clientId": self._client_id,
                                      "connectionType": "long-polling", "advice": {"timeout": int(wait * 1000)}},
                                     timeout=wait + 30.0)
            connect = self._reply(replies, "/meta/connect")
            events = []
            for message in replies:
                if message.get("channel") != self.channel:
                    continue
                try:
                    events.append(ChangeEvent.from_message(message))
                except (KeyError, TypeError, ValueError) as exc:
                    raise TransientError(SYSTEM, f"malformed change event on {self.channel}: {exc}") from None
            if events:
                self._replay_id = max(self._replay_id, events[-1].replay_id)
            if connect.get("successful"):
                return events
            error = str(connect.get("error", ""))
            reconnect = (connect.get("advice") or {}).get("reconnect")
            self._client_id = None
            if error.startswith("401::"):
                self.client.renew_session(self.client.access_token)
            elif reconnect not in {"handshake", "retry"} and not error.startswith("403::"):
                raise ConnectorError(SYSTEM, f"streaming connect refused: {error or connect}")
            if events:
                return events
        raise TransientError(SYSTEM, f"streaming connect on {self.channel} kept failing; will retry later")

    def close(self) -> None:
        """Leave politely; the server would otherwise expire the client after its idle timeout."""
        if self._client_id is not None:
            try:
                self._exchange({"channel": "/meta/disconnect", "clientId": self._client_id}, timeout=10.0)
            finally:
                self._client_id = None
