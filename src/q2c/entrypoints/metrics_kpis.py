"""Today's value of each KPI for /metrics, as gauges (the daily series are `q2c kpis` and the reports).

The KPIs are computed from the hub's records (`workflows/kpis.py`), which walks invoices and audit entries:
more than a scrape every few seconds should cost, so the day's figures are kept for a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from q2c.domain.kpis import KpiReport
from q2c.workflows.hub import Hub
from q2c.workflows.kpis import kpis

KpiSource = Callable[[], KpiReport]  # the KPIs of today (UTC): a report of one day
CACHE_SECONDS = 60.0
HOUR = 3600.0


@dataclass(frozen=True)
class KpiGauge:
    """One gauge from a field (or, by `statistic` label, several fields) of the day's row of one KPI."""

    name: str
    meaning: str
    kpi: str
    fields: Mapping[str, str]  # statistic label -> field of the row; the key "" for a gauge without that label
    scale: float = 1.0  # the row's unit to the gauge's (hours to seconds)


GAUGES = (
    KpiGauge("q2c_kpi_setups_completed", "Project setups completed today (UTC)", "project_setup_cycle_time",
             {"": "count"}),
    KpiGauge("q2c_kpi_setup_cycle_time_seconds", "Seconds from a deal won to ready in the ERP and the tracker, "
             "of the setups completed today (p50, p90, max)", "project_setup_cycle_time",
             {"p50": "p50_seconds", "p90": "p90_seconds", "max": "max_seconds"}),
    KpiGauge("q2c_kpi_time_entries_billed", "Time entries first billed today", "approved_to_bill_lag",
             {"": "entries"}),
    KpiGauge("q2c_kpi_approved_to_bill_lag_seconds", "Seconds from a time entry first seen approved to the invoice "
             "that first billed it, of the entries billed today (mean, p90)", "approved_to_bill_lag",
             {"mean": "mean_hours", "p90": "p90_hours"}, scale=HOUR),
    KpiGauge("q2c_kpi_revenue_events", "Revenue close events queued today", "revenue_event_exception_rate",
             {"": "events"}),
    KpiGauge("q2c_kpi_revenue_event_exception_ratio", "Share of today's revenue close events that met an exception",
             "revenue_event_exception_rate", {"": "rate"}),
    KpiGauge("q2c_kpi_outages", "Outages (a circuit opened) begun today", "integration_recovery_time",
             {"": "outages"}),
    KpiGauge("q2c_kpi_outages_recovered", "Outages begun today whose waiting work has drained",
             "integration_recovery_time", {"": "recovered"}),
    KpiGauge("q2c_kpi_recovery_time_seconds", "Seconds from a circuit opened to its waiting work drained, of the "
             "outages begun today (mean, max)", "integration_recovery_time",
             {"mean": "mean_seconds", "max": "max_seconds"}),
    KpiGauge("q2c_kpi_cross_system_consistency_ratio", "Share of compared records that matched in today's last "
             "reconciliation run", "cross_system_consistency", {"": "share"}),
)


def kpi_families(source: KpiSource) -> list[Metric]:
    """The gauges of today's row of each KPI; a figure the day has none of (no setup completed: no p50) is left
    out rather than shown as zero."""
    report = source()
    series = report.series()
    families: list[Metric] = []
    for gauge in GAUGES:
        rows = series[gauge.kpi]
        labelled = "" not in gauge.fields
        family = GaugeMetricFamily(gauge.name, gauge.meaning, labels=["statistic"] if labelled else [])
        row = rows[-1] if rows else None
        for statistic, field in gauge.fields.items():
            value = getattr(row, field) if row is not None else None
            if value is not None:
                family.add_metric([statistic] if labelled else [], float(value) * gauge.scale)
        families.append(family)
    return families


class TodaysKpis:
    """The hub's KPIs of today, computed at most once a minute however often /metrics is scraped. A record they
    cannot be computed from is kept the minute too: a bad record is not read again at every scrape."""

    def __init__(self, hub: Hub, *, ttl_seconds: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._hub = hub
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: tuple[float, KpiReport | Exception] | None = None

    def __call__(self) -> KpiReport:
        with self._lock:  # one scrape computes; one arriving meanwhile waits for its figures
            if self._kept is None or self._clock() - self._kept[0] >= self._ttl:
                try:
                    found: KpiReport | Exception = kpis(self._hub, since=self._hub.today())
                except Exception as exc:
                    found = exc
                self._kept = (self._clock(), found)
            kept = self._kept[1]
        if isinstance(kept, Exception):
            raise kept
        return kept
