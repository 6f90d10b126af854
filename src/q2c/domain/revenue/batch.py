"""Exact fast path for whole-portfolio schedules and month closes: integer minor units in numpy int64.

It computes the same numbers as the Decimal/Money reference (`allocation.allocate`,
`methods.cumulative_spread`, `recognise` + `journal_entries` + `balances`) for contracts whose
obligations are straight-line (by month or by day) — retainers and subscriptions, the bulk of a
portfolio — billed but without cash reported, and the tests check it against that reference value by
value, with and without what earlier closes posted (the reference's `prior`). Nothing here rounds
through floats: every operation is an integer multiply, floor division or comparison, with an
explicit guard against int64 overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from q2c.domain.revenue.minor_units import largest_remainder

Units = NDArray[np.int64]
SAFE = 2**62  # products stay below this, so int64 arithmetic cannot wrap


def allocate_batch(price: Units, ssp: Units) -> Units:
    """Largest-remainder allocation of `price[i]` over `ssp[i, :]`, row by row (ties to the earlier column).

    Rows whose products could overflow int64 are computed with Python integers instead.
    """
    price = np.asarray(price, dtype=np.int64)
    ssp = np.asarray(ssp, dtype=np.int64)
    if price.ndim != 1 or ssp.ndim != 2 or ssp.shape[0] != price.shape[0]:
        raise ValueError("price must be (n,) and ssp (n, k)")
    if (ssp < 0).any() or (price < 0).any():
        raise ValueError("prices and standalone selling prices must not be negative")
    weight = ssp.sum(axis=1)
    if (weight == 0).any():
        raise ValueError(f"row {int(np.argmax(weight == 0))}: every standalone selling price is zero")
    risky = price.astype(object) * ssp.max(axis=1).astype(object) >= SAFE
    safe_price = np.where(risky, 0, price)
    product = safe_price[:, None] * ssp
    share = product // weight[:, None]
    remainder = product % weight[:, None]
    left = safe_price - share.sum(axis=1)
    order = np.argsort(-remainder, axis=1, kind="stable")  # largest remainder first, ties by column
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(ssp.shape[1])[None, :].repeat(ssp.shape[0], axis=0), axis=1)
    share += (rank < left[:, None]).astype(np.int64)
    for i in np.flatnonzero(risky):
        share[i] = largest_remainder(int(price[i]), [int(x) for x in ssp[i]])
    return np.asarray(share, dtype=np.int64)


def spread_batch(total: Units, weights: Units) -> Units:
    """Straight-line spread of `total[i]` over `weights[i, :]`, each running sum rounded half-up once.

    Equal to `methods.cumulative_spread` row by row: cum_t = floor((2 x total x W_t + W) / (2 W)).
    """
    total = np.asarray(total, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    cw = np.cumsum(weights, axis=1)
    w = cw[:, -1:]
    if (w == 0).any():
        raise ValueError("every row needs some weight")
    if int(np.abs(total).max(initial=0)) * int(w.max(initial=0)) * 2 >= SAFE:
        raise OverflowError("amounts too large for the int64 fast path; use the reference path")
    mag = np.abs(total)[:, None]
    cum = (2 * mag * cw + w) // (2 * w)
    cum = np.where(total[:, None] < 0, -cum, cum)  # half away from zero for negative totals
    out = np.diff(cum, axis=1, prepend=0)
    return out.astype(np.int64)


@dataclass(frozen=True)
class MonthClose:
    """One month closed for every contract: revenue, billings, balances and the journal movements."""

    revenue: Units  # (n, k) revenue of the month per obligation
    recognised_before: Units  # (n,)
    recognised_to_date: Units  # (n,)
    billed_before: Units  # (n,)
    billed_in_month: Units  # (n,)
    contract_asset: Units  # (n,) closing
    contract_liability: Units  # (n,) closing
    asset_move: Units  # (n,) debit (+) / credit (-) to contract assets
    liability_move: Units  # (n,) credit (+) / debit (-) to contract liabilities

    @property
    def balanced(self) -> bool:
        """Each contract's entry: billing debit + asset move = revenue credit + liability move."""
        lhs = self.billed_in_month + self.asset_move
        rhs = self.revenue.sum(axis=1) + self.liability_move
        return bool((lhs == rhs).all())


def _upto(cumulative: Units, col: Units) -> Units:
    """cumulative[i, ..., col[i]] per row, 0 before the first column, the last column after the horizon."""
    n, horizon = cumulative.shape[0], cumulative.shape[-1]
    rows = np.arange(n)
    clipped = np.clip(col, 0, horizon - 1)
    taken = cumulative[rows, ..., clipped] if cumulative.ndim == 3 else cumulative[rows, clipped]
    mask = (col >= 0)
    return np.asarray(np.where(mask[:, None] if taken.ndim == 2 else mask, taken, 0), dtype=np.int64)


def posted_through(schedule: Units, billed: Units, column: Units) -> tuple[Units, Units]:
    """What a month-by-month close has posted before column `column[i]`: cumulative revenue per obligation
    (n, k) and billed to date (n,), the fast-path counterpart of the prior recognition."""
    col = np.asarray(column, dtype=np.int64) - 1
    return _upto(np.cumsum(schedule, axis=2), col), _upto(np.cumsum(billed, axis=1), col)


def close_month(schedule: Units, billed: Units, column: Units, *, posted_revenue: Units | None = None,
                posted_billed: Units | None = None) -> MonthClose:
    """Close the month that is column `column[i]` of contract i's schedule (n, k, T) and billing (n, T).

    A column below 0 is a month before the contract starts; one at or past T is after it ends.
    `posted_revenue` (n, k) and `posted_billed` (n,) are what the ledger holds from earlier closes
    (`posted_through`, or the prior recognitions); without them nothing was posted before, as
    `recognise` with no prior: the month then recognises everything earned to date.
    """
    n, k, _ = schedule.shape
    col = np.asarray(column, dtype=np.int64)
    rec_now = _upto(np.cumsum(schedule, axis=2), col)  # (n, k)
    billed_now = _upto(np.cumsum(billed, axis=1), col)
    rec_before = np.zeros((n, k), dtype=np.int64) if posted_revenue is None else \
        np.asarray(posted_revenue, dtype=np.int64)
    billed_before = np.zeros(n, dtype=np.int64) if posted_billed is None else np.asarray(posted_billed, dtype=np.int64)
    if rec_before.shape != (n, k) or billed_before.shape != (n,):
        raise ValueError(f"posted_revenue must be ({n}, {k}) and posted_billed ({n},)")
    net_before = rec_before.sum(axis=1) - billed_before
    net_now = rec_now.sum(axis=1) - billed_now
    asset_now = np.maximum(net_now, 0)
    liability_now = np.maximum(-net_now, 0)
    return MonthClose(
        revenue=rec_now - rec_before, recognised_before=rec_before.sum(axis=1), recognised_to_date=rec_now.sum(axis=1),
        billed_before=billed_before, billed_in_month=billed_now - billed_before, contract_asset=asset_now,
        contract_liability=liability_now, asset_move=asset_now - np.maximum(net_before, 0),
        liability_move=liability_now - np.maximum(-net_before, 0))
