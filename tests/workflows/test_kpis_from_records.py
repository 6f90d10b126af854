"""The KPIs read from the hub's own records: a history written straight into the tables (inbox events, audit
entries, work items, exceptions, invoice and time entry records, runs), on SQLite and PostgreSQL. Every
figure worked by hand; days are UTC, Dec 1 and Dec 2, 2026.

Setup cycle time (inbox `opportunity.won` received -> first `write_back` audit entry, same correlation id):
  SF-A received Dec 1 09:00, written back 09:20 -> 1,200 s (Dec 1). SF-B received Dec 1 10:00, held by an
  exception, written back Dec 2 10:00 and again 11:00 (a replay) -> the first: 86,400 s (Dec 2). SF-C was
  received Dec 2 08:00 and is not set up yet; a write-back with no won event behind it is not a setup.
Approved-to-bill lag (first `time.deliver` batch carrying the entry approved -> first invoice listing it):
  batch W1 Dec 1 08:00 carries HV-1 submitted and HV-2 approved; W2 Dec 1 12:00 both approved; W3 Dec 2 06:00
  HV-3 approved. INV-1 written Dec 2 00:00 bills HV-1 and HV-2: 12 h and 16 h. The rejected draft INV-R
  (Dec 2 07:00) and the credit note CN-1 (09:00) bill nothing; INV-2 (Dec 2 10:00) bills HV-1 again (already
  billed) and HV-3: 4 h. Dec 2: 3 entries, mean (12 + 16 + 4) / 3 = 10.6667 h, p90 rank ceil(2.7) = 3 of
  4, 12, 16 -> 16 h.
Revenue event exception rate (revenue close items; replays are part of their event):
  Dec 1: R1 went through (0); R2 died with exception E1, its replay went through (1); R3 died, and its
  exception was since taken over by R4's repeat of the same problem (1, it died). Dec 2: R4 died with that
  exception (1); R5 went through with a warning, which is not an exception (0).
  Dec 1: 3 events, 2 with exceptions, 2 exceptions, rate 2/3 = 0.6667. Dec 2: 2, 1, 1, rate 0.5.
Integration recovery time: netsuite opened Dec 1 10:00, drained 10:05 -> 300 s; harvest opened Dec 2 07:00,
  still running -> Dec 2: 1 outage, 0 recovered.
Cross-system consistency, the last finished reconciliation of each day: Dec 1 06:00 45/50, 20:00 50/50 ->
  1.0; Dec 2 05:00 30/40 -> 0.75 (a run that failed at 21:00 has no figures and does not count).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from fakes import fake_world
from sqlalchemy.engine import Connection, Engine

from q2c.domain.kpis import KpiInputError, KpiReport
from q2c.domain.violations import Violation
from q2c.store import records, runs
from q2c.store.exceptions import raise_exception
from q2c.store.schema import audit_log, events, work_items
from q2c.workflows.hub import Hub
from q2c.workflows.kpis import SinceTooEarly, kpis

D1, D2 = date(2026, 12, 1), date(2026, 12, 2)
SEQ = count(1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def won(conn: Connection, opportunity_id: str, received: datetime) -> None:
    conn.execute(events.insert().values(
        idempotency_key=f"opportunity.won:{opportunity_id}", source="salesforce.poll", event_type="opportunity.won",
        aggregate=f"opportunity:{opportunity_id}", correlation_id=f"setup-{opportunity_id}", received_at=received))


def audit(conn: Connection, action: str, record_id: str, when: datetime, correlation: str,
          after: dict[str, Any] | None = None) -> None:
    conn.execute(audit_log.insert().values(seq=next(SEQ), at=when, actor="q2c", system="netsuite", action=action,
                                           entity="x", record_id=record_id, correlation_id=correlation, after=after,
                                           prev_hash="0" * 64, hash="0" * 64))


def work(conn: Connection, kind: str, aggregate: str, created: datetime, correlation: str, *, status: str = "done",
         payload: dict[str, Any] | None = None, replay_of: int | None = None) -> int:
    row = conn.execute(work_items.insert().values(
        kind=kind, aggregate=aggregate, priority=10, status=status, attempts=1, available_at=created,
        correlation_id=correlation, replay_of=replay_of, payload=payload or {}, created_at=created,
        finished_at=created).returning(work_items.c.id)).one()
    return int(row.id)


def batch(*entries: tuple[str, str]) -> dict[str, Any]:
    return {"entries": [{"id": entry_id, "status": status} for entry_id, status in entries]}


def invoice(conn: Connection, invoice_id: str, entry_ids: list[str], written: datetime, *,
            kind: str = "invoice", aggregate: str = "contract:C-1") -> None:
    payload = {"id": invoice_id, "kind": kind, "lines": [{"time_entry_ids": entry_ids}]}
    records.upsert_records(conn, [records.Record("invoice", invoice_id, aggregate, "released", 1, "h", payload)])
    audit(conn, "invoice", invoice_id, written, f"bill-{invoice_id}")


def problem(conn: Connection, rule: str, correlation: str, item_id: int, *, status: str = "open") -> None:
    v = Violation(system="q2c", object="contract", record_id="C-1", field=None, rule=rule, message="m", action="a")
    raise_exception(conn, v, work_kind="revenue.contract", aggregate="contract:C-1", payload={},
                    correlation_id=correlation, work_item_id=item_id, status=status)


def write_history(db: Engine) -> None:
    with db.begin() as conn:
        won(conn, "SF-A", at(1, 9))
        audit(conn, "upsert", "C-A", at(1, 9, 19), "setup-SF-A")
        audit(conn, "write_back", "SF-A", at(1, 9, 20), "setup-SF-A")
        won(conn, "SF-B", at(1, 10))
        audit(conn, "write_back", "SF-B", at(2, 10), "setup-SF-B")
        audit(conn, "write_back", "SF-B", at(2, 11), "setup-SF-B")
        won(conn, "SF-C", at(2, 8))
        audit(conn, "write_back", "SF-X", at(1, 12), "not-a-setup")

        work(conn, "time.deliver", "project:P-1", at(1, 8), "w1", payload=batch(("HV-1", "submitted"),
                                                                                 ("HV-2", "approved")))
        work(conn, "time.deliver", "project:P-1", at(1, 12), "w2", payload=batch(("HV-1", "approved"),
                                                                                  ("HV-2", "approved")))
        work(conn, "time.deliver", "project:P-1", at(2, 6), "w3", payload=batch(("HV-3", "approved")))
        records.upsert_records(conn, [records.Record("time_entry", e, "project:P-1", "billed", 1, "h", {})
                                      for e in ("HV-1", "HV-2", "HV-3")])
        invoice(conn, "INV-1", ["HV-1", "HV-2"], at(2, 0))
        invoice(conn, "INV-R", ["HV-3"], at(2, 7), aggregate="rejected:contract:C-1")
        invoice(conn, "CN-1", ["HV-1"], at(2, 9), kind="credit_note")
        invoice(conn, "INV-2", ["HV-1", "HV-3"], at(2, 10))

        work(conn, "revenue.contract", "contract:C-1", at(1, 1), "r1")
        r2 = work(conn, "revenue.contract", "contract:C-2", at(1, 1), "r2", status="dead")
        problem(conn, "revenue.refused", "r2", r2, status="replayed")
        work(conn, "revenue.contract", "contract:C-2", at(1, 3), "r2", replay_of=r2)
        work(conn, "revenue.contract", "contract:C-3", at(1, 1), "r3", status="dead")
        r4 = work(conn, "revenue.contract", "contract:C-3", at(2, 1), "r4", status="dead")
        problem(conn, "revenue.gl_mismatch", "r4", r4)  # the same open problem R3 had: one row, now R4's
        r5 = work(conn, "revenue.contract", "contract:C-5", at(2, 1), "r5")
        problem(conn, "field.truncated", "r5", r5, status="warning")

        runs.record_run(conn, kind="outage", status=runs.OK, started_at=at(1, 10), finished_at=at(1, 10, 5),
                        stats={"system": "netsuite", "opened_at": at(1, 10).isoformat(),
                               "drained_at": at(1, 10, 5).isoformat()})
        runs.start_run(conn, kind="outage", started_at=at(2, 7), stats={"system": "harvest"})
        for hour, compared, matched in ((6, 50, 45), (20, 50, 50)):
            runs.record_run(conn, kind="reconcile", status=runs.OK, started_at=at(1, hour),
                            finished_at=at(1, hour, 1), stats={"compared": compared, "matched": matched, "drifts": 0})
        runs.record_run(conn, kind="reconcile", status=runs.OK, started_at=at(2, 5), finished_at=at(2, 5, 1),
                        stats={"compared": 40, "matched": 30, "drifts": 10})
        runs.record_run(conn, kind="reconcile", status=runs.FAILED, started_at=at(2, 21), finished_at=at(2, 21, 1),
                        stats={"error": "netsuite: HTTP 503"})


@pytest.fixture
def hub(tmp_path: Path, db_url: str) -> Hub:
    hub = fake_world(tmp_path, db_url).hub
    write_history(hub.engine)
    return hub


def rows(report: KpiReport, name: str) -> list[dict[str, Any]]:
    return report.as_json()[name]


def test_every_kpi_from_the_hubs_records(hub: Hub) -> None:
    report = kpis(hub, since=D1, until=D2)
    assert report.days == [D1, D2]
    assert rows(report, "project_setup_cycle_time") == [
        {"day": "2026-12-01", "count": 1, "p50_seconds": 1200.0, "p90_seconds": 1200.0, "max_seconds": 1200.0},
        {"day": "2026-12-02", "count": 1, "p50_seconds": 86400.0, "p90_seconds": 86400.0, "max_seconds": 86400.0}]
    assert rows(report, "approved_to_bill_lag") == [
        {"day": "2026-12-01", "entries": 0, "mean_hours": None, "p90_hours": None},
        {"day": "2026-12-02", "entries": 3, "mean_hours": 10.6667, "p90_hours": 16.0}]
    assert rows(report, "revenue_event_exception_rate") == [
        {"day": "2026-12-01", "events": 3, "with_exceptions": 2, "exceptions": 2, "rate": 0.6667},
        {"day": "2026-12-02", "events": 2, "with_exceptions": 1, "exceptions": 1, "rate": 0.5}]
    assert rows(report, "integration_recovery_time") == [
        {"day": "2026-12-01", "outages": 1, "recovered": 1, "mean_seconds": 300.0, "max_seconds": 300.0},
        {"day": "2026-12-02", "outages": 1, "recovered": 0, "mean_seconds": None, "max_seconds": None}]
    assert [(r["day"], r["compared"], r["matched"], r["share"]) for r in rows(report, "cross_system_consistency")] \
        == [("2026-12-01", 50, 50, 1.0), ("2026-12-02", 40, 30, 0.75)]


def test_since_keeps_what_happened_from_that_day_on(hub: Hub) -> None:
    """From Dec 2: SF-B's setup (ready Dec 2) and INV-1 (written Dec 2 00:00) are in; SF-A (ready Dec 1) is
    not; R4 and R5 are the revenue events; without `since` the series start on Dec 1, the first day recorded."""
    report = kpis(hub, since=D2, until=D2)
    assert [r["count"] for r in rows(report, "project_setup_cycle_time")] == [1]
    assert [r["entries"] for r in rows(report, "approved_to_bill_lag")] == [3]
    assert [r["events"] for r in rows(report, "revenue_event_exception_rate")] == [2]
    assert kpis(hub, until=D2).days == [D1, D2]
    with pytest.raises(SinceTooEarly, match="field since"):
        kpis(hub, since=date(2010, 1, 1), until=D2)


def test_a_reconciliation_run_without_its_figures_is_named(hub: Hub) -> None:
    with hub.engine.begin() as conn:
        bad = runs.record_run(conn, kind="reconcile", status=runs.OK, started_at=at(2, 23), stats={"compared": "40"})
    with pytest.raises(KpiInputError, match=f"reconciliation run {bad} field stats.compared"):
        kpis(hub, since=D1, until=D2)
