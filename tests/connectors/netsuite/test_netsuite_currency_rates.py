"""The account's Currency Exchange Rates through the ERP port: SuiteQL on `currencyrate`, currencies mapped from
internal ids (the config's `references.currencies`, else the currency record's symbol), paged, and a rate that
cannot be read refused naming the record."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from netsuite_fixtures import ClientFactory, references

from q2c.connectors.netsuite.erp import NetSuiteErp
from q2c.connectors.netsuite.mapping import currency_rate_from_netsuite
from q2c.domain.revenue import FxRate
from q2c.engine.errors import RecordRejected
from q2c.sandboxes.netsuite.app import NetSuiteSandbox

NOV2, NOV27 = date(2026, 11, 2), date(2026, 11, 27)
CODES = {"1": "USD", "2": "GBP", "3": "CAD", "4": "EUR"}


def seed_rate(sandbox: NetSuiteSandbox, base: str, foreign: str, rate: str, on: date) -> str:
    ids = sandbox.state.reference_ids()["currency"]
    return sandbox.state.seed("currencyrate", {"baseCurrency": ids[base], "transactionCurrency": ids[foreign],
                                               "exchangeRate": Decimal(rate), "effectiveDate": on.isoformat()})


def test_the_seeded_rates_read_as_transaction_to_base(make_client: ClientFactory) -> None:
    """NetSuite: 1 transaction currency = exchangerate base currency. Base USD holds GBP 1.2650, so 1 GBP is
    1.2650 USD (GBP->USD); base GBP holds USD 0.790514 (USD->GBP)."""
    assert NetSuiteErp(make_client()).currency_rates(None) == [
        FxRate("CAD", "USD", Decimal("0.7150"), NOV2), FxRate("EUR", "GBP", Decimal("0.913834"), NOV2),
        FxRate("EUR", "USD", Decimal("1.1560"), NOV2), FxRate("GBP", "USD", Decimal("1.2650"), NOV2),
        FxRate("USD", "GBP", Decimal("0.790514"), NOV2)]


def test_only_rates_changed_since_are_read_and_the_latest_entry_of_a_day_wins(make_client: ClientFactory,
                                                                              sandbox: NetSuiteSandbox) -> None:
    """The set-up rates were entered on Nov 2; on Nov 27 the accountant enters USD in EUR 0.8612, then corrects it
    to 0.861237 with a second entry the same day: a read since Nov 27 gets that one rate, the later entry."""
    for record in sandbox.state.records["currencyrate"].values():
        record.modified = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    for rate in ("0.8612", "0.861237"):
        entered = seed_rate(sandbox, "EUR", "USD", rate, NOV27)
        sandbox.state.records["currencyrate"][entered].modified = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    erp = NetSuiteErp(make_client())
    assert erp.currency_rates(NOV27) == [FxRate("USD", "EUR", Decimal("0.861237"), NOV27)]
    assert erp.currency_rates(date(2026, 11, 28)) == []
    assert len(erp.currency_rates(None)) == 6


def test_currencies_the_config_leaves_out_are_read_by_their_symbol(make_client: ClientFactory,
                                                                   sandbox: NetSuiteSandbox) -> None:
    """Without references.currencies the currency records' symbols name them; a configured id wins over the
    symbol (the config says internal id 3, whose symbol is CAD, is AUD)."""
    bare = references(sandbox).model_copy(update={"currencies": {}})
    by_symbol = NetSuiteErp(make_client(references=bare)).currency_rates(None)
    assert by_symbol == NetSuiteErp(make_client()).currency_rates(None)
    refs = references(sandbox).model_copy(update={"currencies": {"AUD": "3"}})
    found = NetSuiteErp(make_client(references=refs)).currency_rates(None)
    assert [(r.from_currency, r.to_currency) for r in found] == [
        ("AUD", "USD"), ("EUR", "GBP"), ("EUR", "USD"), ("GBP", "USD"), ("USD", "GBP")]


def test_more_rates_than_a_page_are_all_read(make_client: ClientFactory, sandbox: NetSuiteSandbox) -> None:
    """1,200 daily USD rates in EUR (more than SuiteQL's 1,000 a page), plus the five of the set-up."""
    first = date(2023, 1, 1)
    for n in range(1200):
        seed_rate(sandbox, "EUR", "USD", f"0.9{n:04d}", date.fromordinal(first.toordinal() + n))
    found = NetSuiteErp(make_client()).currency_rates(None)
    daily = [r for r in found if (r.from_currency, r.to_currency) == ("USD", "EUR")]
    assert len(found) == 1205 and len(daily) == 1200
    assert (daily[0].on, daily[0].rate, daily[-1].on, daily[-1].rate) == (
        first, Decimal("0.90000"), date(2026, 4, 14), Decimal("0.91199"))


def test_a_rate_that_cannot_be_read_is_refused_naming_the_record(make_client: ClientFactory,
                                                                  sandbox: NetSuiteSandbox) -> None:
    zero = seed_rate(sandbox, "EUR", "USD", "0", NOV27)
    with pytest.raises(RecordRejected) as refused:
        NetSuiteErp(make_client()).currency_rates(None)
    v = refused.value.violation
    assert (v.system, v.object, v.record_id, v.field, v.rule) == (
        "netsuite", "currencyrate", zero, "exchangerate", "netsuite.mapping.currency_rate_unreadable")
    assert "'0' is not a positive rate" in v.message and f"currency rate {zero}" in v.action


def test_a_currency_without_an_iso_code_is_refused_naming_the_record(make_client: ClientFactory,
                                                                      sandbox: NetSuiteSandbox) -> None:
    """A currency an administrator added with a symbol that is no ISO 4217 code, and no configured code."""
    state = sandbox.state
    token = state.seed("currency", {"name": "Loyalty points", "symbol": "PTS"})
    entered = state.seed("currencyrate", {"baseCurrency": state.reference_ids()["currency"]["EUR"],
                                          "transactionCurrency": token, "exchangeRate": Decimal("0.01"),
                                          "effectiveDate": "2026-11-27"})
    with pytest.raises(RecordRejected) as refused:
        NetSuiteErp(make_client()).currency_rates(None)
    v = refused.value.violation
    assert (v.object, v.record_id, v.field) == ("currencyrate", entered, "transactioncurrency")
    assert f"transactioncurrency is currency {token} and its symbol is 'PTS', not an ISO 4217 code" in v.message
    assert "netsuite.references.currencies" in v.action


@pytest.mark.parametrize(("row", "field", "said"), [
    ({"exchangerate": "1,0852"}, "exchangerate", "'1,0852' is not a number"),
    ({"exchangerate": ""}, "exchangerate", "'' is not a number"),
    ({"exchangerate": "-0.9"}, "exchangerate", "'-0.9' is not a positive rate"),
    ({"exchangerate": "NaN"}, "exchangerate", "'NaN' is not a positive rate"),
    ({"effectivedate": "11/31/2026"}, "effectivedate", "'11/31/2026' is not a date"),
    ({"effectivedate": ""}, "effectivedate", "'' is not a date"),
    ({"basecurrency": ""}, "basecurrency", "basecurrency is empty"),
    ({"transactioncurrency": "9"}, "transactioncurrency", "currency 9 and no symbol was found for it"),
    ({"transactioncurrency": "4"}, "transactioncurrency", "base and transaction currency are both EUR"),
], ids=["comma", "empty-rate", "negative", "nan", "no-such-day", "no-date", "no-base", "unknown-id", "same"])
def test_each_unreadable_value_is_named(row: dict[str, str], field: str, said: str) -> None:
    good = {"id": "501", "basecurrency": "4", "transactioncurrency": "1", "exchangerate": ".861237",
            "effectivedate": "11/27/2026"}
    assert currency_rate_from_netsuite(good, codes=CODES) == FxRate("USD", "EUR", Decimal("0.861237"), NOV27)
    assert currency_rate_from_netsuite({**good, "effectivedate": "2026-11-27"}, codes=CODES).on == NOV27
    with pytest.raises(RecordRejected) as refused:
        currency_rate_from_netsuite({**good, **row}, codes=CODES)
    v = refused.value.violation
    assert (v.object, v.record_id, v.field) == ("currencyrate", "501", field) and said in v.message
