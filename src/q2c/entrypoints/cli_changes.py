"""`q2c changes`: the contract changes found in the CRM, their plan, and a controller's approval or rejection.

Exit codes: 0 done; 1 the change is still held after the command (it says why); 2 bad usage (an unknown
change, a missing answer, an unknown treatment).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _connector_failure, _hub, _log_warnings

changes_app = typer.Typer(help="Contract changes: what changed in the CRM, its plan, approve or reject it.",
                          no_args_is_help=True)

ActorOption = Annotated[str, typer.Option(help="Who acts (recorded in the change and the audit trail).")]
TREATMENTS = ("separate_contract", "termination_and_new_contract", "cumulative_catch_up")


def _run(hub: Any) -> None:
    from q2c.engine.errors import ConnectorError
    from q2c.entrypoints.wiring import drain

    try:
        drain(hub, console=cli_support.console)
    except ConnectorError as exc:
        raise _connector_failure(exc, hub.config) from None


@changes_app.command("detect")
def changes_detect(config: ConfigOption = Path("q2c.yaml")) -> None:
    """Compare every active contract's terms with its deal in the CRM now, and apply or hold what changed."""
    from q2c.workflows.contract_changes import enqueue_change_checks

    cfg = _config(config)
    _log_warnings(cfg)
    hub = _hub(cfg)
    n = enqueue_change_checks(hub)
    _run(hub)
    cli_support.console.print(f"{n} contracts compared with the CRM's deals")
    _print_list(hub, include_ended=False)


def _print_list(hub: Any, *, include_ended: bool) -> int:
    from q2c.workflows.contract_changes import list_changes

    with hub.engine.connect() as conn:
        rows = list_changes(conn, include_ended=include_ended)
    if not rows:
        cli_support.console.print("no contract changes" + ("" if include_ended else " waiting"))
        return 0
    table = Table(title=f"contract changes ({len(rows)})")
    for col in ("id", "contract", "state", "treatment", "open period revenue", "amendments", "why held"):
        table.add_column(col, overflow="fold")
    for r in rows:
        plan = r.payload.get("plan", {})
        revenue = plan.get("revenue") or {}
        moved = f"{revenue.get('difference')} in {revenue.get('period')}" if revenue.get("difference") else ""
        table.add_row(*(escape(str(x)) for x in (
            r.canonical_id, r.payload["contract_id"], r.state, plan.get("treatment") or "", moved,
            "; ".join(plan.get("amendments", [])), r.payload.get("why_held") or "")))
    cli_support.console.print(table)
    return len(rows)


@changes_app.command("list")
def changes_list(config: ConfigOption = Path("q2c.yaml"),
                 show_all: Annotated[bool, typer.Option("--all", help="Also applied, rejected, superseded.")] = False,
                 as_json: Annotated[bool, typer.Option("--json", help="As data.")] = False) -> None:
    """The contract changes waiting for someone (or all of them)."""
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.contract_changes import list_changes

    hub = build_hub(_config(config))
    if as_json:
        with hub.engine.connect() as conn:
            rows = list_changes(conn, include_ended=show_all)
        cli_support.console.print_json(json.dumps([{**r.payload, "state": r.state} for r in rows]))
        return
    _print_list(hub, include_ended=show_all)


@changes_app.command("show")
def changes_show(change_id: str, config: ConfigOption = Path("q2c.yaml"),
                 as_json: Annotated[bool, typer.Option("--json", help="The change and its plan as data.")] = False
                 ) -> None:
    """One change and its plan: the contract before and after, the treatment and why, the revenue effect."""
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.contract_changes import ChangeError, get_change

    hub = build_hub(_config(config))
    try:
        with hub.engine.connect() as conn:
            rec = get_change(conn, change_id)
    except ChangeError as exc:
        cli_support.err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        cli_support.console.print_json(json.dumps({**rec.payload, "state": rec.state}))
        return
    show_plan(rec.canonical_id, rec.state, rec.payload)


def show_plan(change_id: str, state: str, change: dict[str, Any]) -> None:
    out = cli_support.console
    plan = change.get("plan", {})
    out.print(f"[bold]{escape(change_id)}[/bold] of contract {escape(str(change['contract_id']))}: {state}"
              + (f" ({escape(str(change.get('why_held')))})" if change.get("why_held") else ""))
    out.print(f"from {escape(str(change.get('source')))}, effective {change.get('effective')}, approved in the CRM: "
              f"{'yes' if change.get('crm_approved') else 'no'}")
    for a in plan.get("amendments", []):
        out.print(f"  - {escape(a)}")
    phases = Table(title="contract lines (ERP) before -> after")
    for col in ("side", "phase", "billing type", "amount", "cap", "hours", "milestones"):
        phases.add_column(col, overflow="fold")
    for side in ("before", "after"):
        for p in plan.get("phases", {}).get(side, []):
            phases.add_row(side, p["id"], p["billing_type"], p["amount"], p["cap"] or "", p["estimated_hours"] or "",
                           ", ".join(f"{m['name']} {m['amount']}" for m in p["milestones"]))
    out.print(phases)
    terms = plan.get("contract", {})
    if terms:
        out.print(f"term: {terms['before']['start_date']} to {terms['before']['end_date']} -> "
                  f"{terms['after']['start_date']} to {terms['after']['end_date']}")
    if plan.get("added_tasks"):
        out.print(f"new tasks in the ERP and the time tracker: {', '.join(plan['added_tasks'])}")
    for fact in plan.get("facts", []):
        out.print(f"fact: {escape(fact)}")
    if plan.get("treatment"):
        out.print(f"treatment: [bold]{plan['treatment']}[/bold] ({plan['paragraph']}): {escape(plan['reason'])}")
    for blocked in plan.get("blocked", []):
        out.print(f"[red]cannot apply[/red]: {escape(blocked)}")
    if plan.get("question"):
        out.print(f"[yellow]controller's choice[/yellow]: {escape(plan['question'])}")
    if plan.get("allocation"):
        table = Table(title="allocation of the transaction price")
        for col in ("side", "obligation", "method", "allocated"):
            table.add_column(col, overflow="fold")
        for row in plan["allocation"]:
            table.add_row(row["side"], f"{row['obligation']} {row['name']}", row["method"], row["allocated"] or
                          "as invoiced")
        out.print(table)
    revenue = plan.get("revenue")
    if revenue:
        out.print(f"revenue of {revenue['period']}: {revenue['old_terms']} on the terms in force, "
                  f"{revenue['new_terms']} with the change (difference {revenue['difference']}, of which catch-up "
                  f"{revenue['catch_up']})")
        for ob in revenue.get("obligations", []):
            for line in ob["lines"]:
                out.print(f"  {ob['obligation']} {line['kind']} {line['amount']}: {escape(line['reason'])}")
    if plan.get("schedule"):
        table = Table(title="revenue schedule per period")
        for col in ("period", "posted", "on the terms in force", "with the change"):
            table.add_column(col, overflow="fold")
        for row in plan["schedule"]:
            posted = f"{row['posted']}{' (closed)' if row.get('closed') else ''}" if "posted" in row else ""
            table.add_row(row["period"], posted, row.get("old_terms") or "", row.get("new_terms") or "")
        out.print(table)
    if plan.get("closed_periods_touched"):
        out.print(f"[yellow]reaches into closed period(s)[/yellow]: {', '.join(plan['closed_periods_touched'])} "
                  "(the catch-up lands in the open period)")
    if plan.get("over_cap_held") not in (None, "0.00"):
        out.print(f"time held over the cap now: {plan['over_cap_held']} (the next billing run bills what the new "
                  "cap allows)")
    for a in change.get("approvals", []):
        out.print(f"approved by {escape(str(a['by']))} at {a['at']}"
                  + (f", treatment {a['treatment']}" if a.get("treatment") else "")
                  + (f": {escape(str(a['reason']))}" if a.get("reason") else ""))
    if change.get("ended"):
        out.print(f"ended at {change['ended'].get('at')}: {escape(str(change['ended'].get('why')))}")


@changes_app.command("apply")
def changes_apply(change_id: str, config: ConfigOption = Path("q2c.yaml"),
                  actor: ActorOption = os.environ.get("USER", "cli"),
                  treatment: Annotated[str | None, typer.Option(
                      help=f"The treatment, where the facts do not decide it: {', '.join(TREATMENTS)}.")] = None,
                  reason: Annotated[str, typer.Option(help="Why (with --treatment: the judgement made).")] = "",
                  effective: Annotated[str | None, typer.Option(
                      help="The date the change takes effect (YYYY-MM-DD), if not the CRM's.")] = None) -> None:
    """Approve a change (choosing its treatment if need be) and apply it when nothing else holds it."""
    from q2c.domain.revenue import ModificationTreatment
    from q2c.workflows.contract_changes import ChangeError, State, approve, get_change

    if treatment is not None and treatment not in TREATMENTS:
        cli_support.err.print(f"[red]--treatment {escape(treatment)}[/red] is not a treatment; use one of "
                              f"{', '.join(TREATMENTS)}")
        raise typer.Exit(2)
    try:
        on = date.fromisoformat(effective) if effective else None
    except ValueError:
        cli_support.err.print(f"[red]--effective {escape(str(effective))}[/red] is not a date; use YYYY-MM-DD")
        raise typer.Exit(2) from None
    cfg = _config(config)
    _log_warnings(cfg)
    hub = _hub(cfg)
    try:
        approve(hub, change_id, actor=f"cli:{actor}", reason=reason, effective=on,
                treatment=ModificationTreatment(treatment) if treatment else None)
    except ChangeError as exc:
        cli_support.err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    _run(hub)
    with hub.engine.connect() as conn:
        rec = get_change(conn, change_id)
    show_plan(rec.canonical_id, rec.state, rec.payload)
    if rec.state != State.APPLIED:
        raise typer.Exit(1)


@changes_app.command("reject")
def changes_reject(change_id: str, config: ConfigOption = Path("q2c.yaml"),
                   actor: ActorOption = os.environ.get("USER", "cli"),
                   reason: Annotated[str, typer.Option(help="Why it is rejected (required).")] = "") -> None:
    """Reject a change: nothing of it is applied, and the same terms are not raised again."""
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.contract_changes import ChangeError, reject

    hub = build_hub(_config(config))
    try:
        reject(hub, change_id, actor=f"cli:{actor}", reason=reason)
    except ChangeError as exc:
        cli_support.err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    cli_support.console.print(f"{change_id} rejected: {reason}")
