"""`q2c reconcile`: compare the CRM, the time tracker, the ERP and the revenue engine record by record.

reconcile [--pair P]... [--json|--csv]   read every system fresh, compare, trace each drift's cause, keep the run
reconcile heal EXCEPTION_ID              apply the fix a drift proposes, when q2c may (audited)
reconcile runs [--limit N]               the runs kept, newest first, with their figures
reconcile show RUN_ID [--json|--csv]     one kept run with its drifts

Exit codes: 0 every pair matches (or the heal was applied); 1 drift found; 2 a request that cannot be done as
asked (unknown pair or run, a drift that belongs to someone else to fix).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _connector_failure, _engine, _hub, _log_warnings

reconcile_app = typer.Typer(help="Compare the systems record by record; heal what q2c may.",
                            invoke_without_command=True)

Actor = Annotated[str, typer.Option(help="Who heals (for the audit trail).")]
Pairs = Annotated[list[str] | None, typer.Option("--pair", help="bookings, time, invoices or revenue (all without).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the run as JSON.")]
AsCsv = Annotated[bool, typer.Option("--csv", help="Print the drifts and totals as CSV.")]


def _print_pairs(data: dict[str, Any]) -> None:
    table = Table(title=f"reconciliation run {data['run_id']}")
    for col in ("pair", "left", "right", "compared", "matched", "held", "missing left", "missing right",
                "different"):
        table.add_column(col, justify="left" if col in ("pair", "left", "right") else "right")
    for name, p in data["pairs"].items():
        table.add_row(name, escape(p["left"]), escape(p["right"]), str(p["compared"]), str(p["matched"]),
                      str(p["held"]), str(p["missing_left"]), str(p["missing_right"]), str(p["different"]))
    cli_support.console.print(table)
    for name, p in data["pairs"].items():
        sides = "; ".join(f"{escape(side)}: " + ", ".join(f"{k} {v}" for k, v in sums.items())
                          for side, sums in p["totals"].items())
        cli_support.console.print(f"  {name} totals: {sides}")
    wip = data.get("wip") or {}
    for t in wip.get("totals", []):
        cli_support.console.print(f"  WIP as of {wip['as_of']} (approved, unbilled): {t['entries']} entries, "
                                  f"{t['hours']} h, {t['currency']} {t['at_bill_rate']} at bill rate, "
                                  f"{t['at_cost']} at cost ({len(wip.get('projects', []))} projects: "
                                  f"`q2c report wip`)")
    for d in data["drifts"]:
        what = ", ".join(f"{x['field']} {x['left']} vs {x['right']}" for x in d["differences"]) or \
            d["kind"].replace("_", " ")
        fix = f"heal: q2c reconcile heal {d['exception_id']}" if d["fix"] else f"owner: {d['owner']}"
        cli_support.console.print(f"[yellow]drift[/yellow] {d['pair']} {escape(d['record_id'])}: {escape(what)}\n"
                                  f"    cause: {escape(d['cause'])}\n    {escape(fix)}"
                                  + (f" - {escape(d['action'])}" if d.get("action") else ""))
    if not data["drifts"]:
        cli_support.console.print("every pair matches")


def _emit(data: dict[str, Any], *, as_json: bool, as_csv: bool) -> None:
    from q2c.entrypoints.reconcile_render import to_csv

    if as_json:
        print(json.dumps(data, indent=2))
    elif as_csv:
        print(to_csv(data), end="")
    else:
        _print_pairs(data)


@reconcile_app.callback()
def reconcile(ctx: typer.Context, config: ConfigOption = Path("q2c.yaml"), pair: Pairs = None,
              as_json: AsJson = False, as_csv: AsCsv = False) -> None:
    """Read every system fresh, compare record by record, trace each drift; exit 1 when any pair drifts."""
    if ctx.invoked_subcommand is not None:
        return
    from q2c.engine.errors import ConnectorError
    from q2c.entrypoints.reconcile_render import report_json
    from q2c.workflows.reconcile import reconcile as run

    cfg = _config(config)
    _log_warnings(cfg)
    hub = _hub(cfg)
    try:
        report = run(hub, pairs=pair)
    except ValueError as exc:
        cli_support.err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    except ConnectorError as exc:
        raise _connector_failure(exc, cfg) from None
    _emit(report_json(report), as_json=as_json, as_csv=as_csv)
    raise typer.Exit(0 if report.clean else 1)


@reconcile_app.command("heal")
def heal(exception_id: int, config: ConfigOption = Path("q2c.yaml"),
         actor: Actor = os.environ.get("USER", "cli")) -> None:
    """Apply the fix of one drift (its exception id, as `q2c reconcile` prints it), then run what it queued."""
    from q2c.engine.errors import ConnectorError
    from q2c.entrypoints.wiring import drain
    from q2c.workflows.reconcile_heal import HealError
    from q2c.workflows.reconcile_heal import heal as apply

    cfg = _config(config)
    _log_warnings(cfg)
    hub = _hub(cfg)
    try:
        done = apply(hub, exception_id, actor=f"cli:{actor}")
        drain(hub, console=cli_support.console)
    except HealError as exc:
        cli_support.err.print(f"[red]not healed[/red]: {escape(str(exc))}")
        raise typer.Exit(2) from None
    except ConnectorError as exc:
        raise _connector_failure(exc, cfg) from None
    cli_support.console.print(f"healed: {escape(done)}; run `q2c reconcile` to confirm")


@reconcile_app.command("runs")
def runs(config: ConfigOption = Path("q2c.yaml"),
         limit: Annotated[int, typer.Option(min=1, max=1000)] = 20, as_json: AsJson = False) -> None:
    """The kept reconciliation runs, newest first: when, how many compared, matched and drifting."""
    from q2c.store import drifts

    cfg = _config(config)
    with _engine(cfg).connect() as conn:
        found = drifts.runs_list(conn, limit=limit)
    if as_json:
        print(json.dumps([{"run_id": r.id, "status": r.status, "started_at": r.started_at.isoformat(),
                           "compared": r.stats.get("compared"), "matched": r.stats.get("matched"),
                           "drifts": r.stats.get("drifts")} for r in found], indent=2))
        return
    table = Table(title=f"reconciliation runs ({len(found)})")
    for col in ("run", "started", "status", "compared", "matched", "drifts"):
        table.add_column(col)
    for r in found:
        table.add_row(str(r.id), f"{r.started_at:%Y-%m-%d %H:%M}", r.status, str(r.stats.get("compared")),
                      str(r.stats.get("matched")), str(r.stats.get("drifts")))
    cli_support.console.print(table)


@reconcile_app.command("show")
def show(run_id: int, config: ConfigOption = Path("q2c.yaml"), as_json: AsJson = False, as_csv: AsCsv = False
         ) -> None:
    """One kept run: its pairs, totals and drifts as they were found."""
    from q2c.entrypoints.reconcile_render import run_json
    from q2c.store import drifts

    cfg = _config(config)
    with _engine(cfg).connect() as conn:
        run = drifts.get_run(conn, run_id)
        found = drifts.of_run(conn, run_id) if run is not None else []
    if run is None:
        cli_support.err.print(f"[red]no reconciliation run {run_id}[/red] (see `q2c reconcile runs`)")
        raise typer.Exit(2)
    _emit(run_json(run, found), as_json=as_json, as_csv=as_csv)
