"""The runs table and the reads a run's figures come from, on SQLite and PostgreSQL.

Runs: started `running`, finished once (`ok`/`failed`), listed newest first by kind with a limit, read back
with UTC times; a reconciliation's figures are kept as given. The reads: the exceptions a run opened are
those of the work it queued (by correlation id) and those a poll raised with no work item, not those of older
work that failed meanwhile; the work an outage left waiting is what failed last on that system.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.domain.violations import Violation
from q2c.store import audit, history, queue, runs
from q2c.store.exceptions import raise_exception
from q2c.store.schema import work_items

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_run_is_started_finished_once_and_read_back(db: Engine) -> None:
    with db.begin() as conn:
        run_id = runs.start_run(conn, kind="sync.time", started_at=T0, stats={"entries": 0})
        running = runs.get_run(conn, run_id)
        assert running is not None and (running.status, running.finished_at, running.stats) == (
            "running", None, {"entries": 0})
        assert running.duration_seconds is None
        assert runs.update_stats(conn, run_id, {"entries": 3})
        assert runs.finish_run(conn, run_id, status=runs.OK, stats={"entries": 3, "pages": 1},
                               finished_at=T0 + timedelta(seconds=90))
        assert not runs.finish_run(conn, run_id, status=runs.FAILED, stats={}), "a finished run stays finished"
        assert not runs.update_stats(conn, run_id, {"entries": 99})
        assert not runs.discard_run(conn, run_id), "only a running run may be discarded"
        done = runs.get_run(conn, run_id)
    assert done is not None
    assert (done.kind, done.status, done.stats) == ("sync.time", "ok", {"entries": 3, "pages": 1})
    assert done.started_at == T0 and done.started_at.tzinfo is not None
    assert done.duration_seconds == 90.0
    assert done.summary()["finished_at"] == "2026-11-30T09:01:30+00:00"


def test_runs_are_listed_newest_first_by_kind_with_a_limit(db: Engine) -> None:
    with db.begin() as conn:
        ids = {}
        for minutes, kind in ((0, "sync.time"), (10, "billing"), (20, "sync.time"), (30, "sync.time")):
            ids[minutes] = runs.record_run(conn, kind=kind, status=runs.OK, started_at=T0 + timedelta(minutes=minutes),
                                           finished_at=T0 + timedelta(minutes=minutes, seconds=5), stats={})
        assert [r.id for r in runs.list_runs(conn)] == [ids[30], ids[20], ids[10], ids[0]]
        assert [r.id for r in runs.list_runs(conn, kind="sync.time", limit=2)] == [ids[30], ids[20]]
        assert [r.id for r in runs.list_runs(conn, since=T0 + timedelta(minutes=15), limit=None)] == [ids[30], ids[20]]
        assert runs.list_runs(conn, kind="revenue_close") == []
        assert runs.get_run(conn, 10**9) is None


def test_a_reconciliation_run_keeps_its_figures_as_given(db: Engine) -> None:
    figures = {"compared": 40, "matched": 38, "drifts": 2, "pairs": {"crm_erp": {"compared": 10, "matched": 10}}}
    with db.begin() as conn:
        run_id = runs.record_run(conn, kind="reconcile", status=runs.OK, started_at=T0, stats=figures)
        run = runs.get_run(conn, run_id)
    assert run is not None and run.stats == figures and run.kind == "reconcile"


def test_an_idle_run_can_be_discarded(db: Engine) -> None:
    with db.begin() as conn:
        run_id = runs.start_run(conn, kind="sync.deals")
        assert runs.discard_run(conn, run_id)
        assert runs.get_run(conn, run_id) is None


@pytest.mark.parametrize(("call", "message"), [
    (lambda c: runs.start_run(c, kind=""), "run field kind"),
    (lambda c: runs.start_run(c, kind="k" * 41), "run field kind"),
    (lambda c: runs.start_run(c, kind="billing", started_at=datetime(2026, 11, 30, 9)), "run field started_at"),
    (lambda c: runs.start_run(c, kind="billing", stats={"total": object()}), "run field stats"),
    (lambda c: runs.record_run(c, kind="billing", status="finished-with-warnings", started_at=T0, stats={}),
     "run field status"),
    (lambda c: runs.finish_run(c, 1, status=runs.RUNNING, stats={}), "field status"),
])
def test_bad_input_is_refused_naming_the_field(db: Engine, call: object, message: str) -> None:
    with db.begin() as conn, pytest.raises(ValueError, match=message):
        call(conn)  # type: ignore[operator]


def _violation(record_id: str, rule: str) -> Violation:
    return Violation(system="harvest", object="time_entry", record_id=record_id, field="task", rule=rule,
                     message="m", action="a")


def test_the_exceptions_a_run_opened_are_those_of_its_own_work(db: Engine) -> None:
    """Before the run: work item O (time.deliver, correlation old) was queued. During it (from its mark to
    its end): the run queues R (time.deliver, correlation run); R's batch raises time.task_unknown twice (two
    records) and O, delivered meanwhile, raises time.rate_missing; the poll itself raises time.unreadable with a
    correlation no work item carries (work kind time.mapping), and a conflict of another kind of work
    (deal.setup) with no work item; a warning is no exception. For kinds (time.deliver, time.mapping):
    2 x task_unknown + 1 x unreadable; for every kind: all 5. The invoice audit entry written before the mark
    is not the run's."""
    with db.begin() as conn:
        queue.enqueue(conn, kind="time.deliver", aggregate="project:P-1", payload={}, correlation_id="old")
        audit.append(conn, [audit.AuditEntry("q2c", "netsuite", "invoice", "invoice", "INV-0", "run")])
        start = history.mark(conn)
    with db.begin() as conn:
        queue.enqueue(conn, kind="time.deliver", aggregate="project:P-2", payload={}, correlation_id="run")
        for record_id in ("HV-1", "HV-2"):
            raise_exception(conn, _violation(record_id, "time.task_unknown"), work_kind="time.deliver",
                            aggregate="project:P-2", payload={}, correlation_id="run")
        raise_exception(conn, _violation("HV-3", "time.rate_missing"), work_kind="time.deliver",
                        aggregate="project:P-1", payload={}, correlation_id="old")
        raise_exception(conn, _violation("HV-4", "time.unreadable"), work_kind="time.mapping",
                        aggregate="harvest:HV-4", payload={}, correlation_id="poll")
        raise_exception(conn, _violation("SF-1", "ownership.conflict"), work_kind="deal.setup",
                        aggregate="opportunity:SF-1", payload={}, correlation_id="feed")
        raise_exception(conn, _violation("HV-5", "field.truncated"), work_kind="time.deliver",
                        aggregate="project:P-2", payload={}, correlation_id="run", status="warning")
        audit.append(conn, [audit.AuditEntry("q2c", "netsuite", "invoice", "invoice", "INV-1", "run",
                                              after={"total": "10.00"})])
    end = datetime.now(UTC)
    with db.connect() as conn:
        assert history.exceptions_opened(conn, after=start, until=end,
                                         work_kinds=["time.deliver", "time.mapping"]) == {
            "time.task_unknown": 2, "time.unreadable": 1}
        assert history.exceptions_opened(conn, after=start, until=end, work_kinds=None) == {
            "ownership.conflict": 1, "time.rate_missing": 1, "time.task_unknown": 2, "time.unreadable": 1}
        assert history.run_correlations(conn, kinds=["time.deliver"], after=start, until=end) == {"run"}
        assert [(e.record_id, e.after) for e in history.audit_entries(conn, action="invoice", after=start, until=end,
                                                                      correlation_ids={"run"})] == [
            ("INV-1", {"total": "10.00"})]
        assert history.exceptions_opened(conn, after=history.mark(conn), until=end, work_kinds=None) == {}


def test_the_work_an_outage_left_waiting_is_what_failed_last_on_that_system(db: Engine) -> None:
    with db.begin() as conn:
        ids = [queue.enqueue(conn, kind="time.deliver", aggregate=f"project:P-{n}", payload={}, correlation_id=f"c{n}")
               for n in range(4)]
        conn.execute(work_items.update().where(work_items.c.id == ids[0])
                     .values(last_error="netsuite: POST account: HTTP 503"))
        conn.execute(work_items.update().where(work_items.c.id == ids[1])
                     .values(last_error="netsuite_eu: POST account: HTTP 503"))  # another system's name
        conn.execute(work_items.update().where(work_items.c.id == ids[2])
                     .values(last_error="netsuite: circuit open", status=queue.DONE))
        assert history.waiting_on(conn, "netsuite") == 1
        assert history.waiting_on(conn, "net%") == 0, "a name is matched as written, not as a pattern"
        conn.execute(work_items.update().where(work_items.c.id == ids[0]).values(status=queue.DONE))
        assert history.waiting_on(conn, "netsuite") == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(work_items)).scalar_one() == 4
