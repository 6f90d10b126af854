"""`q2c prune [--dry-run]`: drop what the hub no longer needs, on the config's `retention`.

Finished work items and inbox events older than their retention go, and settled exceptions keep their row but
not their replay payload; the audit trail, the records and links, unfinished and dead work stay. `q2c serve`
does the same every `retention.every_seconds`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _engine


def prune_command(config: ConfigOption = Path("q2c.yaml"),
                  dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go.")] = False
                  ) -> None:
    """Prune finished work, old inbox events and settled exceptions' payloads (the audit trail stays)."""
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.retention import prune_history

    cfg = _config(config)
    done = prune_history(build_hub(cfg, engine=_engine(cfg)), dry_run=dry_run)
    r = cfg.retention
    verb = "would prune" if dry_run else "pruned"
    cli_support.console.print(
        f"{verb}: {done.work_items} finished work items (older than {r.work_items_days:g} days), {done.events} "
        f"inbox events (older than {r.events_days:g} days), {done.exception_payloads} settled exceptions' "
        f"payloads (older than {r.exception_payloads_days:g} days)")
