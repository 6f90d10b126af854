"""First contact with each system, against the real sandboxes on loopback: a wrong host, port, secret,
key or URL path is one line naming the config key and the cause (exit 2), found within seconds;
a vendor that is down only warns; `q2c doctor` prints the table; `sync` and `close` exit 1 while
exceptions are open and 0 when none are."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner, Result

from q2c.config import load_config
from q2c.connectors.netsuite.auth import generate_m2m_keypair
from q2c.connectors.registry import Role
from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed, RateLimited, RecordRejected, TransientError
from q2c.entrypoints import cli, cli_support
from q2c.entrypoints.preflight import Check, check_role, check_systems, explain
from q2c.entrypoints.sandbox_up import RunningSandboxes, SandboxDirError, prepare_directory, start_sandboxes
from q2c.sandboxes.kit import Faults, free_port


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (cli, cli_support):
        monkeypatch.setattr(module, "console", Console(width=400, color_system=None))
        monkeypatch.setattr(module, "err", Console(width=400, color_system=None, stderr=True))


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandboxes]:
    running = start_sandboxes(tmp_path_factory.mktemp("sandboxes"), seed="empty")
    yield running
    running.stop()


def q2c(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"Q2C_CONFIG": None})


def variant(sandboxes: RunningSandboxes, name: str, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """The config `sandbox up` wrote, changed, in the same folder (so its relative paths still hold)."""
    raw = yaml.safe_load(sandboxes.config_path.read_text())
    raw["database"] = f"sqlite:///{name}.sqlite"
    if change is not None:
        change(raw)
    path = sandboxes.directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def only_failure(checks: list[Check]) -> Check:
    failed = [c for c in checks if not c.ok]
    assert len(failed) == 1, checks
    return failed[0]


def test_a_correct_config_passes_every_check_and_doctor_exits_0(sandboxes: RunningSandboxes) -> None:
    path = variant(sandboxes, "good")
    checks = check_systems(load_config(path))
    assert [(c.system, c.ok) for c in checks] == [("salesforce", True), ("harvest", True), ("netsuite", True)]
    result = q2c("doctor", "--config", str(path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    for system in ("database", "salesforce", "harvest", "netsuite"):
        assert f"│ {system}" in out, out
    assert out.count("│ ok: ") == 4, out
    assert "opportunities readable" in out and "subsidiaries readable through SuiteQL" in out
    assert not (sandboxes.directory / "good.sqlite").exists()  # doctor creates nothing


def test_a_wrong_netsuite_port_is_one_line_and_exit_2_within_seconds(sandboxes: RunningSandboxes) -> None:
    port = free_port("127.0.0.1")

    def wrong_port(raw: dict[str, Any]) -> None:
        raw["systems"]["erp"]["rest_base_url"] = raw["systems"]["erp"]["restlet_url"] = \
            f"http://127.0.0.1:{port}"

    path = variant(sandboxes, "ns-port", wrong_port)
    line = f"systems.erp.rest_base_url: cannot connect to http://127.0.0.1:{port} (connection refused)"
    assert only_failure(check_systems(load_config(path))).line == line
    for command in ("sync", "close", "worker", "serve"):
        started = time.monotonic()
        result = q2c(command, "--config", str(path))
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.strip() == line, (command, result.stderr)
        assert "Traceback" not in result.output
        assert time.monotonic() - started < 10, f"{command}: the pre-flight took too long"
    assert not (sandboxes.directory / "ns-port.sqlite").exists()  # stopped before anything was opened


def test_a_wrong_salesforce_secret_names_client_secret(sandboxes: RunningSandboxes) -> None:
    path = variant(sandboxes, "sf-secret",
                   lambda raw: raw["systems"]["crm"].update(client_secret="not-the-secret"))
    assert only_failure(check_systems(load_config(path))).line == (
        "systems.crm.client_secret: the token endpoint refused the credentials "
        "(invalid_client: invalid client credentials)")
    result = q2c("sync", "--config", str(path))
    assert result.exit_code == 2 and "systems.crm.client_secret: the token endpoint refused" in result.stderr


def test_a_wrong_salesforce_client_id_names_client_id(sandboxes: RunningSandboxes) -> None:
    path = variant(sandboxes, "sf-id", lambda raw: raw["systems"]["crm"].update(client_id="3MVG9other"))
    failure = check_role(load_config(path), Role.CRM)
    assert failure.blocking and failure.key == "systems.crm.client_id"
    assert "invalid_client_id" in failure.detail


def test_harvest_credentials_and_base_url_path(sandboxes: RunningSandboxes) -> None:
    token = variant(sandboxes, "hv-token", lambda raw: raw["systems"]["tracker"].update(access_token="1.pt.wrong"))
    failure = check_role(load_config(token), Role.TRACKER)
    assert failure.blocking and failure.key == "systems.tracker.access_token"
    assert "Harvest refused the credentials (HTTP 401)" in failure.detail

    url = sandboxes.servers["tracker"].url
    path = variant(sandboxes, "hv-path", lambda raw: raw["systems"]["tracker"].update(base_url=f"{url}/api/v2"))
    failure = check_role(load_config(path), Role.TRACKER)
    assert failure.blocking and failure.key == "systems.tracker.base_url"
    assert f"{url}/api/v2/users/me does not exist (HTTP 404)" in failure.detail


@pytest.mark.parametrize(("change", "key", "said"), [
    ({"certificate_id": "another-certificate"}, "certificate_id", "No certificate is mapped to this kid"),
    ({"client_id": "f" * 64}, "client_id", "iss is not the client id"),
    ({"private_key_path": "other-key.pem"}, "private_key_path", "signature does not match the certificate"),
], ids=["certificate", "client", "key"])
def test_netsuite_refusals_name_the_key_at_fault(sandboxes: RunningSandboxes, change: dict[str, str], key: str,
                                                 said: str) -> None:
    (sandboxes.directory / "other-key.pem").write_text(generate_m2m_keypair()[0])
    path = variant(sandboxes, f"ns-{key}", lambda raw: raw["systems"]["erp"].update(change))
    failure = check_role(load_config(path), Role.ERP)
    assert failure.blocking and failure.key == f"systems.erp.{key}", failure
    assert failure.detail.startswith("the token endpoint refused the client assertion (invalid_client: ")
    assert said in failure.detail


def test_a_subsidiary_the_account_lacks_names_the_reference(sandboxes: RunningSandboxes) -> None:
    path = variant(sandboxes, "ns-subsidiary",
                   lambda raw: raw["systems"]["erp"]["references"]["subsidiaries"].update(US01="99"))
    failure = check_role(load_config(path), Role.ERP)
    assert failure.key == "systems.erp.references.subsidiaries.US01"
    assert "subsidiary 99 does not exist" in failure.detail and "its subsidiaries: 1, 2, 3" in failure.detail


def test_a_host_that_does_not_resolve(sandboxes: RunningSandboxes) -> None:
    path = variant(sandboxes, "sf-host",
                   lambda raw: raw["systems"]["crm"].update(login_url="https://q2c-nowhere.invalid"))
    failure = check_role(load_config(path), Role.CRM)
    assert failure.blocking and failure.line == (
        "systems.crm.login_url: cannot resolve host q2c-nowhere.invalid (no such host in DNS)")


def test_a_server_that_never_answers_is_reported_after_the_short_timeout(sandboxes: RunningSandboxes) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections (the kernel does) but never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        path = variant(sandboxes, "hv-silent",
                       lambda raw: raw["systems"]["tracker"].update(base_url=f"{url}/v2"))
        started = time.monotonic()
        failure = check_role(load_config(path), Role.TRACKER, 0.5)
        assert time.monotonic() - started < 3
    assert failure.blocking and failure.line == (
        f"systems.tracker.base_url: {url}/v2 accepted the connection but did not answer within 0.5 s")


def test_a_vendor_in_maintenance_warns_and_does_not_stop_the_command(sandboxes: RunningSandboxes) -> None:
    path = variant(sandboxes, "hv-down")
    harvest = sandboxes.harvest
    harvest.set_faults(Faults(down=True))
    try:
        failure = only_failure(check_systems(load_config(path)))
        assert not failure.blocking and failure.key == "systems.tracker.base_url"
        assert "answered HTTP 503 (unavailable or in maintenance)" in failure.detail
        doctor = q2c("doctor", "--config", str(path))
        assert doctor.exit_code == 1, doctor.output
        assert "warning: " in doctor.stdout and "HTTP 503" in doctor.stdout
    finally:
        harvest.set_faults(Faults())


def test_sync_and_close_exit_0_when_no_exception_is_open(sandboxes: RunningSandboxes) -> None:
    path = variant(sandboxes, "clean")
    synced = q2c("sync", "--config", str(path))
    assert synced.exit_code == 0, synced.output
    assert "deals: 0 won since last poll" in synced.stdout and "no open exceptions" in synced.stdout
    closed = q2c("close", "--config", str(path), "--date", "2026-11-30")
    assert closed.exit_code == 0, closed.output
    assert "no open exceptions" in closed.stdout


def test_sync_and_close_exit_1_while_exceptions_are_open(tmp_path: Path) -> None:
    demo = start_sandboxes(tmp_path / "demo", seed="demo")
    try:
        synced = q2c("sync", "deals", "--config", str(demo.config_path))
        assert synced.exit_code == 1, synced.output
        assert "open exceptions (1)" in synced.stdout and "customer.tax_id_missing" in synced.stdout
        assert demo.netsuite.state.count("salesorder") == 1  # the clean deal went through
        closed = q2c("close", "--config", str(demo.config_path), "--date", "2026-11-30")
        assert closed.exit_code == 1, closed.output
        assert "customer.tax_id_missing" in closed.stdout
    finally:
        demo.stop()


def test_connector_errors_after_first_contact_are_one_line_about_the_system(sandboxes: RunningSandboxes) -> None:
    cfg = load_config(variant(sandboxes, "explain"))
    ns_url = sandboxes.servers["erp"].url
    refused = explain(AuthFailed("harvest", "GET /users/me: Harvest refused the credentials (HTTP 401)"), cfg)
    assert refused.blocking and refused.key == "systems.tracker" and "credentials refused" in refused.detail
    down = explain(TransientError("netsuite", "POST record: HTTP 503"), cfg)
    assert not down.blocking and down.line.startswith(f"systems.erp.rest_base_url: {ns_url} answered HTTP 503")
    slow = explain(RateLimited("salesforce", "GET rest-api: throttled (403)", retry_after=60), cfg)
    assert not slow.blocking and "is throttling requests" in slow.detail
    mapping = explain(RecordRejected(Violation(system="q2c", object="customer", record_id="SF-1", field="x",
                                               rule="netsuite.mapping.x", message="no counterpart", action="a")), cfg)
    assert mapping.blocking and mapping.key == "q2c"


def test_sandbox_up_refuses_a_folder_with_an_earlier_runs_database(tmp_path: Path) -> None:
    (tmp_path / "q2c.sqlite").write_text("earlier run")
    result = q2c("sandbox", "up", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert "holds q2c.sqlite from an earlier run" in result.stderr and "--reset" in result.stderr
    with pytest.raises(SandboxDirError):
        prepare_directory(tmp_path, reset=False)
    assert prepare_directory(tmp_path, reset=True) == tmp_path.resolve()
    assert not (tmp_path / "q2c.sqlite").exists()
