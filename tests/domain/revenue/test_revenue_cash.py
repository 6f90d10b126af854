"""Cash before performance: a payment ahead of the invoice or of the transfer is an advance (a contract
liability), never a negative receivable (ASC 606-10-45-1..2 / IFRS 15.105-106, IFRS 15 Example 38)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from revenue_builders import ACCOUNTS, DIMENSIONS, contract, obligation, usd

from q2c.domain.model import JournalEntry
from q2c.domain.revenue import (
    Billed,
    Collected,
    ControlTransferred,
    Period,
    Position,
    ProgressFact,
    RecognitionMethod,
    balances,
    journal_entries,
    recognise_periods,
)

POINT = RecognitionMethod.POINT_IN_TIME


def _lines(entries: list[JournalEntry]) -> set[tuple[str, Decimal, Decimal]]:
    (entry,) = entries
    return {(ln.account, ln.debit.amount, ln.credit.amount) for ln in entry.lines}


def test_example_38_case_a_cash_received_before_a_cancellable_contract_is_performed() -> None:
    """IFRS 15 IE198 / ASC 606-10-55-284..285, Example 38 Case A (facts confirmed in KPMG's IFRS 15 handbook, which
    reproduces IE198: cancellable contract of 1 January to transfer a product on 31 March; 1,000 payable in advance
    on 31 January; paid on 1 March; product transferred on 31 March). The entries, from the standard as known to the
    author (not re-checked): (a) 1 March, Dr cash 1,000 / Cr contract liability 1,000 — the contract is cancellable,
    so there is no receivable at the due date and no `Billed` fact is reported; (b) 31 March, Dr contract liability
    1,000 / Cr revenue 1,000.

    Both fall in March, so March's entry is their sum: Dr cash 1,000 / Cr revenue 1,000. With the transfer slipping
    to 15 April (a variant) the two entries land in two periods, as in the example: the receivable is never negative
    and the advance sits in the contract liability at 31 March.
    """
    rc = contract([obligation("P", POINT, 1000)], 1000)
    cash = Collected(id="cash1", obligation_id="", on=date(2026, 3, 1), amount=usd(1000))
    jan, feb, mar = recognise_periods(rc, [cash, ControlTransferred(id="t1", obligation_id="P", on=date(2026, 3, 31))],
                                      first=Period(2026, 1), last=Period(2026, 3))
    assert journal_entries(jan, accounts=ACCOUNTS, dimensions=DIMENSIONS) == []
    assert journal_entries(feb, accounts=ACCOUNTS, dimensions=DIMENSIONS) == []
    assert _lines(journal_entries(mar, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1000 Cash", Decimal("1000.00"), Decimal(0)), ("4000", Decimal(0), Decimal("1000.00"))}

    late = [cash, ControlTransferred(id="t1", obligation_id="P", on=date(2026, 4, 15))]
    mar, apr = recognise_periods(rc, late, first=Period(2026, 3), last=Period(2026, 4))
    assert _lines(journal_entries(mar, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1000 Cash", Decimal("1000.00"), Decimal(0)), ("2300", Decimal(0), Decimal("1000.00"))}
    at_march = balances(mar)
    assert (at_march.receivable, at_march.contract_liability, at_march.cash_in_advance) == (usd(0), usd(1000),
                                                                                             usd(1000))
    assert at_march.position is Position.CONTRACT_LIABILITY
    assert _lines(journal_entries(apr, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("2300", Decimal("1000.00"), Decimal(0)), ("4000", Decimal(0), Decimal("1000.00"))}
    assert balances(apr).position is Position.NIL


def test_example_38_case_b_receivable_then_cash_then_revenue() -> None:
    """IFRS 15 IE199-IE200 / ASC 606-10-55-286, Example 38 Case B (same facts as Case A, confirmed as above, but the
    contract is non-cancellable; entries from the standard as known to the author, not re-checked): (a) 31 January,
    the amount is due: Dr receivable 1,000 / Cr contract liability 1,000; (b) 1 March, Dr cash 1,000 / Cr receivable
    1,000; (c) 31 March, Dr contract liability 1,000 / Cr revenue 1,000. March's entry is (b) + (c).
    """
    rc = contract([obligation("P", POINT, 1000)], 1000)
    facts: list[ProgressFact] = [
        Billed(id="inv1", obligation_id="P", on=date(2026, 1, 31), amount=usd(1000)),
        Collected(id="cash1", obligation_id="", on=date(2026, 3, 1), amount=usd(1000)),
        ControlTransferred(id="t1", obligation_id="P", on=date(2026, 3, 31))]
    jan, feb, mar = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 3))
    assert _lines(journal_entries(jan, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1200", Decimal("1000.00"), Decimal(0)), ("2300", Decimal(0), Decimal("1000.00"))}
    assert balances(jan).position is Position.CONTRACT_LIABILITY and balances(jan).receivable == usd(1000)
    assert journal_entries(feb, accounts=ACCOUNTS, dimensions=DIMENSIONS) == []
    assert _lines(journal_entries(mar, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1000 Cash", Decimal("1000.00"), Decimal(0)), ("1200", Decimal(0), Decimal("1000.00")),
        ("2300", Decimal("1000.00"), Decimal(0)), ("4000", Decimal(0), Decimal("1000.00"))}
    closing = balances(mar)
    assert closing.position is Position.NIL and closing.receivable == usd(0)


def test_an_advance_is_used_up_by_the_invoice_that_follows_it() -> None:
    """A constructed case with the hand figures (the mechanics of Example 38 and 45-2 / IFRS 15.106): price 1,000;
    January the customer pays 600 on account, with no invoice: Dr cash 600 / Cr contract liability 600 (receivable 0,
    not -600). February the invoice for the full 1,000 is issued: 600 of it is already paid, so the receivable is
    400: Dr receivable 400 / Cr contract liability 400. March the product is transferred: Dr contract liability
    1,000 / Cr revenue 1,000. April the customer pays the 400: Dr cash 400 / Cr receivable 400. Every entry balances
    and the ledger ends at nil.
    """
    rc = contract([obligation("P", POINT, 1000)], 1000)
    facts: list[ProgressFact] = [
        Collected(id="c1", obligation_id="", on=date(2026, 1, 10), amount=usd(600)),
        Billed(id="i1", obligation_id="P", on=date(2026, 2, 1), amount=usd(1000)),
        ControlTransferred(id="t1", obligation_id="P", on=date(2026, 3, 20)),
        Collected(id="c2", obligation_id="", on=date(2026, 4, 2), amount=usd(400))]
    jan, feb, mar, apr = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 4))
    assert _lines(journal_entries(jan, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1000 Cash", Decimal("600.00"), Decimal(0)), ("2300", Decimal(0), Decimal("600.00"))}
    assert (balances(jan).receivable, balances(jan).cash_in_advance) == (usd(0), usd(600))
    assert _lines(journal_entries(feb, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1200", Decimal("400.00"), Decimal(0)), ("2300", Decimal(0), Decimal("400.00"))}
    assert (balances(feb).receivable, balances(feb).contract_liability) == (usd(400), usd(1000))
    assert _lines(journal_entries(mar, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("2300", Decimal("1000.00"), Decimal(0)), ("4000", Decimal(0), Decimal("1000.00"))}
    assert _lines(journal_entries(apr, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1000 Cash", Decimal("400.00"), Decimal(0)), ("1200", Decimal(0), Decimal("400.00"))}
    end = balances(apr)
    assert (end.receivable, end.contract_asset, end.contract_liability) == (usd(0), usd(0), usd(0))


def test_an_overpayment_is_a_liability_not_a_negative_receivable() -> None:
    """A constructed case: 1,000 earned and invoiced in January; the customer pays 1,100 in February. The receivable
    goes to 0 (not -100) and the 100 paid beyond what was billed is a contract liability until it is billed or
    earned: Dr cash 1,100 / Cr receivable 1,000 / Cr contract liability 100.
    """
    rc = contract([obligation("P", POINT, 1000)], 1000)
    facts: list[ProgressFact] = [
        ControlTransferred(id="t1", obligation_id="P", on=date(2026, 1, 20)),
        Billed(id="i1", obligation_id="P", on=date(2026, 1, 31), amount=usd(1000)),
        Collected(id="c1", obligation_id="", on=date(2026, 2, 5), amount=usd(1100))]
    _, feb = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 2))
    assert _lines(journal_entries(feb, accounts=ACCOUNTS, dimensions=DIMENSIONS)) == {
        ("1000 Cash", Decimal("1100.00"), Decimal(0)), ("1200", Decimal(0), Decimal("1000.00")),
        ("2300", Decimal(0), Decimal("100.00"))}
    b = balances(feb)
    assert (b.receivable, b.contract_liability, b.cash_in_advance, b.position) == (
        usd(0), usd(100), usd(100), Position.CONTRACT_LIABILITY)
