"""`reference.fx_source`: where the dated FX rates come from, its default, and the combinations refused by key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from q2c.config import ConfigError, HubConfig, load_config
from q2c.connectors.netsuite.auth import generate_m2m_keypair


def load(folder: Path, reference: dict[str, Any] | None) -> HubConfig:
    (folder / "netsuite.pem").write_text(generate_m2m_keypair()[0])
    (folder / "eurofxref-hist.csv").write_text("Date,USD,\n2026-11-20,1.1298,\n")
    raw: dict[str, Any] = {
        "systems": {
            "crm": {"type": "salesforce", "login_url": "https://globex-ps.my.salesforce.com",
                    "client_id": "3MVG9example", "client_secret": "5E1F0C0FFEE"},
            "tracker": {"type": "harvest", "account_id": "1439822", "access_token": "1439822.pt.token"},
            "erp": {"type": "netsuite", "account_id": "1234567_SB1", "client_id": "8c1f7a2e",
                    "certificate_id": "oJ3fXc1u", "private_key_path": "netsuite.pem"}},
        "legal_entities": [{"code": "NL01", "name": "NL01 Consulting B.V.", "currency": "EUR"}],
        "service_offerings": [{"code": "IMPL", "name": "Implementation",
                               "tasks": [{"code": "BUILD", "name": "Build"}]}],
        "rate_cards": [{"id": "RC-USD", "currency": "USD", "lines": [
            {"role": "Consultant", "rate": "150.00", "effective_from": "2026-01-01"}]}],
        **({"reference": reference} if reference is not None else {}),
    }
    path = folder / "q2c.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_config(path)


@pytest.mark.parametrize(("reference", "source"), [
    (None, "none"), ({"fx_rates_file": "eurofxref-hist.csv"}, "file"), ({"fx_source": "erp"}, "erp"),
    ({"fx_source": "file", "fx_rates_file": "eurofxref-hist.csv"}, "file"), ({"fx_source": "none"}, "none"),
], ids=["nothing", "a-file", "erp", "file-said", "none-said"])
def test_the_source_of_dated_rates_and_its_default(tmp_path: Path, reference: dict[str, Any] | None,
                                                   source: str) -> None:
    assert load(tmp_path, reference).reference.fx_from == source


@pytest.mark.parametrize(("reference", "said"), [
    ({"fx_source": "erp", "fx_rates_file": "eurofxref-hist.csv"},
     "reference.fx_source: is erp, so reference.fx_rates_file would never be read"),
    ({"fx_source": "none", "fx_rates_file": "eurofxref-hist.csv"},
     "reference.fx_source: is none, so reference.fx_rates_file would never be read"),
    ({"fx_source": "file"}, "reference.fx_rates_file: required key is missing with fx_source: file"),
    ({"fx_source": "netsuite"}, "reference.fx_source: Input should be 'file', 'erp' or 'none' (found 'netsuite')"),
], ids=["erp-and-file", "none-and-file", "file-without-one", "unknown"])
def test_a_source_that_cannot_be_meant_is_refused_by_key(tmp_path: Path, reference: dict[str, Any], said: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, reference)
    assert said in str(refused.value)
