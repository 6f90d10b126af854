"""The KPIs as daily series, from hand-made histories; every figure worked by hand below.

Days: Dec 1 to Dec 3, 2026 (UTC).

Setup cycle time (won -> ready), by the day the setup completed:
  A won Dec 1 09:00, ready Dec 1 09:10 -> 600 s; B won Nov 30 22:00, ready Dec 1 10:00 -> 43,200 s;
  C won Dec 1 09:00, ready Dec 1 09:01:30 -> 90 s; D won Dec 3 12:00, ready Dec 3 12:00:45.5 -> 45.5 s.
  Dec 1 sorted 90, 600, 43,200: p50 rank ceil(1.5) = 2 -> 600; p90 rank ceil(2.7) = 3 -> 43,200; max 43,200.
  Dec 2 none. Dec 3: one value, 45.5 for p50, p90 and max.
Approved-to-bill lag (first seen approved -> first invoiced), by the day of the invoice:
  Dec 2: HV-1 approved Dec 1 08:00, billed Dec 2 08:00 -> 24 h; HV-2 Nov 30 20:00 -> Dec 2 08:00 -> 36 h;
  HV-3 Dec 2 02:00 -> 08:00 -> 6 h; HV-4 Dec 1 23:00 -> Dec 2 08:00 -> 9 h.
  mean (24 + 36 + 6 + 9) / 4 = 18.75 h; sorted 6, 9, 24, 36: p90 rank ceil(3.6) = 4 -> 36 h.
  Dec 3: HV-5 Dec 3 00:00 -> Dec 3 00:20 -> 1/3 h = 0.3333 (four places) for mean and p90.
Revenue event exception rate, by the day the close work was queued:
  Dec 1: items 1 (0 exceptions), 2 (2), 3 (0), 4 (1) -> 4 events, 2 with exceptions, 3 exceptions, rate 0.5.
  Dec 2: item 5 (0) -> 1 event, rate 0. Dec 3: nothing -> rate None.
Integration recovery time, by the day the outage began:
  Dec 1: netsuite opened 10:00, drained 10:02 -> 120 s; harvest opened 23:59, drained Dec 2 00:04 -> 300 s.
  mean 210 s, max 300 s. Dec 3: salesforce opened 08:00, not drained yet -> 1 outage, 0 recovered.
Cross-system consistency, the last run of each day:
  Dec 1: run 7 at 06:00 (100 compared, 90 matched), run 8 at 18:00 (200, 199) -> 199 / 200 = 0.995.
  Dec 2: none -> None. Dec 3: run 9 (0 compared) -> share None.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from q2c.domain.kpis import (
    BilledTime,
    CycleTimeDay,
    ExceptionRateDay,
    KpiInputError,
    LagDay,
    Outage,
    Reconciliation,
    RecoveryDay,
    RevenueEvent,
    Setup,
    days_between,
    kpi_report,
    nearest_rank,
)

D1, D2, D3 = date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)
DAYS = [D1, D2, D3]


def at(day: int, hour: int, minute: int = 0, second: float = 0.0, month: int = 12) -> datetime:
    whole = int(second)
    return datetime(2026, month, day, hour, minute, whole, round((second - whole) * 1_000_000), tzinfo=UTC)


SETUPS = [Setup("SF-A", at(1, 9), at(1, 9, 10)), Setup("SF-B", at(30, 22, month=11), at(1, 10)),
          Setup("SF-C", at(1, 9), at(1, 9, 1, 30)), Setup("SF-D", at(3, 12), at(3, 12, 0, 45.5))]
BILLED = [BilledTime("HV-1", at(1, 8), at(2, 8), "INV-1"), BilledTime("HV-2", at(30, 20, month=11), at(2, 8), "INV-1"),
          BilledTime("HV-3", at(2, 2), at(2, 8), "INV-1"), BilledTime("HV-4", at(1, 23), at(2, 8), "INV-2"),
          BilledTime("HV-5", at(3, 0), at(3, 0, 20), "INV-3")]
REVENUE = [RevenueEvent(1, at(1, 1), 0), RevenueEvent(2, at(1, 1), 2), RevenueEvent(3, at(1, 2), 0),
           RevenueEvent(4, at(1, 23, 59), 1), RevenueEvent(5, at(2, 0, 0, 1), 0)]
OUTAGES = [Outage("netsuite", at(1, 10), at(1, 10, 2)), Outage("harvest", at(1, 23, 59), at(2, 0, 4)),
           Outage("salesforce", at(3, 8), None)]
RECONCILIATIONS = [Reconciliation(8, at(1, 18), 200, 199), Reconciliation(7, at(1, 6), 100, 90),
                   Reconciliation(9, at(3, 7), 0, 0)]


def test_every_kpi_from_a_hand_made_history() -> None:
    report = kpi_report(setups=SETUPS, billed=BILLED, revenue=REVENUE, outages=OUTAGES,
                        reconciliations=RECONCILIATIONS, first=D1, last=D3)
    assert report.days == DAYS
    assert report.project_setup_cycle_time == [CycleTimeDay(D1, 3, 600.0, 43200.0, 43200.0),
                                               CycleTimeDay(D2, 0, None, None, None),
                                               CycleTimeDay(D3, 1, 45.5, 45.5, 45.5)]
    assert report.approved_to_bill_lag == [LagDay(D1, 0, None, None), LagDay(D2, 4, 18.75, 36.0),
                                           LagDay(D3, 1, 0.3333, 0.3333)]
    assert report.revenue_event_exception_rate == [ExceptionRateDay(D1, 4, 2, 3, 0.5),
                                                   ExceptionRateDay(D2, 1, 0, 0, 0.0),
                                                   ExceptionRateDay(D3, 0, 0, 0, None)]
    assert report.integration_recovery_time == [RecoveryDay(D1, 2, 2, 210.0, 300.0), RecoveryDay(D2, 0, 0, None, None),
                                                RecoveryDay(D3, 1, 0, None, None)]
    assert [(d.day, d.run_id, d.share) for d in report.cross_system_consistency] == [
        (D1, 8, 0.995), (D2, None, None), (D3, 9, None)]


def test_the_json_form_is_one_list_of_days_per_kpi() -> None:
    data = kpi_report(setups=SETUPS[:1], first=D1, last=D2).as_json()
    assert list(data) == ["project_setup_cycle_time", "approved_to_bill_lag", "revenue_event_exception_rate",
                          "integration_recovery_time", "cross_system_consistency"]
    assert data["project_setup_cycle_time"] == [
        {"day": "2026-12-01", "count": 1, "p50_seconds": 600.0, "p90_seconds": 600.0, "max_seconds": 600.0},
        {"day": "2026-12-02", "count": 0, "p50_seconds": None, "p90_seconds": None, "max_seconds": None}]
    assert data["cross_system_consistency"][0] == {"day": "2026-12-01", "run_id": None, "compared": None,
                                                   "matched": None, "share": None}


def test_without_a_first_day_the_series_start_on_the_first_day_anything_was_recorded() -> None:
    """The earliest: reconciliation run 7 on Dec 1 (Setup B was won Nov 30, but it is counted when ready, Dec 1)."""
    assert kpi_report(setups=SETUPS, reconciliations=RECONCILIATIONS, last=D3).days == DAYS
    assert kpi_report(last=D3).days == []
    assert kpi_report(first=D3, last=D1).days == []


def test_nearest_rank_percentiles() -> None:
    """Sorted 10, 20, 30, 40: p50 rank ceil(2) = 2 -> 20; p90 rank ceil(3.6) = 4 -> 40; p1 rank 1 -> 10."""
    assert [nearest_rank([40, 10, 30, 20], p) for p in (50, 90, 1, 100)] == [20, 40, 10, 40]
    assert days_between(D1, D3) == DAYS
    with pytest.raises(KpiInputError):
        nearest_rank([], 50)


@pytest.mark.parametrize(("history", "message"), [
    ({"setups": [Setup("SF-X", at(2, 10), at(2, 9))]}, "setup of SF-X field ready_at: .* is before won_at"),
    ({"setups": [Setup("SF-X", datetime(2026, 12, 2, 9), at(2, 10))]}, "setup of SF-X field won_at: .* no timezone"),
    ({"billed": [BilledTime("HV-9", at(2, 10), at(2, 9), "INV-9")]},
     "time entry HV-9 on invoice INV-9 field billed_at"),
    ({"revenue": [RevenueEvent(9, at(2, 1), -1)]}, "revenue close work item 9 field exceptions"),
    ({"outages": [Outage("netsuite", at(2, 10), at(2, 9))]}, "outage of netsuite .* field drained_at"),
    ({"reconciliations": [Reconciliation(9, at(2, 1), 10, 11)]}, "reconciliation run 9 field matched"),
])
def test_a_history_that_cannot_be_measured_is_refused_naming_the_record_and_field(
        history: dict[str, list[object]], message: str) -> None:
    with pytest.raises(KpiInputError, match=message):
        kpi_report(first=D1, last=D3, **history)  # type: ignore[arg-type]
