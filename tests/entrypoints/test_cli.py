"""The `q2c` command line: init, config errors, audit verify, the exception queue, sandbox and the demo.

Commands run in-process through typer's runner; the module's consoles are swapped for wide ones so
rich does not fold the text the assertions look for. Exit codes are part of the contract:
0 ok, 1 needs attention, 2 bad usage or config, 3 audit chain broken.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from q2c.config import TEMPLATE_PLACEHOLDERS, ConfigError, HubConfig, load_config
from q2c.connectors.netsuite.auth import generate_m2m_keypair
from q2c.domain.money import Money
from q2c.domain.violations import Violation
from q2c.entrypoints import cli, cli_support
from q2c.entrypoints.config_template import TEMPLATE
from q2c.sandboxes.registry import sandbox_names
from q2c.store import audit, overrides
from q2c.store.exceptions import Subject, raise_exception
from q2c.store.schema import audit_log, work_items

TEMPLATE_DATABASE_LINE = "database: sqlite:///q2c.sqlite\n"
# What a firm writes over the template's placeholders; the key file is written next to the config.
FILLED = {
    "https://YOUR-DOMAIN.my.salesforce.com": "https://globex-ps.my.salesforce.com",
    "CONNECTED_APP_CONSUMER_KEY": "3MVG9rZjd7MXFdLhExampleConsumerKey",
    "CONNECTED_APP_CONSUMER_SECRET": "D1E2F3A4B5C6D7E8F9A0B1C2D3E4F5A6",
    "SHARED_SECRET_FOR_SIGNED_WEBHOOKS": "whsec-4f1c9a7e2b",
    '"HARVEST_ACCOUNT_ID"': '"1439822"',
    "HARVEST_PERSONAL_ACCESS_TOKEN": "1439822.pt.ExampleTokenValue",
    '"NETSUITE_ACCOUNT_ID"': '"1234567_SB1"',
    "INTEGRATION_CLIENT_ID": "8c1f7a2e9b0d4c3f8a6e1b2d3c4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f",
    "M2M_CERTIFICATE_ID": "oJ3fXc1uExampleCertificateId",
    "/etc/q2c/netsuite-m2m.pem": "netsuite-m2m.pem",
}


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Consoles that write to whatever stdout/stderr the runner installs, 400 columns wide, no colour."""
    for module in (cli, cli_support):
        monkeypatch.setattr(module, "console", Console(width=400, color_system=None))
        monkeypatch.setattr(module, "err", Console(width=400, color_system=None, stderr=True))


def q2c(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"Q2C_CONFIG": None})


def write_config(path: Path, *, database: str, edit: dict[str, str] | None = None, fill: bool = True) -> Path:
    """The `q2c init` template pointed at `database`, with literal text replacements applied, then (unless
    `fill` is false) its placeholders filled in and the NetSuite key it names written beside it."""
    assert TEMPLATE_DATABASE_LINE in TEMPLATE
    text = TEMPLATE.replace(TEMPLATE_DATABASE_LINE, f"database: {database}\n")
    for old, new in (edit or {}).items():
        assert old in text, f"template has no {old!r}"
        text = text.replace(old, new)
    if fill:
        for old, new in FILLED.items():
            text = text.replace(old, new)
        (path.parent / "netsuite-m2m.pem").write_text(generate_m2m_keypair()[0])
    path.write_text(text)
    return path


@pytest.fixture
def config_path(tmp_path: Path, db_url: str) -> Path:
    return write_config(tmp_path / "q2c.yaml", database=db_url)


# --- init -------------------------------------------------------------------------------------------------


def test_init_writes_the_commented_template_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "q2c.yaml"
    first = q2c("init", str(path))
    assert first.exit_code == 0, first.output
    assert path.read_text() == TEMPLATE
    assert f"wrote {path}" in first.stdout

    path.write_text("# my edits\n")
    again = q2c("init", str(path))
    assert again.exit_code == 2
    assert "exists" in again.stderr and "--force" in again.stderr
    assert path.read_text() == "# my edits\n"

    forced = q2c("init", str(path), "--force")
    assert forced.exit_code == 0
    assert path.read_text() == TEMPLATE


def test_an_untouched_template_is_refused_naming_every_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "q2c.yaml"
    assert q2c("init", str(path)).exit_code == 0
    result = q2c("sync", "--config", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "CircuitOpen" not in result.output
    named = dict(re.findall(r"- (\S+): still holds the `q2c init` placeholder '([^']+)'", result.stderr))
    assert named == {
        "systems.crm.login_url": "YOUR-DOMAIN",
        "systems.crm.client_id": "CONNECTED_APP_CONSUMER_KEY",
        "systems.crm.client_secret": "CONNECTED_APP_CONSUMER_SECRET",
        "http.webhook_secret": "SHARED_SECRET_FOR_SIGNED_WEBHOOKS",
        "systems.tracker.account_id": "HARVEST_ACCOUNT_ID",
        "systems.tracker.access_token": "HARVEST_PERSONAL_ACCESS_TOKEN",
        "systems.erp.account_id": "NETSUITE_ACCOUNT_ID",
        "systems.erp.client_id": "INTEGRATION_CLIENT_ID",
        "systems.erp.certificate_id": "M2M_CERTIFICATE_ID",
    }, result.stderr
    assert set(named.values()) - {"YOUR-DOMAIN"} == TEMPLATE_PLACEHOLDERS
    assert "systems.erp.private_key_path: no such file /etc/q2c/netsuite-m2m.pem" in result.stderr
    assert not (tmp_path / "q2c.sqlite").exists()


def test_the_filled_in_template_loads_as_a_hub_config(tmp_path: Path) -> None:
    path = write_config(tmp_path / "q2c.yaml", database="sqlite:///q2c.sqlite")
    cfg = load_config(path)
    assert isinstance(cfg, HubConfig)
    assert cfg.database == f"sqlite:///{tmp_path / 'q2c.sqlite'}"  # the config's folder, not the working dir
    assert cfg.systems.erp.private_key_path == tmp_path / "netsuite-m2m.pem"
    assert cfg.http.webhook_secret == "whsec-4f1c9a7e2b"
    assert cfg.systems.tracker.account_id == "1439822"
    assert cfg.systems.tracker.base_url == "https://api.harvestapp.com/v2"
    entity = cfg.legal_entity("US01")
    assert entity is not None and entity.currency == "USD" and entity.timezone == "America/New_York"
    offering = cfg.offering("IMPL")
    assert offering is not None and [t.code for t in offering.tasks] == ["DESIGN", "BUILD", "INTERNAL"]
    assert [t.billable for t in offering.tasks] == [True, True, False]
    card = cfg.rate_card_for("USD")
    assert card is not None and card.id == "RC-USD-2026"
    assert [(line.role, line.rate) for line in card.lines] == [
        ("Consultant", Money.of("150.00", "USD")), ("Architect", Money.of("200.00", "USD"))]
    assert cfg.delivery.max_attempts == 30 and cfg.delivery.workers == 2
    assert cfg.http.port == 8080


def test_template_secrets_can_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_TEST_HARVEST_TOKEN", "pat-123.abc")
    path = write_config(tmp_path / "q2c.yaml", database="sqlite:///x.sqlite",
                        edit={"access_token: HARVEST_PERSONAL_ACCESS_TOKEN": "access_token: ${Q2C_TEST_HARVEST_TOKEN}"})
    assert load_config(path).systems.tracker.access_token.get_secret_value() == "pat-123.abc"


# --- bad config: exit 2 with the key named ----------------------------------------------------------------

BAD_CONFIGS: dict[str, tuple[dict[str, str], list[str]]] = {
    "unknown nested key": ({"  batch: 8": "  workerz: 4\n  batch: 8"},
                           ["delivery.workerz", "unknown key"]),
    "unknown top-level key": ({"payment_terms:": "payment_term:"}, ["payment_term:", "unknown key"]),
    "negative max_attempts": ({"max_attempts: 30": "max_attempts: -1"},
                              ["delivery.max_attempts", "greater than or equal to 1", "found -1"]),
    "unknown currency": ({"currency: USD, timezone": "currency: XYZ, timezone"},
                         ["legal_entities.0.currency", "ISO 4217", "'XYZ'"]),
    "port out of range": ({"port: 8080": "port: 80800"}, ["http.port", "less than or equal to 65535"]),
    "not a date": ({"effective_from: 2026-01-01}\n      - {role: Architect":
                    "effective_from: soon}\n      - {role: Architect"},
                   ["rate_cards.0.lines.0.effective_from", "'soon'"]),
    "missing required key": ({"    client_id: INTEGRATION_CLIENT_ID\n": ""},
                             ["systems.erp.client_id", "required key is missing"]),
    "not YAML": ({"workers: 2": "workers: [2"}, ["not valid YAML"]),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS), ids=list(BAD_CONFIGS))
def test_bad_config_exits_2_naming_the_key(tmp_path: Path, case: str) -> None:
    edit, expected = BAD_CONFIGS[case]
    path = write_config(tmp_path / "q2c.yaml", database=f"sqlite:///{tmp_path / 'hub.sqlite'}", edit=edit)
    result = q2c("audit", "verify", "--config", str(path))
    assert result.exit_code == 2, result.output
    assert "config error" in result.stderr and str(path) in result.stderr
    for fragment in expected:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "hub.sqlite").exists()  # nothing is opened with a config that did not load


def test_a_database_that_cannot_be_opened_exits_2_naming_database(tmp_path: Path) -> None:
    path = write_config(tmp_path / "q2c.yaml", database="postgresql://q2c:s3cret@127.0.0.1:1/q2c")
    result = q2c("exceptions", "list", "-c", str(path))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("database: cannot open postgresql://q2c:***@127.0.0.1:1/q2c (")
    assert "s3cret" not in result.output and "Traceback" not in result.output


def test_missing_config_file_exits_2_with_a_hint_to_run_init(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    result = q2c("exceptions", "list", "-c", str(path))
    assert result.exit_code == 2
    assert "no such file" in result.stderr and f"q2c init {path}" in result.stderr


def test_config_file_that_is_not_a_mapping_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "q2c.yaml"
    path.write_text("- database: sqlite:///x.sqlite\n")
    result = q2c("audit", "verify", "-c", str(path))
    assert result.exit_code == 2 and "mapping" in result.stderr


def test_unset_environment_reference_exits_2_naming_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("Q2C_TEST_UNSET_SECRET", raising=False)
    path = write_config(tmp_path / "q2c.yaml", database="sqlite:///x.sqlite", edit={
        "client_secret: CONNECTED_APP_CONSUMER_SECRET": "client_secret: ${Q2C_TEST_UNSET_SECRET}"})
    result = q2c("audit", "verify", "-c", str(path))
    assert result.exit_code == 2
    assert "systems.crm.client_secret" in result.stderr
    assert "${Q2C_TEST_UNSET_SECRET}" in result.stderr and "not set" in result.stderr
    with pytest.raises(ConfigError, match=r"systems\.crm\.client_secret"):
        load_config(path)


def test_config_can_come_from_the_environment_variable(config_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["audit", "verify"], env={"Q2C_CONFIG": str(config_path)})
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.stdout


# --- audit verify -----------------------------------------------------------------------------------------


def _audit_entries(n: int) -> list[audit.AuditEntry]:
    return [audit.AuditEntry(actor="q2c", system="netsuite", action="create", entity="timebill",
                             record_id=f"HV-{i}", correlation_id="corr", after={"hours": "8.00"}) for i in range(n)]


def test_audit_verify_is_0_when_intact_and_3_after_tampering(config_path: Path, db: Engine) -> None:
    fresh = q2c("audit", "verify", "-c", str(config_path))
    assert fresh.exit_code == 0, fresh.output
    assert "audit chain intact: 0 entries" in fresh.stdout

    with db.begin() as conn:
        audit.append(conn, _audit_entries(3))
    intact = q2c("audit", "verify", "-c", str(config_path))
    assert intact.exit_code == 0 and "audit chain intact: 3 entries" in intact.stdout

    with db.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 2).values(after={"hours": "80.00"}))
    broken = q2c("audit", "verify", "-c", str(config_path))
    assert broken.exit_code == 3
    assert "audit chain broken at entry 2" in broken.stderr
    assert "altered after it was written" in broken.stderr and "1 entries verified before it" in broken.stderr


# --- the exception queue ----------------------------------------------------------------------------------

TASK_UNKNOWN = Violation(system="harvest", object="time_entry", record_id="HV-900000011", field="task",
                         rule="time.task_unknown",
                         message="task 'TRAVEL' is not a task of project P-000000005IAA (tasks: BUILD, DESIGN)",
                         action="Move the entry in Harvest to one of the project's tasks")
TAX_ID_MISSING = Violation(system="salesforce", object="Account", record_id="SF-001Dn0000000004IAA",
                           field="Account.Tax_Id__c", rule="customer.tax_id_missing",
                           message="account 'Initech' has no tax id and is not marked tax exempt",
                           action="Enter the customer's tax id on the account in the CRM")


def seed(db: Engine, violation: Violation, *, payload: dict[str, Any] | None = None) -> int:
    with db.begin() as conn:
        return raise_exception(conn, violation, work_kind="time.deliver", aggregate="project:P-000000005IAA",
                               payload=payload or {"entry_ids": [900000011]}, correlation_id="corr-cli")


def work(db: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(work_items.c.kind, work_items.c.aggregate, work_items.c.payload)
                            .order_by(work_items.c.id)).all()
    return [(r.kind, r.aggregate, r.payload) for r in rows]


def test_exceptions_list_shows_rule_record_and_action(config_path: Path, db: Engine) -> None:
    empty = q2c("exceptions", "list", "-c", str(config_path))
    assert empty.exit_code == 0 and "no open exceptions" in empty.stdout

    task_id, tax_id = seed(db, TASK_UNKNOWN), seed(db, TAX_ID_MISSING)
    listed = q2c("exceptions", "list", "-c", str(config_path))
    assert listed.exit_code == 0, listed.output
    out = listed.stdout
    assert "open exceptions (2)" in out
    assert "time.task_unknown" in out and "harvest time_entry HV-900000011" in out
    assert "customer.tax_id_missing" in out and "salesforce Account SF-001Dn0000000004IAA" in out
    assert "Move the entry in Harvest to one of the project's tasks" in out

    only_time = q2c("exceptions", "list", "-c", str(config_path), "--rule", "time.*", "--json")
    assert only_time.exit_code == 0
    (entry,) = json.loads(only_time.stdout)
    assert entry["id"] == task_id and entry["rule"] == "time.task_unknown" and entry["field"] == "task"
    assert entry["record_id"] == "HV-900000011" and entry["occurrences"] == 1
    assert [e["id"] for e in json.loads(q2c("exceptions", "list", "-c", str(config_path), "--json").stdout)] == [
        task_id, tax_id]


def test_exceptions_show_prints_the_record_problem_action_and_payload(config_path: Path, db: Engine) -> None:
    exception_id = seed(db, TASK_UNKNOWN, payload={"entry_ids": [900000011], "project": "P-000000005IAA"})
    result = q2c("exceptions", "show", str(exception_id), "-c", str(config_path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"#{exception_id} open  time.task_unknown  (1x, first " in out
    assert "record:  harvest time_entry HV-900000011 field task" in out
    assert "problem: task 'TRAVEL' is not a task of project P-000000005IAA" in out
    assert "action:  Move the entry in Harvest to one of the project's tasks" in out
    assert "work:    time.deliver on project:P-000000005IAA (correlation corr-cli)" in out
    assert json.loads(out[out.index("{"):]) == {"entry_ids": [900000011], "project": "P-000000005IAA"}

    missing = q2c("exceptions", "show", "424242", "-c", str(config_path))
    assert missing.exit_code == 1 and "exception 424242 does not exist" in missing.stderr


def test_exceptions_replay_queues_once_and_a_second_replay_is_skipped(config_path: Path, db: Engine) -> None:
    exception_id = seed(db, TASK_UNKNOWN)
    first = q2c("exceptions", "replay", str(exception_id), "-c", str(config_path), "--no-run", "--actor", "dana")
    assert first.exit_code == 0, first.output
    match = re.search(rf"#{exception_id}: queued as work item (\d+)", first.stdout)
    assert match is not None, first.stdout
    assert work(db) == [("time.deliver", "project:P-000000005IAA", {"entry_ids": [900000011]})]
    with db.connect() as conn:
        (entry,) = conn.execute(sa.select(audit_log)).all()
    assert entry.actor == "cli:dana" and entry.action == "replay" and entry.after["work_item"] == int(match[1])

    second = q2c("exceptions", "replay", str(exception_id), "-c", str(config_path), "--no-run")
    assert second.exit_code == 1
    assert f"#{exception_id}: skipped (already replayed)" in second.stdout
    assert len(work(db)) == 1
    assert "no open exceptions" in q2c("exceptions", "list", "-c", str(config_path)).stdout


HELD_ENTRY = {"id": "HV-900000011", "project_id": "P-000000005IAA", "task_code": "TRAVEL",
              "resource_id": "alice@example.com", "work_date": "2026-11-10", "hours": "4", "notes": "",
              "status": "approved", "billable": True, "locked": True, "billed": False,
              "source_updated_at": "2026-11-10T18:00:00Z", "schema_version": 1}


def seed_held(db: Engine) -> int:
    with db.begin() as conn:
        return raise_exception(conn, TASK_UNKNOWN, work_kind="time.deliver", aggregate="project:P-000000005IAA",
                               payload={"entries": [HELD_ENTRY]}, correlation_id="corr-cli",
                               subjects=[Subject("time_entry", "HV-900000011", {"entries": [HELD_ENTRY]})])


def test_exceptions_replay_by_rule_with_a_corrected_payload(config_path: Path, db: Engine, tmp_path: Path) -> None:
    """The task of a task-unknown exception may be corrected: the entry is re-delivered as the tracker sent it,
    and the correction is kept as an override that later reads apply."""
    seed(db, TAX_ID_MISSING)
    task_id = seed_held(db)
    corrected = tmp_path / "fixed.json"
    corrected.write_text(json.dumps({"entries": [{**HELD_ENTRY, "task_code": "BUILD"}]}))
    result = q2c("exceptions", "replay", "-c", str(config_path), "--rule", "time.*", "--payload", str(corrected),
                 "--no-run")
    assert result.exit_code == 0, result.output
    assert f"#{task_id}: queued as work item" in result.stdout
    assert work(db) == [("time.deliver", "project:P-000000005IAA", {"entries": [HELD_ENTRY]})]
    with db.connect() as conn:
        (override,) = overrides.active(conn, entity="time_entry", canonical_ids=["HV-900000011"])["HV-900000011"]
    assert (override.field, override.value, override.source_value) == ("task_code", "BUILD", "TRAVEL")
    left = json.loads(q2c("exceptions", "list", "-c", str(config_path), "--json").stdout)
    assert [e["rule"] for e in left] == ["customer.tax_id_missing"]


@pytest.mark.parametrize(("change", "refusal"), [
    ({"id": "HV-777"}, "HV-777 field id: not one of the records exception"),
    ({"hours": "24"}, "field hours: exception"),
    ({"task_code": "BUILD", "resource_id": "dan@example.com"}, "field resource_id"),
])
def test_a_correction_may_fix_only_what_the_exception_is_about(config_path: Path, db: Engine, tmp_path: Path,
                                                               change: dict[str, Any], refusal: str) -> None:
    """A correction never invents a record (a new entry id put a timebill into the ERP that never existed in
    the tracker) and never changes a field the exception is not about."""
    exception_id = seed_held(db)
    corrected = tmp_path / "fixed.json"
    corrected.write_text(json.dumps({"entries": [{**HELD_ENTRY, **change}]}))
    result = q2c("exceptions", "replay", str(exception_id), "-c", str(config_path), "--payload", str(corrected),
                 "--no-run")
    assert result.exit_code == 2, result.output
    assert "correction refused" in result.stderr and refusal in result.stderr
    assert work(db) == []
    with db.connect() as conn:
        assert overrides.count(conn, entity="time_entry") == 0
    assert [e["id"] for e in json.loads(q2c("exceptions", "list", "-c", str(config_path), "--json").stdout)] == \
        [exception_id]


def test_exceptions_replay_needs_a_selection(config_path: Path, db: Engine) -> None:
    seed(db, TASK_UNKNOWN)
    result = q2c("exceptions", "replay", "-c", str(config_path), "--no-run")
    assert result.exit_code == 2
    assert "say what to replay" in result.stderr
    assert work(db) == []


def test_replay_of_an_unknown_id_finds_nothing(config_path: Path, db: Engine) -> None:
    result = q2c("exceptions", "replay", "424242", "-c", str(config_path), "--no-run")
    assert result.exit_code == 1
    assert work(db) == []


def test_replay_since_a_bad_time_is_a_usage_error(config_path: Path, db: Engine) -> None:
    seed(db, TASK_UNKNOWN)
    result = q2c("exceptions", "replay", "-c", str(config_path), "--since", "yesterday", "--no-run")
    assert result.exit_code == 2
    assert "--since" in result.stderr


def test_violation_text_with_square_brackets_is_printed_verbatim(config_path: Path, db: Engine) -> None:
    exception_id = seed(db, TASK_UNKNOWN.model_copy(update={
        "message": "task '[ops] standup' is not a task of project P-000000005IAA"}))
    shown = q2c("exceptions", "show", str(exception_id), "-c", str(config_path))
    assert shown.exit_code == 0
    assert "task '[ops] standup' is not a task" in shown.stdout
    assert "[ops] standup" in q2c("exceptions", "list", "-c", str(config_path)).stdout


# --- sandbox and demo -------------------------------------------------------------------------------------


def test_unknown_sandbox_exits_2_naming_the_allowed_ones() -> None:
    result = q2c("sandbox", "nosuch")
    assert result.exit_code == 2
    assert "unknown sandbox 'nosuch'" in result.stderr
    allowed = ", ".join(sandbox_names())
    assert f"allowed: {allowed} (or `up` for a CRM, a time tracker and an ERP at once)" in result.stderr
    assert {"harvest", "netsuite", "salesforce"} <= set(sandbox_names())


@pytest.mark.parametrize("name", ["up", *sandbox_names()])
def test_sandbox_subcommands_have_their_own_help(name: str) -> None:
    result = q2c("sandbox", name, "--help")
    assert result.exit_code == 0, result.output
    assert "unknown sandbox" not in result.output
    # every sandbox has the common options; NetSuite's also writes its M2M key
    expected = {"up": "--seed", "netsuite": "--key-out"}.get(name, "--vendor-limits")
    assert expected in result.stdout and (name == "up" or "--latency-ms" in result.stdout)


def test_sandbox_up_refuses_a_seed_it_does_not_know(tmp_path: Path) -> None:
    result = q2c("sandbox", "up", "--dir", str(tmp_path), "--seed", "everything")
    assert result.exit_code == 2
    assert "--seed 'everything' is not a seed" in result.stderr and "allowed: empty, demo" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_sync_target_exits_2(config_path: Path) -> None:
    result = q2c("sync", "invoices", "-c", str(config_path))
    assert result.exit_code == 2 and "allowed: deals, time, all" in result.stderr


def test_close_with_a_bad_date_exits_2(config_path: Path) -> None:
    result = q2c("close", "-c", str(config_path), "--date", "30/11/2026")
    assert result.exit_code == 2 and "use YYYY-MM-DD" in result.stderr


def test_demo_runs_the_whole_scenario(tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo"
    result = q2c("demo", "--workdir", str(demo_dir))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"invoice INV-C-\S+\s+│\s+USD 9,700\.00", out), out
    assert re.search(r"invoice INV-SF-\S+\s+│\s+USD 10,000\.00", out), out
    assert re.search(r"revenue recognised C-\S+ \(2026-11\)\s+│\s+USD [\d,]+\.\d\d", out), out
    assert re.search(r"audit trail\s+│\s+intact, \d+ entries", out), out
    listed = re.search(r"Exceptions for people to act on \((\d+)\)", out)
    assert listed is not None and int(listed[1]) >= 4, out  # the scenario may grow; these four are its core
    for rule, text in (("customer.tax_id_missing", "'Initech' has no tax id"),
                       ("time.edited_after_billing", "after it was billed"),
                       ("time.resource_unknown", "resource 'carol@q2c-demo.example'"),
                       ("time.task_unknown", "task 'TRAVEL' is not a task")):
        assert rule in out and text in out, (rule, out)
    assert (demo_dir / "q2c.sqlite").exists()


def test_sandbox_up_runs_the_sandboxes_it_is_asked_for(tmp_path: Path) -> None:
    """`--tracker toggl` puts the Toggl sandbox in the tracker's place, in the config and in sandboxes.json."""
    from q2c.entrypoints.sandbox_up import start_sandboxes

    running = start_sandboxes(tmp_path, sandboxes={"crm": "salesforce", "tracker": "toggl", "erp": "netsuite"})
    try:
        config = load_config(running.config_path)
        assert config.systems.tracker.type == "toggl"
        assert set(json.loads((tmp_path / "sandboxes.json").read_text())) == {"salesforce", "toggl", "netsuite"}
    finally:
        running.stop()


def test_sandbox_up_refuses_a_sandbox_in_the_wrong_role_or_a_demo_seed_on_a_sandbox_without_a_scenario(
        tmp_path: Path) -> None:
    wrong_role = q2c("sandbox", "up", "--dir", str(tmp_path), "--tracker", "netsuite")
    assert wrong_role.exit_code == 2
    assert "sandbox 'netsuite' plays the erp role, not the tracker role" in wrong_role.stderr
    demo = q2c("sandbox", "up", "--dir", str(tmp_path), "--tracker", "toggl", "--seed", "demo")
    assert demo.exit_code == 2 and "the Toggl Track sandbox has no demo scenario" in demo.stderr
    assert list(tmp_path.iterdir()) == []
