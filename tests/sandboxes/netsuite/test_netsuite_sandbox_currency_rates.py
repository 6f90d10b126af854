"""Currency Exchange Rates in the sandbox account: the seeded `currencyrate` table, read through SuiteQL as any
client would (plain HTTP), and held read-only like the other set-up lists."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from netsuite_sandbox_calls import Caller

from q2c.sandboxes.netsuite.app import NetSuiteSandbox

COLUMNS = "id, basecurrency, transactioncurrency, exchangerate, effectivedate"


def test_a_new_account_holds_the_rates_an_administrator_entered(caller: Caller) -> None:
    """Base USD (1): GBP 1.2650, CAD 0.7150, EUR 1.1560; base GBP (2): USD 0.790514, EUR 0.913834, all from
    2026-11-02. Currencies are internal ids (BUILTIN.DF shows the symbol); numbers and dates as SuiteQL writes
    them (digits, M/D/YYYY)."""
    rows = caller.rows(f"SELECT {COLUMNS} FROM currencyrate ORDER BY id")
    assert [(r["basecurrency"], r["transactioncurrency"], r["exchangerate"], r["effectivedate"]) for r in rows] == [
        ("1", "2", "1.2650", "11/2/2026"), ("1", "3", "0.7150", "11/2/2026"), ("1", "4", "1.1560", "11/2/2026"),
        ("2", "1", "0.790514", "11/2/2026"), ("2", "4", "0.913834", "11/2/2026")]
    named = caller.rows("SELECT id, BUILTIN.DF(basecurrency) AS base, BUILTIN.DF(transactioncurrency) AS foreign "
                        "FROM currencyrate WHERE basecurrency = 2 ORDER BY id")
    assert [(r["base"], r["foreign"]) for r in named] == [("GBP", "USD"), ("GBP", "EUR")]
    symbols = caller.rows("SELECT id, symbol FROM currency ORDER BY id")
    assert {r["id"]: r["symbol"] for r in symbols} == {"1": "USD", "2": "GBP", "3": "CAD", "4": "EUR"}


def test_rates_filter_on_the_day_they_were_changed_and_page(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    """A rate entered later is found by `lastmodifieddate >= 'M/D/YYYY'`; the older ones are not. Paged like any
    SuiteQL answer (limit 2: hasMore, then the rest)."""
    state = sandbox.state
    for record in state.records["currencyrate"].values():
        record.modified = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    eur = state.reference_ids()["currency"]["EUR"]
    usd = state.reference_ids()["currency"]["USD"]
    added = state.seed("currencyrate", {"baseCurrency": eur, "transactionCurrency": usd,
                                        "exchangeRate": Decimal("0.861237"), "effectiveDate": "2026-11-27"})
    state.records["currencyrate"][added].modified = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)
    changed = caller.rows(f"SELECT {COLUMNS} FROM currencyrate WHERE lastmodifieddate >= '11/27/2026' ORDER BY id")
    assert changed == [{"id": added, "basecurrency": eur, "transactioncurrency": usd, "exchangerate": "0.861237",
                        "effectivedate": "11/27/2026"}]
    first = caller.suiteql("SELECT id FROM currencyrate ORDER BY id", limit=2).json()
    assert (first["count"], first["hasMore"], first["totalResults"]) == (2, True, 6)
    rest = caller.suiteql("SELECT id FROM currencyrate ORDER BY id", limit=4, offset=2).json()
    assert [i["id"] for i in rest["items"]] == ["42", "43", "44", added] and rest["hasMore"] is False
    on = caller.rows("SELECT id FROM currencyrate WHERE effectivedate > '11/2/2026'")
    stored = state.get("currencyrate", added)
    assert on == [{"id": added}] and stored is not None and stored.values["effectivedate"] == date(2026, 11, 27)


def test_rates_are_the_administrators_and_refused_to_clients(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    answer = caller.record("POST", "currencyrate", {"baseCurrency": {"id": "4"}, "transactionCurrency": {"id": "1"},
                                                    "exchangeRate": 0.9, "effectiveDate": "2026-11-30"})
    assert answer.status_code == 405 and "read-only" in answer.text
    assert sandbox.state.count("currencyrate") == 5
    read = caller.record("GET", "currencyrate/42")
    assert read.status_code == 200 and read.json()["exchangeRate"] == 1.156
    with pytest.raises(ValueError, match="transactionCurrency"):  # a currency the account does not have
        sandbox.state.seed("currencyrate", {"baseCurrency": "4", "transactionCurrency": "99",
                                            "exchangeRate": Decimal("0.9"), "effectiveDate": "2026-11-30"})
