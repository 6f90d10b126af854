"""Keeping the database small: finished work, old inbox events and settled exceptions' payloads are pruned.

What is kept whatever its age: the audit trail, the records and links (q2c's books), work that is not
finished (pending, running, dead: a dead item is what an open exception replays), the inbox events such
work still points to, and the events whose key stops a won deal from being set up twice. Pruning runs in
chunks, each in its own transaction, so it never holds the database for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.store.exceptions import IGNORED, RESOLVED
from q2c.store.queue import DONE
from q2c.store.schema import events, exception_subjects, exceptions, work_items

CHUNK = 2_000


@dataclass
class Pruned:
    work_items: int = 0
    events: int = 0
    exception_payloads: int = 0


def _ids(engine: Engine, query: sa.Select[Any]) -> list[int]:
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(query.limit(CHUNK)).scalars()]


def prune(engine: Engine, *, work_items_before: datetime, events_before: datetime, payloads_before: datetime,
          keep_event_types: Sequence[str], dry_run: bool = False) -> Pruned:
    """Delete finished work items finished before `work_items_before`, inbox events received before
    `events_before` (but those of `keep_event_types` and those unfinished work points to), and empty the replay
    payloads of exceptions resolved or ignored before `payloads_before`. With `dry_run`, only count."""
    out = Pruned()
    done = sa.select(work_items.c.id).where(work_items.c.status == DONE, work_items.c.finished_at < work_items_before)
    referenced = sa.select(work_items.c.event_id).where(work_items.c.event_id.is_not(None))
    old_events = sa.select(events.c.id).where(events.c.received_at < events_before,
                                              events.c.event_type.not_in(list(keep_event_types)),
                                              events.c.id.not_in(referenced))
    settled = sa.select(exceptions.c.id).where(exceptions.c.status.in_([RESOLVED, IGNORED]),
                                               exceptions.c.resolved_at < payloads_before,
                                               sa.cast(exceptions.c.payload, sa.Text) != "{}")
    if dry_run:
        with engine.connect() as conn:
            count = sa.func.count()
            out.work_items = int(conn.execute(sa.select(count).select_from(done.subquery())).scalar_one())
            # events that finished work points to go with it
            out.events = int(conn.execute(sa.select(count).select_from(events).where(
                events.c.received_at < events_before, events.c.event_type.not_in(list(keep_event_types)),
                events.c.id.not_in(referenced.where(work_items.c.id.not_in(done))))).scalar_one())
            out.exception_payloads = int(conn.execute(sa.select(count).select_from(settled.subquery())).scalar_one())
        return out
    while ids := _ids(engine, done.order_by(work_items.c.id)):
        with engine.begin() as conn:
            out.work_items += conn.execute(work_items.delete().where(work_items.c.id.in_(ids))).rowcount
    while ids := _ids(engine, old_events.order_by(events.c.id)):
        with engine.begin() as conn:
            out.events += conn.execute(events.delete().where(events.c.id.in_(ids))).rowcount
    while ids := _ids(engine, settled.order_by(exceptions.c.id)):
        with engine.begin() as conn:
            out.exception_payloads += conn.execute(exceptions.update().where(exceptions.c.id.in_(ids))
                                                   .values(payload={})).rowcount
            conn.execute(exception_subjects.update().where(exception_subjects.c.exception_id.in_(ids))
                         .values(payload=None))
    return out
