"""`q2c report`: the reports a controller reads, from q2c's own records (no system is contacted).

wip [--as-of DAY]              approved billable time not billed as of a day, per project, at bill rate and cost
waterfall [--from P] [--to P]  revenue recognised per contract and period
rollforward --period P         deferred revenue: opening, billed, recognised, closing per contract
rpo --period P                 remaining performance obligations at the period end
invoices                       invoices and credit notes by month, currency and status

Each takes --contract and --legal-entity and prints tables, or --json (amounts as strings beside their
currency) or --csv (a header row, then one row per line of the report). Exit codes: 0 done; 2 an argument
it cannot use (a period that is not YYYY-MM, an unknown contract), named with what is wrong with it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from rich.markup import escape
from rich.table import Table

from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _engine

if TYPE_CHECKING:
    from q2c.workflows.hub import Hub
    from q2c.workflows.reports import Grid

report_app = typer.Typer(help="Reports for the controller: WIP, revenue waterfall, deferred revenue roll-forward, "
                              "remaining performance obligations, invoices by month.", no_args_is_help=True)

ContractOption = Annotated[str | None, typer.Option("--contract", help="One contract's figures (its id).")]
EntityOption = Annotated[str | None, typer.Option("--legal-entity", help="One legal entity's contracts (its code).")]
JsonOption = Annotated[bool, typer.Option("--json", help="The figures as JSON (amounts as strings).")]
CsvOption = Annotated[bool, typer.Option("--csv", help="The figures as CSV with a header row.")]
PeriodOption = Annotated[str, typer.Option("--period", help="The period, YYYY-MM.")]

_OPTIONS = {"contract": "--contract", "legal_entity": "--legal-entity", "as_of": "--as-of", "from": "--from",
            "to": "--to", "period": "--period"}


class _Report(Protocol):
    def to_json(self) -> dict[str, Any]: ...

    def grid(self) -> Grid: ...

    def totals_grid(self) -> Grid: ...


def _reading_hub(config: Path) -> Hub:
    """The hub over its database, for reading q2c's own records: no first contact with the systems."""
    from q2c.entrypoints.wiring import build_hub

    cfg = _config(config)
    return build_hub(cfg, engine=_engine(cfg))


def _run(config: Path, make: Callable[[Hub], _Report], *, as_json: bool, as_csv: bool,
         empty: Callable[[Any], str], notes: Callable[[Any], list[str]] | None = None) -> None:
    """Build the report and print it the way asked; a refused argument is exit 2, naming its option."""
    from q2c.workflows.reports import ReportRefused

    if as_json and as_csv:
        cli_support.err.print("[red]--json and --csv[/red]: choose one of them")
        raise typer.Exit(2)
    hub = _reading_hub(config)
    try:
        report = make(hub)
    except ReportRefused as exc:
        option = _OPTIONS.get(exc.argument, exc.argument)
        cli_support.err.print(f"[red]{escape(option)}[/red]: {escape(exc.problem)}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    grid = report.grid()
    if as_csv:
        sys.stdout.write(grid.as_csv())
        return
    if not grid.rows:
        cli_support.console.print(escape(empty(report)))
    else:
        cli_support.console.print(_table(grid))
        cli_support.console.print(_table(report.totals_grid()))
    for line in (notes(report) if notes is not None else []):
        cli_support.console.print(escape(line))


def _table(grid: Grid) -> Table:
    table = Table(title=grid.title)
    for column in grid.columns:
        table.add_column(column.replace("_", " "), justify="right" if column in grid.amounts else "left",
                         overflow="fold")
    for row in grid.rows:
        table.add_row(*(f"{Decimal(cell):,}" if column in grid.amounts and cell else escape(cell)
                        for column, cell in zip(grid.columns, row, strict=True)))
    return table


@report_app.command("wip")
def report_wip(config: ConfigOption = Path("q2c.yaml"),
               as_of: Annotated[str | None, typer.Option("--as-of", help="The day, YYYY-MM-DD (today).")] = None,
               contract: ContractOption = None, legal_entity: EntityOption = None,
               as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Work in progress: approved billable time not billed as of a day, per project, at bill rate and at cost.
    Time billed after the day counts as unbilled on it."""
    from q2c.workflows.reports import parse_day, wip_report

    def make(hub: Hub) -> _Report:
        day = parse_day(as_of, argument="as_of") if as_of is not None else hub.today()
        return wip_report(hub, as_of=day, contract_id=contract, legal_entity=legal_entity)

    _run(config, make, as_json=as_json, as_csv=as_csv,
         empty=lambda r: f"no unbilled approved time as of {r.as_of.isoformat()}")


@report_app.command("waterfall")
def report_waterfall(config: ConfigOption = Path("q2c.yaml"),
                     first: Annotated[str | None, typer.Option("--from", help="First period, YYYY-MM.")] = None,
                     last: Annotated[str | None, typer.Option("--to", help="Last period, YYYY-MM.")] = None,
                     contract: ContractOption = None, legal_entity: EntityOption = None,
                     as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Revenue recognised per contract and period, as the revenue close posted it."""
    from q2c.workflows.reports import parse_period, waterfall_report

    def make(hub: Hub) -> _Report:
        return waterfall_report(hub, first=parse_period(first, argument="from") if first is not None else None,
                                last=parse_period(last, argument="to") if last is not None else None,
                                contract_id=contract, legal_entity=legal_entity)

    _run(config, make, as_json=as_json, as_csv=as_csv, empty=lambda r: "no revenue posted in those periods")


@report_app.command("rollforward")
def report_rollforward(period: PeriodOption, config: ConfigOption = Path("q2c.yaml"),
                       contract: ContractOption = None, legal_entity: EntityOption = None,
                       as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Deferred revenue for a period: opening + billed - recognised + reclassified = closing, per contract in a
    contract liability position at either end."""
    from q2c.workflows.reports import parse_period, rollforward_report

    def make(hub: Hub) -> _Report:
        return rollforward_report(hub, period=parse_period(period, argument="period"), contract_id=contract,
                                  legal_entity=legal_entity)

    _run(config, make, as_json=as_json, as_csv=as_csv, empty=lambda r: f"no deferred revenue in {r.period}",
         notes=lambda r: [f"{r.posted} contract(s) with revenue posted for {r.period}; {len(r.lines)} in deferred "
                          "revenue"])


@report_app.command("rpo")
def report_rpo(period: PeriodOption, config: ConfigOption = Path("q2c.yaml"),
               contract: ContractOption = None, legal_entity: EntityOption = None,
               as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Remaining performance obligations at the end of a period: allocated price less revenue recognised, per
    contract and obligation, split into the next twelve months and later where the schedule is known."""
    from q2c.workflows.reports import parse_period, rpo_report

    def make(hub: Hub) -> _Report:
        return rpo_report(hub, period=parse_period(period, argument="period"), contract_id=contract,
                          legal_entity=legal_entity)

    def notes(report: Any) -> list[str]:
        left_out = ", ".join(f"{o} ({c})" for c, o in report.right_to_invoice)
        return [f"left out, recognised as invoiced (ASC 606-10-50-14(b) / IFRS 15.121(b)): {left_out}"] \
            if left_out else []

    _run(config, make, as_json=as_json, as_csv=as_csv,
         empty=lambda r: f"no remaining performance obligations at the end of {r.as_of}", notes=notes)


@report_app.command("invoices")
def report_invoices(config: ConfigOption = Path("q2c.yaml"), contract: ContractOption = None,
                    legal_entity: EntityOption = None, as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Invoices and credit notes by month of their date, currency and status; credit notes count negative."""
    from q2c.workflows.reports import invoices_report

    def make(hub: Hub) -> _Report:
        return invoices_report(hub, contract_id=contract, legal_entity=legal_entity)

    _run(config, make, as_json=as_json, as_csv=as_csv, empty=lambda r: "no invoices")
