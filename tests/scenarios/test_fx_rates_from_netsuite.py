"""Books kept in EUR with the dated rates the firm keeps in NetSuite (`reference.fx_source: erp`): `q2c reference
sync` reads NetSuite's Currency Exchange Rates, and `q2c close` posts the functional-currency journal at them.

The deal is Acme's USD deal, contracted by NL01 Consulting B.V., whose books (NetSuite subsidiary with base
currency EUR) are in EUR. No rate is in the config and no rates file is read: EUR rates come only from NetSuite.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from scenario_world import ScenarioWorld

from q2c.config import parse_config

NL01 = {"code": "NL01", "name": "NL01 Consulting B.V.", "currency": "EUR", "timezone": "Europe/Amsterdam"}


def books_in_eur(w: ScenarioWorld, *rates: tuple[str, str]) -> None:
    """NL01 set up in NetSuite (a subsidiary with base currency EUR) and in q2c, the Acme deal moved to it before
    q2c sees it, and the accountant's USD rates in EUR ((day, rate), base EUR, currency USD) in NetSuite."""
    ns = w.netsuite.state
    currencies = ns.reference_ids()["currency"]
    subsidiary = ns.seed("subsidiary", {"name": NL01["name"], "currency": currencies["EUR"]})
    for day, rate in rates:
        enter_rate(w, day, rate)
    org = w.salesforce.state
    account = next(a["Id"] for a in org.records("Account") if a["Name"] == "Acme Industrial")
    org.update("Account", account, {"Legal_Entity__c": "NL01"})
    org.update("Opportunity", w.ids["opportunity"], {"Legal_Entity__c": "NL01"})
    settings: dict[str, Any] = w.settings
    settings["legal_entities"] = [*settings["legal_entities"], NL01]
    settings["systems"]["erp"]["references"]["subsidiaries"]["NL01"] = subsidiary
    settings["reference"] = {"fx_source": "erp"}
    w.config = parse_config(settings, base_dir=w.workdir)
    w.write_config(w.config_path)


def enter_rate(w: ScenarioWorld, day: str, rate: str) -> str:
    """Lists > Accounting > Currency Exchange Rates > New: base currency EUR, currency USD."""
    ns = w.netsuite.state
    currencies = ns.reference_ids()["currency"]
    return ns.seed("currencyrate", {"baseCurrency": currencies["EUR"], "transactionCurrency": currencies["USD"],
                                    "exchangeRate": Decimal(rate), "effectiveDate": day})


def journal_lines(w: ScenarioWorld, external_id: str) -> tuple[dict[str, Decimal], str | None, str]:
    """The NetSuite journal entry's movement per account number (debit less credit), its currency and subsidiary."""
    ns = w.netsuite.state
    numbers = {r.id: r.values["acctnumber"] for r in ns.records["account"].values()}
    record = ns.by_external_id("journalentry", external_id)
    assert record is not None, f"NetSuite has no journal entry {external_id}"
    moved: dict[str, Decimal] = {}
    for line in record.values["line"]:
        account = line["account"]["id"] if isinstance(line["account"], dict) else line["account"]
        number = numbers[str(account)]
        moved[number] = moved.get(number, Decimal(0)) + Decimal(str(line.get("debit") or 0)) - \
            Decimal(str(line.get("credit") or 0))
    return ({k: v for k, v in moved.items() if v}, record.values.get("currency"), str(record.values["subsidiary"]))


def test_the_close_posts_the_eur_journal_at_netsuites_rate(scenario: ScenarioWorld) -> None:
    """NetSuite holds USD in EUR 0.8650 from Nov 2 and 0.861237 from Nov 27, and 0.8590 from Dec 1 (not in force
    yet). Blueprint (USD 5,000.00) is completed Nov 20 and invoiced at the Nov 30 close. The rate in force on
    Nov 30 is Nov 27's: 5,000.00 x 0.861237 = 4,306.185, EUR 4,306.19 to the cent (half up). The EUR journal
    debits the receivable 4,306.19 and credits revenue 4,306.19 (billed and earned the same day, at one rate, so
    no exchange difference); the USD journal moves 5,000.00."""
    w = scenario
    books_in_eur(w, ("2026-11-02", "0.8650"), ("2026-11-27", "0.861237"), ("2026-12-01", "0.8590"))
    assert w.q2c("sync").exit_code == 0
    c = w.contract_id()
    w.complete("blueprint", "2026-11-20")
    synced = w.q2c("reference", "sync")
    assert "FX rates: NetSuite currency exchange rates, 3 days, pairs USD->EUR: 3 new, 0 changed" in synced.stdout
    assert "FX check: every active contract has the rates its close needs" in synced.stdout
    assert "reference.fx_rate_missing" not in synced.output
    shown = w.q2c("reference", "show", "--json")
    (pair,) = json.loads(shown.stdout)["fx_pairs"]
    assert [(r["on"], r["rate"], r["source"]) for r in pair["rates"]] == [
        ("2026-12-01", "0.8590", "NetSuite currency exchange rates"),
        ("2026-11-27", "0.861237", "NetSuite currency exchange rates"),
        ("2026-11-02", "0.8650", "NetSuite currency exchange rates")]
    assert w.q2c("reference", "sync").stdout.count("0 new, 0 changed") == 1  # read again: nothing new

    closed = w.q2c("close", "--date", "2026-11-30")
    assert "billing and revenue close run for 1 contracts as of 2026-11-30" in closed.stdout, closed.output
    assert "missing FX rate" not in closed.output
    eur, currency, subsidiary = journal_lines(w, f"JE-REV-{c}-2026-11-EUR")
    assert eur == {"1200": Decimal("4306.19"), "4000": Decimal("-4306.19")}
    ns = w.netsuite.state
    assert currency == ns.reference_ids()["currency"]["EUR"]
    assert subsidiary == ns.reference_ids()["subsidiary"]["NL01 Consulting B.V."]
    usd, _, _ = journal_lines(w, f"JE-REV-{c}-2026-11")
    assert usd == {"1200": Decimal("5000.00"), "4000": Decimal("-5000.00")}
    assert fx_or_revenue_rules(w) == []


def fx_or_revenue_rules(w: ScenarioWorld) -> list[str]:
    """The open exceptions about FX rates or the revenue close (the others, about people, are not this story's)."""
    return [r for r in w.open_rules() if r.startswith(("reference.fx", "revenue."))]


def test_a_day_netsuite_has_no_rate_for_is_raised_before_the_close(scenario: ScenarioWorld) -> None:
    """NetSuite's first USD rate in EUR is of Dec 1, so the close of November (Nov 30, the end of the contract's
    first period and its invoice date) has none: `q2c reference sync` raises reference.fx_rate_missing naming the
    contract, USD->EUR and 2026-11-30, `q2c close` says so before it closes, and no EUR journal reaches
    NetSuite. Once the accountant enters Nov 27's rate, the next sync closes the exception."""
    w = scenario
    books_in_eur(w, ("2026-12-01", "0.8590"))
    assert w.q2c("sync").exit_code == 0
    c = w.contract_id()
    w.complete("blueprint", "2026-11-20")
    synced = w.q2c("reference", "sync")
    assert synced.exit_code == 1
    assert "reference.fx_rate_missing" in synced.stderr and "no USD->EUR rate is in force on 2026-11-30" in \
        synced.stderr
    gap = w.exception("reference.fx_rate_missing").violation
    assert (gap.record_id, gap.field) == (c, "fx_rates")
    assert "in NetSuite's currency exchange rates (base currency EUR, currency USD)" in gap.action

    closed = w.q2c("close", "--date", "2026-11-30")
    assert closed.exit_code == 1
    assert "missing FX rate [reference.fx_rate_missing] q2c contract " + c in closed.stderr
    assert w.netsuite.state.by_external_id("journalentry", f"JE-REV-{c}-2026-11-EUR") is None

    enter_rate(w, "2026-11-27", "0.861237")
    again = w.q2c("reference", "sync")
    assert "pairs USD->EUR: 1 new, 0 changed" in again.stdout
    assert "reference.fx_rate_missing" not in fx_or_revenue_rules(w)
