"""`q2c period`: close readiness, close and reopen accounting periods per legal entity.

status LE YYYY-MM [--json]                 everything that blocks a clean close, with a readiness score
close LE YYYY-MM [--force --reason "..."]  close; refused while blockers remain unless forced (audited)
reopen LE YYYY-MM                          reopen a closed period (audited)

Exit codes: 0 done (status: ready); 1 status: blockers remain, or a close refused for them; 2 a request that
cannot be done as asked (unknown entity, a period that is not YYYY-MM, a forced close without a reason).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _engine

period_app = typer.Typer(help="Close readiness; open and close accounting periods per legal entity.",
                         no_args_is_help=True)

PeriodArg = Annotated[str, typer.Argument(help="YYYY-MM")]
Actor = Annotated[str, typer.Option(help="Who does it (audit trail).")]


def _args(config: Path, legal_entity: str, period: str) -> tuple[Any, Any]:
    from q2c.domain.revenue import Period
    from q2c.entrypoints.wiring import build_hub

    cfg = _config(config)
    if cfg.legal_entity(legal_entity) is None:
        cli_support.err.print(f"[red]unknown legal entity {legal_entity!r}[/red]; configured: "
                              f"{', '.join(e.code for e in cfg.legal_entities)}")
        raise typer.Exit(2)
    try:
        parsed = Period.parse(period)
    except ValueError as exc:
        cli_support.err.print(f"[red]period: {escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    return build_hub(cfg, engine=_engine(cfg)), parsed


def _print(readiness: Any) -> None:
    data = readiness.to_json()
    state = "closed" if data["closed"] else "open"
    cli_support.console.print(f"{data['legal_entity']} {data['period']} ({state}): readiness {data['score']}%"
                              + (", ready to close" if data["ready"] else ""))
    for name, check in data["checks"].items():
        mark = "[green]clear[/green]" if not check["count"] else f"[red]{check['count']}[/red]"
        cli_support.console.print(f"  {mark}  {name}: {check['what']}")
        for b in check["blockers"][:20]:
            cli_support.console.print(f"        {escape(b['record_id'])}: {escape(b['detail'])}")
        if check["count"] > 20:
            cli_support.console.print(f"        ... and {check['count'] - 20} more (--json lists them all)")


@period_app.command("status")
def period_status(legal_entity: str, period: PeriodArg, config: ConfigOption = Path("q2c.yaml"),
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What blocks a clean close of the period, check by check, with a readiness score; exit 1 when blocked."""
    from q2c.workflows.close_readiness import readiness

    hub, parsed = _args(config, legal_entity, period)
    found = readiness(hub, legal_entity, parsed)
    if as_json:
        print(json.dumps(found.to_json(), indent=2))
    else:
        _print(found)
    raise typer.Exit(0 if found.ready else 1)


@period_app.command("close")
def period_close(legal_entity: str, period: PeriodArg, config: ConfigOption = Path("q2c.yaml"),
                 actor: Actor = os.environ.get("USER", "cli"),
                 force: Annotated[bool, typer.Option("--force", help="Close although blockers remain.")] = False,
                 reason: Annotated[str | None, typer.Option(help="Why a forced close is right (audited).")] = None
                 ) -> None:
    """Close a period: nothing posts into it afterwards; late events land in the next open period. Refused
    while anything blocks a clean close (see `q2c period status`), unless forced with a reason."""
    from q2c.workflows.close_readiness import CloseRefused, close_period

    hub, parsed = _args(config, legal_entity, period)
    if force and not (reason and reason.strip()):
        cli_support.err.print("[red]--force needs --reason[/red]: say why the period closes with blockers open")
        raise typer.Exit(2)
    try:
        changed, found = close_period(hub, legal_entity, parsed, actor=f"cli:{actor}", force=force, reason=reason)
    except CloseRefused as exc:
        _print(exc.readiness)
        cli_support.err.print(f"[red]close refused[/red]: {escape(str(exc))}")
        raise typer.Exit(1) from None
    forced = f" (forced over {len(found.blockers)} blockers: {reason})" if found.blockers else ""
    cli_support.console.print(f"{legal_entity} {parsed.label} is closed" + ("" if changed else " (it already was)")
                              + (forced if changed else ""))


@period_app.command("reopen")
def period_reopen(legal_entity: str, period: PeriodArg, config: ConfigOption = Path("q2c.yaml"),
                  actor: Actor = os.environ.get("USER", "cli")) -> None:
    """Reopen a closed period (a controller's decision; audited)."""
    from q2c.workflows.periods import set_period_state

    hub, parsed = _args(config, legal_entity, period)
    changed = set_period_state(hub, legal_entity=legal_entity, period=parsed, closed=False, actor=f"cli:{actor}")
    cli_support.console.print(f"{legal_entity} {parsed.label} is open" + ("" if changed else " (it already was)"))
