"""The `q2c` command line: init, demo, serve, worker, sync, close, exceptions, audit, sandbox.

Exit codes: 0 success; 1 the work ran but something needs attention (open exceptions after a
sync, a replay that found nothing); 2 bad usage or configuration; 3 the audit chain is broken.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from q2c.config import ConfigError, HubConfig, load_config

app = typer.Typer(help="q2c: quote-to-cash sync hub for professional services firms.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
exceptions_app = typer.Typer(help="Work the exception queue.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
period_app = typer.Typer(help="Open and close accounting periods per legal entity.", no_args_is_help=True)
revenue_app = typer.Typer(help="Revenue recognition, explained.", no_args_is_help=True)
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(audit_app, name="audit")
app.add_typer(period_app, name="period")
app.add_typer(revenue_app, name="revenue")

console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", envvar="Q2C_CONFIG", help="Path of the q2c YAML config.")]


def _config(path: Path) -> HubConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print(f"[red]config error[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


def _log_warnings(cfg: HubConfig) -> None:
    """One-shot commands log retries and exceptions as they happen (in the configured format)."""
    from q2c.entrypoints.logs import configure_logging

    configure_logging(cfg.log_format, level=logging.WARNING)


def _engine(cfg: HubConfig) -> Any:
    from q2c.store.db import create_db_engine, migrate

    engine = create_db_engine(cfg.database)
    migrate(engine)
    return engine


@app.command()
def init(path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path("q2c.yaml"),
         force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False) -> None:
    """Write a commented config file to start from."""
    from q2c.entrypoints.config_template import TEMPLATE

    if path.exists() and not force:
        err.print(f"[red]{path} exists[/red]; pass --force to overwrite it")
        raise typer.Exit(2)
    path.write_text(TEMPLATE)
    console.print(f"wrote {path}: fill in the credentials, then run `q2c sync --config {path}`")


@app.command()
def demo(workdir: Annotated[Path | None, typer.Option(help="Keep the demo database here.")] = None) -> None:
    """Run the whole quote-to-cash scenario on SQLite and the built-in sandboxes, and print what happened."""
    from q2c.entrypoints.demo import run_demo
    from q2c.entrypoints.logs import configure_logging

    configure_logging("text", level=logging.ERROR)  # the demo's own tables say what happened
    code = run_demo(console, workdir=workdir)
    raise typer.Exit(code)


@app.command()
def sync(config: ConfigOption = Path("q2c.yaml"),
         what: Annotated[str, typer.Argument(help="deals, time or all")] = "all") -> None:
    """Poll the CRM and the time tracker once, and deliver everything that is ready."""
    if what not in ("deals", "time", "all"):
        err.print(f"[red]unknown sync target {what!r}[/red]; allowed: deals, time, all")
        raise typer.Exit(2)
    from q2c.entrypoints.wiring import build_hub, drain
    from q2c.workflows.project_setup import poll_won_deals
    from q2c.workflows.time_approved import poll_time

    cfg = _config(config)
    _log_warnings(cfg)
    hub = build_hub(cfg)
    if what in ("deals", "all"):
        from q2c.workflows.crm_changes import consume_crm_changes

        changes = consume_crm_changes(hub)
        console.print(f"crm changes: {changes.events} events, {changes.echoes} echoes of q2c's own writes ignored, "
                      f"{changes.conflicts} ownership conflicts")
        stats = poll_won_deals(hub)
        console.print(f"deals: {stats.seen} won since last poll, {stats.enqueued} new")
        drain(hub, console=console)
    if what in ("time", "all"):
        t = poll_time(hub)
        console.print(f"time: {t.entries} entries on {t.pages} pages, {t.groups_enqueued} batches queued, "
                      f"{t.rejects} unreadable")
        drain(hub, console=console)
    _print_open_exceptions(hub.engine, limit=20)


@app.command()
def close(config: ConfigOption = Path("q2c.yaml"),
          on: Annotated[str | None, typer.Option("--date", help="Invoice date / period end (YYYY-MM-DD).")] = None
          ) -> None:
    """Run billing (T&M and milestones) and revenue recognition for every active contract."""
    from q2c.entrypoints.wiring import build_hub, drain
    from q2c.workflows.billing_run import enqueue_billing
    from q2c.workflows.revenue_close import enqueue_revenue_close

    try:
        as_of = date.fromisoformat(on) if on else date.today()
    except ValueError:
        err.print(f"[red]--date {on!r} is not a date[/red]; use YYYY-MM-DD")
        raise typer.Exit(2) from None
    cfg = _config(config)
    _log_warnings(cfg)
    hub = build_hub(cfg)
    n = enqueue_billing(hub, invoice_date=as_of)
    drain(hub, console=console)
    enqueue_revenue_close(hub, period_end=as_of)
    drain(hub, console=console)
    console.print(f"billing and revenue close run for {n} contracts as of {as_of}")
    _print_open_exceptions(hub.engine, limit=20)


@app.command()
def worker(config: ConfigOption = Path("q2c.yaml"),
           threads: Annotated[int, typer.Option(help="Worker threads in this process.")] = 1) -> None:
    """Run workers until interrupted (start several processes on PostgreSQL to share the work)."""
    from q2c.entrypoints.wiring import build_hub, run_workers

    run_workers(build_hub(_config(config)), threads=threads)


@app.command()
def serve(config: ConfigOption = Path("q2c.yaml")) -> None:
    """Run q2c as a service: HTTP API and webhooks, workers and the polling scheduler."""
    from q2c.entrypoints.wiring import build_hub, serve_forever

    serve_forever(build_hub(_config(config)))


def _print_open_exceptions(engine: Any, *, limit: int = 50, rule: str | None = None) -> int:
    from q2c.store import exceptions as exception_store

    with engine.connect() as conn:
        rows = exception_store.search(conn, rule=rule, limit=limit)
    if not rows:
        console.print("no open exceptions")
        return 0
    table = Table(title=f"open exceptions ({len(rows)})", show_lines=False)
    for col in ("id", "rule", "record", "field", "message", "what to do"):
        table.add_column(col, overflow="fold")
    for r in rows:
        v = r.violation
        table.add_row(*(escape(x) for x in (str(r.id), v.rule, f"{v.system} {v.object} {v.record_id}", v.field or "",
                                             v.message, v.action)))
    console.print(table)
    return len(rows)


@exceptions_app.command("list")
def exceptions_list(config: ConfigOption = Path("q2c.yaml"),
                    rule: Annotated[str | None, typer.Option(help="Filter by rule; * is a wildcard.")] = None,
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List open exceptions."""
    from q2c.store import exceptions as exception_store

    engine = _engine(_config(config))
    if as_json:
        with engine.connect() as conn:
            rows = exception_store.search(conn, rule=rule)
        print(json.dumps([{"id": r.id, **r.violation.model_dump(), "occurrences": r.occurrences} for r in rows],
                         indent=2))
        return
    _print_open_exceptions(engine, rule=rule, limit=1000)


@exceptions_app.command("show")
def exceptions_show(exception_id: int, config: ConfigOption = Path("q2c.yaml")) -> None:
    """Show one exception with its payload."""
    from q2c.store import exceptions as exception_store

    engine = _engine(_config(config))
    with engine.connect() as conn:
        row = exception_store.get(conn, exception_id)
    if row is None:
        err.print(f"[red]exception {exception_id} does not exist[/red]")
        raise typer.Exit(1)
    v = row.violation
    console.print(f"[bold]#{row.id}[/bold] {row.status}  {escape(v.rule)}  "
                  f"({row.occurrences}x, first {row.created_at:%Y-%m-%d %H:%M} UTC)")
    console.print(escape(f"record:  {v.system} {v.object} {v.record_id}" + (f" field {v.field}" if v.field else "")))
    console.print(escape(f"problem: {v.message}"))
    console.print(escape(f"action:  {v.action}"))
    console.print(escape(f"work:    {row.work_kind} on {row.aggregate} (correlation {row.correlation_id})"))
    console.print_json(json.dumps(row.payload, default=str))


@exceptions_app.command("replay")
def exceptions_replay(config: ConfigOption = Path("q2c.yaml"),
                      ids: Annotated[list[int] | None, typer.Argument(help="Exception ids.")] = None,
                      rule: Annotated[str | None, typer.Option(help="Replay all open with this rule.")] = None,
                      since: Annotated[str | None, typer.Option(help="Raised at or after (ISO time).")] = None,
                      until: Annotated[str | None, typer.Option(help="Raised before (ISO time).")] = None,
                      payload: Annotated[Path | None, typer.Option(help="JSON file with a corrected payload.")] = None,
                      actor: Annotated[str, typer.Option(help="Who replays (for the audit trail).")] =
                      os.environ.get("USER", "cli"),
                      run: Annotated[bool, typer.Option(help="Deliver the replayed work now.")] = True) -> None:
    """Replay one exception, a filter of them, or a time range."""
    from datetime import datetime

    from q2c.engine.replay import replay
    from q2c.store import exceptions as exception_store

    if not ids and not rule and not since:
        err.print("[red]say what to replay[/red]: exception ids, --rule or --since")
        raise typer.Exit(2)
    try:
        since_at = datetime.fromisoformat(since) if since else None
        until_at = datetime.fromisoformat(until) if until else None
    except ValueError as exc:
        err.print(f"[red]--since/--until: {escape(str(exc))}[/red]; use an ISO time such as 2026-11-30T00:00:00+00:00")
        raise typer.Exit(2) from None
    corrected = None
    if payload is not None:
        try:
            corrected = json.loads(payload.read_text())
        except (OSError, ValueError) as exc:
            err.print(f"[red]--payload {escape(str(payload))}: {escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
        if not isinstance(corrected, dict):
            err.print(f"[red]--payload {escape(str(payload))}: must hold a JSON object[/red]")
            raise typer.Exit(2)
    cfg = _config(config)
    engine = _engine(cfg)
    with engine.connect() as conn:
        rows = exception_store.search(conn, ids=ids or None, rule=rule, since=since_at, until=until_at, status=None)
    results = replay(engine, rows, actor=f"cli:{actor}", corrected_payload=corrected)
    for r in results:
        console.print(f"#{r.exception_id}: " + (f"queued as work item {r.work_item_id}" if r.work_item_id
                                                else f"skipped ({r.skipped_reason})"))
    if not any(r.work_item_id for r in results):
        raise typer.Exit(1)
    if run:
        from q2c.entrypoints.wiring import build_hub, drain

        drain(build_hub(cfg), console=console)
        _print_open_exceptions(engine, limit=20)


@audit_app.command("verify")
def audit_verify(config: ConfigOption = Path("q2c.yaml")) -> None:
    """Recompute the audit chain and report the first entry that does not match."""
    from q2c.store import audit

    engine = _engine(_config(config))
    with engine.connect() as conn:
        result = audit.verify(conn)
    if result.ok:
        console.print(f"[green]audit chain intact[/green]: {result.entries} entries")
        return
    err.print(f"[red]audit chain broken[/red] at entry {result.first_bad_seq}: {result.reason} "
              f"({result.entries} entries verified before it)")
    raise typer.Exit(3)


def _set_period(config: Path, legal_entity: str, period: str, *, closed: bool, actor: str) -> None:
    from q2c.domain.revenue import Period
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.revenue_close import set_period_state

    cfg = _config(config)
    if cfg.legal_entity(legal_entity) is None:
        err.print(f"[red]unknown legal entity {legal_entity!r}[/red]; configured: "
                  f"{', '.join(e.code for e in cfg.legal_entities)}")
        raise typer.Exit(2)
    try:
        parsed = Period.parse(period)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    changed = set_period_state(build_hub(cfg), legal_entity=legal_entity, period=parsed, closed=closed,
                               actor=f"cli:{actor}")
    state = "closed" if closed else "open"
    console.print(f"{legal_entity} {parsed.label} is {state}" + ("" if changed else " (it already was)"))


@period_app.command("close")
def period_close(legal_entity: str, period: Annotated[str, typer.Argument(help="YYYY-MM")],
                 config: ConfigOption = Path("q2c.yaml"),
                 actor: Annotated[str, typer.Option(help="Who closes (audit trail).")] = os.environ.get("USER", "cli")
                 ) -> None:
    """Close a period: nothing posts into it afterwards; late events land in the next open period."""
    _set_period(config, legal_entity, period, closed=True, actor=actor)


@period_app.command("reopen")
def period_reopen(legal_entity: str, period: Annotated[str, typer.Argument(help="YYYY-MM")],
                  config: ConfigOption = Path("q2c.yaml"),
                  actor: Annotated[str, typer.Option(help="Who reopens (audit trail).")] = os.environ.get("USER", "cli")
                  ) -> None:
    """Reopen a closed period (a controller's decision; audited)."""
    _set_period(config, legal_entity, period, closed=False, actor=actor)


@revenue_app.command("explain")
def revenue_explain(contract_id: str, period: Annotated[str, typer.Argument(help="YYYY-MM")],
                    config: ConfigOption = Path("q2c.yaml")) -> None:
    """Explain one contract's revenue for a period in plain words: allocation, progress, catch-ups."""
    from q2c.domain.revenue import Period
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.revenue_close import explain

    try:
        parsed = Period.parse(period)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    text = explain(build_hub(_config(config)), contract_id, parsed)
    if text is None:
        err.print(f"[red]contract {escape(contract_id)} is not known to q2c[/red]")
        raise typer.Exit(1)
    console.print(escape(text))


@app.command()
def sandbox(name: Annotated[str, typer.Argument(help="salesforce, harvest or netsuite")],
            port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 0,
            host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
            latency_ms: Annotated[int, typer.Option(help="Added latency per request.")] = 0,
            error_rate: Annotated[float, typer.Option(help="Share of requests answered 5xx.")] = 0.0,
            throttle_rate: Annotated[float, typer.Option(help="Share of requests throttled.")] = 0.0,
            malformed_rate: Annotated[float, typer.Option(help="Share of responses truncated.")] = 0.0,
            down: Annotated[bool, typer.Option(help="Start in maintenance (503).")] = False,
            vendor_limits: Annotated[bool, typer.Option(help="Enforce the vendor's documented limits.")] = False,
            key_out: Annotated[Path | None, typer.Option(
                help="NetSuite: write the generated M2M private key here (the connector signs with it).")] = None
            ) -> None:
    """Run one vendor sandbox in the foreground (faults can be changed at run time: PUT /__sandbox/faults)."""
    from q2c.connectors.sandbox_kit import Faults, serve_forever
    from q2c.entrypoints.sandboxes import SANDBOX_NAMES, make_sandbox

    if name not in SANDBOX_NAMES:
        err.print(f"[red]unknown sandbox {name!r}[/red]; allowed: {', '.join(SANDBOX_NAMES)}")
        raise typer.Exit(2)
    faults = Faults(down=down, latency_ms=latency_ms, error_rate=error_rate, throttle_rate=throttle_rate,
                    malformed_rate=malformed_rate)
    box = make_sandbox(name, faults=faults, vendor_limits=vendor_limits)
    private_key = getattr(box, "private_key_pem", None)
    if key_out is not None and isinstance(private_key, str):
        key_out.write_text(private_key)
    if port == 0:
        from q2c.connectors.sandbox_kit import free_port

        port = free_port(host)
    console.print(f"{name} sandbox on http://{host}:{port} (admin: /__sandbox/faults, /__sandbox/stats)")
    sys.stdout.flush()
    serve_forever(box, host=host, port=port)


if __name__ == "__main__":
    app()
