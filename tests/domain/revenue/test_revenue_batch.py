"""The numpy fast path gives the same numbers as the Decimal/Money reference, to the cent."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from revenue_builders import ACCOUNTS

from q2c.domain.revenue import (
    Billed,
    PerformanceObligation,
    Period,
    Recognition,
    RecognitionMethod,
    RevenueContract,
    StandaloneSellingPrice,
    TransactionPrice,
    balances,
    journal_entries,
    recognise,
)
from q2c.domain.revenue.batch import MonthClose, allocate_batch, close_month, posted_through, spread_batch
from q2c.domain.revenue.methods import cumulative_spread
from q2c.domain.revenue.minor_units import from_units, largest_remainder, to_units

CHECK = settings(max_examples=150, deadline=None)


@CHECK
@given(st.lists(st.tuples(st.integers(0, 10**12), st.lists(st.integers(0, 10**9), min_size=1, max_size=6)),
                min_size=1, max_size=30).filter(lambda rows: all(sum(w) > 0 for _, w in rows)))
def test_allocate_batch_equals_largest_remainder(rows: list[tuple[int, list[int]]]) -> None:
    k = max(len(w) for _, w in rows)
    price = np.array([p for p, _ in rows], dtype=np.int64)
    ssp = np.array([w + [0] * (k - len(w)) for _, w in rows], dtype=np.int64)
    fast = allocate_batch(price, ssp)
    for i, (p, w) in enumerate(rows):
        assert fast[i].tolist() == largest_remainder(p, w + [0] * (k - len(w)))


def test_allocate_batch_falls_back_to_exact_integers_when_int64_could_overflow() -> None:
    price = np.array([9 * 10**15, 100], dtype=np.int64)
    ssp = np.array([[3 * 10**15, 10**15, 7], [1, 1, 1]], dtype=np.int64)
    assert allocate_batch(price, ssp)[0].tolist() == largest_remainder(9 * 10**15, [3 * 10**15, 10**15, 7])


@CHECK
@given(st.lists(st.tuples(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 31), min_size=1, max_size=40)),
                min_size=1, max_size=20).filter(lambda rows: all(sum(w) > 0 for _, w in rows)))
def test_spread_batch_equals_cumulative_spread(rows: list[tuple[int, list[int]]]) -> None:
    t = max(len(w) for _, w in rows)
    total = np.array([x for x, _ in rows], dtype=np.int64)
    weights = np.array([w + [0] * (t - len(w)) for _, w in rows], dtype=np.int64)
    fast = spread_batch(total, weights)
    for i, (x, w) in enumerate(rows):
        assert fast[i].tolist() == cumulative_spread(x, w + [0] * (t - len(w)))
        assert int(fast[i].sum()) == x


def _reference(rows: list[tuple[int, int, int, int]], i: int, ssp: np.ndarray, price: np.ndarray,
               base: Period, horizon: int) -> tuple[RevenueContract, list[Billed]]:
    _, _, start, bill = rows[i]
    first = Period.from_index(base.index + start)
    last = Period.from_index(first.index + horizon - 1).end
    obs = tuple(PerformanceObligation(
        id=f"O{k}", name=f"O{k}", method=m, start=first.start, end=last,
        ssp=StandaloneSellingPrice.observable(from_units(int(ssp[i, k]), "USD"), "list"))
        for k, m in enumerate((RecognitionMethod.RATABLE_MONTHLY, RecognitionMethod.RATABLE_DAILY)))
    rc = RevenueContract(id=f"RC-{i}", contract_id=f"C-{i}", customer_id="K", legal_entity="US01", currency="USD",
                         start=first.start, end=last, obligations=obs,
                         price=TransactionPrice(from_units(int(price[i]), "USD")))
    return rc, [Billed(id="b", obligation_id="", on=first.start, amount=from_units(bill, "USD"))]


def _matches(rec: Recognition, result: MonthClose, i: int) -> None:
    bal = balances(rec)
    assert [to_units(rec.obligation(f"O{k}").revenue, what="r") for k in range(2)] == result.revenue[i].tolist()
    assert to_units(bal.recognised_to_date, what="r") == result.recognised_to_date[i]
    assert to_units(rec.previously, what="p") == result.recognised_before[i]
    assert to_units(bal.contract_asset, what="a") == result.contract_asset[i]
    assert to_units(bal.contract_liability, what="l") == result.contract_liability[i]
    assert to_units(rec.billed_in_period, what="b") == result.billed_in_month[i]
    moves = {ln.account: to_units(ln.debit, what="d") - to_units(ln.credit, what="c")
             for e in journal_entries(rec, accounts=ACCOUNTS, dimensions={}) for ln in e.lines}
    assert moves.get(ACCOUNTS.contract_asset, 0) == result.asset_move[i]
    assert moves.get(ACCOUNTS.contract_liability, 0) == -result.liability_move[i]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 23), st.integers(0, 10**8)),
                min_size=1, max_size=8), st.integers(-2, 30))
def test_month_close_equals_recognise_with_and_without_prior(rows: list[tuple[int, int, int, int]],
                                                             close_offset: int) -> None:
    """Two straight-line obligations (by month, by day) over 12 months from a start offset, billed once. Without
    what was posted before, the fast close equals `recognise` with no prior (everything earned to date is
    recognised in the month); with `posted_through` it equals `recognise` given the previous month as prior."""
    base = Period(2025, 1)
    horizon = 12
    n = len(rows)
    price = np.array([max(a + b, 1) * 9 // 10 for a, b, _, _ in rows], dtype=np.int64)
    ssp = np.array([[max(a, 1), max(b, 1)] for a, b, _, _ in rows], dtype=np.int64)
    allocated = allocate_batch(price, ssp)
    weights = np.zeros((n, 2, horizon), dtype=np.int64)
    weights[:, 0, :] = 1
    for i, (_, _, start, _) in enumerate(rows):
        weights[i, 1, :] = [Period.from_index(base.index + start + m).days for m in range(horizon)]
    schedule = spread_batch(allocated.reshape(-1), weights.reshape(-1, horizon)).reshape(n, 2, horizon)
    billed = np.zeros((n, horizon), dtype=np.int64)
    billed[:, 0] = [bill for *_, bill in rows]
    close = Period.from_index(base.index + close_offset)
    column = np.array([close_offset - s for _, _, s, _ in rows], dtype=np.int64)
    fresh = close_month(schedule, billed, column)
    posted_revenue, posted_billed = posted_through(schedule, billed, column)
    chained = close_month(schedule, billed, column, posted_revenue=posted_revenue, posted_billed=posted_billed)
    assert fresh.balanced and chained.balanced
    for i in range(n):
        rc, facts = _reference(rows, i, ssp, price, base, horizon)
        _matches(recognise(rc, facts, period=close), fresh, i)
        prior = recognise(rc, facts, period=close.previous())
        _matches(recognise(rc, facts, period=close, prior=prior), chained, i)
