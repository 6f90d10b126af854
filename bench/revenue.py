"""Benchmark: revenue schedules for a portfolio and one month close, fast path beside the reference.

    .venv/bin/python bench/revenue.py [--contracts N] [--reference-sample M] [--seed S]

Each contract has 3 straight-line obligations over 36 months (a retainer by month over 36 months, a
subscription by day over 36 months, onboarding by month over the first 12) with standalone selling
prices and a bundle discount, billed yearly in advance. The fast path (numpy int64 minor units)
allocates, builds every schedule and closes one month for all contracts, from what earlier closes
posted (`posted_through`); the reference path (Decimal/Money: RevenueContract, allocation,
planned_schedule, recognise, journal_entries, balances) does the same per contract as the hub does it:
read the previous month's stored snapshot, recognise the month with it as `prior`, build the
journal and the balances, and store the new snapshot. It runs on a sample when the full run would
take too long (its time is scaled to the portfolio and the output says so). The two must agree to
the cent on the sample.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date

import numpy as np

from q2c.domain.money import Money
from q2c.domain.revenue import (
    AccountMap,
    Billed,
    PerformanceObligation,
    Period,
    RecognitionMethod,
    RevenueContract,
    StandaloneSellingPrice,
    TransactionPrice,
    balances,
    journal_entries,
    planned_schedule,
    recognise,
    recognition_from_json,
    recognition_to_json,
)
from q2c.domain.revenue.batch import allocate_batch, close_month, posted_through, spread_batch
from q2c.domain.revenue.minor_units import from_units, largest_remainder, to_units

MONTHS = 36
OBLIGATIONS = 3
BASE = Period(2024, 1)
ACCOUNTS = AccountMap(revenue="4000", contract_asset="1250", contract_liability="2300", billing="1200",
                      fx_rounding="7990")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def line(what: str, seconds: float, note: str = "") -> None:
    print(f"{what:<70} {seconds:8.3f} s   peak RSS {peak_rss_mb():8.1f} MB{('   ' + note) if note else ''}")
    sys.stdout.flush()


def portfolio(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ssp = rng.integers(100_000, 50_000_000, size=(n, OBLIGATIONS), dtype=np.int64)  # cents
    discount_bp = rng.integers(0, 2_000, size=n, dtype=np.int64)  # 0 to 20% in basis points
    price = ssp.sum(axis=1) * (10_000 - discount_bp) // 10_000
    start = rng.integers(0, MONTHS, size=n, dtype=np.int64)  # start month offset from BASE
    return {"ssp": ssp, "price": price, "start": start}


def day_weights(start_offset: int) -> list[int]:
    return [Period.from_index(BASE.index + start_offset + m).days for m in range(MONTHS)]


def fast_schedules(data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(data["price"])
    allocated = allocate_batch(data["price"], data["ssp"])
    weights = np.zeros((n, OBLIGATIONS, MONTHS), dtype=np.int64)
    weights[:, 0, :] = 1
    table = np.array([day_weights(s) for s in range(MONTHS)], dtype=np.int64)  # (start offset, month)
    weights[:, 1, :] = table[data["start"]]
    weights[:, 2, :12] = 1
    schedule = spread_batch(allocated.reshape(-1), weights.reshape(-1, MONTHS)).reshape(n, OBLIGATIONS, MONTHS)
    billed = np.zeros((n, MONTHS), dtype=np.int64)
    yearly = allocate_batch(data["price"], np.ones((n, 3), dtype=np.int64))
    billed[:, 0], billed[:, 12], billed[:, 24] = yearly[:, 0], yearly[:, 1], yearly[:, 2]
    return allocated, schedule, billed


def reference_contract(i: int, data: dict[str, np.ndarray]) -> tuple[RevenueContract, list[Billed]]:
    start = Period.from_index(BASE.index + int(data["start"][i]))
    end = Period.from_index(start.index + MONTHS - 1).end
    first_year_end = Period.from_index(start.index + 11).end
    cents = [int(x) for x in data["ssp"][i]]

    def ob(ob_id: str, method: RecognitionMethod, ssp: int, last: date) -> PerformanceObligation:
        return PerformanceObligation(id=ob_id, name=ob_id, method=method, start=start.start, end=last,
                                     ssp=StandaloneSellingPrice.observable(from_units(ssp, "USD"), "price list"))

    rc = RevenueContract(
        id=f"RC-{i}", contract_id=f"C-{i}", customer_id=f"K-{i}", legal_entity="US01", currency="USD",
        start=start.start, end=end,
        obligations=(ob("retainer", RecognitionMethod.RATABLE_MONTHLY, cents[0], end),
                     ob("subscription", RecognitionMethod.RATABLE_DAILY, cents[1], end),
                     ob("onboarding", RecognitionMethod.RATABLE_MONTHLY, cents[2], first_year_end)),
        price=TransactionPrice(from_units(int(data["price"][i]), "USD")))
    yearly = largest_remainder(int(data["price"][i]), [1, 1, 1])
    facts = [Billed(id=f"INV-{i}-{y}", obligation_id="", on=Period.from_index(start.index + 12 * y).start,
                    amount=from_units(yearly[y], "USD")) for y in range(3)]
    return rc, facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--reference-sample", type=int, default=500,
                        help="contracts run through the per-row reference (timed, then scaled)")
    parser.add_argument("--close", default="2026-05", help="the month to close (YYYY-MM)")
    parser.add_argument("--seed", type=int, default=606)
    args = parser.parse_args()
    n = args.contracts
    close = Period.parse(args.close)
    print(f"revenue benchmark: {n:,} contracts x {OBLIGATIONS} obligations x {MONTHS} months; closing {close}")

    t0 = time.perf_counter()
    data = portfolio(n, args.seed)
    line("portfolio generated", time.perf_counter() - t0)

    t0 = time.perf_counter()
    allocated, schedule, billed = fast_schedules(data)
    t_sched = time.perf_counter() - t0
    line("fast path: allocate + build schedules", t_sched, f"({n * OBLIGATIONS * MONTHS:,} schedule cells)")

    t0 = time.perf_counter()
    column = close.index - BASE.index - data["start"]
    posted_revenue, posted_billed = posted_through(schedule, billed, column)
    result = close_month(schedule, billed, column, posted_revenue=posted_revenue, posted_billed=posted_billed)
    t_close = time.perf_counter() - t0
    line("fast path: close one month (revenue, balances, journal)", t_close,
         f"balanced={result.balanced}; revenue {from_units(int(result.revenue.sum()), 'USD')}")

    sample = min(args.reference_sample, n)
    picks = np.random.default_rng(args.seed + 1).choice(n, size=sample, replace=False)
    scale = n / sample
    t0 = time.perf_counter()
    built = []
    for i in picks:
        rc, facts = reference_contract(int(i), data)
        plan = planned_schedule(rc)
        built.append((int(i), rc, facts, plan))
    t_ref_sched = time.perf_counter() - t0
    scaled = "" if sample == n else f" (measured on {sample:,}, scaled x{scale:,.0f})"
    line(f"reference: allocate + build schedules{scaled}", t_ref_sched * scale)

    stored = [recognition_to_json(recognise(rc, facts, period=close.previous())) for _, rc, facts, _ in built]
    t0 = time.perf_counter()
    closes = []
    for (i, rc, facts, _), snapshot in zip(built, stored, strict=True):
        rec = recognise(rc, facts, period=close, prior=recognition_from_json(snapshot))
        entries = journal_entries(rec, accounts=ACCOUNTS, dimensions={"department": "PS"})
        recognition_to_json(rec)
        closes.append((i, rec, entries, balances(rec)))
    t_ref_close = time.perf_counter() - t0
    line(f"reference: close one month from the stored prior{scaled}", t_ref_close * scale)

    mismatches = 0
    for (i, rc, _, plan), (_, rec, entries, bal) in zip(built, closes, strict=True):
        for k, ob in enumerate(rc.obligations):
            if to_units(rc.allocation.allocated(ob.id) or Money.zero("USD"), what="a") != int(allocated[i, k]):
                mismatches += 1
            amounts = [to_units(p.amount, what="p") for p in plan if p.obligation_id == ob.id]
            fast = [int(x) for x in schedule[i, k]]
            if amounts != fast[:len(amounts)] or any(fast[len(amounts):]):
                mismatches += 1
            if to_units(rec.obligation(ob.id).revenue, what="r") != int(result.revenue[i, k]):
                mismatches += 1
        checks = [(rec.previously, result.recognised_before[i]),
                  (bal.recognised_to_date, result.recognised_to_date[i]), (bal.billed_to_date,
                  result.billed_before[i] + result.billed_in_month[i]), (bal.contract_asset, result.contract_asset[i]),
                  (bal.contract_liability, result.contract_liability[i])]
        mismatches += sum(1 for ref, fast_value in checks if to_units(ref, what="b") != int(fast_value))
        moves = {ln.account: to_units(ln.debit, what="d") - to_units(ln.credit, what="c")
                 for e in entries for ln in e.lines if ln.account in ("1250", "2300")}
        if moves.get("1250", 0) != int(result.asset_move[i]) or moves.get("2300", 0) != -int(result.liability_move[i]):
            mismatches += 1
    print(f"{'sample check (fast vs reference, to the cent)':<70} {sample:,} contracts, {mismatches} mismatches")
    speed_s = (t_ref_sched * scale) / t_sched if t_sched else float("inf")
    speed_c = (t_ref_close * scale) / t_close if t_close else float("inf")
    print(f"{'speed-up (reference / fast)':<70} schedules x{speed_s:,.0f}, close x{speed_c:,.0f}")
    print(f"{'peak RSS of the whole run (ru_maxrss)':<70} {peak_rss_mb():8.1f} MB")
    return 0 if mismatches == 0 and result.balanced else 1


if __name__ == "__main__":
    raise SystemExit(main())
