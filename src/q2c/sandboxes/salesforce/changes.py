"""Change Data Capture for Opportunity: the retained change events, each with its replay id.

An event is the ChangeEventHeader (entityName, recordIds, changeType CREATE/UPDATE/DELETE,
changeOrigin, transactionKey, sequenceNumber, commitTimestamp in epoch milliseconds,
commitNumber, commitUser, changedFields, nulledFields, diffFields) plus the field values: all
non-null ones on CREATE, only the changed ones on UPDATE (Change Data Capture Developer Guide,
"Change Event Header Fields"). changeOrigin is `com/salesforce/api/rest/NN.N;client=NAME` when
an API call named its client in Sforce-Call-Options, and empty for a user in the browser.

Change events are retained for 72 hours ("Message Durability", Streaming API Developer Guide:
high-volume platform events and Change Data Capture events are stored for 72 hours); older ones
are gone from replay, by the org's clock. Replay ids only grow.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from q2c.sandboxes.salesforce.schema import OBJECTS
from q2c.sandboxes.salesforce.values import to_wire

CDC_CHANNEL = "/data/OpportunityChangeEvent"
ALL_CHANGES_CHANNEL = "/data/ChangeEvents"
STREAMING_CHANNELS = (CDC_CHANNEL, ALL_CHANGES_CHANNEL)
EVENT_RETENTION = 10_000  # at most this many events are kept, whatever their age
RETENTION_PERIOD = timedelta(hours=72)


@dataclass(frozen=True)
class Actor:
    """Who writes, and how the change will be labelled in change events (changeOrigin)."""

    user_id: str
    origin: str = ""


@dataclass
class ChangeEventEntry:
    replay_id: int
    channel: str
    payload: dict[str, Any]
    published: datetime


@functools.cache
def schema_id() -> str:
    """The event schema's id, as the Streaming API puts it beside every payload."""
    digest = hashlib.sha256(",".join(OBJECTS["Opportunity"].fields).encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


class ChangeLog:
    """The org's retained Opportunity change events, oldest first. Not locked: the org locks."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.events: list[ChangeEventEntry] = []
        self.last_replay = 0
        self._commits = itertools.count(10_000_001)

    def retained(self) -> list[ChangeEventEntry]:
        """The events still inside the retention period, oldest first."""
        horizon = self._clock() - RETENTION_PERIOD
        while self.events and self.events[0].published < horizon:
            del self.events[0]
        return self.events

    @property
    def earliest(self) -> int:
        """The oldest retained replay id (one past the latest while none is retained)."""
        retained = self.retained()
        return retained[0].replay_id if retained else self.last_replay + 1

    def publish(self, change_type: str, record_id: str, fields: Mapping[str, Any], changed: list[str],
                nulled: list[str], actor: Actor, when: datetime) -> None:
        header = {
            "entityName": "Opportunity",
            "recordIds": [record_id],
            "changeType": change_type,
            "changeOrigin": actor.origin,
            "transactionKey": secrets.token_hex(16),
            "sequenceNumber": 1,
            "commitTimestamp": int(when.timestamp() * 1000),
            "commitNumber": next(self._commits),
            "commitUser": actor.user_id,
            "changedFields": list(changed),
            "nulledFields": list(nulled),
            "diffFields": [],
        }
        payload: dict[str, Any] = {"ChangeEventHeader": header}
        payload.update({k: to_wire(v, zulu=True) for k, v in fields.items() if v is not None})
        self.last_replay += 1
        self.events.append(ChangeEventEntry(self.last_replay, CDC_CHANNEL, payload, when))
        del self.events[:-EVENT_RETENTION]

    def after(self, replay_id: int) -> list[ChangeEventEntry]:
        return [e for e in self.retained() if e.replay_id > replay_id]

    def listing(self) -> list[dict[str, Any]]:
        return [{"replayId": e.replay_id, "payload": e.payload} for e in self.retained()]
