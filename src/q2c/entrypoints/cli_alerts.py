"""`q2c alerts send [--test]`: the alert digest due now, sent through the config's channels at once.

`q2c serve` sends one every `alerts.digest_seconds`; this is for checking a channel after configuring it
(`--test` sends a sample digest and marks nothing as told) or for telling now what is due.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _engine

alerts_app = typer.Typer(no_args_is_help=True, help="Alert digests: new exception rules, systems down.")


@alerts_app.command("send")
def send_command(config: ConfigOption = Path("q2c.yaml"),
                 test: Annotated[bool, typer.Option("--test", help="Send a sample digest to check the channels; "
                                                                   "nothing is marked as told.")] = False) -> None:
    """Send the digest due now (or a sample) through every configured channel."""
    from q2c.entrypoints.alert_channels import channels_from
    from q2c.entrypoints.wiring import build_hub
    from q2c.workflows.alerts import AlertLine, Alerts, Digest

    cfg = _config(config)
    channels = channels_from(cfg.alerts)
    if not channels:
        cli_support.err.print("[red]no alert channel is configured[/red]: set alerts.webhook_url or alerts.email")
        raise typer.Exit(2)
    if test:
        sample = Digest(datetime.now(UTC), (AlertLine("exceptions", "q2c.alert_test", "a test digest from "
                                                      "`q2c alerts send --test`: this channel works"),), ())
        failed = 0
        for channel in channels:
            try:
                channel.send(sample)
                cli_support.console.print(f"sent a test digest by {channel.name}")
            except Exception as exc:
                failed += 1
                cli_support.err.print(f"[red]{channel.name} failed[/red]: {exc}")
        raise typer.Exit(1 if failed else 0)
    digest = Alerts(build_hub(cfg, engine=_engine(cfg)), channels).flush()
    if digest is None:
        cli_support.console.print("nothing new to tell (or no channel took the digest: see the log)")
        return
    cli_support.console.print(digest.text(cfg.alerts.console_url))
