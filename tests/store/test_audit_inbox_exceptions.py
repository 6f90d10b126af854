"""Inbox de-duplication, the hash-chained audit trail, and the exception queue with replay."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.domain.violations import Violation
from q2c.engine.replay import replay
from q2c.store import audit, inbox, queue
from q2c.store import exceptions as exception_store
from q2c.store.schema import audit_log


def test_duplicate_event_is_dropped(db: Engine) -> None:
    with db.begin() as conn:
        first = inbox.record_event(conn, idempotency_key="harvest:time:1:v1", source="harvest",
                                   event_type="time", aggregate="project:A", correlation_id="c")
        again = inbox.record_event(conn, idempotency_key="harvest:time:1:v1", source="harvest",
                                   event_type="time", aggregate="project:A", correlation_id="c")
    assert first is not None and again is None


def _entries(n: int) -> list[audit.AuditEntry]:
    return [audit.AuditEntry(actor="q2c", system="netsuite", action="create", entity="timebill",
                             record_id=f"HV-{i}", correlation_id="c", before=None, after={"hours": "1.50"})
            for i in range(n)]


def test_audit_chain_verifies_and_detects_tampering(db: Engine) -> None:
    with db.begin() as conn:
        audit.append(conn, _entries(3))
        audit.append(conn, _entries(2))
    with db.connect() as conn:
        result = audit.verify(conn)
    assert result.ok and result.entries == 5
    with db.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 3).values(after={"hours": "9.00"}))
    with db.connect() as conn:
        result = audit.verify(conn)
    assert not result.ok and result.first_bad_seq == 3


def test_audit_detects_a_deleted_tail(db: Engine) -> None:
    with db.begin() as conn:
        audit.append(conn, _entries(4))
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == 4))
    with db.connect() as conn:
        result = audit.verify(conn)
    assert not result.ok and "cut short" in result.reason


def _violation(record: str = "HV-1") -> Violation:
    return Violation(system="harvest", object="time_entry", record_id=record, field="task", rule="task.unknown",
                     message="task 'Dsign' is not a task of project P-1", action="Fix the task in Harvest")


def test_repeated_problem_bumps_occurrences_and_replay_is_idempotent(db: Engine) -> None:
    with db.begin() as conn:
        first = exception_store.raise_exception(conn, _violation(), work_kind="time.deliver",
                                                aggregate="project:P-1", payload={"entries": [1]},
                                                correlation_id="c")
        second = exception_store.raise_exception(conn, _violation(), work_kind="time.deliver",
                                                 aggregate="project:P-1", payload={"entries": [1]},
                                                 correlation_id="c")
        rows = exception_store.search(conn)
    assert first == second and rows[0].occurrences == 2
    results = replay(db, rows, actor="alice")
    assert results[0].work_item_id is not None
    again = replay(db, rows, actor="alice")
    assert again[0].work_item_id is None and again[0].skipped_reason == "already replayed"
    with db.connect() as conn:
        assert queue.counts(conn) == {"pending": 1}
        assert audit.verify(conn).ok
        assert exception_store.counts(conn) == {"replayed": 1}
