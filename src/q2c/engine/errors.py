"""The errors that decide what happens to work: raised by connectors and workflows, read by the engine.

The engine decides what happens next from the type alone: a transient error is retried
(in place for a short while, then durably with backoff), a rejected record or a rejected piece
of work becomes an exception for a person, with the vendor's own words kept in the violation.
They live here, at the bottom of the engine, so every connector can raise them and no arrow
runs from the engine back up to a connector.
"""

from __future__ import annotations

from q2c.domain.violations import Violation


class ConnectorError(Exception):
    def __init__(self, system: str, message: str) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system
        self.message = message


class TransientError(ConnectorError):
    """The call may succeed later: timeout, connection refused, 5xx, malformed body, throttling."""

    def __init__(self, system: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(system, message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """The vendor said slow down (429, Salesforce REQUEST_LIMIT_EXCEEDED, NetSuite concurrency)."""


class CircuitOpen(TransientError):
    """Too many consecutive failures on this endpoint: calls fail fast until the cool-down ends."""


class AuthFailed(ConnectorError):
    """Credentials refused. Not retried: a person must fix the configuration."""


class FeedGap(ConnectorError):
    """A change feed cannot resume where q2c left off: the vendor no longer keeps the events after it
    (Salesforce keeps change events 72 hours). The events in the gap are gone; a person must be told."""


class RecordRejected(ConnectorError):
    """The vendor refused this record (validation, missing reference). Permanent until someone fixes it."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.system, violation.headline())
        self.violation = violation


class Rejected(Exception):
    """A verdict that a whole piece of work breaks business rules: each violation becomes an exception."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(v.headline() for v in violations))
        self.violations = violations
