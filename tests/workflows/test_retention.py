"""Pruning on the config's retention: finished work and old inbox events go, settled exceptions keep their row
but not their payload; the audit trail, the records, unfinished and dead work and a won deal's event stay, and
nothing is set up or posted twice after a prune.

The deal: see `fakes.deal`. Set up, Alice 8 h BUILD Nov 3 (HV-1) approved and posted, an entry by Carol, who is
not on the rate card, held by an open exception (dead work); a second, resolved exception. Everything is then
made 100 days old, beyond every default retention (45, 45 and 90 days).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from fakes import FakeWorld, fake_world

from q2c.entrypoints.wiring import drain
from q2c.store import audit, queue, records
from q2c.store import exceptions as exception_store
from q2c.store.db import now
from q2c.store.schema import events, exceptions, work_items
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.retention import prune_history

P = "P-006A"


def count(w: FakeWorld, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with w.hub.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def age(w: FakeWorld, days: int) -> None:
    """Everything happened `days` ago."""
    then = now() - timedelta(days=days)
    with w.hub.engine.begin() as conn:
        conn.execute(work_items.update().where(work_items.c.finished_at.is_not(None)).values(finished_at=then))
        conn.execute(events.update().values(received_at=then))
        conn.execute(exceptions.update().where(exceptions.c.resolved_at.is_not(None)).values(resolved_at=then))


def test_finished_work_goes_and_the_books_stay(tmp_path: Path, db_url: str) -> None:
    w = fake_world(tmp_path, db_url)
    w.set_up()
    alice = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(alice)
    w.sync()
    carol = w.tracker.log(P, "BUILD", "carol@example.com", date(2026, 11, 4), "3")
    w.tracker.approve(carol)
    w.sync()
    with w.hub.engine.begin() as conn:  # a settled problem of the past
        settled = exception_store.search(conn)[0]
    with w.hub.engine.begin() as conn:
        exception_store.mark(conn, settled.id, status=exception_store.RESOLVED)
        exception_store.raise_exception(conn, settled.violation, work_kind=settled.work_kind,
                                        aggregate=settled.aggregate, payload=settled.payload,
                                        correlation_id=settled.correlation_id)  # still open
    finished = count(w, work_items, work_items.c.status == queue.DONE)
    assert finished >= 3
    with w.hub.engine.connect() as conn:
        trail = audit.verify(conn).entries
        kept_records = records.count_by_state(conn, entity="time_entry")

    age(w, 10)
    assert prune_history(w.hub).work_items == 0  # within the retention: nothing goes

    age(w, 100)
    would = prune_history(w.hub, dry_run=True)
    assert (would.work_items, would.exception_payloads) == (finished, 1)
    done = prune_history(w.hub)
    assert (done.work_items, done.events, done.exception_payloads) == (finished, would.events, 1)
    assert done.events >= 1
    assert count(w, work_items, work_items.c.status == queue.DONE) == 0
    assert count(w, events, events.c.event_type == "opportunity.won") == 1  # stops a second setup
    with w.hub.engine.connect() as conn:
        assert audit.verify(conn).entries == trail and audit.verify(conn).ok
        assert records.count_by_state(conn, entity="time_entry") == kept_records
        gone = exception_store.get(conn, settled.id)
        still = exception_store.search(conn)
    assert gone is not None and gone.payload == {} and gone.status == exception_store.RESOLVED
    assert len(still) == 1 and still[0].payload  # the open exception keeps what replays it
    assert prune_history(w.hub).work_items == 0  # nothing left to prune

    poll_won_deals(w.hub)  # the deal is won still: not set up a second time
    drain(w.hub)
    assert count(w, work_items, work_items.c.kind == "deal.setup") == 0
    w.tracker.change(alice, notes="Build sprint")  # an edit after the prune is delivered as any edit is
    w.sync()
    assert w.erp.records["timebill"][alice].entry.notes == "Build sprint"
