"""Pruning what the hub no longer needs, on the config's retention (`retention`), so the database stays small.

See `store/retention.py` for what is kept whatever its age. Run by `q2c prune` and by `q2c serve`."""

from __future__ import annotations

import logging
from datetime import timedelta

from q2c.store.db import now
from q2c.store.retention import Pruned, prune
from q2c.workflows.hub import Hub
from q2c.workflows.project_setup import WON_EVENT

log = logging.getLogger("q2c.retention")


def prune_history(hub: Hub, *, dry_run: bool = False) -> Pruned:
    r = hub.config.retention
    at = now()
    done = prune(hub.engine, work_items_before=at - timedelta(days=r.work_items_days),
                 events_before=at - timedelta(days=r.events_days),
                 payloads_before=at - timedelta(days=r.exception_payloads_days),
                 keep_event_types=[WON_EVENT], dry_run=dry_run)
    if not dry_run and (done.work_items or done.events or done.exception_payloads):
        log.info("pruned %d finished work items, %d inbox events, %d settled exceptions' payloads",
                 done.work_items, done.events, done.exception_payloads)
    return done
