"""`systems.erp` with `type: business_central`: config errors name the key; the documented defaults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from q2c.config import ConfigError, parse_config
from q2c.connectors.business_central.settings import BusinessCentralSettings
from q2c.entrypoints.demo import demo_settings
from q2c.sandboxes.registry import make_sandbox, sandbox_spec

TENANT = "5d3f6b1e-7a4c-4a8e-9f3b-2c1d0e9f8a7b"
US01 = "8a1c2e3f-1111-4a8e-9f3b-2c1d0e9f8a7b"
UK01 = "8a1c2e3f-2222-4a8e-9f3b-2c1d0e9f8a7b"


@pytest.fixture
def config_of(tmp_path: Path) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A whole q2c config (the demo firm, the Salesforce and Harvest sandboxes' blocks) around `erp`."""
    others = {role: sandbox_spec(name).settings(make_sandbox(name), "http://127.0.0.1:9", tmp_path)
              for role, name in (("crm", "salesforce"), ("tracker", "harvest"))}

    def build(erp: dict[str, Any]) -> dict[str, Any]:
        return demo_settings(database="sqlite:///:memory:", systems={**others, "erp": erp})

    return build


def _erp(**given: Any) -> dict[str, Any]:
    return {"type": "business_central", "tenant_id": TENANT, "client_id": "0b7a3c1d-aaaa-4bbb-8ccc-123456789abc",
            "client_secret": "s3cret", "companies": {"US01": US01, "UK01": UK01},
            "references": {"invoice_accounts": {"time_and_materials": "40100", "fixed_fee": "40200"},
                           "default_invoice_account": "40100", "payment_terms": {"Net 30": "30 DAYS"},
                           "journal": "Q2C", "dimensions": {"service_offering": "SERVICEOFFERING",
                                                            "legal_entity": "LEGALENTITY"}}, **given}


@pytest.mark.parametrize(("given", "key", "words"), [
    ({"companies": {"US01": "not-a-guid"}}, "systems.erp.companies", "is not a company id"),
    ({"companies": {}}, "systems.erp.companies", "at least 1"),
    ({"batch_size": 101}, "systems.erp.batch_size", "less than or equal to 100"),
    ({"page_size": 20_001}, "systems.erp.page_size", "less than or equal to 20000"),
    ({"max_concurrent_requests": 0}, "systems.erp.max_concurrent_requests", "greater than or equal to 1"),
    ({"environment": "my env"}, "systems.erp.environment", "environment's name"),
    ({"api_url": "api.businesscentral.dynamics.com"}, "systems.erp.api_url", "http:// or https://"),
    ({"client_secret": None}, "systems.erp.client_secret", "client secret"),
    ({"references": {"invoice_accounts": {"hourly": "40100"}}}, "systems.erp.references.invoice_accounts",
     "not a billing type"),
    ({"references": {"journal": "A" * 21}}, "systems.erp.references.journal", "Code[20]"),
])
def test_business_central_bad_setting_is_named_by_its_key(config_of: Callable[[dict[str, Any]], dict[str, Any]],
                                                          given: dict[str, Any], key: str, words: str,
                                                          tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config_of(_erp(**given)), base_dir=tmp_path)
    lines = [ln for ln in str(caught.value).splitlines() if key in ln]
    assert lines and any(words in ln for ln in lines), str(caught.value)


def test_business_central_config_loads_with_the_documented_limits(
        config_of: Callable[[dict[str, Any]], dict[str, Any]], tmp_path: Path) -> None:
    loaded = parse_config(config_of(_erp()), base_dir=tmp_path).systems.erp
    assert isinstance(loaded, BusinessCentralSettings)
    # Operational limits: 5 OData requests processed at a time; 6,000 requests per 5 minutes; $batch <= 100
    assert (loaded.max_concurrent_requests, loaded.requests_per_5_minutes, loaded.batch_size) == (5, 6000, 100)
    assert loaded.api_base == f"https://api.businesscentral.dynamics.com/v2.0/{TENANT}/production/api/v2.0"
    assert loaded.extension_base == f"https://api.businesscentral.dynamics.com/v2.0/{TENANT}/production/api/q2c/" \
                                    "integration/v1.0"
    assert loaded.references.invoice_account("fixed_fee") == "40200"
    assert loaded.references.invoice_account("retainer") == "40100"  # the default account
    assert loaded.references.invoice_account(None) == "40100"
