"""/metrics: the hub's figures in the Prometheus text format (version 0.0.4), from a registry of the app's
own (never the process-wide default one, so two apps in one process, or two tests, do not collide).

Where each figure comes from:

- the database, read at each scrape (`metrics_database.py`): queue depth and age, dead items, open
  exceptions, each pair's latest reconciliation. True across every process of the hub.
- this process's vendor endpoints (its `GuardRegistry`), read at each scrape: requests, throttle answers,
  transient failures, retries, time waited for the rate budget, circuit states. They are the counters /health
  reports, so each figure has one source. Request latency is observed as each answer comes
  (`GuardRegistry.watch_requests`).
- this process's workers: delivery outcomes, counted as each is recorded (`Worker.watch_deliveries`).
- the KPIs of today (`metrics_kpis.py`), kept for a minute.

The in-process figures are this process's since it started; Prometheus sums them across processes. A source
that cannot be read (the database is down, a record the KPIs cannot read) is reported as
`q2c_metrics_source_up{source="..."} 0`, logged when it starts failing and when it is back, and everything else
is still served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Connection, Engine

from q2c.engine.resilience import Exchange, GuardRegistry
from q2c.engine.worker import DEAD, DELIVERED, RETRIED, Delivery, Worker
from q2c.entrypoints.metrics_database import exception_families, queue_families, reconciliation_families
from q2c.entrypoints.metrics_kpis import KpiSource, TodaysKpis, kpi_families
from q2c.workflows.hub import Hub

log = logging.getLogger("q2c.metrics")

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what prometheus-client answers a scraper that asks for nothing newer
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)  # to the 30 s timeout

Reader = Callable[[], Iterable[Metric]]


class AtScrape(Collector):
    """Figures read when scraped, each source on its own so that one failing does not blank the others.

    A source that fails is logged when it starts failing (and again if the reason changes), and when it can be
    read again: a database down for an hour is two lines in the log, not one for each scrape."""

    def __init__(self, readers: Mapping[str, Reader]) -> None:
        self._readers = dict(readers)
        self._failing: dict[str, str] = {}  # source -> why it failed last

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("q2c_metrics_source_up", "1 when the source's figures could be read at this scrape",
                               labels=["source"])
        for source, read in self._readers.items():
            try:
                families = list(read())
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}"
                if self._failing.get(source) != why:
                    log.exception("/metrics: the %s figures could not be read", source)
                self._failing[source] = why
                up.add_metric([source], 0)
                continue
            if self._failing.pop(source, None) is not None:
                log.warning("/metrics: the %s figures can be read again", source)
            up.add_metric([source], 1)
            yield from families
        yield up


def vendor_families(guards: GuardRegistry) -> list[Metric]:
    """What each vendor endpoint's guard has counted since the process started, and its circuit's state."""
    labels = ["system", "endpoint"]
    requests = CounterMetricFamily("q2c_vendor_requests", "Requests sent to the vendor endpoint, every attempt",
                                   labels=labels)
    throttled = CounterMetricFamily("q2c_vendor_throttled", "Throttle answers from the vendor endpoint (429 with "
                                    "Retry-After, or the vendor's own slow-down signal)", labels=labels)
    failures = CounterMetricFamily("q2c_vendor_transient_failures", "Answers that failed for now (5xx, no answer, "
                                   "an unreadable body)", labels=labels)
    retries = CounterMetricFamily("q2c_vendor_retries", "Requests sent again in place after a failed attempt",
                                  labels=labels)
    waited = CounterMetricFamily("q2c_vendor_rate_limit_wait_seconds", "Seconds requests waited for the endpoint's "
                                 "rate budget (the vendor's limits and its Retry-After)", labels=labels)
    circuit = GaugeMetricFamily("q2c_circuit_state", "The endpoint's circuit breaker: 0 closed, 1 half-open, 2 open",
                                labels=labels)
    for guard in sorted(guards.all(), key=lambda g: (g.system, g.endpoint)):
        key = [guard.system, guard.endpoint]
        requests.add_metric(key, guard.stats.requests)
        throttled.add_metric(key, guard.stats.rate_limited)
        failures.add_metric(key, guard.stats.transient_failures)
        retries.add_metric(key, guard.stats.retries)
        waited.add_metric(key, guard.limiter.waited_seconds)
        circuit.add_metric(key, CIRCUIT_STATES[guard.breaker.state])
    return [requests, throttled, failures, retries, waited, circuit]


class VendorFigures(Collector):
    """The guards' own counters, read when scraped: the figures /health reports, from the same source."""

    def __init__(self, guards: GuardRegistry) -> None:
        self._guards = guards

    def collect(self) -> Iterable[Metric]:
        return vendor_families(self._guards)


@dataclass(frozen=True)
class MetricSources:
    """What /metrics reads besides the database: the process's vendor endpoints, its workers, the KPIs."""

    guards: GuardRegistry | None = None
    workers: Sequence[Worker] = ()
    kpis: KpiSource | None = None


def hub_sources(hub: Hub, workers: Sequence[Worker] = ()) -> MetricSources:
    """Everything a serving hub can report: its guards, the workers given, and today's KPIs (kept a minute)."""
    return MetricSources(guards=hub.guards, workers=tuple(workers), kpis=TodaysKpis(hub))


def _reading(engine: Engine, read: Callable[[Connection], list[Metric]]) -> Reader:
    def reader() -> list[Metric]:
        with engine.connect() as conn:  # a connection per source: a failed statement cannot spoil the next
            return read(conn)

    return reader


class HubMetrics:
    """The registry of one app, and the metrics the process counts as things happen."""

    def __init__(self, engine: Engine, sources: MetricSources, *, overdue_after: timedelta) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "q2c_vendor_request_duration_seconds", "Seconds from sending a request to a vendor endpoint to its "
            "answer (or to the connection failing)", ["system", "endpoint"], buckets=LATENCY_BUCKETS,
            registry=self.registry)
        self.delivered = Counter("q2c_deliveries", "Work items delivered (their effects recorded)", ["kind"],
                                 registry=self.registry)
        self.retried = Counter("q2c_delivery_retries", "Work items rescheduled after a system failed for now",
                               ["kind", "system"], registry=self.registry)
        self.dead = Counter("q2c_dead_letters", "Work items sent to the exception queue, by the system whose answer "
                            "stopped them (q2c: the hub's own fault)", ["kind", "system"], registry=self.registry)
        readers: dict[str, Reader] = {
            "queue": _reading(engine, partial(queue_families, overdue_after=overdue_after)),
            "exceptions": _reading(engine, exception_families),
            "reconciliation": _reading(engine, reconciliation_families),
        }
        if sources.kpis is not None:
            readers["kpis"] = partial(kpi_families, sources.kpis)
        self.registry.register(AtScrape(readers))
        if sources.guards is not None:
            self.registry.register(VendorFigures(sources.guards))
            sources.guards.watch_requests(self._answered)
        for worker in sources.workers:
            for kind in worker.handlers:  # a series from its first scrape, so a rate is there from the start
                self.delivered.labels(kind)
            worker.watch_deliveries(self._recorded)

    def _answered(self, exchange: Exchange) -> None:
        self.request_seconds.labels(exchange.system, exchange.endpoint).observe(exchange.seconds)

    def _recorded(self, delivery: Delivery) -> None:
        if delivery.outcome == DELIVERED:
            self.delivered.labels(delivery.kind).inc()
        elif delivery.outcome == RETRIED:
            self.retried.labels(delivery.kind, delivery.system or "q2c").inc()
        elif delivery.outcome == DEAD:
            self.dead.labels(delivery.kind, delivery.system or "q2c").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
