"""The config's reference data: dated rate card lines, the lines refused (named by card, line and field), card
ids, and the reference rates file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from q2c.config import ConfigError, load_config
from q2c.connectors.netsuite.auth import generate_m2m_keypair
from q2c.domain.money import Money


def settings(*lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "database": "sqlite:///q2c.sqlite",
        "systems": {
            "crm": {"type": "salesforce", "login_url": "https://globex-ps.my.salesforce.com",
                    "client_id": "3MVG9example", "client_secret": "5E1F0C0FFEE"},
            "tracker": {"type": "harvest", "account_id": "1439822", "access_token": "1439822.pt.token"},
            "erp": {"type": "netsuite", "account_id": "1234567_SB1", "client_id": "8c1f7a2e",
                    "certificate_id": "oJ3fXc1u", "private_key_path": "netsuite.pem"},
        },
        "legal_entities": [{"code": "US01", "name": "US01 Consulting Inc.", "currency": "USD"}],
        "service_offerings": [{"code": "IMPL", "name": "Implementation",
                               "tasks": [{"code": "BUILD", "name": "Build"}]}],
        "rate_cards": [{"id": "RC-USD", "currency": "USD", "lines": [
            {"role": "Consultant", "rate": "150.00", "effective_from": "2026-01-01"},
            {"role": "Architect", "rate": "200.00", "effective_from": "2026-01-01"}, *lines]}],
        **extra,
    }


def load(folder: Path, raw: dict[str, Any]) -> Any:
    (folder / "netsuite.pem").write_text(generate_m2m_keypair()[0])
    path = folder / "q2c.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_config(path)


def refused(folder: Path, raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load(folder, raw)
    return str(caught.value)


def test_a_dated_line_supersedes_the_open_ended_one_from_its_day(tmp_path: Path) -> None:
    cfg = load(tmp_path, settings({"role": "Consultant", "rate": "165.00", "effective_from": "2026-11-16"},
                                  {"role": "Consultant", "resource": "alice@example.com", "rate": "170.00",
                                   "effective_from": "2026-12-01", "effective_to": "2026-12-31"}))
    card = cfg.rate_card("RC-USD")
    assert card is not None and [(ln.rate, ln.effective_from.isoformat()) for ln in card.lines][2:] == [
        (Money.of("165.00", "USD"), "2026-11-16"), (Money.of("170.00", "USD"), "2026-12-01")]
    assert cfg.rate_card("RC-GONE") is None
    assert cfg.rate_card_for("USD") is card  # the card setup copies is the one in force


@pytest.mark.parametrize(("line", "key", "fragment"), [
    ({"role": "Consultant", "rate": "165.00", "effective_from": "2026-01-01"},
     "rate_cards.0.lines.2.effective_from", "role 'Consultant': starts 2026-01-01, the same day as line 0"),
    ({"role": "Architect", "rate": "210.00", "effective_from": "2026-11-16", "effective_to": "2026-11-01"},
     "rate_cards.0.lines.2.effective_to", "ends 2026-11-01 before it starts 2026-11-16"),
    ({"role": "Architect", "rate": "-1.00", "effective_from": "2026-11-16"},
     "rate_cards.0.lines.2.rate", "rate USD -1.00 is negative"),
])
def test_a_line_that_cannot_price_a_day_is_refused_naming_it(tmp_path: Path, line: dict[str, Any], key: str,
                                                              fragment: str) -> None:
    message = refused(tmp_path, settings(line))
    assert f"{key}: " in message and fragment in message, message


def test_card_ids_are_unique_and_defaults_name_a_card_of_their_currency(tmp_path: Path) -> None:
    twice = settings()
    twice["rate_cards"].append({**twice["rate_cards"][0]})
    assert "rate_cards.1.id: rate card id 'RC-USD' is already used by rate_cards.0" in refused(tmp_path, twice)
    message = refused(tmp_path, settings(default_rate_card={"USD": "RC-2027"}))
    assert "default_rate_card.USD: names rate card 'RC-2027', but no card has that id; allowed: RC-USD" in message


def test_the_reference_rates_file_is_the_config_folders_and_a_published_format(tmp_path: Path) -> None:
    cfg = load(tmp_path, settings(reference={"fx_rates_file": "rates/eurofxref-hist.csv", "refresh_seconds": 600}))
    assert cfg.reference.fx_rates_file == tmp_path / "rates" / "eurofxref-hist.csv"
    assert cfg.reference.refresh_seconds == 600
    assert load(tmp_path, settings()).reference.fx_rates_file is None
    message = refused(tmp_path, settings(reference={"fx_rates_file": "rates.json"}))
    assert "reference.fx_rates_file: must name a euro reference rates file ending in .csv, .xml or .zip" in message
    assert "reference.refresh_seconds" in refused(tmp_path, settings(reference={"refresh_seconds": 0}))
