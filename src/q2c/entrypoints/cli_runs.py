"""`q2c runs`: the hub's recorded runs (syncs, billing runs, revenue closes, reconciliations, outages) and
their figures.

list [--kind K] [--limit N]   newest first: kind, status, when, how long, its counts, the exceptions it opened
show ID                       one run: every figure, the exceptions it opened by rule, why it failed

Both take `--json`. Exit codes: 0 done; 2 an unknown kind or a run id that does not exist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _engine
from q2c.store import runs as run_store
from q2c.workflows.runs import KINDS

runs_app = typer.Typer(help="Recorded runs (sync, billing, revenue close, reconcile, outage) and their figures.",
                       no_args_is_help=True)

_SHOWN_APART = ("exceptions", "duration_seconds", "error")  # not counts: each has its own column or line


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "–" if value is None else str(value)


def figures(stats: dict[str, Any]) -> str:
    """A run's own figures on one line: `entries 3, pages 1, ...` (invoice totals as `USD 3600.00`)."""
    return "; ".join(f"{k} {_value(v)}" for k, v in stats.items() if k not in _SHOWN_APART)


def _opened(stats: dict[str, Any]) -> str:
    opened = stats.get("exceptions") or {}
    return str(opened.get("opened", "")) if isinstance(opened, dict) else ""


def _duration(run: run_store.Run) -> str:
    seconds = run.duration_seconds
    return "running" if seconds is None else f"{seconds:.1f} s"


def _kind(kind: str | None) -> str | None:
    if kind is not None and kind not in KINDS:
        cli_support.err.print(f"[red]--kind {escape(repr(kind))} is not a kind of run[/red]; allowed: "
                              f"{', '.join(KINDS)}")
        raise typer.Exit(2)
    return kind


@runs_app.command("list")
def runs_list(config: ConfigOption = Path("q2c.yaml"),
              kind: Annotated[str | None, typer.Option(help="Only runs of this kind (sync.time, billing, ...).")]
              = None,
              limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 20,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List recorded runs, newest first, with their counts and the exceptions each opened."""
    wanted = _kind(kind)
    engine = _engine(_config(config))
    with engine.connect() as conn:
        found = run_store.list_runs(conn, kind=wanted, limit=limit)
    if as_json:
        print(json.dumps([r.summary() for r in found], indent=2))
        return
    if not found:
        cli_support.console.print("no runs" + (f" of kind {escape(wanted)}" if wanted else ""))
        return
    table = Table(title=f"runs ({len(found)})")
    for col in ("id", "kind", "status", "started (UTC)", "took", "figures", "exceptions"):
        table.add_column(col, overflow="fold", justify="right" if col in ("id", "took", "exceptions") else "left")
    for r in found:
        status = r.status if r.status != run_store.FAILED else f"[red]{r.status}[/red]"
        table.add_row(str(r.id), escape(r.kind), status, f"{r.started_at:%Y-%m-%d %H:%M:%S}", _duration(r),
                      escape(figures(r.stats)), _opened(r.stats))
    cli_support.console.print(table)


@runs_app.command("show")
def runs_show(run_id: int, config: ConfigOption = Path("q2c.yaml"),
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one run: every figure, the exceptions it opened by rule, and why it failed if it did."""
    engine = _engine(_config(config))
    with engine.connect() as conn:
        run = run_store.get_run(conn, run_id)
    if run is None:
        cli_support.err.print(f"[red]run {run_id} does not exist[/red] (`q2c runs list` shows the ids)")
        raise typer.Exit(2)
    if as_json:
        print(json.dumps(run.summary(), indent=2))
        return
    out = cli_support.console
    finished = f"{run.finished_at:%Y-%m-%d %H:%M:%S} UTC" if run.finished_at is not None else "not finished"
    out.print(f"[bold]run {run.id}[/bold] {escape(run.kind)}  {run.status}  ({_duration(run)})")
    out.print(f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC, finished {finished}")
    for key, value in run.stats.items():
        if key not in _SHOWN_APART:
            out.print(escape(f"  {key}: {_value(value)}"))
    opened = run.stats.get("exceptions")
    if isinstance(opened, dict):
        by_rule = opened.get("by_rule") or {}
        out.print(escape(f"exceptions opened: {opened.get('opened', 0)}"
                         + (f" ({_value(by_rule)})" if by_rule else "")))
    if run.stats.get("error"):
        cli_support.err.print(f"[red]failed[/red]: {escape(str(run.stats['error']))}")
