"""Assembling a running hub from config: database, connectors behind their ports, workers, scheduler."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from rich.console import Console

from q2c.config import HubConfig
from q2c.connectors.registry import Role, connector
from q2c.engine.resilience import GuardRegistry
from q2c.engine.shared_budget import DatabaseLeases
from q2c.engine.worker import DeliveryPolicy, Worker
from q2c.entrypoints.logs import configure_logging, uvicorn_log_config
from q2c.entrypoints.tracing_setup import configure_tracing
from q2c.store import audit, audit_key, queue
from q2c.store.db import create_db_engine, is_postgres, migrate
from q2c.workflows.alerts import Alerts
from q2c.workflows.handlers import corrections, handlers, subjects
from q2c.workflows.hub import Hub

log = logging.getLogger("q2c")


def system_adapter(config: HubConfig, role: Role, guards: GuardRegistry) -> Any:
    """The adapter behind `role`'s port, built by the connector its settings name."""
    settings = getattr(config.systems, role.value)
    adapter = connector(settings.type).build(settings, role, guards)
    use_dimensions = getattr(adapter, "use_dimensions", None)  # an ERP's lines carry the config's dimensions
    if role is Role.ERP and callable(use_dimensions):
        use_dimensions(config.dimension_plan)
    return adapter


def vendor_accounts(config: HubConfig) -> dict[str, str]:
    """The vendor account of each configured system that names one (`account_id`: NetSuite, Harvest)."""
    found: dict[str, str] = {}
    for role in Role:
        settings = getattr(config.systems, role.value)
        account = getattr(settings, "account_id", None)
        if isinstance(account, str) and account:
            found[settings.type] = account
    return found


def share_limits(guards: GuardRegistry, engine: Any, config: HubConfig) -> None:
    """On PostgreSQL, every q2c process on the database spends one budget per vendor account (NetSuite's
    concurrency, Harvest's requests per 15 s). On SQLite, one process, the budgets stay in memory."""
    if is_postgres(engine):
        guards.share(DatabaseLeases(engine), vendor_accounts(config))


def build_hub(config: HubConfig, *, guards: GuardRegistry | None = None, engine: Any = None) -> Hub:
    guards = guards or GuardRegistry()
    if engine is None:
        engine = create_db_engine(config.database, pool_size=max(5, config.delivery.workers + 3))
        migrate(engine)
    share_limits(guards, engine, config)
    audit_key.bind(engine, config.audit)  # where the audit trail's key and checkpoints are, as the config says
    return Hub(engine=engine, config=config, crm=system_adapter(config, Role.CRM, guards),
               tracker=system_adapter(config, Role.TRACKER, guards), erp=system_adapter(config, Role.ERP, guards),
               guards=guards)


def endpoint_health(hub: Hub) -> dict[str, Any]:
    """Per vendor endpoint: circuit state and what the guard has seen (for /health)."""
    return {"endpoints": [{"system": g.system, "endpoint": g.endpoint, "circuit": g.breaker.state,
                           "requests": g.stats.requests, "throttled": g.stats.rate_limited,
                           "transient_failures": g.stats.transient_failures, "retries": g.stats.retries}
                          for g in hub.guards.all()]}


def delivery_policy(config: HubConfig) -> DeliveryPolicy:
    d = config.delivery
    return DeliveryPolicy(max_attempts=d.max_attempts, base_seconds=d.backoff_base_seconds,
                          cap_seconds=d.backoff_cap_seconds, lease_seconds=d.lease_seconds)


def worker_for(hub: Hub, *, name: str | None = None, batch: int | None = None) -> Worker:
    """A worker on the hub's queue; it reads the hub's circuits, so work waiting on a system that is down
    is probed when the circuit cools down and released at once when the system answers again."""
    return Worker(hub.engine, handlers(hub), name=name, policy=delivery_policy(hub.config),
                  batch=batch or hub.config.delivery.batch, subjects=subjects(), guards=hub.guards)


def drain(hub: Hub, *, console: Console | None = None, max_seconds: float = 3600.0) -> None:
    """Process everything that is ready now (and retries as they come due), with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    worker = worker_for(hub)
    kinds = list(worker.handlers)
    with hub.engine.connect() as conn:
        total = queue.unfinished(conn, kinds=kinds)
    if not total:
        return
    deadline = time.monotonic() + max_seconds
    with Progress(TextColumn("delivering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=console is None) as progress:
        task = progress.add_task("work", total=total)
        while time.monotonic() < deadline:
            claimed = worker.run_once()
            with hub.engine.connect() as conn:
                left = queue.unfinished(conn, kinds=kinds)
            progress.update(task, completed=max(total - left, 0))
            if not left:
                return
            if not claimed:
                time.sleep(0.05)


def run_workers(hub: Hub, *, threads: int = 1, stop: threading.Event | None = None) -> None:
    configure_logging(hub.config.log_format)
    stop = stop or _stop_on_signals()
    pool = [threading.Thread(target=worker_for(hub, name=None).run_forever, args=(stop,), daemon=True,
                             name=f"worker-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        while t.is_alive():
            t.join(timeout=0.5)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handle(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stop


def schedule(hub: Hub, stop: threading.Event, *, wake: threading.Event | None = None) -> None:
    """The polling scheduler: won deals, time entries and invoice status from the ERP, every `time.poll_seconds`;
    the reference-data refresh (rate cards, FX rates and the FX check) every `reference.refresh_seconds`.
    The polls of deals, contract changes and time are each recorded as a run (`q2c runs list`) when they
    found or queued something, opened an exception or failed. The invariants declared for `schedule` are
    reconciled every `reconciliation.every_seconds` (0: never), the first time one period after start; and
    finished work past its retention is pruned every `retention.every_seconds` (0: never), first at start; and
    the audit trail is checked and its head anchored outside the database every `audit.anchor_every_seconds`.
    An ERP that pushes change notices is kept subscribed (every hour, or the next round after a failure), and
    `wake` set (by its notice) polls invoice status at once, between rounds."""
    from q2c.workflows.erp_notices import keep_subscribed
    from q2c.workflows.invoice_status import poll_invoice_status
    from q2c.workflows.reconcile import check_invariants
    from q2c.workflows.reference_data import refresh_reference_data
    from q2c.workflows.retention import prune_history
    from q2c.workflows.runs import run_steps, scheduled_polls

    anchor_every = hub.config.audit.anchor_every_seconds
    anchor_due = 0.0  # the first round checks the trail and anchors it
    reference_due = 0.0  # monotonic time of the next reference-data refresh: the first round runs it
    every = hub.config.reconciliation.every_seconds
    reconcile_due = time.monotonic() + every
    prune_every = hub.config.retention.every_seconds
    prune_due = 0.0
    polls = scheduled_polls()
    wake = wake or threading.Event()
    threading.Thread(target=_set_on, args=(stop, wake), daemon=True, name="scheduler-stop").start()
    subscribed_due = 0.0
    while not stop.is_set():
        for kind, steps in polls:
            try:
                run_steps(hub, kind, steps, record_idle=False)
            except Exception:
                log.exception("poll %s failed; will try again next round", kind)
        try:
            poll_invoice_status(hub)
        except Exception:
            log.exception("poll %s failed; will try again next round", poll_invoice_status.__name__)
        if time.monotonic() >= reference_due:
            reference_due = time.monotonic() + hub.config.reference.refresh_seconds
            try:
                refresh_reference_data(hub)
            except Exception:
                log.exception("reference data refresh failed; will try again in %.0f s",
                              hub.config.reference.refresh_seconds)
        if every and time.monotonic() >= reconcile_due:
            reconcile_due = time.monotonic() + every
            try:
                check_invariants(hub, "schedule")
            except Exception:
                log.exception("scheduled reconciliation failed; will try again in %.0f s", every)
        if prune_every and time.monotonic() >= prune_due:
            prune_due = time.monotonic() + prune_every
            try:
                prune_history(hub)
            except Exception:
                log.exception("pruning failed; will try again in %.0f s", prune_every)
        if anchor_every and time.monotonic() >= anchor_due:
            anchor_due = time.monotonic() + anchor_every
            try:
                audit.anchor_scheduled(hub.engine)
            except Exception:
                log.exception("audit checkpoint failed; will try again in %.0f s", anchor_every)
        if time.monotonic() >= subscribed_due:
            try:
                state = keep_subscribed(hub)
                subscribed_due = time.monotonic() + (NOTICE_UPKEEP_SECONDS if state is not None else float("inf"))
                if state is not None and (state.created or state.renewed):
                    log.info("%s change notices: %d subscriptions created, %d renewed (of %d)",
                             hub.erp.names.label, state.created, state.renewed, state.wanted)
            except Exception:
                log.exception("%s subscriptions could not be kept; will try again next round", hub.erp.names.label)
        _wait_round(hub, stop, wake, poll_invoice_status)


def _set_on(stop: threading.Event, wake: threading.Event) -> None:
    stop.wait()
    wake.set()


NOTICE_UPKEEP_SECONDS = 3600.0  # subscriptions live three days (Business Central): checked hourly


def _wait_round(hub: Hub, stop: threading.Event, wake: threading.Event, poll: Callable[[Hub], object]) -> None:
    """Until the next round: each time `wake` is set (a change notice), invoice status is polled at once."""
    until = time.monotonic() + hub.config.time.poll_seconds
    while not stop.is_set() and (left := until - time.monotonic()) > 0:
        if not wake.wait(left):
            return
        wake.clear()
        if stop.is_set():
            return
        try:
            poll(hub)
        except Exception:
            log.exception("poll on notice failed; the next round polls again")


def start_alerts(hub: Hub, stop: threading.Event) -> Alerts | None:
    """The alert digests (`alerts:` in the config), told of every circuit change; None when none is set."""
    if not hub.config.alerts.enabled:
        return None
    from q2c.entrypoints.alert_channels import channels_from

    alerts = Alerts(hub, channels_from(hub.config.alerts))
    hub.guards.watch_circuits(alerts.circuit)
    threading.Thread(target=alerts.run_forever, args=(stop,), daemon=True, name="alerts").start()
    return alerts


def hub_routers(hub: Hub, *, wake: threading.Event | None = None) -> list[APIRouter]:
    """The API routes that act through the hub's connectors, one router per feature module; with `wake`, and
    an ERP that pushes change notices, the route that receives them (and sets `wake`)."""
    from q2c.entrypoints.api_changes import changes_router
    from q2c.entrypoints.api_erp_notices import erp_notices_router
    from q2c.entrypoints.api_invoices import invoices_router
    from q2c.entrypoints.api_reconcile import reconcile_router
    from q2c.entrypoints.api_reference import reference_router
    from q2c.entrypoints.api_reports import reports_router
    from q2c.entrypoints.api_runs import runs_router
    from q2c.workflows.erp_notices import notices_of

    routers = [changes_router(hub), reference_router(hub), invoices_router(hub), reports_router(hub),
               reconcile_router(hub), runs_router(hub)]
    if wake is not None and notices_of(hub) is not None:
        routers.append(erp_notices_router(hub, wake.set))
    return routers


def serve_forever(hub: Hub) -> None:
    import uvicorn

    from q2c.entrypoints.http_api import create_app
    from q2c.entrypoints.metrics import hub_sources
    from q2c.workflows.outages import OutageLog

    configure_logging(hub.config.log_format)
    configure_tracing(hub.config.tracing)  # traces to the configured collector; nothing when none is
    stop = _stop_on_signals()
    OutageLog(hub.engine).watch(hub.guards).keep_recording(stop)  # a circuit that opens is an outage run
    start_alerts(hub, stop)  # digests of new exception rules and circuits that open, when configured
    workers = [worker_for(hub) for _ in range(hub.config.delivery.workers)]
    wake = threading.Event()  # set by the ERP's change notices: poll invoice status now
    threads = [threading.Thread(target=schedule, args=(hub, stop), kwargs={"wake": wake}, daemon=True,
                                name="scheduler")]
    threads += [threading.Thread(target=w.run_forever, args=(stop,), daemon=True, name=f"worker-{i}")
                for i, w in enumerate(workers)]
    secret = hub.config.http.webhook_secret or ""
    app = create_app(hub.engine, webhook_secret=secret, max_body_bytes=hub.config.http.webhook_max_bytes,
                     health_extra=lambda: endpoint_health(hub), corrections=corrections(),
                     routers=hub_routers(hub, wake=wake), hub=hub,
                     metrics=hub_sources(hub, workers))  # before the workers start, so no outcome goes uncounted
    for t in threads:
        t.start()
    server = uvicorn.Server(uvicorn.Config(app, host=hub.config.http.host, port=hub.config.http.port,
                                           log_level="info", log_config=uvicorn_log_config(hub.config.log_format)))

    def watch() -> None:
        stop.wait()
        server.should_exit = True

    threading.Thread(target=watch, daemon=True).start()
    server.run()
    stop.set()
