"""The `q2c` command line: init, doctor, demo, serve, worker, sync, close, exceptions, audit, sandbox.

Exit codes: 0 success; 1 the work ran but something needs attention (open exceptions after a
sync or close, a replay that found nothing); 2 bad usage or configuration, including a system
that refuses the configured host, port or credentials at first contact; 3 the audit chain is broken.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from q2c.entrypoints.cli_alerts import alerts_app
from q2c.entrypoints.cli_changes import changes_app
from q2c.entrypoints.cli_invoices import invoices_app
from q2c.entrypoints.cli_kpis import kpis_command
from q2c.entrypoints.cli_period import period_app
from q2c.entrypoints.cli_prune import prune_command
from q2c.entrypoints.cli_reconcile import reconcile_app
from q2c.entrypoints.cli_reference import reference_app
from q2c.entrypoints.cli_reports import report_app
from q2c.entrypoints.cli_runs import runs_app
from q2c.entrypoints.cli_support import (
    ConfigOption,
    _config,
    _connector_failure,
    _engine,
    _hub,
    _log_warnings,
)
from q2c.entrypoints.cli_support import console as console  # re-exported: tests swap the consoles by module
from q2c.entrypoints.cli_support import err as err
from q2c.entrypoints.cli_users import tokens_app, users_app

if TYPE_CHECKING:
    pass

app = typer.Typer(help="q2c: quote-to-cash sync hub for professional services firms.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
exceptions_app = typer.Typer(help="Work the exception queue.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
revenue_app = typer.Typer(help="Revenue recognition, explained.", no_args_is_help=True)
cash_app = typer.Typer(help="Cash received from customers (posted by the revenue close).", no_args_is_help=True)


class _SandboxGroup(TyperGroup):
    """`q2c sandbox NAME`: an unknown NAME is a usage error that lists the sandboxes there are."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:  # typer's own click types
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            from q2c.sandboxes.registry import sandbox_names

            err.print(f"[red]unknown sandbox {escape(repr(name))}[/red]; allowed: {', '.join(sandbox_names())} "
                      "(or `up` for a CRM, a time tracker and an ERP at once)")
            raise typer.Exit(2)
        return super().resolve_command(ctx, args)


sandbox_app = typer.Typer(cls=_SandboxGroup, no_args_is_help=True,
                          help="Vendor sandboxes on loopback: `up` runs all three with a ready q2c config.")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(audit_app, name="audit")
app.add_typer(period_app, name="period")
app.add_typer(revenue_app, name="revenue")
app.add_typer(cash_app, name="cash")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(changes_app, name="changes")
app.add_typer(reference_app, name="reference")
app.add_typer(invoices_app, name="invoices")
app.add_typer(runs_app, name="runs")
app.command("kpis")(kpis_command)
app.command("prune")(prune_command)
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(report_app, name="report")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(alerts_app, name="alerts")

@app.command()
def init(path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path("q2c.yaml"),
         force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False) -> None:
    """Write a commented config file to start from."""
    from q2c.entrypoints.config_template import TEMPLATE

    if path.exists() and not force:
        err.print(f"[red]{path} exists[/red]; pass --force to overwrite it")
        raise typer.Exit(2)
    path.write_text(TEMPLATE)
    console.print(f"wrote {path}: replace its ALL-CAPS placeholders, then run `q2c doctor --config {path}`")


@app.command()
def demo(workdir: Annotated[Path | None, typer.Option(help="Keep the demo database here.")] = None,
         systems: Annotated[str, typer.Option(help="The sandboxes to run it on, by name, e.g. "
                                                   "dynamics365_sales,harvest,business_central (a role left out "
                                                   "keeps Salesforce, Harvest or NetSuite).")] = "") -> None:
    """Run the whole quote-to-cash scenario on SQLite and the built-in sandboxes, and print what happened."""
    from q2c.entrypoints.demo import NoScenario, run_demo, scenarios, systems_by_role
    from q2c.entrypoints.logs import configure_logging
    from q2c.sandboxes.registry import UnknownSandbox

    configure_logging("text", level=logging.ERROR)  # the demo's own tables say what happened
    try:
        chosen = systems_by_role(systems)
        scenarios(chosen)
    except (UnknownSandbox, NoScenario) as exc:
        err.print(f"[red]--systems: {escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    code = run_demo(console, workdir=workdir, systems=chosen)
    raise typer.Exit(code)


@app.command()
def sync(config: ConfigOption = Path("q2c.yaml"),
         what: Annotated[str, typer.Argument(help="deals, time or all")] = "all") -> None:
    """Poll the CRM and the time tracker once, deliver everything that is ready; exit 1 if exceptions are open.
    Each part is recorded as a run with its figures (`q2c runs list`)."""
    if what not in ("deals", "time", "all"):
        err.print(f"[red]unknown sync target {what!r}[/red]; allowed: deals, time, all")
        raise typer.Exit(2)
    from q2c.engine.errors import ConnectorError
    from q2c.entrypoints.wiring import drain
    from q2c.workflows.outages import OutageLog
    from q2c.workflows.project_setup import poll_won_deals
    from q2c.workflows.runs import (
        SYNC_CONTRACT_CHANGES,
        SYNC_DEALS,
        SYNC_TIME,
        change_figures,
        deal_figures,
        recorded_run,
        time_figures,
    )
    from q2c.workflows.time_approved import poll_time

    cfg = _config(config)
    _log_warnings(cfg)
    hub = _hub(cfg)
    outages = OutageLog(hub.engine).watch(hub.guards)
    try:
        if what in ("deals", "all"):
            from q2c.workflows.crm_changes import consume_crm_changes

            with recorded_run(hub, SYNC_DEALS) as run:
                changes = consume_crm_changes(hub)
                run.update(change_figures(changes))
                console.print(f"crm changes: {changes.events} events, {changes.echoes} echoes of q2c's own writes "
                              f"ignored, {changes.conflicts} ownership conflicts")
                stats = poll_won_deals(hub)
                run.update(deal_figures(stats))
                console.print(f"deals: {stats.seen} won since last poll, {stats.enqueued} new")
                drain(hub, console=console)
        if what in ("time", "all"):
            with recorded_run(hub, SYNC_TIME) as run:
                t = poll_time(hub)
                run.update(time_figures(t))
                console.print(f"time: {t.entries} entries on {t.pages} pages, {t.groups_enqueued} batches queued, "
                              f"{t.rejects} unreadable")
                drain(hub, console=console)
        if what in ("deals", "all"):  # after the time, so a change's plan is measured on the latest hours
            from q2c.workflows.contract_changes import poll_contract_changes

            with recorded_run(hub, SYNC_CONTRACT_CHANGES) as run:
                checked = poll_contract_changes(hub)
                run["contracts"] = checked
                drain(hub, console=console)
            console.print(f"contract changes: {checked} contracts compared with the CRM's deals")
        _check_invariants(hub, ["sync"], only={"deals": ["bookings"], "time": ["time"]}.get(what))
    except ConnectorError as exc:
        raise _connector_failure(exc, cfg) from None
    finally:
        outages.flush()
    if _print_open_exceptions(hub.engine, limit=20):
        raise typer.Exit(1)


@app.command()
def close(config: ConfigOption = Path("q2c.yaml"),
          on: Annotated[str | None, typer.Option("--date", help="Invoice date / period end (YYYY-MM-DD).")] = None
          ) -> None:
    """Read invoice status from the ERP, check the FX rates the close needs, then run billing and revenue
    recognition for every active contract; exit 1 if exceptions are open. The billing run and the revenue
    close are each recorded as a run with its figures (`q2c runs list`)."""
    from q2c.engine.errors import ConnectorError
    from q2c.entrypoints.wiring import drain
    from q2c.workflows.billing_run import enqueue_billing
    from q2c.workflows.invoice_status import poll_invoice_status
    from q2c.workflows.outages import OutageLog
    from q2c.workflows.reference_data import check_fx_rates
    from q2c.workflows.revenue_close import enqueue_revenue_close
    from q2c.workflows.runs import BILLING, REVENUE_CLOSE, recorded_run

    try:
        as_of = date.fromisoformat(on) if on else date.today()
    except ValueError:
        err.print(f"[red]--date {on!r} is not a date[/red]; use YYYY-MM-DD")
        raise typer.Exit(2) from None
    cfg = _config(config)
    _log_warnings(cfg)
    hub = _hub(cfg)
    outages = OutageLog(hub.engine).watch(hub.guards)
    try:
        for gap in check_fx_rates(hub):  # before the close, not a failure during it
            err.print(f"[yellow]missing FX rate[/yellow] {escape(gap.headline())}")
        poll_invoice_status(hub)  # a void or payment the ERP holds is in q2c before anything is billed on it
        drain(hub, console=console)
        with recorded_run(hub, BILLING) as run:
            n = enqueue_billing(hub, invoice_date=as_of)
            run.update(contracts=n, invoice_date=as_of.isoformat())
            drain(hub, console=console)
        with recorded_run(hub, REVENUE_CLOSE) as run:
            run.update(contracts=enqueue_revenue_close(hub, period_end=as_of), period_end=as_of.isoformat())
            drain(hub, console=console)
        _check_invariants(hub, ["billing", "close"])
    except ConnectorError as exc:
        raise _connector_failure(exc, cfg) from None
    finally:
        outages.flush()
    console.print(f"billing and revenue close run for {n} contracts as of {as_of}")
    anchored = _anchor_after_close(hub)
    broken = _report_rules(hub)
    held = _print_open_exceptions(hub.engine, limit=20)
    if not anchored:
        raise typer.Exit(3)
    if held or broken:
        raise typer.Exit(1)


def _check_invariants(hub: Any, steps: list[Any], *, only: list[str] | None = None) -> None:
    """The declared invariants of these steps (`reconciliation.invariants`), as one reconciliation run: a drift
    is an open exception like any other, so the command exits 1 on it."""
    from q2c.workflows.reconcile import reconcile

    settings = hub.config.reconciliation
    pairs = [p for p in ("bookings", "time", "invoices", "revenue")
             if any(p in settings.pairs_after(step) for step in steps) and (only is None or p in only)]
    if not pairs:
        return
    report = reconcile(hub, pairs=pairs)
    console.print(f"invariants ({', '.join(pairs)}): {report.compared} records compared, {report.matched} agree, "
                  f"{len(report.drifts)} drifts" + (" (`q2c reconcile show " f"{report.run_id}`)"
                                                     if report.drifts else ""))


def _report_rules(hub: Any) -> int:
    """The controller's three rules over every contract, after a close: one line, or each broken rule."""
    from q2c.workflows.accounts import account_map
    from q2c.workflows.integrity import hub_violations

    with hub.engine.connect() as conn:
        broken = hub_violations(conn, account_map(hub))
    if not broken:
        console.print("checks: nothing lost, billing adds up, the GL equals the revenue engine")
        return 0
    for v in broken:
        err.print(f"[red]check failed[/red] {escape(v.headline())}")
    return len(broken)


@app.command()
def worker(config: ConfigOption = Path("q2c.yaml"),
           threads: Annotated[int, typer.Option(min=1, help="Worker threads in this process.")] = 1) -> None:
    """Run workers until interrupted (start several processes on PostgreSQL to share the work)."""
    from q2c.entrypoints.wiring import run_workers

    cfg = _config(config)
    run_workers(_hub(cfg, threads=threads), threads=threads)


@app.command()
def serve(config: ConfigOption = Path("q2c.yaml")) -> None:
    """Run q2c as a service: HTTP API and webhooks, workers and the polling scheduler."""
    from q2c.entrypoints.wiring import serve_forever

    hub = _hub(_config(config))
    _require_audit_key(hub)
    serve_forever(hub)


@app.command()
def doctor(config: ConfigOption = Path("q2c.yaml"),
           timeout: Annotated[float, typer.Option(min=0.5, max=60.0, help="Seconds to wait for each answer.")] = 5.0
           ) -> None:
    """Check each configured system: reach it, authenticate, make one cheap read (exit 2 if one is refused)."""
    from q2c.entrypoints.preflight import check_database, check_systems

    cfg = _config(config)
    checks = [check_database(cfg, timeout=timeout), *check_systems(cfg, timeout=timeout)]
    table = Table(title=f"q2c doctor: {config}")
    for col in ("system", "key", "result"):
        table.add_column(col, overflow="fold")
    for c in checks:
        verdict = "ok" if c.ok else ("[red]failed[/red]" if c.blocking else "[yellow]warning[/yellow]")
        table.add_row(escape(c.system), escape(c.key), f"{verdict}: {escape(c.detail)}")
    console.print(table)
    if any(c.blocking for c in checks):
        raise typer.Exit(2)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def _records(row: Any) -> str:
    """The records an exception holds up, for a table cell: the first few ids and how many in all."""
    held = row.open_subjects if row.status == "open" else row.subjects
    if not held:
        return ""
    ids = ", ".join(s.record_id for s in held[:3])
    return ids + (f" (+{len(held) - 3})" if len(held) > 3 else "")


def _print_open_exceptions(engine: Any, *, limit: int = 50, rule: str | None = None,
                           status: str | None = "open") -> int:
    from q2c.store import exceptions as exception_store

    with engine.connect() as conn:
        rows = exception_store.search(conn, rule=rule, limit=limit, status=status)
    word = f"{status} exceptions" if status else "exceptions"
    if not rows:
        console.print(f"no {word}")
        return 0
    table = Table(title=f"{word} ({len(rows)})", show_lines=False)
    columns = ("id", *(("status",) if status is None else ()), "rule", "record", "field", "message", "what to do",
               "records held")
    for col in columns:
        table.add_column(col, overflow="fold")
    for r in rows:
        v = r.violation
        cells = (str(r.id), *((r.status,) if status is None else ()), v.rule, f"{v.system} {v.object} {v.record_id}",
                 v.field or "", v.message, v.action, _records(r))
        table.add_row(*(escape(x) for x in cells))
    console.print(table)
    return len(rows)


def _status_filter(status: str | None, show_all: bool) -> str | None:
    from q2c.store import exceptions as exception_store

    if show_all:
        return None
    if status not in exception_store.STATUSES:
        err.print(f"[red]--status {escape(str(status))}[/red] is not a status; use one of "
                  f"{', '.join(exception_store.STATUSES)} (or --all)")
        raise typer.Exit(2)
    return status


@exceptions_app.command("list")
def exceptions_list(config: ConfigOption = Path("q2c.yaml"),
                    rule: Annotated[str | None, typer.Option(help="Filter by rule; * is a wildcard.")] = None,
                    status: Annotated[str, typer.Option(help="open, replayed, resolved, ignored or warning.")] =
                    "open",
                    show_all: Annotated[bool, typer.Option("--all", help="Every status, warnings included.")] = False,
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List exceptions (open ones unless told otherwise), each with the records it holds up."""
    from q2c.store import exceptions as exception_store

    wanted = _status_filter(status, show_all)
    engine = _engine(_config(config))
    if as_json:
        with engine.connect() as conn:
            rows = exception_store.search(conn, rule=rule, status=wanted)
        print(json.dumps([{"id": r.id, "status": r.status, **r.violation.model_dump(), "occurrences": r.occurrences,
                           "records": [{"entity": s.entity, "id": s.record_id, "status": s.status}
                                       for s in r.subjects]} for r in rows], indent=2))
        return
    _print_open_exceptions(engine, rule=rule, limit=1000, status=wanted)


@exceptions_app.command("show")
def exceptions_show(exception_id: int, config: ConfigOption = Path("q2c.yaml")) -> None:
    """Show one exception: the problem, the records it holds up, and the payload a replay re-delivers."""
    from q2c.engine.replay import replay_payload
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
    if row.subjects:
        held = ", ".join(f"{s.record_id} ({s.status})" for s in row.subjects)
        console.print(escape(f"holds:   {len(row.subjects)} record(s): {held}"))
    console.print_json(json.dumps(replay_payload(row), default=str))


CLI_USER = os.environ.get("USER", "cli")


def _settle(config: Path, exception_id: int, status: str, reason: str, actor: str) -> None:
    from q2c.workflows import exception_actions

    cfg = _config(config)
    try:
        why_not = exception_actions.settle(_engine(cfg), exception_id, status=status, reason=reason,
                                           actor=f"cli:{actor}")
    except exception_actions.ReasonRefused as refused:
        err.print(f"[red]--reason[/red]: {escape(str(refused))}")
        raise typer.Exit(2) from None
    if why_not is not None:
        err.print(f"[red]exception {exception_id} is {why_not}[/red]: only an open exception can be settled")
        raise typer.Exit(1)
    console.print(f"exception {exception_id} {status} (audited as cli:{escape(actor)})")


ExceptionIdArgument = Annotated[int, typer.Argument(help="The exception id.")]
SettlerOption = Annotated[str, typer.Option("--actor", help="Who (for the audit trail).")]


@exceptions_app.command("resolve")
def exceptions_resolve(exception_id: ExceptionIdArgument,
                       reason: Annotated[str, typer.Option(help="What was done about it (for the audit trail).")],
                       config: ConfigOption = Path("q2c.yaml"), actor: SettlerOption = CLI_USER) -> None:
    """Resolve an open exception: the problem was dealt with outside q2c."""
    _settle(config, exception_id, "resolved", reason, actor)


@exceptions_app.command("ignore")
def exceptions_ignore(exception_id: ExceptionIdArgument,
                      reason: Annotated[str, typer.Option(help="Why it needs nothing (for the audit trail).")],
                      config: ConfigOption = Path("q2c.yaml"), actor: SettlerOption = CLI_USER) -> None:
    """Ignore an open exception: it needs nothing."""
    _settle(config, exception_id, "ignored", reason, actor)


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

    from q2c.engine.replay import CorrectionRefused, replay
    from q2c.store import exceptions as exception_store
    from q2c.workflows.handlers import corrections

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
    try:
        results = replay(engine, rows, actor=f"cli:{actor}", corrected_payload=corrected, corrections=corrections())
    except CorrectionRefused as exc:
        err.print(f"[red]correction refused[/red]: {escape(str(exc))}")
        raise typer.Exit(2) from None
    for r in results:
        console.print(f"#{r.exception_id}: " + (f"queued as work item {r.work_item_id}" if r.work_item_id
                                                else f"skipped ({r.skipped_reason})"))
    if not any(r.work_item_id for r in results):
        raise typer.Exit(1)
    if run:
        from q2c.entrypoints.wiring import build_hub, drain

        drain(build_hub(cfg), console=console)
        _print_open_exceptions(engine, limit=20)


def _audit_engine(cfg: Any) -> Any:
    """The hub database, its audit trail bound to the config's `audit` section (key source, checkpoint folder)."""
    from q2c.store import audit_key

    engine = _engine(cfg)
    audit_key.bind(engine, cfg.audit)
    return engine


def _audit_key_error(exc: Exception) -> typer.Exit:
    err.print(f"[red]config error[/red] audit: {escape(str(exc))}")
    return typer.Exit(2)


def _print_audit_break(result: Any) -> None:
    """A broken trail on stderr: what, from which entry, and the last checkpoint that still matches."""
    if result.first_bad_seq is None:
        err.print(f"[red]audit trail cannot be vouched for[/red]: {escape(result.reason)}")
    else:
        err.print(f"[red]audit chain broken[/red] at entry {result.first_bad_seq}: {escape(result.reason)} "
                  f"({result.entries} entries verified before it)")
    err.print(escape(result.vouching()))
    for finding in result.findings[1:]:
        err.print(escape(f"also: {finding.message}"))


@audit_app.command("verify")
def audit_verify(config: ConfigOption = Path("q2c.yaml"),
                 as_json: Annotated[bool, typer.Option("--json", help="The findings as data.")] = False) -> None:
    """Recompute the audit chain, hold it against the signed checkpoints, and name what does not match (exit 3)."""
    from q2c.store import audit

    engine = _audit_engine(_config(config))
    try:
        with engine.connect() as conn:
            result = audit.verify(conn)
    except audit.AuditKeyMissing as exc:
        raise _audit_key_error(exc) from None
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
    elif result.ok:
        console.print(f"[green]audit chain intact[/green]: {result.entries} entries"
                      + (f", keyed from entry {result.keyed_from}" if result.keyed_from else ""))
        last = result.last_good_checkpoint
        if last is not None:
            console.print(escape(f"last checkpoint: the one {last.headline()}; {result.unanchored} entries since"))
        for note in result.notes:
            console.print(escape(f"note: {note}"))
    else:
        _print_audit_break(result)
    if not result.ok:
        raise typer.Exit(3)


def _anchor_trail(engine: Any) -> Any:
    """Write a checkpoint of the trail's head; the outcome, or typer.Exit(2) naming the missing key or folder."""
    from q2c.store import audit

    try:
        with engine.connect() as conn:
            return audit.anchor(conn)
    except audit.AuditKeyMissing as exc:
        raise _audit_key_error(exc) from None


@audit_app.command("anchor")
def audit_anchor(config: ConfigOption = Path("q2c.yaml")) -> None:
    """Sign the chain's head into a checkpoint in `audit.anchor_dir`, after checking the entries since the last one
    (exit 3, and nothing written, when they do not hold)."""
    from q2c.store import audit_key

    cfg = _config(config)
    engine = _audit_engine(cfg)
    done = _anchor_trail(engine)
    if not done.verification.ok:
        _print_audit_break(done.verification)
        err.print("no checkpoint written")
        raise typer.Exit(3)
    folder = audit_key.keeping_for(engine).anchor_dir
    if done.written and done.checkpoint is not None:
        console.print(escape(f"audit checkpoint written: {folder}/{done.checkpoint.file} (entry "
                             f"{done.checkpoint.seq})"))
    elif done.checkpoint is not None and done.checkpoint.seq == done.verification.entries:
        console.print(escape(f"audit checkpoint {done.checkpoint.file} in {folder} already vouches for entry "
                             f"{done.checkpoint.seq}; nothing new to anchor"))
    else:
        console.print("nothing to anchor: the audit trail is empty")


def _anchor_after_close(hub: Any) -> bool:
    """After `q2c close`: anchor the trail the close extended. False when it no longer holds (then exit 3); a
    trail with no key (PostgreSQL without `audit.key_*`) is a warning, not a failed close."""
    from q2c.store import audit, audit_key

    audit_key.bind(hub.engine, hub.config.audit)
    try:
        with hub.engine.connect() as conn:
            done = audit.anchor(conn)
    except audit.AuditKeyMissing as exc:
        err.print(f"[yellow]warning[/yellow] audit trail not anchored: {escape(str(exc))}")
        return True
    if not done.verification.ok:
        _print_audit_break(done.verification)
        err.print("no audit checkpoint written")
        return False
    if done.written and done.checkpoint is not None:
        console.print(escape(f"audit checkpoint: {done.checkpoint.file} (entry {done.checkpoint.seq})"))
    return True


def _require_audit_key(hub: Any) -> None:
    """Before `q2c serve`: the trail's key must be at hand (on PostgreSQL, `audit.key_file` or `audit.key_env`)."""
    from q2c.store import audit, audit_key

    audit_key.bind(hub.engine, hub.config.audit)
    try:
        with hub.engine.connect() as conn:
            audit.require_key(conn)
    except audit.AuditKeyMissing as exc:
        raise _audit_key_error(exc) from None


@revenue_app.command("explain")
def revenue_explain(contract_id: str, period: Annotated[str, typer.Argument(help="YYYY-MM")],
                    config: ConfigOption = Path("q2c.yaml"),
                    as_json: Annotated[bool, typer.Option("--json", help="The figures as data.")] = False) -> None:
    """Explain one contract's revenue for a period in plain words (or as data): allocation, progress, catch-ups."""
    from q2c.domain.revenue import Period
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.revenue_close import explain, explain_data

    try:
        parsed = Period.parse(period)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    hub = build_hub(_config(config))
    found = explain_data(hub, contract_id, parsed) if as_json else explain(hub, contract_id, parsed)
    if found is None:
        err.print(f"[red]contract {escape(contract_id)} is not known to q2c[/red]")
        raise typer.Exit(1)
    if isinstance(found, dict):
        print(json.dumps(found, indent=2))
    else:
        console.print(escape(found))


@cash_app.command("record")
def cash_record(contract_id: str, amount: Annotated[str, typer.Argument(help="Amount received, e.g. 5000.00")],
                currency: Annotated[str, typer.Argument(help="ISO 4217 code of the payment, e.g. USD")],
                received: Annotated[str, typer.Option("--date", help="Day the cash was received (YYYY-MM-DD).")],
                receipt_id: Annotated[str, typer.Option("--id", help="The payment's own id (bank reference).")],
                reference: Annotated[str, typer.Option(help="What the payment says it is for.")] = "",
                config: ConfigOption = Path("q2c.yaml"),
                actor: Annotated[str, typer.Option(help="Who records it (audit trail).")] =
                os.environ.get("USER", "cli")) -> None:
    """Record cash received against a contract: the next revenue close posts it (an advance is a contract
    liability until earned)."""
    from decimal import Decimal, InvalidOperation

    from q2c.domain.money import Money, UnknownCurrency
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.cash_receipts import record_cash

    try:
        money = Money.of(Decimal(amount), currency.upper())
        on = date.fromisoformat(received)
    except (InvalidOperation, UnknownCurrency, ValueError) as exc:
        err.print(f"[red]cash receipt {escape(receipt_id)}: {escape(str(exc) or 'not an amount')}[/red] "
                  "(amount like 5000.00, an ISO currency, --date YYYY-MM-DD)")
        raise typer.Exit(2) from None
    try:
        fresh = record_cash(build_hub(_config(config)), contract_id=contract_id, receipt_id=receipt_id, amount=money,
                            received_on=on, reference=reference, actor=f"cli:{actor}")
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    console.print(f"cash receipt {escape(receipt_id)}: {money} on {on} for {escape(contract_id)}"
                  + ("" if fresh else " (already recorded)"))


PortOption = Annotated[int, typer.Option(min=0, max=65535, help="Port on the interface (0: any free port).")]
HostOption = Annotated[str, typer.Option(help="Interface to bind.")]
LatencyOption = Annotated[int, typer.Option(min=0, help="Added latency per request.")]
ErrorRateOption = Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of requests answered 5xx.")]
ThrottleRateOption = Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of requests throttled.")]
MalformedRateOption = Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of responses truncated.")]
DownOption = Annotated[bool, typer.Option(help="Start in maintenance (503).")]
VendorLimitsOption = Annotated[bool, typer.Option(help="Enforce the vendor's documented limits.")]


def _run_sandbox(name: str, *, port: int, host: str, latency_ms: int, error_rate: float, throttle_rate: float,
                 malformed_rate: float, down: bool, vendor_limits: bool, key_out: Path | None = None,
                 ca_out: Path | None = None) -> None:
    from q2c.sandboxes.kit import Faults, free_port, serve_forever
    from q2c.sandboxes.registry import make_sandbox

    faults = Faults(down=down, latency_ms=latency_ms, error_rate=error_rate, throttle_rate=throttle_rate,
                    malformed_rate=malformed_rate)
    box = make_sandbox(name, faults=faults, vendor_limits=vendor_limits)
    private_key = getattr(box, "private_key_pem", None)
    if key_out is not None and isinstance(private_key, str):
        key_out.write_text(private_key)
    port = port or free_port(host)
    scheme = "http"
    if box.tls is not None:  # served over HTTPS with a CA made now: clients must trust it
        scheme = "https"
        if ca_out is not None:
            box.tls.write_ca(ca_out)
    elif ca_out is not None:
        err.print(f"the {name} sandbox serves plain http: --ca-out {ca_out} not written")
    console.print(f"{name} sandbox on {scheme}://{host}:{port} (admin: /__sandbox/faults, /__sandbox/stats)")
    sys.stdout.flush()
    serve_forever(box, host=host, port=port)


def _sandbox_command(name: str, label: str) -> Any:
    """`q2c sandbox NAME` for one registered sandbox."""

    def run(port: PortOption = 0, host: HostOption = "127.0.0.1", latency_ms: LatencyOption = 0,
            error_rate: ErrorRateOption = 0.0, throttle_rate: ThrottleRateOption = 0.0,
            malformed_rate: MalformedRateOption = 0.0, down: DownOption = False,
            vendor_limits: VendorLimitsOption = False,
            key_out: Annotated[Path | None, typer.Option(
                help="Write the sandbox's generated private key here, if it has one (NetSuite M2M).")] = None,
            ca_out: Annotated[Path | None, typer.Option(
                help="Write the CA certificate of a sandbox served over HTTPS here (the Microsoft ones), for "
                     "clients to trust.")] = None
            ) -> None:
        _run_sandbox(name, port=port, host=host, latency_ms=latency_ms, error_rate=error_rate,
                     throttle_rate=throttle_rate, malformed_rate=malformed_rate, down=down,
                     vendor_limits=vendor_limits, key_out=key_out, ca_out=ca_out)

    run.__doc__ = (f"Run the {label} sandbox in the foreground (faults can be changed at run time: "
                   "PUT /__sandbox/faults).")
    return run


def _register_sandbox_commands() -> None:
    from q2c.sandboxes.registry import sandbox_names, sandbox_spec

    for name in sandbox_names():
        sandbox_app.command(name)(_sandbox_command(name, sandbox_spec(name).label))


_register_sandbox_commands()


@sandbox_app.command("up")
def sandbox_up(directory: Annotated[Path, typer.Option("--dir", help="Where q2c.yaml, sandboxes.json and the key go.")],
               seed: Annotated[str, typer.Option(help="empty: a new account's set-up only; demo: the demo's data.")]
               = "empty",
               host: HostOption = "127.0.0.1",
               reset: Annotated[bool, typer.Option(help="Delete a q2c.sqlite left in DIR by an earlier run.")] = False,
               crm: Annotated[str, typer.Option(help="The CRM sandbox (see `q2c sandbox --help`).")] = "salesforce",
               tracker: Annotated[str, typer.Option(help="The time tracker sandbox.")] = "harvest",
               erp: Annotated[str, typer.Option(help="The ERP sandbox.")] = "netsuite",
               systems: Annotated[str, typer.Option(help="The sandboxes by name instead of --crm/--tracker/--erp, "
                                                         "e.g. dynamics365_sales,harvest,business_central.")] = "",
               ) -> None:
    """Run a CRM, a time tracker and an ERP sandbox until Ctrl-C or SIGTERM, with a ready DIR/q2c.yaml."""
    import signal
    import threading

    from q2c.entrypoints.demo import NoScenario, scenarios, systems_by_role
    from q2c.entrypoints.sandbox_up import CONNECTION_NAME, SEEDS, SandboxDirError, start_sandboxes
    from q2c.sandboxes.registry import UnknownSandbox, sandbox_for

    if seed not in SEEDS:
        err.print(f"[red]--seed {escape(repr(seed))} is not a seed[/red]; allowed: {', '.join(SEEDS)}")
        raise typer.Exit(2)
    chosen = {"crm": crm, "tracker": tracker, "erp": erp}
    try:
        if systems:
            chosen = systems_by_role(systems)
        for role, name in chosen.items():
            sandbox_for(role, name)
        if seed == "demo":
            scenarios(chosen)
    except (UnknownSandbox, NoScenario) as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        running = start_sandboxes(directory, seed="demo" if seed == "demo" else "empty", host=host, reset=reset,
                                  sandboxes=chosen)
    except SandboxDirError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    try:
        print(json.dumps(running.connection, indent=2), flush=True)
        err.print(escape(f"sandboxes up ({seed} seed); {running.directory / CONNECTION_NAME} says how to reach them. "
                         f"Try: q2c sync --config {running.config_path}   Stop with Ctrl-C."))
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
    err.print("sandboxes stopped")


if __name__ == "__main__":
    app()
