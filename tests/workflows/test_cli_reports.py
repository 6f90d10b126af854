"""`q2c report` over the controller's books (see `controller_books`; the figures are computed there and in
test_controller_reports): tables, --json and --csv, and exit 2 for an argument it cannot use, named.

The command reads the hub's database through a config file, as a person runs it; no system is contacted.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from controller_books import controller_books
from rich.console import Console
from typer.testing import CliRunner, Result

from q2c.entrypoints import cli, cli_support


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Consoles that write to whatever stdout/stderr the runner installs, 400 columns wide, no colour."""
    monkeypatch.setattr(cli_support, "console", Console(width=400, color_system=None))
    monkeypatch.setattr(cli_support, "err", Console(width=400, color_system=None, stderr=True))


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The books' database named in a config file (the key the fake world wrote beside it)."""
    tmp = Path(tmp_path_factory.mktemp("cli-books"))
    controller_books(tmp)
    path = tmp / "q2c.yaml"
    path.write_text(f"""\
database: sqlite:///{tmp / 'hub.sqlite'}
systems:
  crm: {{type: salesforce, login_url: "https://example.my.salesforce.com", client_id: id, client_secret: secret}}
  tracker: {{type: harvest, account_id: "1", access_token: token}}
  erp: {{type: netsuite, account_id: "1234567", client_id: id, certificate_id: cert,
         private_key_path: "{tmp / 'key.pem'}"}}
legal_entities:
  - {{code: US01, name: US01 Inc., currency: USD, timezone: America/New_York}}
  - {{code: UK01, name: UK01 Ltd, currency: GBP, timezone: Europe/London}}
service_offerings:
  - {{code: IMPL, name: Implementation, tasks: [{{code: BUILD, name: Build}}]}}
rate_cards:
  - {{id: RC-USD, currency: USD, lines: [{{role: Consultant, rate: "150.00", effective_from: "2026-01-01"}}]}}
""")
    return path


def report(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli.app, ["report", *args, "--config", str(config)], env={"Q2C_CONFIG": None})


def rows(output: str) -> list[list[str]]:
    """The body rows of the tables printed, as their cells."""
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in output.splitlines()
            if line.startswith("│")]


def test_wip_as_a_table_json_and_csv(config: Path) -> None:
    """As of Dec 15: P-006A 3 entries, 20 h, USD 3,200.00 at bill rate, 1,500.00 at cost, oldest Dec 1; P-007B 2
    entries, 12.5 h, GBP 1,700.00, 850.00, oldest Dec 10."""
    shown = report(config, "wip", "--as-of", "2026-12-15")
    assert shown.exit_code == 0, shown.output
    assert "WIP as of 2026-12-15" in shown.stdout
    assert rows(shown.stdout) == [
        ["P-006A", "C-006A", "US01", "USD", "3", "20", "3,200.00", "1,500.00", "2026-12-01"],
        ["P-007B", "C-007B", "UK01", "GBP", "2", "12.5", "1,700.00", "850.00", "2026-12-10"],
        ["GBP", "2", "12.5", "1,700.00", "850.00"], ["USD", "3", "20", "3,200.00", "1,500.00"]]

    as_json = json.loads(report(config, "wip", "--as-of", "2026-12-15", "--json").stdout)
    assert as_json["as_of"] == "2026-12-15"
    assert as_json["projects"][1] == {
        "project_id": "P-007B", "contract_id": "C-007B", "legal_entity": "UK01", "currency": "GBP", "entries": 2,
        "hours": "12.5", "at_bill_rate": "1700.00", "at_cost": "850.00", "oldest_work_date": "2026-12-10",
        "entries_without_cost": []}

    as_csv = report(config, "wip", "--as-of", "2026-12-15", "--csv", "--legal-entity", "UK01")
    assert as_csv.exit_code == 0
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["project_id", "contract_id", "legal_entity", "currency", "entries", "hours", "at_bill_rate", "at_cost",
         "oldest_work_date"],
        ["P-007B", "C-007B", "UK01", "GBP", "2", "12.5", "1700.00", "850.00", "2026-12-10"]]

    nothing = report(config, "wip", "--as-of", "2026-11-30")
    assert nothing.exit_code == 0 and "no unbilled approved time as of 2026-11-30" in nothing.stdout


def test_waterfall_rollforward_rpo_and_invoices(config: Path) -> None:
    """Figures of test_controller_reports: revenue C-006A 10,600 / 5,000; deferred revenue of December 3,000 +
    3,000 - 5,000 = 1,000; remaining at the end of December 10,000 + 6,000 = 16,000 with the T&M phases left
    out; invoices of December in USD 4,200 - 1,200 = 3,000."""
    waterfall = report(config, "waterfall", "--csv")
    assert waterfall.stdout.splitlines() == ["contract_id,legal_entity,currency,2026-11,2026-12,total",
                                             "C-006A,US01,USD,10600.00,5000.00,15600.00",
                                             "C-007B,UK01,GBP,0.00,1700.00,1700.00"]
    only = json.loads(report(config, "waterfall", "--from", "2026-12", "--contract", "C-006A", "--json").stdout)
    assert only["periods"] == ["2026-12"] and only["contracts"][0]["periods"] == {"2026-12": "5000.00"}

    rolled = report(config, "rollforward", "--period", "2026-12")
    assert rolled.exit_code == 0, rolled.output
    assert rows(rolled.stdout) == [["C-006A", "US01", "USD", "3,000.00", "3,000.00", "5,000.00", "0.00", "1,000.00"],
                                   ["USD", "1", "3,000.00", "3,000.00", "5,000.00", "0.00", "1,000.00"]]
    assert "2 contract(s) with revenue posted for 2026-12; 1 in deferred revenue" in rolled.stdout
    assert "no deferred revenue in 2026-12" in report(config, "rollforward", "--period", "2026-12",
                                                      "--legal-entity", "UK01").stdout

    rpo = report(config, "rpo", "--period", "2026-12")
    assert rpo.exit_code == 0, rpo.output
    assert rows(rpo.stdout)[1:] == [
        ["C-006A", "C-006A-3", "IMPL (fixed_fee)", "input_hours", "US01", "USD", "10,000.00", "4,000.00",
         "6,000.00", "", ""], ["USD", "16,000.00", "0.00", "0.00", "16,000.00"]]
    assert "left out, recognised as invoiced (ASC 606-10-50-14(b) / IFRS 15.121(b)): C-006A-1 (C-006A), " \
           "C-007B-1 (C-007B)" in rpo.stdout
    rpo_json = json.loads(report(config, "rpo", "--period", "2026-12", "--json").stdout)
    assert [(o["obligation_id"], o["remaining"], o["within_12_months"]) for o in rpo_json["obligations"]] == [
        ("C-006A-2", "10000.00", None), ("C-006A-3", "6000.00", None)]

    invoices = report(config, "invoices", "--csv")
    assert invoices.stdout.splitlines()[0] == "month,currency,status,invoices,credit_notes,invoiced,credited,total"
    assert "2026-12,USD,posted,2,1,4200.00,-1200.00,3000.00" in invoices.stdout.splitlines()
    assert rows(report(config, "invoices", "--contract", "C-007B").stdout) == [
        ["2026-12", "GBP", "posted", "1", "0", "1,700.00", "0.00", "1,700.00"],
        ["2026-12", "GBP", "all", "1", "0", "1,700.00", "0.00", "1,700.00"]]


@pytest.mark.parametrize(("args", "named"), [
    (["rollforward", "--period", "2026-13"], "--period: '2026-13' is not a period: use YYYY-MM"),
    (["rpo", "--period", "Dec-2026"], "--period: 'Dec-2026' is not a period: use YYYY-MM"),
    (["waterfall", "--from", "2026-12", "--to", "2026-11"], "--to: 2026-11 is before the first period asked for"),
    (["wip", "--as-of", "2026-12-32"], "--as-of: '2026-12-32' is not a date: use YYYY-MM-DD"),
    (["wip", "--contract", "C-NOPE"], "--contract: 'C-NOPE' is not a contract q2c holds (known: C-006A, C-007B)"),
    (["invoices", "--legal-entity", "DE01"], "--legal-entity: 'DE01' is not a legal entity q2c knows"),
    (["invoices", "--json", "--csv"], "--json and --csv: choose one of them"),
])
def test_an_argument_the_report_cannot_use_is_exit_2_naming_it(config: Path, args: list[str], named: str) -> None:
    result = report(config, *args)
    assert result.exit_code == 2, result.output
    assert named in result.stderr and result.stdout == ""


def test_a_period_is_required_where_the_report_is_of_one(config: Path) -> None:
    result = report(config, "rollforward")
    assert result.exit_code == 2 and "--period" in result.output
