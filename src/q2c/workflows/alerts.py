"""Alerts: a digest of what needs a person, at most one every `alerts.digest_seconds`, so a burst of a
thousand exceptions is one message, not a thousand.

A digest tells, since the last one:

* exception rules newly open (a rule with open exceptions now and none at the last digest), each with how
  many are open and its oldest exception's headline, under its heading: a reconciliation drift
  (`reconcile.*`), a close blocker (`integrity.*`, `period.*`, `revenue.*`: what stops the books from being
  closed or agreeing), or an exception;
* circuits that opened (a system stopped answering) and whether they have closed again.

What was told is kept in the database (the rules open at the last digest, a cursor), so a restart tells
nothing twice; a digest that no channel took is tried again at the next, with what arrived meanwhile. The
channels (chat webhook, email) are `AlertChannel`s built from the config by the entrypoint.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from q2c.store import cursors
from q2c.store import exceptions as exception_store
from q2c.workflows.hub import Hub

log = logging.getLogger("q2c.alerts")

CURSOR = "alerts.open_rules"
Heading = Literal["drift", "close_blocker", "exceptions", "circuit"]
HEADINGS: dict[Heading, str] = {"drift": "Reconciliation drifts", "close_blocker": "Close blockers",
                                "exceptions": "New exception rules", "circuit": "Systems down"}
_BLOCKERS = ("integrity.", "period.", "revenue.")
MAX_CIRCUIT_EVENTS = 200


def heading_of(rule: str) -> Heading:
    if rule.startswith("reconcile."):
        return "drift"
    if rule.startswith(_BLOCKERS):
        return "close_blocker"
    return "exceptions"


@dataclass(frozen=True)
class AlertLine:
    heading: Heading
    title: str  # a rule, or system/endpoint
    detail: str


@dataclass(frozen=True)
class Digest:
    at: datetime
    lines: tuple[AlertLine, ...]
    open_rules: tuple[str, ...]  # every rule open when it was made (kept once a channel took it)

    @property
    def subject(self) -> str:
        counts = {h: sum(1 for ln in self.lines if ln.heading == h) for h in HEADINGS}
        parts = [f"{n} {HEADINGS[h].lower()}" for h, n in counts.items() if n]
        return "q2c: " + ", ".join(parts)

    def text(self, console_url: str | None = None) -> str:
        out = [self.subject, ""]
        for heading, title in HEADINGS.items():
            lines = [ln for ln in self.lines if ln.heading == heading]
            if lines:
                out.append(f"{title}:")
                out.extend(f"- {ln.title}: {ln.detail}" for ln in lines)
                out.append("")
        if console_url:
            out.append(f"Open the exception queue: {console_url}")
        return "\n".join(out).rstrip() + "\n"


class AlertChannel(Protocol):
    name: str

    def send(self, digest: Digest) -> None: ...


class Alerts:
    """Collects circuit changes as they happen (`circuit`, a `GuardRegistry.watch_circuits` listener) and makes
    and sends the digest (`flush`); `run_forever` flushes every `alerts.digest_seconds`."""

    def __init__(self, hub: Hub, channels: Sequence[AlertChannel]) -> None:
        self.hub = hub
        self.channels = list(channels)
        self._events: list[tuple[str, str, str, datetime]] = []  # system, endpoint, state, when
        self._lock = threading.Lock()

    def circuit(self, system: str, endpoint: str, state: str) -> None:
        with self._lock:
            self._events.append((system, endpoint, state, datetime.now(UTC)))
            del self._events[:-MAX_CIRCUIT_EVENTS]

    def compose(self) -> Digest | None:
        """The digest due now, or None when nothing new happened."""
        at = datetime.now(UTC)
        with self.hub.engine.connect() as conn:
            told = set(json.loads(cursors.get_cursor(conn, CURSOR) or "[]"))
            rules = exception_store.open_rules(conn)
        lines = [AlertLine(heading_of(rule), rule, f"{count.open} open; first: {count.first.violation.headline()}"
                           f" -> {count.first.violation.action}")
                 for rule, count in sorted(rules.items()) if rule not in told]
        with self._lock:
            events = [e for e in self._events if e[3] <= at]
        lines += _circuit_lines(events)
        if not lines:
            if told != set(rules):  # rules cleared: forget them, so they are told again if they come back
                self._keep(tuple(sorted(rules)))
            return None
        return Digest(at, tuple(lines), tuple(sorted(rules)))

    def flush(self) -> Digest | None:
        """Send the due digest to every channel; kept as told when at least one took it."""
        digest = self.compose()
        if digest is None:
            return None
        taken = 0
        for channel in self.channels:
            try:
                channel.send(digest)
                taken += 1
            except Exception as exc:  # a channel down must not stop the others, nor the hub
                log.warning("alert digest not sent by %s: %s", channel.name, exc)
        if not taken:
            return None
        self._keep(digest.open_rules)
        with self._lock:
            sent_until = digest.at
            self._events = [e for e in self._events if e[3] > sent_until]
        return digest

    def _keep(self, rules: tuple[str, ...]) -> None:
        with self.hub.engine.begin() as conn:
            cursors.set_cursor(conn, CURSOR, json.dumps(list(rules)))

    def run_forever(self, stop: threading.Event) -> None:
        every = self.hub.config.alerts.digest_seconds
        while not stop.wait(every):
            try:
                self.flush()
            except Exception:
                log.exception("alert digest failed; will try again in %.0f s", every)


def _circuit_lines(events: Sequence[tuple[str, str, str, datetime]]) -> list[AlertLine]:
    """One line per endpoint: when it opened and, if so, when it closed again (the last state wins)."""
    lines: dict[tuple[str, str], tuple[datetime | None, datetime | None]] = {}
    for system, endpoint, state, when in events:
        opened, closed = lines.get((system, endpoint), (None, None))
        if state == "open":
            lines[(system, endpoint)] = (opened or when, None)
        elif opened is not None:
            lines[(system, endpoint)] = (opened, when)
    out = []
    for (system, endpoint), (opened, closed) in sorted(lines.items()):
        if opened is None:
            continue
        since = opened.strftime("%Y-%m-%d %H:%M:%S UTC")
        detail = (f"stopped answering at {since}; answering again since {closed:%H:%M:%S} UTC" if closed else
                  f"not answering since {since}; work for it waits and is retried")
        out.append(AlertLine("circuit", f"{system} {endpoint}", detail))
    return out
