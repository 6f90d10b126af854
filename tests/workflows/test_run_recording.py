"""Each sync, billing run and revenue close recorded as a run with its figures, over in-memory systems, on
SQLite and PostgreSQL.

The deal (see `fakes.deal`): T&M line, Alice (Consultant) 150/h, Bob (Architect) 200/h; milestone line with
Blueprint 5,000. By hand:
  sync.deals: the won deal seen once and queued once; its setup is the 1 work item the run queued.
  sync.time: Alice BUILD Nov 3 and Nov 4 8 h each, Bob DESIGN Nov 5 6 h, Dan BUILD Nov 10 5 h, all approved:
    4 entries on 1 page in 1 batch, 0 rejects. Dan is on no rate card: 1 time.resource_unknown.
  billing as of Nov 30 (Blueprint completed Nov 20), 1 contract: T&M 2 x 8 h x 150 + 6 h x 200 = 3,600 and
    Blueprint 5,000: 2 invoices, USD 8,600.00.
  revenue_close as of Nov 30, 1 contract: its revenue posted, 1 closed.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeWorld, fake_world

from q2c.engine.errors import TransientError
from q2c.entrypoints.wiring import drain, schedule
from q2c.store import runs
from q2c.workflows.billing_run import enqueue_billing
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.revenue_close import enqueue_revenue_close
from q2c.workflows.runs import (
    BILLING,
    REVENUE_CLOSE,
    SYNC_DEALS,
    SYNC_TIME,
    deal_figures,
    recorded_run,
    run_steps,
    time_figures,
)
from q2c.workflows.time_approved import poll_time

P = "P-006A"


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> FakeWorld:
    return fake_world(tmp_path, db_url)


def _runs(w: FakeWorld, kind: str | None = None) -> list[runs.Run]:
    with w.hub.engine.connect() as conn:
        return runs.list_runs(conn, kind=kind, limit=None)


def _figures(run: runs.Run) -> dict[str, Any]:
    """The run's figures without its duration (which no hand can work out)."""
    return {k: v for k, v in run.stats.items() if k != "duration_seconds"}


def test_a_deal_sync_time_sync_billing_and_revenue_close_are_each_a_run(world: FakeWorld) -> None:
    w, hub = world, world.hub
    with recorded_run(hub, SYNC_DEALS) as run:
        run.update(deal_figures(poll_won_deals(hub)))
        drain(hub)
    tracker = w.tracker
    entries = [tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, d), "8") for d in (3, 4)]
    entries += [tracker.log(P, "DESIGN", "bob@example.com", date(2026, 11, 5), "6"),
                tracker.log(P, "BUILD", "dan@example.com", date(2026, 11, 10), "5")]
    tracker.approve(*entries)
    with recorded_run(hub, SYNC_TIME) as run:
        run.update(time_figures(poll_time(hub)))
        drain(hub)
    w.crm.complete_milestone("SF-006A", "SF-M1", date(2026, 11, 20))
    with recorded_run(hub, BILLING) as run:
        run["contracts"] = enqueue_billing(hub, invoice_date=date(2026, 11, 30))
        drain(hub)
    with recorded_run(hub, REVENUE_CLOSE) as run:
        run["contracts"] = enqueue_revenue_close(hub, period_end=date(2026, 11, 30))
        drain(hub)

    closing, billing, timing, deals = _runs(w)
    assert [r.kind for r in (deals, timing, billing, closing)] == [SYNC_DEALS, SYNC_TIME, BILLING, REVENUE_CLOSE]
    assert all(r.status == "ok" and r.finished_at is not None for r in (deals, timing, billing, closing))
    assert _figures(deals) == {"seen": 1, "enqueued": 1, "duplicates": 0, "queued": 1,
                               "exceptions": {"opened": 0, "by_rule": {}}}
    assert _figures(timing) == {"entries": 4, "pages": 1, "batches": 1, "rejects": 0, "duplicates": 0, "queued": 1,
                                "exceptions": {"opened": 1, "by_rule": {"time.resource_unknown": 1}}}
    assert _figures(billing) == {"contracts": 1, "queued": 1, "invoices": 2, "invoice_totals": {"USD": "8600.00"},
                                 "exceptions": {"opened": 0, "by_rule": {}}}
    assert _figures(closing) == {"contracts": 1, "queued": 1, "closed": 1, "exceptions": {"opened": 0, "by_rule": {}}}
    assert deals.stats["duration_seconds"] == pytest.approx(deals.duration_seconds, abs=0.002)
    assert deals.started_at < deals.finished_at <= timing.started_at  # type: ignore[operator]


def test_a_run_whose_work_fails_is_recorded_failed_with_the_message(world: FakeWorld) -> None:
    with pytest.raises(TransientError), recorded_run(world.hub, SYNC_TIME) as run:
        run["entries"] = 0
        raise TransientError("tracker", "GET /time_entries: HTTP 503")
    (failed,) = _runs(world)
    assert failed.status == "failed"
    assert failed.stats["error"] == "tracker: GET /time_entries: HTTP 503"
    assert failed.stats["entries"] == 0 and failed.stats["exceptions"] == {"opened": 0, "by_rule": {}}


def test_a_scheduled_poll_that_found_nothing_is_not_kept_and_one_that_did_is(world: FakeWorld) -> None:
    hub = world.hub
    assert run_steps(hub, SYNC_TIME, [lambda h: time_figures(poll_time(h))], record_idle=False)["entries"] == 0
    assert _runs(world) == []
    assert run_steps(hub, SYNC_DEALS, [lambda h: deal_figures(poll_won_deals(h))], record_idle=False)["enqueued"] == 1
    (kept,) = _runs(world)
    assert (kept.kind, kept.stats["seen"], kept.stats["queued"]) == (SYNC_DEALS, 1, 1)


def test_a_failing_step_does_not_stop_the_others_and_fails_the_run(world: FakeWorld) -> None:
    def feed(hub: object) -> dict[str, int]:
        raise TransientError("crm", "change feed: HTTP 503")

    with pytest.raises(TransientError, match="change feed"):
        run_steps(world.hub, SYNC_DEALS, [feed, lambda h: deal_figures(poll_won_deals(h))], record_idle=False)
    (failed,) = _runs(world)
    assert failed.status == "failed" and failed.stats["error"] == "crm: change feed: HTTP 503"
    assert (failed.stats["seen"], failed.stats["enqueued"]) == (1, 1), "the won deals were polled all the same"


def test_the_service_scheduler_records_its_polls(world: FakeWorld) -> None:
    """One round of `q2c serve`'s scheduler, no worker running: the deal poll finds and queues the won deal
    (kept); the contract-change poll has no contract to compare yet and the time poll finds nothing (not kept)."""
    stop = threading.Event()
    thread = threading.Thread(target=schedule, args=(world.hub, stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not _runs(world, SYNC_DEALS):
        assert time.monotonic() < deadline, "the scheduler recorded no run"
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=30)
    (deals,) = _runs(world)
    assert (deals.kind, deals.status, deals.stats["seen"], deals.stats["enqueued"], deals.stats["crm_events"]) == (
        SYNC_DEALS, "ok", 1, 1, 0)
