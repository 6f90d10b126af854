"""What every `q2c` command group shares: the consoles, the `--config` option, and the hub they run on.

Kept apart from `cli` so each command group (`changes`, `invoices`, `reference`, ...) lives in its own
module and registers itself with one line there.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from q2c.config import ConfigError, HubConfig, load_config

if TYPE_CHECKING:
    from q2c.engine.errors import ConnectorError
    from q2c.workflows.hub import Hub

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


def _engine(cfg: HubConfig, *, pool_size: int = 5) -> Any:
    """The migrated hub database; one that cannot be opened is a config error naming `database`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from q2c.store.db import create_db_engine, migrate

    try:
        engine = create_db_engine(cfg.database, pool_size=pool_size)
        migrate(engine)
    except (SQLAlchemyError, OSError) as exc:
        shown = make_url(cfg.database).render_as_string(hide_password=True)
        cause = getattr(exc, "orig", None) or exc
        err.print(f"[red]database[/red]: cannot open {escape(shown)} ({escape(str(cause).strip().splitlines()[0])})")
        raise typer.Exit(2) from None
    return engine


def _preflight(cfg: HubConfig) -> None:
    """First contact with every system: a problem only a person can fix stops the command (exit 2)."""
    from q2c.entrypoints.preflight import check_systems

    checks = check_systems(cfg)
    for check in checks:
        if not check.ok and not check.blocking:
            err.print(f"[yellow]warning[/yellow] {escape(check.line)}")
    blocking = [c for c in checks if c.blocking]
    for check in blocking:
        err.print(f"[red]{escape(check.key)}[/red]: {escape(check.detail)}")
    if blocking:
        raise typer.Exit(2)


def _hub(cfg: HubConfig, *, threads: int = 0) -> Hub:
    """Pre-flight, then the hub on its database (pool sized for the worker threads that share it)."""
    from q2c.entrypoints.wiring import build_hub

    _preflight(cfg)
    pool = max(5, max(threads, cfg.delivery.workers) + 3)
    return build_hub(cfg, engine=_engine(cfg, pool_size=pool))


def _connector_failure(exc: ConnectorError, cfg: HubConfig) -> typer.Exit:
    """A connector error during a one-shot command, as one line; exit 2 when a person must fix it."""
    from q2c.entrypoints.preflight import explain

    check = explain(exc, cfg)
    err.print(f"[red]{escape(check.key)}[/red]: {escape(check.detail)}")
    return typer.Exit(2 if check.blocking else 1)


