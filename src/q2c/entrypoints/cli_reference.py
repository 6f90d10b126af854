"""`q2c reference`: the reference data the hub prices and translates with, its refresh, and re-pricing.

- `show`: the rate cards in force with their dated lines, the resources (the config's role beside whether
  the ERP and the tracker have them, active or not, and the employee number), the FX rates by pair with
  their dates, and the dimension codes in force (offering -> class/department, entity -> location).
- `sync`: the refresh `q2c serve` also runs on a schedule: the rate cards into the hub, the FX rates from
  the rates file the config names, then the FX check of every active contract; then the ERP's employees
  and the tracker's users, matched by email with the config's resources (an exception per problem).
- `reprice --preview` / `--apply`: what the rate cards in force do to unbilled time, per project and entry,
  and applying it (the ERP's timebills and the hub's ratings; billed time never changes).

Exit codes: 0 done; 1 something needs attention (an FX rate missing, a person not in the ERP or without a
role, a system that could not be read, a project not re-priced: the open exceptions say what); 2 bad usage
or config, or a system that refuses the configured credentials.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _connector_failure, _engine, _hub, _log_warnings

reference_app = typer.Typer(help="Reference data: rate cards, resources, FX rates; re-pricing after a rate change.",
                            no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="As data.")]
PRESENCE_WORDS = {"active": "yes, active", "inactive": "yes, inactive", "absent": "no", "not_read": "not read yet"}
STATUS_WORDS = {"to_reprice": "to re-price", "nothing_to_reprice": "nothing to re-price (billed time shown)",
                "refused": "refused", "applied": "applied", "not_applied": "not applied"}


def _local_hub(config: Path) -> Any:
    """The hub for work that reads the config and the database only (no system is contacted)."""
    from q2c.entrypoints.wiring import build_hub

    cfg = _config(config)
    return build_hub(cfg, engine=_engine(cfg))


def _money(value: Any) -> str:
    """An amount as the hub holds it (its own decimals), with thousands separators."""
    return f"{value.amount:,}" if value is not None else ""


def _signed(value: Any) -> str:
    return f"{value.amount:+,}"


@reference_app.command("show")
def reference_show(config: ConfigOption = Path("q2c.yaml"), as_json: JsonOption = False,
                   fx_limit: Annotated[int, typer.Option(min=0, help="FX rates shown per pair, newest first (0: all).")]
                   = 10) -> None:
    """The rate cards in force with their dated lines, the resources with their roles, the FX rates with dates,
    and the dimension codes in force (offering -> class/department, entity -> location)."""
    from q2c.workflows.reference_data import reference_view

    view = reference_view(_local_hub(config), fx_limit=fx_limit)
    if as_json:
        print(json.dumps(view.model_dump(mode="json"), indent=2))
        return
    out = cli_support.console
    cards = Table(title=f"rate cards in force ({len(view.rate_cards)})")
    for col in ("card", "role", "resource", "rate", "cost rate", "from", "to", "contracts", "in the hub"):
        cards.add_column(col, overflow="fold")
    for card in view.rate_cards:
        for i, line in enumerate(card.lines):
            first = i == 0
            cards.add_row(*(escape(x) for x in (
                f"{card.id} ({card.currency})" if first else "", line.role, line.resource or "", _money(line.rate),
                _money(line.cost_rate), line.effective_from.isoformat(),
                line.effective_to.isoformat() if line.effective_to else "open", str(card.contracts) if first else "",
                card.in_hub.replace("_", " ") if first else "")))
    out.print(cards)
    for retired in view.retired_rate_cards:
        cli_support.err.print(escape(f"rate card {retired.id} is no longer in the config, but contracts "
                                     f"{', '.join(retired.contracts)} are priced by it: their time waits"))
    people = Table(title=f"resources ({len(view.resources)}), from {view.resources_source}")
    for col in ("email", "name", "role (config)", "in ERP", "in tracker", "employee number", "open exceptions"):
        people.add_column(col, overflow="fold")
    for r in view.resources:
        people.add_row(*(escape(x) for x in (
            r.email, r.name, r.role or "none", PRESENCE_WORDS[r.in_erp], PRESENCE_WORDS[r.in_tracker],
            r.employee_number or "", ", ".join(r.problems))))
    out.print(people)
    source = view.fx_rates_file or "no reference.fx_rates_file"
    fx = Table(title=f"FX rates ({source}; config fx_rates win on the same day)")
    for col in ("pair", "on", "rate", "source", "rates kept"):
        fx.add_column(col, overflow="fold")
    for pair in view.fx_pairs:
        for i, rate in enumerate(pair.rates):
            fx.add_row(*(escape(x) for x in (
                f"1 {pair.from_currency} in {pair.to_currency}" if i == 0 else "", rate.on.isoformat(), str(rate.rate),
                rate.source, f"{pair.count} ({pair.first} to {pair.last})" if i == 0 else "")))
    out.print(fx if view.fx_pairs else f"FX rates: none ({source})")
    dims = Table(title="dimensions in force (the firm's codes on the ERP's lines)")
    for col in ("for", "code", "class", "department", "location"):
        dims.add_column(col, overflow="fold")
    for d in view.dimensions:
        dims.add_row(*(escape(x) for x in (d.applies_to, d.code, d.codes.get("class", ""),
                                            d.codes.get("department", ""), d.codes.get("location", ""))))
    out.print(dims if any(d.codes for d in view.dimensions) else "dimensions: none set in the config")


@reference_app.command("sync")
def reference_sync(config: ConfigOption = Path("q2c.yaml"), as_json: JsonOption = False) -> None:
    """Refresh the reference data now (as `q2c serve` does on a schedule); exit 1 if something needs attention."""
    from q2c.workflows.reference_data import refresh_reference_data

    hub = _local_hub(config)
    result = refresh_reference_data(hub)
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        out = cli_support.console
        changed = ", ".join((*result.rate_cards_changed, *(f"{c} retired" for c in result.rate_cards_retired)))
        out.print(f"rate cards: {result.rate_cards_in_force} in force" + (f"; taken in: {changed}" if changed else
                                                                           "; the hub's copy was up to date"))
        out.print(escape(f"resources: {result.resources}, from {result.resources_source}"))
        fx = result.fx
        if fx.source is None:
            out.print("FX rates: no reference.fx_rates_file in the config; only its fx_rates are used")
        elif fx.error is not None:
            cli_support.err.print(f"[red]FX rates file[/red]: {escape(fx.error)}")
        else:
            unquoted = f"; not in the file: {', '.join(fx.not_quoted)}" if fx.not_quoted else ""
            out.print(escape(f"FX rates: {fx.source}, {fx.days} days, pairs {', '.join(fx.pairs) or 'none needed'}: "
                             f"{fx.added} new, {fx.changed} changed{unquoted}"))
        for v in result.fx_missing:
            cli_support.err.print(f"[red]{escape(v.rule)}[/red] {escape(v.message)}")
        if not result.fx_missing:
            out.print("FX check: every active contract has the rates its close needs")
        _print_people(result.people)
    if result.people.blocking:
        raise typer.Exit(2)
    if result.needs_attention:
        raise typer.Exit(1)


def _print_people(sync: Any) -> None:
    """What the resource sync read, changed and found: one line each, problems on stderr."""
    out, err = cli_support.console, cli_support.err
    for error in sync.errors:
        err.print(f"[red]resources not read[/red]: {escape(error)}")
    if not sync.read:
        return
    changed = f"; changed: {', '.join(sync.changed)}" if sync.changed else ""
    gone = f"; gone: {', '.join(sync.gone)}" if sync.gone else ""
    out.print(escape(f"people: {sync.listed} ({sync.erp_people} from the ERP, {sync.tracker_people} from the tracker, "
                     f"matched by email with the config){changed}{gone}; {sync.closed} exception(s) closed"))
    for line in sync.unmatched:
        err.print(f"[yellow]not matched[/yellow] {escape(line)}")
    for v in sync.problems:
        err.print(f"[red]{escape(v.rule)}[/red] {escape(v.message)}")
    if not sync.problems:
        out.print("people: no problem (every active person has a role in the config; everyone logging time is an "
                  "active employee)")


def _print_reprice(report: Any) -> None:
    out = cli_support.console
    word = "re-pricing applied" if report.applied else "re-pricing preview (nothing is changed)"
    if not report.projects:
        out.print(f"{word}: nothing to re-price; the unbilled time of {report.projects_checked} project(s) is at "
                  "the rates in force on its work dates")
        return
    out.print(f"{word}: {len(report.projects)} of {report.projects_checked} project(s)")
    for p in report.projects:
        title = (f"project {p.project_id} (contract {p.contract_id}, rate card {p.rate_card_id}, {p.currency}): "
                 f"{STATUS_WORDS[p.status]}")
        if p.problem is not None:
            out.print(escape(title))
            cli_support.err.print(f"  [red]{escape(p.problem.rule)}[/red] {escape(p.problem.message)}")
            continue
        table = Table(title=title)
        for col in ("entry", "work date", "role", "hours", "old rate", "new rate", "old amount", "new amount",
                    "difference", ""):
            table.add_column(col, overflow="fold")
        for e in (*p.entries, *p.billed):
            table.add_row(*(escape(x) for x in (
                e.entry_id, e.work_date.isoformat(), e.role, f"{e.hours:f}", _money(e.old_rate), _money(e.new_rate),
                _money(e.old_amount), _money(e.new_amount),
                "unchanged" if e.billed else _signed(e.difference), e.note)))
        table.add_row("total", "", "", f"{p.hours:f}", "", "", _money(p.old_total), _money(p.new_total),
                      _signed(p.difference), f"{len(p.entries)} re-priced, {p.unchanged} unbilled unchanged, "
                                                       f"{len(p.billed)} billed unchanged")
        out.print(table)
        if p.left:
            cli_support.err.print(escape(f"  not re-priced: {', '.join(p.left)} (see the open exceptions)"))
    out.print("total difference: " + ", ".join(f"{m.currency} {_signed(m)}" for m in report.totals))


@reference_app.command("reprice")
def reference_reprice(config: ConfigOption = Path("q2c.yaml"),
                      preview: Annotated[bool, typer.Option("--preview", help="Show what would change (default).")]
                      = False,
                      apply: Annotated[bool, typer.Option("--apply", help="Apply it: ERP timebills and the hub.")]
                      = False,
                      as_json: JsonOption = False) -> None:
    """Re-price unbilled time to the rate cards in force on its work dates; billed time never changes."""
    from q2c.engine.errors import ConnectorError
    from q2c.entrypoints.wiring import drain
    from q2c.workflows.reference_data import enqueue_reprice, preview_reprice, reprice_outcome, unfinished_reprices

    if preview and apply:
        cli_support.err.print("[red]--preview and --apply[/red]: choose one (--preview shows, --apply changes)")
        raise typer.Exit(2)
    if not apply:
        report = preview_reprice(_local_hub(config))
    else:
        cfg = _config(config)
        _log_warnings(cfg)
        hub = _hub(cfg)
        before = preview_reprice(hub)
        enqueue_reprice(hub, before)
        try:
            drain(hub, console=None if as_json else cli_support.console)  # --json: stdout holds the data only
        except ConnectorError as exc:
            raise _connector_failure(exc, cfg) from None
        report = reprice_outcome(before, preview_reprice(hub), pending=unfinished_reprices(hub))
    if as_json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        _print_reprice(report)
    if report.open_problems:
        raise typer.Exit(1)
