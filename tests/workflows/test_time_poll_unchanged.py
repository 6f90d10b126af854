"""A time poll that reads entries again exactly as q2c holds them queues nothing for them (every poll reads
the cursor's overlap again; a re-listing reads everything), while a changed, held or corrected entry goes on.

The deal: see `fakes.deal`. Alice 8 h BUILD Nov 3 (HV-1) and Nov 4 (HV-2), Bob 6 h DESIGN Nov 5 (HV-3),
approved and posted; Bob's 2 h on Nov 6 (HV-4) is only submitted.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from fakes import fake_world

from q2c.entrypoints.wiring import drain
from q2c.store import queue
from q2c.store.schema import cursors, work_items
from q2c.workflows.time_approved import cursor_name, poll_time

P = "P-006A"


def test_entries_read_again_unchanged_are_not_queued_again(tmp_path: Path, db_url: str) -> None:
    w = fake_world(tmp_path, db_url)
    w.set_up()
    posted = [w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, d), "8") for d in (3, 4)]
    posted.append(w.tracker.log(P, "DESIGN", "bob@example.com", date(2026, 11, 5), "6"))
    w.tracker.approve(*posted)
    waiting = w.tracker.log(P, "DESIGN", "bob@example.com", date(2026, 11, 6), "2")
    w.sync()

    def relist() -> tuple[int, int]:
        """Forget the cursor (a re-listing), poll; (entries queued again, entries seen unchanged)."""
        with w.hub.engine.begin() as conn:
            conn.execute(sa.delete(cursors).where(cursors.c.name == cursor_name(w.hub)))
            before = conn.execute(sa.select(sa.func.count()).select_from(work_items)).scalar_one()
        stats = poll_time(w.hub)
        with w.hub.engine.connect() as conn:
            after = conn.execute(sa.select(sa.func.count()).select_from(work_items)).scalar_one()
        drain(w.hub)
        return after - before, stats.unchanged

    assert relist() == (0, 4)  # three posted and one waiting for approval: nothing to do
    w.tracker.change(posted[1], hours=Decimal(7))  # corrected in the tracker: queued, the others not
    assert relist() == (1, 3)
    with w.hub.engine.connect() as conn:
        assert queue.counts(conn).get("dead", 0) == 0
    assert w.erp.records["timebill"][posted[1]].entry.hours == Decimal(7)
    w.tracker.approve(waiting)
    assert relist() == (1, 3)
    assert waiting in w.erp.records["timebill"]
