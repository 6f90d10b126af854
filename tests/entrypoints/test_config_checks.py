"""What the config loader refuses beyond types: URLs, timezones, connector settings, key files, and where
relative paths point. Each refusal names the key path, what was found and what is allowed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from q2c.config import ConfigError, load_config
from q2c.connectors.netsuite.auth import generate_m2m_keypair


def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def settings() -> dict[str, Any]:
    """A complete, valid config (relative paths, as a firm writes them)."""
    return {
        "database": "sqlite:///state/q2c.sqlite",
        "systems": {
            "crm": {"type": "salesforce", "login_url": "https://globex-ps.my.salesforce.com",
                    "client_id": "3MVG9example", "client_secret": "5E1F0C0FFEE"},
            "tracker": {"type": "harvest", "base_url": "https://api.harvestapp.com/v2", "account_id": "1439822",
                        "access_token": "1439822.pt.token"},
            "erp": {"type": "netsuite", "account_id": "1234567_SB1", "client_id": "8c1f7a2e",
                    "certificate_id": "oJ3fXc1u", "private_key_path": "keys/netsuite.pem",
                    "references": {"subsidiaries": {"US01": "2"}, "currencies": {"USD": "1"}}},
        },
        "legal_entities": [{"code": "US01", "name": "US01 Consulting Inc.", "currency": "USD",
                            "timezone": "America/New_York"}],
        "service_offerings": [{"code": "IMPL", "name": "Implementation",
                               "tasks": [{"code": "BUILD", "name": "Build"}]}],
        "rate_cards": [{"id": "RC-USD", "currency": "USD", "lines": [
            {"role": "Consultant", "rate": "150.00", "effective_from": "2026-01-01"}]}],
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The config's folder, with the NetSuite key where the settings say it is."""
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "netsuite.pem").write_text(generate_m2m_keypair()[0])
    return tmp_path


def write(folder: Path, raw: dict[str, Any]) -> Path:
    path = folder / "q2c.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def refused(folder: Path, raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(folder, raw))
    return str(caught.value)


def test_relative_paths_resolve_against_the_config_folder_not_the_working_dir(
        folder: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(folder, settings())
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    cfg = load_config(Path(os.path.relpath(path)))
    assert cfg.database == f"sqlite:///{folder / 'state' / 'q2c.sqlite'}"
    assert cfg.systems.erp.private_key_path == folder / "keys" / "netsuite.pem"


def test_an_absolute_sqlite_path_and_a_postgresql_url_are_kept(folder: Path) -> None:
    raw = settings()
    raw["database"] = f"sqlite:///{folder / 'abs.sqlite'}"
    assert load_config(write(folder, raw)).database == f"sqlite:///{folder / 'abs.sqlite'}"
    raw["database"] = "postgresql://q2c:secret@db.internal:5432/q2c"
    assert load_config(write(folder, raw)).database == "postgresql://q2c:secret@db.internal:5432/q2c"


URL_KEYS = [("crm", "login_url"), ("tracker", "base_url"), ("erp", "rest_base_url"), ("erp", "restlet_url")]


@pytest.mark.parametrize(("system", "key"), URL_KEYS, ids=[f"{s}.{k}" for s, k in URL_KEYS])
@pytest.mark.parametrize("url", ["htp//x", "ftp://files.example.com/v2", "https:///v2", "http://host:99999/v2"])
def test_every_url_setting_needs_http_or_https_and_a_host(folder: Path, system: str, key: str, url: str) -> None:
    raw = settings()
    raw["systems"][system][key] = url
    message = refused(folder, raw)
    assert f"systems.{system}.{key}: " in message and f"(found {url!r})" in message, message
    assert "http:// or https:// URL with a host" in message or "port that is not a number" in message


def test_the_harvest_base_url_must_be_the_v2_root(folder: Path) -> None:
    raw = settings()
    raw["systems"]["tracker"]["base_url"] = "https://api.harvestapp.com"
    message = refused(folder, raw)
    assert "systems.tracker.base_url: must be the root of Harvest API v2, ending in /v2" in message


def test_an_unknown_timezone_is_refused(folder: Path) -> None:
    raw = settings()
    raw["legal_entities"][0]["timezone"] = "America/Nowhere"
    message = refused(folder, raw)
    assert "legal_entities.0.timezone: is not an IANA timezone" in message
    assert "(found 'America/Nowhere')" in message and "America/New_York" in message


def test_a_typo_in_the_netsuite_references_names_the_key(folder: Path) -> None:
    raw = settings()
    raw["systems"]["erp"]["references"]["subsidiarys"] = {"US01": "2"}
    message = refused(folder, raw)
    assert "systems.erp.references.subsidiarys: unknown key" in message, message


def test_netsuite_references_are_typed_when_loaded(folder: Path) -> None:
    refs = load_config(write(folder, settings())).systems.erp.references
    assert refs.subsidiaries == {"US01": "2"} and refs.currencies == {"USD": "1"}
    raw = settings()
    raw["systems"]["erp"]["references"]["default_service_item"] = ["10", "11"]
    assert "systems.erp.references.default_service_item: " in refused(folder, raw)


def test_salesforce_without_a_grant_names_client_secret(folder: Path) -> None:
    raw = settings()
    del raw["systems"]["crm"]["client_secret"]
    message = refused(folder, raw)
    assert "systems.crm.client_secret: required key is missing: give client_secret" in message
    assert "username and private_key_path (JWT bearer flow)" in message


def test_salesforce_jwt_needs_both_username_and_an_rsa_key(folder: Path) -> None:
    raw = settings()
    sf = raw["systems"]["crm"]
    del sf["client_secret"]
    sf["username"] = "integration@globex.example"
    assert "systems.crm.private_key_path: required key is missing" in refused(folder, raw)

    (folder / "keys" / "sf-ec.pem").write_text(generate_m2m_keypair("ES256")[0])
    sf["private_key_path"] = "keys/sf-ec.pem"
    assert "must hold an RSA private key" in refused(folder, raw)

    (folder / "keys" / "sf.pem").write_text(rsa_pem())
    sf["private_key_path"] = "keys/sf.pem"
    cfg = load_config(write(folder, raw))
    assert cfg.systems.crm.private_key_path == folder / "keys" / "sf.pem"


def test_salesforce_with_both_grants_is_refused(folder: Path) -> None:
    raw = settings()
    raw["systems"]["crm"]["username"] = "integration@globex.example"
    assert "systems.crm.username: give either client_secret" in refused(folder, raw)


def test_the_netsuite_key_must_exist_and_be_a_pem_key(folder: Path) -> None:
    raw = settings()
    raw["systems"]["erp"]["private_key_path"] = "keys/missing.pem"
    message = refused(folder, raw)
    assert f"systems.erp.private_key_path: no such file {folder / 'keys' / 'missing.pem'}" in message
    assert "read from the config file's folder" in message

    (folder / "keys" / "notes.pem").write_text("this is not a key\n")
    raw["systems"]["erp"]["private_key_path"] = "keys/notes.pem"
    message = refused(folder, raw)
    assert "systems.erp.private_key_path: " in message and "not a readable unencrypted PEM key" in message

    (folder / "keys").joinpath("binary.der").write_bytes(b"\x30\x82\xff\xfe")
    raw["systems"]["erp"]["private_key_path"] = "keys/binary.der"
    assert "is not a PEM file" in refused(folder, raw)


@pytest.mark.parametrize(("system", "key", "value", "expected"), [
    ("tracker", "account_id", "acme", "must be the numeric Harvest account id"),
    ("erp", "account_id", "1234567 SB1", "must be the NetSuite account id"),
    ("crm", "api_version", "v59", "must be a REST API version such as 59.0"),
    ("tracker", "user_agent", "  ", "must name the application and a contact"),
])
def test_connector_settings_are_checked(folder: Path, system: str, key: str, value: str, expected: str) -> None:
    raw = settings()
    raw["systems"][system][key] = value
    message = refused(folder, raw)
    assert f"systems.{system}.{key}: {expected}" in message and f"(found {value!r})" in message, message


def test_a_database_that_is_not_a_url_or_not_supported(folder: Path) -> None:
    raw = settings()
    raw["database"] = "q2c.sqlite"
    assert "database: must be a database URL" in refused(folder, raw)
    raw["database"] = "mysql://q2c@db/q2c"
    assert "database: database 'mysql' is not supported; allowed: sqlite, postgresql" in refused(folder, raw)


def test_several_problems_are_reported_together(folder: Path) -> None:
    raw = settings()
    raw["systems"]["crm"]["login_url"] = "htp//x"
    raw["legal_entities"][0]["timezone"] = "Mars/Olympus"
    raw["systems"]["tracker"]["access_token"] = "HARVEST_PERSONAL_ACCESS_TOKEN"
    message = refused(folder, raw)
    assert message.splitlines()[0].endswith("3 problem(s)")
    assert "systems.crm.login_url" in message and "legal_entities.0.timezone" in message
    assert "systems.tracker.access_token: still holds the `q2c init` placeholder" in message
