"""/metrics scraped through the API over a hub doing real work against the in-memory systems, and read the
way Prometheus reads it (`text_string_to_metric_families`): queue depth by lane and kind as work is queued
and delivered, an exception counted under its rule until it is replayed (the figures /health gives agree),
each pair's latest reconciliation, today's KPIs (kept a minute), and a source that cannot be read.
On SQLite and on PostgreSQL through the `db_url` fixture where the database matters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from fakes import FakeWorld, deal, fake_world
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from test_invoice_status import november

from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.metrics import MetricSources, hub_sources
from q2c.entrypoints.metrics_kpis import TodaysKpis
from q2c.entrypoints.wiring import worker_for
from q2c.store import drifts as drift_store
from q2c.store.db import now
from q2c.store.schema import runs
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.reconcile import reconcile
from q2c.workflows.time_approved import poll_time
from support.api_auth import bearer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: TestClient) -> Samples:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def named(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


@contextmanager
def api_over(w: FakeWorld, sources: MetricSources) -> Iterator[TestClient]:
    with TestClient(create_app(w.hub.engine, webhook_secret="whsec-test", metrics=sources),
                    headers=bearer(w.hub.engine)) as api:
        yield api


def test_queue_depth_follows_the_work_by_lane_and_kind(tmp_path: Path, db_url: str) -> None:
    """The won deal waits in the setup lane, then is delivered; three approved entries of one project wait as
    one time batch in the time lane (a batch per project), then are delivered."""
    w = fake_world(tmp_path, db_url)
    worker = worker_for(w.hub)
    with api_over(w, hub_sources(w.hub, [worker])) as api:
        assert named(scrape(api), "q2c_queue_items") == {}
        poll_won_deals(w.hub)
        samples = scrape(api)
        assert named(samples, "q2c_queue_items") == {
            frozenset({"lane": "setup", "kind": "deal.setup", "status": "pending"}.items()): 1}
        age = value(samples, "q2c_queue_oldest_pending_age_seconds", lane="setup", kind="deal.setup")
        assert age is not None and 0 <= age < 60
        assert value(samples, "q2c_deliveries_total", kind="deal.setup") == 0

        worker.run_until_idle(max_seconds=30)
        entries = [w.tracker.log("P-006A", "BUILD", "alice@example.com", date(2026, 11, d), "8") for d in (3, 4)]
        entries.append(w.tracker.log("P-006A", "DESIGN", "bob@example.com", date(2026, 11, 4), "6"))
        w.tracker.approve(*entries)
        poll_time(w.hub)
        samples = scrape(api)
        assert named(samples, "q2c_queue_items") == {
            frozenset({"lane": "time", "kind": "time.deliver", "status": "pending"}.items()): 1}
        assert named(samples, "q2c_queue_oldest_pending_age_seconds").keys() == {
            frozenset({"lane": "time", "kind": "time.deliver"}.items())}
        assert value(samples, "q2c_deliveries_total", kind="deal.setup") == 1

        worker.run_until_idle(max_seconds=30)
        samples = scrape(api)
        assert named(samples, "q2c_queue_items") == {}
        assert named(samples, "q2c_queue_oldest_pending_age_seconds") == {}
        assert value(samples, "q2c_deliveries_total", kind="time.deliver") == 1
        assert named(samples, "q2c_delivery_retries_total") == named(samples, "q2c_dead_letters_total") == {}


def test_an_exception_is_counted_under_its_rule_until_it_is_replayed(tmp_path: Path, db_url: str) -> None:
    """A deal on an unknown legal entity dies on `deal.legal_entity_unknown` (the CRM's record): one open
    exception under that rule, one dead item of the setup lane, one dead letter naming the CRM, as /health
    counts them too. Fixed in the CRM and replayed, the exception is no longer open and the deal is delivered;
    the dead item stays in the queue's history."""
    w = fake_world(tmp_path, db_url, opportunity=deal().model_copy(update={"legal_entity": "XX99"}))
    worker = worker_for(w.hub)
    with api_over(w, hub_sources(w.hub, [worker])) as api:
        poll_won_deals(w.hub)
        worker.run_until_idle(max_seconds=30)
        samples = scrape(api)
        assert named(samples, "q2c_open_exceptions") == {
            frozenset({"rule": "deal.legal_entity_unknown", "system": "crm"}.items()): 1}
        assert value(samples, "q2c_queue_items", lane="setup", kind="deal.setup", status="dead") == 1
        assert value(samples, "q2c_queue_dead_awaiting_replay_items") == 1
        assert value(samples, "q2c_dead_letters_total", kind="deal.setup", system="crm") == 1
        health = api.get("/health").json()
        assert health["exceptions"] == {"open": 1} and health["queue"] == {"dead": 1}

        w.crm.opportunities["SF-006A"] = deal()
        (exception,) = api.get("/exceptions").json()
        assert api.post(f"/exceptions/{exception['id']}/replay", json={}).status_code == 200
        worker.run_until_idle(max_seconds=30)
        samples = scrape(api)
        assert named(samples, "q2c_open_exceptions") == {}
        assert value(samples, "q2c_queue_dead_awaiting_replay_items") == 0
        assert value(samples, "q2c_queue_items", lane="setup", kind="deal.setup", status="dead") == 1
        assert value(samples, "q2c_deliveries_total", kind="deal.setup") == 1


def test_each_pair_shows_its_latest_reconciliation(tmp_path: Path, db_url: str) -> None:
    """November (`test_invoice_status.november`) with HV-3 lost in the ERP. The time pair alone: 3 compared,
    2 matched, 1 missing in the ERP (right), and its exception open. Then the bookings pair alone: clean; the
    time pair still shows what its own latest run found, which finished before the bookings run."""
    w, _ = november(tmp_path, db_url)
    del w.erp.records["timebill"]["HV-3"]
    with api_over(w, MetricSources()) as api:
        assert named(scrape(api), "q2c_reconciliation_drifts") == {}
        reconcile(w.hub, pairs=["time"])
        reconcile(w.hub, pairs=["bookings"])
        samples = scrape(api)
    drifts = {dict(labels)["pair"] + "/" + dict(labels)["kind"]: v
              for labels, v in named(samples, "q2c_reconciliation_drifts").items()}
    assert drifts == {"time/missing_left": 0, "time/missing_right": 1, "time/different": 0,
                      "bookings/missing_left": 0, "bookings/missing_right": 0, "bookings/different": 0}
    assert (value(samples, "q2c_reconciliation_compared_records", pair="time"),
            value(samples, "q2c_reconciliation_matched_records", pair="time"),
            value(samples, "q2c_reconciliation_held_records", pair="time")) == (3, 2, 0)
    assert value(samples, "q2c_reconciliation_matched_records", pair="bookings") == value(
        samples, "q2c_reconciliation_compared_records", pair="bookings")
    finished = named(samples, "q2c_reconciliation_last_run_timestamp_seconds")
    time_run = finished[frozenset({"pair": "time"}.items())]
    assert time_run <= finished[frozenset({"pair": "bookings"}.items())] <= now().timestamp()
    assert named(samples, "q2c_open_exceptions") == {  # the drift's exception, the hub's to heal
        frozenset({"rule": "reconcile.time.missing_right", "system": "q2c"}.items()): 1}


def test_todays_kpis_are_kept_a_minute(tmp_path: Path) -> None:
    """No setup has completed today; the deal is then set up, and the scrape within the minute still shows
    the figures it kept; after it, one setup completed today and its cycle time."""
    w = fake_world(tmp_path)
    clock = [100.0]
    with api_over(w, MetricSources(kpis=TodaysKpis(w.hub, clock=lambda: clock[0]))) as api:
        samples = scrape(api)
        assert value(samples, "q2c_kpi_setups_completed") == 0
        assert named(samples, "q2c_kpi_setup_cycle_time_seconds") == {}
        w.set_up()
        clock[0] += 59
        assert value(scrape(api), "q2c_kpi_setups_completed") == 0
        clock[0] += 2
        samples = scrape(api)
    assert value(samples, "q2c_kpi_setups_completed") == 1
    cycle = {dict(labels)["statistic"]: v for labels, v in named(samples, "q2c_kpi_setup_cycle_time_seconds").items()}
    assert cycle.keys() == {"p50", "p90", "max"} and 0 <= cycle["p50"] == cycle["max"] < 60
    assert value(samples, "q2c_metrics_source_up", source="kpis") == 1


def test_a_source_that_cannot_be_read_is_reported_and_the_rest_still_served(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A reconciliation run whose figures are not counts: the reconciliation source is down (the log names the
    run and the field), the queue's figures are still there."""
    w = fake_world(tmp_path)
    with w.hub.engine.begin() as conn:
        run_id = drift_store.record_run(conn, started_at=now(), status="clean",
                                        stats={"pairs": {"time": {"matched": "two"}}}, found=[])
    poll_won_deals(w.hub)
    with api_over(w, MetricSources()) as api, caplog.at_level(logging.ERROR, logger="q2c.metrics"):
        samples = scrape(api)
    assert value(samples, "q2c_metrics_source_up", source="reconciliation") == 0
    assert value(samples, "q2c_metrics_source_up", source="queue") == 1
    assert value(samples, "q2c_queue_items", lane="setup", kind="deal.setup", status="pending") == 1
    assert named(samples, "q2c_reconciliation_drifts") == {}
    (record,) = [r for r in caplog.records if r.name == "q2c.metrics"]
    assert record.getMessage() == "/metrics: the reconciliation figures could not be read"
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == (f"reconciliation run {run_id} field stats.pairs.time.missing_left: "
                                       "expected a count, got None")



def test_a_record_the_kpis_cannot_read_is_logged_once_until_it_is_fixed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A reconciliation run without its `compared` count: the KPIs cannot be computed, so their source is down
    and the log names the run and the field once, however many scrapes find it so, within the minute the KPIs
    are kept and after; the reconciliation source (it compared no pair) is up. The run mended, the KPIs of the
    next minute are back, and the log says so."""
    w = fake_world(tmp_path)
    with w.hub.engine.begin() as conn:
        run_id = drift_store.record_run(conn, started_at=now(), status="clean", stats={"pairs": {}}, found=[])
    clock = [100.0]
    with api_over(w, MetricSources(kpis=TodaysKpis(w.hub, clock=lambda: clock[0]))) as api, \
            caplog.at_level(logging.WARNING, logger="q2c.metrics"):
        for _ in range(3):
            samples = scrape(api)
            assert value(samples, "q2c_metrics_source_up", source="kpis") == 0
            assert value(samples, "q2c_metrics_source_up", source="reconciliation") == 1
            assert named(samples, "q2c_kpi_setups_completed") == {}
        clock[0] += 61
        assert value(scrape(api), "q2c_metrics_source_up", source="kpis") == 0
        with w.hub.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id).values(stats={"pairs": {}, "compared": 0,
                                                                                "matched": 0}))
        clock[0] += 61
        samples = scrape(api)
    assert value(samples, "q2c_metrics_source_up", source="kpis") == 1
    assert value(samples, "q2c_kpi_setups_completed") == 0
    told = [r for r in caplog.records if r.name == "q2c.metrics"]
    assert [r.getMessage() for r in told] == ["/metrics: the kpis figures could not be read",
                                              "/metrics: the kpis figures can be read again"]
    assert told[0].exc_info is not None and str(told[0].exc_info[1]) == (
        f"reconciliation run {run_id} field stats.compared: expected a count, got None")
