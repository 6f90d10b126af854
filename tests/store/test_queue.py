"""The durable queue: ordering per aggregate, leases, fencing, priority lanes, no double claims."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.store import queue
from q2c.store.db import now
from q2c.store.schema import work_items


def _enqueue(db: Engine, aggregate: str, n: int = 1, *, priority: int = queue.PRIORITY_TIME) -> list[int]:
    with db.begin() as conn:
        return [queue.enqueue(conn, kind="k", aggregate=aggregate, payload={"n": i}, correlation_id="c",
                              priority=priority) for i in range(n)]


def test_one_item_per_aggregate_in_order(db: Engine) -> None:
    a = _enqueue(db, "project:A", 3)
    b = _enqueue(db, "project:B", 1)
    with db.begin() as conn:
        first = queue.claim(conn, worker="w1", limit=10)
    assert [i.id for i in first] == [a[0], b[0]]
    with db.begin() as conn:
        assert queue.claim(conn, worker="w2", limit=10) == []  # A's next waits for A's first
        assert queue.complete(conn, a[0], worker="w1")
        second = queue.claim(conn, worker="w2", limit=10)
    assert [i.id for i in second] == [a[1]]


def test_retry_delay_keeps_order(db: Engine) -> None:
    a = _enqueue(db, "project:A", 2)
    with db.begin() as conn:
        (item,) = queue.claim(conn, worker="w1", limit=10)
        queue.reschedule(conn, item.id, worker="w1", delay_seconds=60, error="boom")
        assert queue.claim(conn, worker="w1", limit=10) == []  # the later update may not overtake
    assert item.id == a[0]


def test_expired_lease_is_reclaimed_and_stale_worker_fenced(db: Engine) -> None:
    (item_id,) = _enqueue(db, "project:A")
    with db.begin() as conn:
        queue.claim(conn, worker="stalled", limit=1, lease_seconds=60)
        conn.execute(work_items.update().values(lease_until=now() - timedelta(seconds=1)))
    with db.begin() as conn:
        (again,) = queue.claim(conn, worker="fresh", limit=1)
    assert again.id == item_id and again.attempts == 2
    with db.begin() as conn:
        assert not queue.complete(conn, item_id, worker="stalled")
        assert queue.complete(conn, item_id, worker="fresh")
        assert queue.counts(conn) == {"done": 1}


def test_priority_lanes(db: Engine) -> None:
    _enqueue(db, "ref:1", 1, priority=queue.PRIORITY_REFERENCE)
    (close,) = _enqueue(db, "close:1", 1, priority=queue.PRIORITY_CLOSE)
    with db.begin() as conn:
        (first,) = queue.claim(conn, worker="w", limit=1)
    assert first.id == close


def test_dead_item_does_not_block_its_aggregate(db: Engine) -> None:
    a = _enqueue(db, "project:A", 2)
    with db.begin() as conn:
        (item,) = queue.claim(conn, worker="w", limit=5)
        queue.bury(conn, item.id, worker="w", error="rejected")
        (nxt,) = queue.claim(conn, worker="w", limit=5)
    assert nxt.id == a[1]


CLAIMER = """
import sys, time
from q2c.store import queue
from q2c.store.db import create_db_engine
engine = create_db_engine(sys.argv[1])
name = sys.argv[2]
out = open(sys.argv[3], "w")
idle = 0
while idle < 20:
    with engine.begin() as conn:
        items = queue.claim(conn, worker=name, limit=3)
    if not items:
        idle += 1
        time.sleep(0.02)
        continue
    idle = 0
    for item in items:
        out.write(f"{item.id}\\n")
        out.flush()
        with engine.begin() as conn:
            assert queue.complete(conn, item.id, worker=name)
"""


def test_several_worker_processes_never_double_process(db: Engine, db_url: str, tmp_path: Path) -> None:
    n = 300
    with db.begin() as conn:
        conn.execute(work_items.insert(), [
            {"kind": "k", "aggregate": f"agg:{i % 40}", "priority": 30, "status": "pending", "attempts": 0,
             "available_at": now(), "correlation_id": "c", "payload": {}, "created_at": now()} for i in range(n)])
    script = tmp_path / "claimer.py"
    script.write_text(CLAIMER)
    procs = [subprocess.Popen([sys.executable, str(script), db_url, f"w{i}", str(tmp_path / f"out{i}.txt")])
             for i in range(3)]
    deadline = time.monotonic() + 120
    for p in procs:
        assert p.wait(timeout=max(1, deadline - time.monotonic())) == 0
    claimed = [int(line) for i in range(3) for line in (tmp_path / f"out{i}.txt").read_text().split()]
    assert len(claimed) == n
    assert len(set(claimed)) == n
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(work_items)
                            .where(work_items.c.attempts != 1)).scalar_one() == 0
