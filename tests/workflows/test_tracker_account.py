"""A tracker account set up so that time cannot flow (approvals switched off) is an open exception on every
pass, not silence; it stays one exception however many passes see it, and closes once the account is fixed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fakes import fake_world

from q2c.domain.violations import Violation
from q2c.engine.replay import replay
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store

APPROVALS_OFF = Violation(system="tracker", object="company", record_id="1", field="approval_feature",
                          rule="tracker.approvals_off", message="Approvals are switched off: nothing is ever approved",
                          action="Turn Approvals on, then replay this exception")


def test_approvals_off_is_one_open_exception_until_fixed(tmp_path: Path) -> None:
    w = fake_world(tmp_path)
    w.set_up()
    w.tracker.problems = [APPROVALS_OFF]
    entry = w.tracker.log("P-006A", "DESIGN", "alice@example.com", date(2026, 11, 3), "4")
    w.sync()
    w.sync()
    with w.hub.engine.connect() as conn:
        (row,) = exception_store.search(conn)
    assert (row.violation.rule, row.violation.field, row.occurrences) == ("tracker.approvals_off",
                                                                         "approval_feature", 2)
    assert w.erp.kind("timebill") == {}  # the entry waits for an approval that cannot come

    replay(w.hub.engine, [row], actor="engineer")  # replayed before the fix: still open, and says so
    drain(w.hub)
    with w.hub.engine.connect() as conn:
        assert [r.violation.rule for r in exception_store.search(conn)] == ["tracker.approvals_off"]

    w.tracker.problems = []  # approvals switched on; a manager approves the entry
    w.tracker.approve(entry)
    w.sync()
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn) == []
    assert list(w.erp.kind("timebill")) == [entry]


def test_a_replay_after_the_fix_closes_the_exception(tmp_path: Path) -> None:
    w = fake_world(tmp_path)
    w.tracker.problems = [APPROVALS_OFF]
    w.sync()
    with w.hub.engine.connect() as conn:
        (row,) = exception_store.search(conn)
    w.tracker.problems = []
    replay(w.hub.engine, [row], actor="engineer")
    drain(w.hub)
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn) == []
        replayed = exception_store.get(conn, row.id)
        assert replayed is not None and replayed.status == "replayed"
