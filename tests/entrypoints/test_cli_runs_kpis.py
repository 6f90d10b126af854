"""`q2c runs list | show`, `q2c kpis`, and `GET /runs`, `GET /runs/{id}`, `GET /kpis`, over runs written
straight into the hub's database, on SQLite and PostgreSQL.

The runs, by hand (today is the UTC day the test runs, yesterday the day before):
  #a sync.time yesterday 10:00-10:00:04, ok: entries 3, pages 1, batches 1, rejects 0; 1 exception opened
     (time.task_unknown);
  #b billing today 09:00-09:01, ok: contracts 2, invoices 2, USD 3600.00 and EUR 1000.00;
  #c sync.deals today 09:30, failed: "crm: HTTP 503";
  an outage of netsuite opened yesterday 12:00, drained 12:02 (120 s);
  reconciliations yesterday 08:00 (10 compared, 9 matched) and 20:00 (10, 10): share 1.0 yesterday, none today.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy.engine import Engine
from test_cli import write_config
from typer.testing import CliRunner, Result

from q2c.config import load_config
from q2c.entrypoints import cli, cli_support
from q2c.entrypoints.api_runs import runs_router
from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.wiring import build_hub
from q2c.store import runs
from support.api_auth import bearer

TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (cli, cli_support):
        monkeypatch.setattr(module, "console", Console(width=400, color_system=None))
        monkeypatch.setattr(module, "err", Console(width=400, color_system=None, stderr=True))


def q2c(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"Q2C_CONFIG": None})


@pytest.fixture
def recorded(db: Engine) -> dict[str, int]:
    with db.begin() as conn:
        ids = {
            "a": runs.record_run(conn, kind="sync.time", status=runs.OK, started_at=at(YESTERDAY, 10),
                                 finished_at=at(YESTERDAY, 10, 0, 4),
                                 stats={"entries": 3, "pages": 1, "batches": 1, "rejects": 0, "queued": 1,
                                        "exceptions": {"opened": 1, "by_rule": {"time.task_unknown": 1}},
                                        "duration_seconds": 4.0}),
            "b": runs.record_run(conn, kind="billing", status=runs.OK, started_at=at(TODAY, 0, 9),
                                 finished_at=at(TODAY, 0, 10),
                                 stats={"contracts": 2, "invoices": 2,
                                        "invoice_totals": {"EUR": "1000.00", "USD": "3600.00"},
                                        "exceptions": {"opened": 0, "by_rule": {}}, "duration_seconds": 60.0}),
            "c": runs.record_run(conn, kind="sync.deals", status=runs.FAILED, started_at=at(TODAY, 0, 30),
                                 finished_at=at(TODAY, 0, 30, 1),
                                 stats={"exceptions": {"opened": 0, "by_rule": {}}, "error": "crm: HTTP 503"}),
        }
        runs.record_run(conn, kind="outage", status=runs.OK, started_at=at(YESTERDAY, 12),
                        finished_at=at(YESTERDAY, 12, 2), stats={"system": "netsuite",
                                                                  "drained_at": at(YESTERDAY, 12, 2).isoformat()})
        for hour, matched in ((8, 9), (20, 10)):
            runs.record_run(conn, kind="reconcile", status=runs.OK, started_at=at(YESTERDAY, hour),
                            stats={"compared": 10, "matched": matched, "drifts": 10 - matched, "pairs": {}})
    return ids


@pytest.fixture
def config_path(tmp_path: Path, db_url: str) -> Path:
    return write_config(tmp_path / "q2c.yaml", database=db_url)


def test_runs_list_shows_each_run_with_its_figures(config_path: Path, recorded: dict[str, int]) -> None:
    listed = q2c("runs", "list", "-c", str(config_path))
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.stdout.splitlines() if line.strip().startswith("│")]
    assert [line.split("│")[2].strip() for line in lines] == ["sync.deals", "billing", "reconcile", "outage",
                                                                  "sync.time", "reconcile"]
    assert "contracts 2; invoices 2; invoice_totals EUR 1000.00, USD 3600.00" in listed.stdout
    assert "entries 3; pages 1; batches 1; rejects 0; queued 1" in listed.stdout

    only = json.loads(q2c("runs", "list", "--kind", "sync.time", "--json", "-c", str(config_path)).stdout)
    assert [(r["id"], r["status"], r["duration_seconds"], r["stats"]["entries"]) for r in only] == [
        (recorded["a"], "ok", 4.0, 3)]
    newest = json.loads(q2c("runs", "list", "--limit", "2", "--json", "-c", str(config_path)).stdout)
    assert [r["id"] for r in newest] == [recorded["c"], recorded["b"]]


def test_runs_show_gives_every_figure_and_why_a_run_failed(config_path: Path, recorded: dict[str, int]) -> None:
    shown = q2c("runs", "show", str(recorded["a"]), "-c", str(config_path))
    assert shown.exit_code == 0, shown.output
    assert f"run {recorded['a']} sync.time  ok  (4.0 s)" in shown.stdout
    assert "exceptions opened: 1 (time.task_unknown 1)" in shown.stdout and "  entries: 3" in shown.stdout
    failed = q2c("runs", "show", str(recorded["c"]), "-c", str(config_path))
    assert failed.exit_code == 0 and "failed: crm: HTTP 503" in failed.stderr
    data = json.loads(q2c("runs", "show", str(recorded["b"]), "--json", "-c", str(config_path)).stdout)
    assert data["kind"] == "billing" and data["stats"]["invoice_totals"] == {"EUR": "1000.00", "USD": "3600.00"}
    assert data["started_at"] == at(TODAY, 0, 9).isoformat()


def test_runs_refuses_an_unknown_kind_or_id(config_path: Path, recorded: dict[str, int]) -> None:
    kind = q2c("runs", "list", "--kind", "syncs", "-c", str(config_path))
    assert kind.exit_code == 2 and "allowed: sync.deals, sync.time" in kind.stderr
    missing = q2c("runs", "show", "999999", "-c", str(config_path))
    assert missing.exit_code == 2 and "run 999999 does not exist" in missing.stderr


def test_kpis_as_a_table_and_as_json(config_path: Path, recorded: dict[str, int]) -> None:
    data = json.loads(q2c("kpis", "--since", YESTERDAY.isoformat(), "--json", "-c", str(config_path)).stdout)
    assert [d["day"] for d in data["integration_recovery_time"]] == [YESTERDAY.isoformat(), TODAY.isoformat()]
    assert data["integration_recovery_time"][0] == {"day": YESTERDAY.isoformat(), "outages": 1, "recovered": 1,
                                                    "mean_seconds": 120.0, "max_seconds": 120.0}
    assert [d["share"] for d in data["cross_system_consistency"]] == [1.0, None]
    assert data["project_setup_cycle_time"][0]["count"] == 0
    table = q2c("kpis", "--since", YESTERDAY.isoformat(), "-c", str(config_path))
    assert table.exit_code == 0, table.output
    assert "integration recovery time (circuit open -> waiting work drained), seconds" in table.stdout
    assert table.stdout.count(YESTERDAY.isoformat()) == 5, "one row per KPI for the day"
    bad = q2c("kpis", "--since", "01/12/2026", "-c", str(config_path))
    assert bad.exit_code == 2 and "is not a date" in bad.stderr
    early = q2c("kpis", "--since", "1999-01-01", "-c", str(config_path))
    assert early.exit_code == 2 and "more than 3660 days" in early.stderr


@pytest.fixture
def client(config_path: Path, db: Engine) -> Iterator[TestClient]:
    hub = build_hub(load_config(config_path), engine=db)
    with TestClient(create_app(db, webhook_secret="whsec-test", routers=[runs_router(hub)]), headers=bearer(db)) as c:
        yield c


def error(response: Any) -> tuple[int, str | None]:
    return response.status_code, response.json()["error"]["field"]


def test_the_runs_and_kpi_routes(client: TestClient, recorded: dict[str, int]) -> None:
    listed = client.get("/runs")
    assert listed.status_code == 200
    assert [r["kind"] for r in listed.json()][:2] == ["sync.deals", "billing"]
    billing = client.get("/runs", params={"kind": "billing"}).json()
    assert [(r["id"], r["stats"]["invoices"]) for r in billing] == [(recorded["b"], 2)]
    assert [r["id"] for r in client.get("/runs", params={"limit": 1}).json()] == [recorded["c"]]
    shown = client.get(f"/runs/{recorded['c']}").json()
    assert (shown["status"], shown["stats"]["error"], shown["duration_seconds"]) == ("failed", "crm: HTTP 503", 1.0)

    assert error(client.get("/runs", params={"kind": "syncs"})) == (400, "kind")
    assert error(client.get("/runs", params={"limit": 0})) == (422, "limit")
    assert error(client.get("/runs/999999")) == (404, "run_id")

    kpis = client.get("/kpis", params={"since": YESTERDAY.isoformat()})
    assert kpis.status_code == 200
    body = kpis.json()
    assert body["cross_system_consistency"][0] == {"day": YESTERDAY.isoformat(), "run_id": body[
        "cross_system_consistency"][0]["run_id"], "compared": 10, "matched": 10, "share": 1.0}
    assert body["integration_recovery_time"][0]["max_seconds"] == 120.0
    assert error(client.get("/kpis", params={"since": "yesterday"})) == (422, "since")
    assert error(client.get("/kpis", params={"since": "1999-01-01"})) == (400, "since")


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    auth = {"401", "403"}  # every route here needs a bearer token of a viewer (or above)
    assert set(paths["/runs"]["get"]["responses"]) == {"200", "400", "422", "503"} | auth
    assert set(paths["/runs/{run_id}"]["get"]["responses"]) == {"200", "404", "422", "503"} | auth
    assert set(paths["/kpis"]["get"]["responses"]) == {"200", "400", "409", "422", "503"} | auth
