"""`q2c kpis [--since YYYY-MM-DD] [--json]`: the hub's KPIs from its own records, one row per UTC day.

The table has one section per KPI and one row per day; `--json` gives `{kpi: [{day, ...values}]}` for a
chart. What each KPI measures, and from which records, is in `workflows/kpis.py` and docs/delivery.md.
Exit codes: 0 done; 1 a record of the hub's that the KPIs cannot read (the message names it); 2 a date that is
not one, or more than ten years back.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from q2c.domain.kpis import KpiInputError
from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _engine

TITLES = {
    "project_setup_cycle_time": "project setup cycle time (won -> ready in the ERP and the tracker), seconds",
    "approved_to_bill_lag": "approved-to-bill lag (first seen approved -> first invoiced), hours",
    "revenue_event_exception_rate": "revenue event exception rate (revenue close work with an exception)",
    "integration_recovery_time": "integration recovery time (circuit open -> waiting work drained), seconds",
    "cross_system_consistency": "cross-system consistency (records matching in the day's last reconciliation)",
}


def _cell(value: Any) -> str:
    return "–" if value is None else str(value)


def kpis_command(config: ConfigOption = Path("q2c.yaml"),
                 since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD, UTC); else the first "
                                                                "day anything was recorded.")] = None,
                 as_json: Annotated[bool, typer.Option("--json", help="{kpi: [{day, ...values}]}")] = False) -> None:
    """The KPIs as daily series: setup cycle time, approved-to-bill lag, revenue exception rate, recovery time,
    cross-system consistency."""
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.kpis import SinceTooEarly, kpis

    try:
        first = date.fromisoformat(since) if since is not None else None
    except ValueError:
        cli_support.err.print(f"[red]--since {escape(repr(since))} is not a date[/red]; use YYYY-MM-DD")
        raise typer.Exit(2) from None
    cfg = _config(config)
    hub = build_hub(cfg, engine=_engine(cfg))
    try:
        report = kpis(hub, since=first)
    except SinceTooEarly as exc:
        cli_support.err.print(f"[red]--since[/red]: {escape(str(exc))}")
        raise typer.Exit(2) from None
    except KpiInputError as exc:
        cli_support.err.print(f"[red]the KPIs cannot be computed[/red]: {escape(str(exc))}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
        return
    if not report.days:
        cli_support.console.print("no KPIs yet: nothing recorded" + (f" since {first}" if first else ""))
        return
    for name, rows in report.series().items():
        cli_support.console.print(f"[bold]{escape(TITLES[name])}[/bold]")  # a title would wrap to the table's width
        table = Table()
        columns = [f.name for f in fields(rows[0])] if rows else ["day"]
        for col in columns:
            table.add_column(col.replace("_", " "), justify="left" if col == "day" else "right")
        for row in rows:
            table.add_row(*(_cell(getattr(row, col)) for col in columns))
        cli_support.console.print(table)
