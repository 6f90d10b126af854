"""`q2c alerts send [--test]` through the CLI, against a real chat webhook receiver."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from test_cli import write_config
from typer.testing import CliRunner

from q2c.config import load_config
from q2c.domain.violations import Violation
from q2c.entrypoints import cli
from q2c.entrypoints.wiring import build_hub
from q2c.store import exceptions as exception_store


def test_q2c_alerts_send_checks_the_channels_and_sends_what_is_due(
        tmp_path: Path, chat: tuple[list[dict[str, Any]], dict[str, int], str]) -> None:
    """`q2c alerts send --test` posts a sample to the configured webhook and marks nothing as told; `q2c alerts
    send` sends the digest due (one new rule), then nothing; without a channel it says which key to set."""
    bodies, _, url = chat
    bare = write_config(tmp_path / "bare.yaml", database=f"sqlite:///{tmp_path / 'hub.sqlite'}")
    path = tmp_path / "q2c.yaml"
    path.write_text(bare.read_text() + f"\nalerts:\n  webhook_url: {url}\n  digest_seconds: 60\n")
    runner = CliRunner()

    def q2c(*args: str) -> Any:
        return runner.invoke(cli.app, [*args, "--config", str(path)], env={"Q2C_CONFIG": None})

    none = runner.invoke(cli.app, ["alerts", "send", "--config", str(bare)], env={"Q2C_CONFIG": None})
    assert none.exit_code == 2 and "alerts.webhook_url" in none.output
    tested = q2c("alerts", "send", "--test")
    assert tested.exit_code == 0, tested.output
    assert len(bodies) == 1 and "this channel works" in bodies[0]["text"]

    hub = build_hub(load_config(path))
    with hub.engine.begin() as conn:
        exception_store.raise_exception(
            conn, Violation(system="harvest", object="time_entry", record_id="HV-1", field="user",
                            rule="time.resource_unknown", message="not a resource", action="Add the person"),
            work_kind="time.approved", aggregate="time:HV-1", payload={}, correlation_id=uuid.uuid4().hex)
    sent = q2c("alerts", "send")
    assert sent.exit_code == 0 and "time.resource_unknown" in sent.output
    assert len(bodies) == 2 and "time.resource_unknown: 1 open" in bodies[1]["text"]
    assert "nothing new" in q2c("alerts", "send").output and len(bodies) == 2
