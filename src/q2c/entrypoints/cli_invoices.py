"""`q2c invoices`: review drafts before release, read status back from the ERP, credit and re-bill edited time.

list | show ID        what q2c holds: invoices and credit notes, where each stands (in review, released,
                     posted, paid, voided, rejected), its lines and its history
approve ID...        release drafts to the ERP (upsert on the invoice id: approving twice sends one invoice)
reject ID --reason   take a draft back: its time is billable again once corrected; who and why are audited
refresh              read posted, paid and voided status from the ERP now (`q2c serve` does it on schedule)
rebill EXCEPTION_ID  from a time.edited_after_billing exception: credit exactly the edited entries' lines and
                     bill the corrected time on a new invoice, both to the ERP

Exit codes: 0 done; 1 the work ran but something needs attention (an ERP refusal, an open exception); 2 a
request that cannot be done as asked (unknown id, a draft that is not in review, no reason given).
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
from q2c.entrypoints.cli_support import ConfigOption, _config, _connector_failure, _engine, _hub

invoices_app = typer.Typer(help="Review invoices before release, read their status back, credit and re-bill.",
                           no_args_is_help=True)

Actor = Annotated[str, typer.Option(help="Who does it (for the audit trail).")]


def _plain_hub(config: Path) -> Any:
    """The hub for reading q2c's own records: no first contact with the systems."""
    from q2c.entrypoints.wiring import build_hub

    cfg = _config(config)
    return build_hub(cfg, engine=_engine(cfg))


def _money(currency: str, amount: Any) -> str:
    from q2c.domain.money import quantize

    return f"{currency} {quantize(amount, currency):,}"


def _refused(exc: Exception) -> typer.Exit:
    cli_support.err.print(f"[red]refused[/red]: {escape(str(exc))}")
    return typer.Exit(2)


@invoices_app.command("list")
def invoices_list(config: ConfigOption = Path("q2c.yaml"),
                  status: Annotated[str | None, typer.Option(
                      help="in_review, released, posted, paid, voided or rejected (all without it).")] = None,
                  contract: Annotated[str | None, typer.Option(help="One contract's documents.")] = None,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List invoices and credit notes with where each stands; drafts waiting for review show as in_review."""
    from q2c.workflows.invoice_review import ReviewRefused, list_invoices

    hub = _plain_hub(config)
    try:
        found = list_invoices(hub, standing=status, contract_id=contract)
    except ReviewRefused as exc:
        raise _refused(exc) from None
    if as_json:
        print(json.dumps([v.summary() for v in found], indent=2))
        return
    if not found:
        cli_support.console.print("no invoices" + (f" {status}" if status else ""))
        return
    table = Table(title=f"invoices ({len(found)})")
    for col in ("id", "kind", "contract", "date", "total", "status", "ERP id"):
        table.add_column(col, overflow="fold", justify="right" if col == "total" else "left")
    for v in found:
        inv = v.invoice
        table.add_row(escape(inv.id), inv.kind.replace("_", " "), escape(v.contract_id), inv.invoice_date.isoformat(),
                      _money(inv.currency, inv.total.amount), v.standing.replace("_", " "), escape(v.erp_id or ""))
    cli_support.console.print(table)


@invoices_app.command("show")
def invoices_show(invoice_id: str, config: ConfigOption = Path("q2c.yaml"),
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one invoice or credit note: its lines, where it stands, and its history (who billed, approved,
    rejected it and why)."""
    from q2c.workflows.invoice_review import get_invoice, invoice_history

    hub = _plain_hub(config)
    view = get_invoice(hub, invoice_id)
    if view is None:
        cli_support.err.print(f"[red]invoice {escape(invoice_id)} does not exist[/red] (`q2c invoices list` shows "
                              "the ids)")
        raise typer.Exit(2)
    history = invoice_history(hub, invoice_id)
    inv = view.invoice
    if as_json:
        print(json.dumps({**view.summary(), "document": inv.model_dump(mode="json"), "history": history},
                         indent=2, default=str))
        return
    out = cli_support.console
    out.print(f"[bold]{escape(inv.id)}[/bold] {inv.kind.replace('_', ' ')}  {view.standing.replace('_', ' ')}  "
              f"{_money(inv.currency, inv.total.amount)}")
    out.print(escape(f"contract {view.contract_id}, customer {inv.customer_id}, dated {inv.invoice_date}"
                     + (f", ERP id {view.erp_id}" if view.erp_id else "")))
    lines = Table(title="lines")
    for col in ("description", "quantity", "unit price", "amount", "time entries"):
        lines.add_column(col, overflow="fold")
    for line in inv.lines:
        lines.add_row(escape(line.description), f"{line.quantity:f}", _money(inv.currency, line.unit_price.amount),
                      _money(inv.currency, line.amount.amount), escape(", ".join(line.time_entry_ids)))
    out.print(lines)
    for entry in history:
        detail = {k: v for k, v in (entry.get("after") or {}).items() if k in (
            "reason", "release", "status", "erp_id", "reversal", "unbilled_entries", "why", "credits")}
        out.print(escape(f"{entry['at']}  {entry['action']} by {entry['actor']}  {json.dumps(detail, default=str)}"))


def _drain(hub: Any) -> None:
    from q2c.engine.errors import ConnectorError
    from q2c.entrypoints.wiring import drain

    try:
        drain(hub, console=cli_support.console)
    except ConnectorError as exc:
        raise _connector_failure(exc, hub.config) from None


def _open_for(hub: Any, entity: str, record_id: str) -> list[Any]:
    from q2c.store import exceptions as exception_store

    with hub.engine.connect() as conn:
        return exception_store.search(conn, subject=(entity, record_id))


@invoices_app.command("approve")
def invoices_approve(invoice_ids: Annotated[list[str], typer.Argument(help="Draft invoice ids.")],
                     config: ConfigOption = Path("q2c.yaml"),
                     actor: Actor = os.environ.get("USER", "cli")) -> None:
    """Approve drafts in review and release them to the ERP now."""
    from q2c.workflows.invoice_review import RELEASED, ReviewRefused, approve, get_invoice

    hub = _hub(_config(config))
    try:
        for invoice_id in invoice_ids:
            approve(hub, invoice_id, actor=f"cli:{actor}")
    except ReviewRefused as exc:
        _drain(hub)  # the ones approved before it are released all the same
        raise _refused(exc) from None
    _drain(hub)
    attention = 0
    for invoice_id in invoice_ids:
        view = get_invoice(hub, invoice_id)
        if view is not None and view.standing != "in_review":
            cli_support.console.print(f"{escape(invoice_id)}: {RELEASED} to the ERP as {escape(view.erp_id or '')} "
                                      f"({_money(view.invoice.currency, view.invoice.total.amount)})")
            continue
        attention += 1
        problems = "; ".join(f"#{e.id} {e.violation.headline()}" for e in _open_for(hub, "invoice", invoice_id))
        cli_support.err.print(f"[red]{escape(invoice_id)} not released[/red]: {escape(problems or 'see the queue')}")
    if attention:
        raise typer.Exit(1)


@invoices_app.command("reject")
def invoices_reject(invoice_id: str,
                    reason: Annotated[str, typer.Option(help="Why (goes on the audit trail).")],
                    config: ConfigOption = Path("q2c.yaml"),
                    actor: Actor = os.environ.get("USER", "cli")) -> None:
    """Reject a draft in review: its time is unbilled again and its milestone or instalment billable again, so
    the next billing run bills them once corrected."""
    from q2c.workflows.invoice_review import ReviewRefused, reject

    hub = _plain_hub(config)
    try:
        done = reject(hub, invoice_id, actor=f"cli:{actor}", reason=reason)
    except ReviewRefused as exc:
        raise _refused(exc) from None
    parts = [f"{len(done.unbilled)} time entries unbilled"]
    parts += [f"milestone {m} billable again" for m in done.milestone_ids]
    parts += [f"instalment {i} billable again" for i in done.instalment_ids]
    cli_support.console.print(f"{escape(invoice_id)}: rejected ({escape(', '.join(parts))})")


@invoices_app.command("refresh")
def invoices_refresh(config: ConfigOption = Path("q2c.yaml")) -> None:
    """Read where released invoices stand in the ERP (posted, paid, voided) and bring q2c in step; a voided
    invoice's time is unbilled and its revenue taken back at the next close."""
    from q2c.engine.errors import ConnectorError
    from q2c.workflows.invoice_status import poll_invoice_status

    cfg = _config(config)
    hub = _hub(cfg)
    try:
        polled = poll_invoice_status(hub)
    except ConnectorError as exc:
        raise _connector_failure(exc, cfg) from None
    _drain(hub)
    cli_support.console.print(f"invoice status: {polled.seen} documents changed in the ERP since the last look, "
                              f"{polled.queued} brought in step")
    from q2c.store import exceptions as exception_store

    with hub.engine.connect() as conn:
        problems = exception_store.search(conn, rule="invoice.*")
    for row in problems:
        cli_support.err.print(f"[red]#{row.id}[/red] {escape(row.violation.headline())}: "
                              f"{escape(row.violation.action)}")
    if problems:
        raise typer.Exit(1)


@invoices_app.command("rebill")
def invoices_rebill(exception_id: int, config: ConfigOption = Path("q2c.yaml"),
                    on: Annotated[str | None, typer.Option(
                        "--date", help="Date of the credit note and the new invoice (YYYY-MM-DD).")] = None,
                    actor: Actor = os.environ.get("USER", "cli")) -> None:
    """Credit exactly the lines of the time entries a time.edited_after_billing exception names, and bill the
    corrected time on a new invoice; both go to the ERP and the exception closes."""
    from q2c.workflows.rebill import DONE, RebillRefused, rebill_standing, request_rebill

    try:
        day = date.fromisoformat(on) if on else date.today()
    except ValueError:
        cli_support.err.print(f"[red]--date {escape(repr(on))} is not a date[/red]; use YYYY-MM-DD")
        raise typer.Exit(2) from None
    hub = _hub(_config(config))
    try:
        request_rebill(hub, exception_id, on=day, actor=f"cli:{actor}")
    except RebillRefused as exc:
        raise _refused(exc) from None
    _drain(hub)
    standing = rebill_standing(hub, exception_id)
    assert standing is not None
    if standing.state != DONE:
        problems = "; ".join(f"#{e.id} {e.violation.headline()}" for e in _open_for(hub, "contract",
                                                                                   standing.contract_id))
        cli_support.err.print(f"[red]re-bill of exception {exception_id} is {standing.state}[/red]: "
                              f"{escape(problems or 'waiting in the queue')}")
        raise typer.Exit(1)
    credits = ", ".join(standing.credit_notes) or "nothing"
    billed = ", ".join(standing.invoices) or "nothing (the corrected time is held: see `q2c exceptions list`)"
    cli_support.console.print(escape(f"exception {exception_id}: credited {credits}; billed {billed}"))
    held = standing.detail.get("held") or []
    if held:
        cli_support.err.print(escape(f"not billed again: {', '.join(held)} (an open exception holds them)"))
        raise typer.Exit(1)
