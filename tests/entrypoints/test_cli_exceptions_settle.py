"""`q2c exceptions resolve|ignore ID --reason R`: an open exception settled from the command line, audited as
`cli:<who>`; a settled one is not settled again (exit 1); a blank reason is refused (exit 2)."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
from test_cli import write_config
from typer.testing import CliRunner

from q2c.config import load_config
from q2c.domain.violations import Violation
from q2c.entrypoints import cli
from q2c.entrypoints.wiring import build_hub
from q2c.store import exceptions as exception_store
from q2c.store.schema import audit_log


def test_exceptions_are_resolved_and_ignored_from_the_cli_with_a_reason(tmp_path: Path) -> None:
    path = write_config(tmp_path / "q2c.yaml", database=f"sqlite:///{tmp_path / 'hub.sqlite'}")
    hub = build_hub(load_config(path))
    ids = []
    with hub.engine.begin() as conn:
        for n in (1, 2):
            ids.append(exception_store.raise_exception(
                conn, Violation(system="harvest", object="time_entry", record_id=f"HV-{n}", field="task",
                                rule="time.task_unknown", message="no such task", action="Move the entry"),
                work_kind="time.deliver", aggregate=f"project:P-{n}", payload={}, correlation_id=uuid.uuid4().hex))
    runner = CliRunner()

    def q2c(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli.app, [*args, "--config", str(path), "--actor", "maria"], env={"Q2C_CONFIG": None})
        return result.exit_code, result.output

    assert q2c("exceptions", "resolve", str(ids[0]), "--reason", "moved in Harvest")[0] == 0
    again = q2c("exceptions", "resolve", str(ids[0]), "--reason", "again")
    assert again[0] == 1 and "already resolved" in again[1]
    blank = q2c("exceptions", "ignore", str(ids[1]), "--reason", "  ")
    assert blank[0] == 2 and "reason" in blank[1]
    assert q2c("exceptions", "ignore", str(ids[1]), "--reason", "a test entry")[0] == 0
    with hub.engine.connect() as conn:
        assert [r.status for r in exception_store.search(conn, status=None)] == ["resolved", "ignored"]
        trail = conn.execute(sa.select(audit_log.c.actor, audit_log.c.action).where(
            audit_log.c.action.in_(["resolve", "ignore"])).order_by(audit_log.c.seq)).all()
    assert [tuple(t) for t in trail] == [("cli:maria", "resolve"), ("cli:maria", "ignore")]
