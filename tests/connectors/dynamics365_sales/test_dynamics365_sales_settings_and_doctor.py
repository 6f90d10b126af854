"""`systems.crm` with `type: dynamics365_sales`: config errors name the key, the documented defaults, and
`q2c doctor`'s first contact (token, WhoAmI, the columns through EntityDefinitions)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from q2c.config import ConfigError, parse_config
from q2c.connectors.dynamics365_sales import Dynamics365SalesSettings
from q2c.connectors.dynamics365_sales.doctor import check
from q2c.entrypoints.demo import demo_settings
from q2c.sandboxes.registry import make_sandbox, sandbox_spec

ORG = {"type": "dynamics365_sales", "tenant_id": "7d1f3a52-6b7e-4c0e-9f3e-2b8c5a1d4e60",
       "client_id": "0b5e8f0c-3d2a-4f6e-8a1b-9c7d6e5f4a30", "client_secret": "s3cret",
       "org_url": "https://contoso.crm.dynamics.com"}


@pytest.fixture
def config_of(tmp_path: Path) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A whole q2c config (the demo's firm, the Harvest and NetSuite sandboxes' blocks) around `crm`."""
    others = {role: sandbox_spec(name).settings(make_sandbox(name), "http://127.0.0.1:9", tmp_path)
              for role, name in (("tracker", "harvest"), ("erp", "netsuite"))}

    def build(crm: dict[str, Any]) -> dict[str, Any]:
        return demo_settings(database="sqlite:///:memory:", systems={**others, "crm": crm})

    return build


@pytest.mark.parametrize(("given", "key", "words"), [
    ({"org_url": "contoso.crm.dynamics.com"}, "systems.crm.org_url", "http:// or https:// URL"),
    ({"api_version": "10.0"}, "systems.crm.api_version", "Web API version such as 9.2"),
    ({"page_size": 6000}, "systems.crm.page_size", "less than or equal to 5000"),
    ({"columns": {"tax_id": "Tax Id"}}, "systems.crm.columns.tax_id", "should match pattern"),
    ({"columns": {"vat": "q2c_vat"}}, "systems.crm.columns.vat", "unknown key"),
    ({"client_secret": None}, "systems.crm.client_secret", "client secret"),
    ({"columns": {"erp_owned_copy": "q2c_contractid"}}, "systems.crm.columns", "a text column of its own"),
    ({"columns": {"erp_owned_copy": "ERP copy"}}, "systems.crm.columns.erp_owned_copy", "should match pattern"),
    ({"columns": {"erp_owned_copy": "q2c_ok"}, "change_approval_column": "q2c_ok"}, "systems.crm",
     "also a contract-change column"),
    ({"milestone_status_labels": {"Done": "finished"}}, "systems.crm.milestone_status_labels.Done",
     "'pending', 'completed' or 'accepted'"),
])
def test_a_bad_dynamics_setting_is_named_by_its_key(config_of: Callable[[dict[str, Any]], dict[str, Any]],
                                                   given: dict[str, Any], key: str, words: str,
                                                   tmp_path: Path) -> None:
    crm = {k: v for k, v in {**ORG, **given}.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        parse_config(config_of(crm), base_dir=tmp_path)
    line = next(ln for ln in str(caught.value).splitlines() if key in ln)
    assert words in line, str(caught.value)


def test_a_good_dynamics_config_loads_with_the_documented_defaults(
        config_of: Callable[[dict[str, Any]], dict[str, Any]], tmp_path: Path) -> None:
    loaded = parse_config(config_of(dict(ORG)), base_dir=tmp_path).systems.crm
    assert isinstance(loaded, Dynamics365SalesSettings)
    assert (loaded.api_version, loaded.page_size, loaded.milestones_set) == ("9.2", 1000, "q2c_milestones")
    assert loaded.scope == "https://contoso.crm.dynamics.com/.default"
    assert loaded.columns.contract_id == "q2c_contractid" and loaded.columns.payment_terms == "paymenttermscode"
    assert (loaded.requests_per_five_minutes, loaded.max_concurrent_requests) == (6000, 52)
    assert loaded.columns.erp_owned_copy is None  # an environment without the copy column keeps working


def test_doctor_passes_on_the_sandbox(settings: Dynamics365SalesSettings) -> None:
    result = check(settings, "systems.crm", 5.0)
    assert result.ok, result.line
    assert "application user" in result.detail and "columns q2c reads and writes present" in result.detail


def test_doctor_blocks_on_a_refused_secret_naming_it(settings: Dynamics365SalesSettings) -> None:
    result = check(settings.model_copy(update={"client_secret": SecretStr("wrong")}), "systems.crm", 5.0)
    assert not result.ok and result.blocking and result.key == "systems.crm.client_secret", result.line


def test_doctor_warns_about_a_column_the_environment_lacks(settings: Dynamics365SalesSettings) -> None:
    renamed = settings.columns.model_copy(update={"tax_code": "q2c_vatcode"})
    result = check(settings.model_copy(update={"columns": renamed}), "systems.crm", 5.0)
    assert not result.ok and not result.blocking and result.key == "systems.crm.columns"
    assert "table account has no column q2c_vatcode" in result.detail


def test_doctor_warns_about_a_copy_column_the_environment_lacks(settings: Dynamics365SalesSettings) -> None:
    assert settings.columns.erp_owned_copy == "q2c_erpownedcopy"  # as `q2c sandbox up` writes it
    renamed = settings.columns.model_copy(update={"erp_owned_copy": "q2c_idcopy"})
    result = check(settings.model_copy(update={"columns": renamed}), "systems.crm", 5.0)
    assert not result.ok and not result.blocking and "table opportunity has no column q2c_idcopy" in result.detail


def test_doctor_blocks_when_the_org_url_does_not_answer(settings: Dynamics365SalesSettings) -> None:
    result = check(settings.model_copy(update={"org_url": "https://127.0.0.1:9"}), "systems.crm", 2.0)
    assert not result.ok and result.blocking and result.key == "systems.crm.org_url"
    assert "connection refused" in result.detail
