"""Multi-currency by the book: invoices and cash at the rates of their dates, advances and the revenue released
from them at historical rates (IFRIC 22), receivables and contract assets remeasured at the period-end rate with
the exchange difference on its own account (IAS 21.23, 21.28 / ASC 830-20-35-1), balances carried from period to
period so the functional ledger never holds an orphan balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from revenue_builders import ACCOUNTS, DIMENSIONS, contract, obligation, usd

from q2c.domain.model import JournalEntry
from q2c.domain.money import Money
from q2c.domain.revenue import (
    Billed,
    Collected,
    ControlTransferred,
    FxRate,
    FxTable,
    MissingFxRate,
    Period,
    ProgressFact,
    RecognitionMethod,
    RevenueError,
    journal_entries,
    recognise,
    recognise_periods,
)

POINT = RecognitionMethod.POINT_IN_TIME
FX_ACCOUNT = ACCOUNTS.fx_gain_loss
CASH = ACCOUNTS.cash


def eur(amount: str | int) -> Money:
    return Money.of(amount, "EUR")


def _rates(*pairs: tuple[date, str]) -> FxTable:
    return FxTable(tuple(FxRate("USD", "EUR", Decimal(rate), on) for on, rate in pairs))


def _functional_lines(entries: list[JournalEntry]) -> set[tuple[str, Decimal, Decimal]]:
    (entry,) = [e for e in entries if e.id.endswith("-EUR")]
    return {(ln.account, ln.debit.amount, ln.credit.amount) for ln in entry.lines}


def test_ifric_22_example_4_advance_then_two_deliveries() -> None:
    """IFRIC 22 IE16-IE22, Example 4, multiple receipts for revenue recognised at multiple points in time (facts
    confirmed: contract of 1 January for two products, transferred on 1 March and 1 June; price FC1,000 of which
    FC200 is due and received in advance on 31 January and the balance on 1 June; FC450 allocated to the first
    product and FC550 to the second; on the first transfer the entity has an unconditional right to FC250; rates
    FC1 = LC1.50 on 31 January, 1.70 on 1 March, 1.90 on 1 June; entry (a) Dr cash 300 / Cr contract liability 300).
    Here FC is USD and LC is EUR. The later entries are derived:

    * (b) 1 March: the advance is released at its own rate, 200 x 1.50 = 300, and the receivable of 250 arises at
      1.70 = 425: Dr contract liability 300, Dr receivable 425 / Cr revenue 725;
    * (c) 1 June: cash 800 x 1.90 = 1,520; the receivable is settled at its carrying amount 425; revenue of the
      second product 550 x 1.90 = 1,045; the exchange gain on the receivable 250 x (1.90 - 1.70) = 50:
      Dr cash 1,520 / Cr receivable 425, Cr revenue 1,045, Cr exchange gain 50.

    With no rate between those dates the period-end remeasurements in February, April and May change nothing.
    """
    rc = contract([obligation("A", POINT, 450), obligation("B", POINT, 550)], 1000)
    fx = _rates((date(2026, 1, 31), "1.50"), (date(2026, 3, 1), "1.70"), (date(2026, 6, 1), "1.90"))
    facts: list[ProgressFact] = [
        Billed(id="i1", obligation_id="A", on=date(2026, 1, 31), amount=usd(200)),
        Collected(id="c1", obligation_id="", on=date(2026, 1, 31), amount=usd(200)),
        ControlTransferred(id="t1", obligation_id="A", on=date(2026, 3, 1)),
        Billed(id="i2", obligation_id="A", on=date(2026, 3, 1), amount=usd(250)),
        ControlTransferred(id="t2", obligation_id="B", on=date(2026, 6, 1)),
        Billed(id="i3", obligation_id="B", on=date(2026, 6, 1), amount=usd(550)),
        Collected(id="c2", obligation_id="", on=date(2026, 6, 1), amount=usd(800))]
    jan, feb, mar, apr, may, jun = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 6),
                                                     functional_currency="EUR", fx=fx)

    def entries(rec: object) -> list[JournalEntry]:
        return journal_entries(rec, accounts=ACCOUNTS, dimensions=DIMENSIONS)  # type: ignore[arg-type]

    assert _functional_lines(entries(jan)) == {(CASH, Decimal("300.00"), Decimal(0)),
                                               ("2300", Decimal(0), Decimal("300.00"))}
    assert entries(feb) == [] and entries(apr) == [] and entries(may) == []
    assert _functional_lines(entries(mar)) == {("2300", Decimal("300.00"), Decimal(0)),
                                               ("1200", Decimal("425.00"), Decimal(0)),
                                               ("4000", Decimal(0), Decimal("725.00"))}
    assert mar.functional is not None and mar.functional.released == eur(725)
    assert _functional_lines(entries(jun)) == {(CASH, Decimal("1520.00"), Decimal(0)),
                                               ("1200", Decimal(0), Decimal("425.00")),
                                               ("4000", Decimal(0), Decimal("1045.00")),
                                               (FX_ACCOUNT, Decimal(0), Decimal("50.00"))}
    assert jun.functional is not None and jun.functional.exchange_difference == eur(50)
    closing = jun.functional.closing
    assert (closing.receivable, closing.contract_asset, closing.contract_liability) == (eur(0), eur(0), eur(0))
    usd_june = next(e for e in entries(jun) if not e.id.endswith("-EUR"))
    assert {(ln.account, ln.debit.amount, ln.credit.amount) for ln in usd_june.lines} == {
        (CASH, Decimal("800.00"), Decimal(0)), ("1200", Decimal(0), Decimal("250.00")),
        ("4000", Decimal(0), Decimal("550.00"))}
    assert "exchange gain EUR 50.00 to 7980" in _memo(entries(jun))


def _memo(entries: list[JournalEntry]) -> str:
    return next(e for e in entries if e.id.endswith("-EUR")).memo


def test_a_receivable_is_remeasured_each_period_end_and_settled_at_the_cash_rate() -> None:
    """IAS 21.23(a) and 21.28 (monetary items at the closing rate, differences in profit or loss), a constructed
    three-period case with the hand figures: USD 1,000 of time invoiced on 31 January at USD1 = EUR0.90: revenue and
    receivable EUR 900. 28 February, rate 0.95: the receivable is EUR 950, an exchange gain of 50 (Dr receivable 50 /
    Cr exchange 50). 15 March the customer pays at 0.92: cash EUR 920 against the receivable carried at 950, an
    exchange loss of 30 (Dr cash 920, Dr exchange 30 / Cr receivable 950). Over the three periods the receivable
    account nets to zero (900 + 50 - 950) and the exchange account to a gain of 20 = 1,000 x (0.92 - 0.90).
    """
    rc = contract([obligation("TM", RecognitionMethod.RIGHT_TO_INVOICE, None)], 0)
    fx = _rates((date(2026, 1, 31), "0.90"), (date(2026, 2, 28), "0.95"), (date(2026, 3, 15), "0.92"))
    facts: list[ProgressFact] = [Billed(id="i1", obligation_id="TM", on=date(2026, 1, 31), amount=usd(1000)),
                                 Collected(id="c1", obligation_id="", on=date(2026, 3, 15), amount=usd(1000))]
    jan, feb, mar = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 3),
                                      functional_currency="EUR", fx=fx)
    assert _functional_lines(journal_entries(jan, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1200", Decimal("900.00"), Decimal(0)), ("4000", Decimal(0), Decimal("900.00"))}
    assert _functional_lines(journal_entries(feb, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1200", Decimal("50.00"), Decimal(0)), (FX_ACCOUNT, Decimal(0), Decimal("50.00"))}
    assert _functional_lines(journal_entries(mar, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        (CASH, Decimal("920.00"), Decimal(0)), (FX_ACCOUNT, Decimal("30.00"), Decimal(0)),
        ("1200", Decimal(0), Decimal("950.00"))}
    assert mar.functional is not None and mar.functional.closing.receivable == eur(0)
    usd_feb = journal_entries(feb, accounts=ACCOUNTS, dimensions=DIMENSIONS)
    assert len(usd_feb) == 1  # nothing moved in USD in February: only the remeasurement in EUR


def test_a_contract_asset_is_remeasured_then_reclassified_to_the_receivable() -> None:
    """A constructed case (q2c treats the contract asset as monetary, a right to a determinable amount of currency,
    so it is remeasured like the receivable): a product worth USD 1,000 transferred on 20 January, not yet invoiced;
    31 January USD1 = EUR0.90: revenue and contract asset EUR 900. 28 February 0.95: contract asset 950, gain 50.
    10 March the invoice (0.93); 31 March 0.94: receivable 1,000 x 0.94 = 940 against the contract asset of 950
    derecognised, a loss of 10 (Dr receivable 940, Dr exchange 10 / Cr contract asset 950).
    """
    rc = contract([obligation("P", POINT, 1000)], 1000)
    fx = _rates((date(2026, 1, 31), "0.90"), (date(2026, 2, 28), "0.95"), (date(2026, 3, 10), "0.93"),
                (date(2026, 3, 31), "0.94"))
    facts: list[ProgressFact] = [ControlTransferred(id="t1", obligation_id="P", on=date(2026, 1, 20)),
                                 Billed(id="i1", obligation_id="P", on=date(2026, 3, 10), amount=usd(1000))]
    jan, feb, mar = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 3),
                                      functional_currency="EUR", fx=fx)
    assert _functional_lines(journal_entries(jan, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1250", Decimal("900.00"), Decimal(0)), ("4000", Decimal(0), Decimal("900.00"))}
    assert _functional_lines(journal_entries(feb, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1250", Decimal("50.00"), Decimal(0)), (FX_ACCOUNT, Decimal(0), Decimal("50.00"))}
    assert _functional_lines(journal_entries(mar, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1200", Decimal("940.00"), Decimal(0)), (FX_ACCOUNT, Decimal("10.00"), Decimal(0)),
        ("1250", Decimal(0), Decimal("950.00"))}


def test_the_functional_chain_refuses_to_start_in_the_middle_or_to_drop_its_balances() -> None:
    rc = contract([obligation("P", POINT, 1000)], 1000)
    fx = _rates((date(2026, 1, 1), "0.90"))
    facts: list[ProgressFact] = [Billed(id="i1", obligation_id="P", on=date(2026, 1, 10), amount=usd(1000))]
    plain = recognise(rc, facts, period=Period(2026, 1))
    with pytest.raises(RevenueError, match="carries no EUR balances"):
        recognise(rc, facts, period=Period(2026, 2), prior=plain, functional_currency="EUR", fx=fx)
    with pytest.raises(RevenueError, match="a EUR entry was asked for, but the recognition carries no functional"):
        journal_entries(plain, accounts=ACCOUNTS, dimensions={}, functional_currency="EUR", fx=fx)
    translated = recognise(rc, facts, period=Period(2026, 1), functional_currency="EUR", fx=fx)
    with pytest.raises(RevenueError, match="carries balances in EUR; recognise with functional_currency='EUR'"):
        recognise(rc, facts, period=Period(2026, 2), prior=translated, functional_currency="USD")
    with pytest.raises(MissingFxRate, match="functional currency EUR differs from USD; an FX table"):
        recognise(rc, facts, period=Period(2026, 2), prior=translated)  # the prior's currency carries on
    with pytest.raises(MissingFxRate, match="no USD->EUR rate in force on 2025-12-31"):
        recognise(rc, [Billed(id="i0", obligation_id="P", on=date(2025, 12, 31), amount=usd(1))],
                  period=Period(2026, 1), functional_currency="EUR", fx=fx)
    carried = recognise(rc, facts, period=Period(2026, 2), prior=translated, functional_currency="EUR", fx=fx)
    assert carried.functional is not None and carried.functional.opening == translated.functional.closing  # type: ignore[union-attr]
