"""What an operator may do to an open exception besides replaying it (console, API, CLI): resolve it (the problem
was dealt with outside q2c) or ignore it (it needs nothing), always with a reason. Like a replay, the change and
who made it go in the audit trail in the same transaction, and only an open exception changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from q2c.store import audit
from q2c.store import exceptions as exception_store

MAX_REASON = 500
SETTLED = {exception_store.RESOLVED: "resolve", exception_store.IGNORED: "ignore"}  # status -> audit action


class ReasonRefused(ValueError):
    """A reason that cannot be recorded; the message names the field."""


def checked_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ReasonRefused("field 'reason': say why (it is recorded in the audit trail)")
    if len(text) > MAX_REASON or not text.isprintable():
        raise ReasonRefused(f"field 'reason': use 1 to {MAX_REASON} printable characters on one line")
    return text


def settle(engine: Engine, exception_id: int, *, status: str, reason: str, actor: str) -> str | None:
    """Resolve or ignore one open exception (its open subjects with it); None when done, else why it was not
    (it is gone, or no longer open)."""
    action = SETTLED[status]
    reason = checked_reason(reason)
    with engine.begin() as conn:
        current = exception_store.get(conn, exception_id)
        if current is None:
            return "gone"
        if current.status != exception_store.OPEN:
            return f"already {current.status}"
        exception_store.mark(conn, current.id, status=status)
        v = current.violation
        after: dict[str, Any] = {"status": status, "reason": reason,
                                 "records": [s.record_id for s in current.open_subjects]}
        audit.append(conn, [audit.AuditEntry(
            actor=actor, system=v.system, action=action, entity=v.object, record_id=v.record_id,
            correlation_id=current.correlation_id, before={"exception": current.id, "rule": v.rule}, after=after)])
    return None
