"""Reports a controller reconciles the ledger with: the revenue waterfall and the deferred revenue roll-forward."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from q2c.domain.money import Money
from q2c.domain.revenue.balances import balances, opening_balances
from q2c.domain.revenue.errors import RevenueError
from q2c.domain.revenue.obligations import RevenueContract
from q2c.domain.revenue.periods import Period
from q2c.domain.revenue.recognition import Recognition
from q2c.domain.revenue.schedule import planned_schedule


@dataclass(frozen=True)
class WaterfallRow:
    contract_id: str
    obligation_id: str
    currency: str
    amounts: dict[Period, Money]  # recognised (actual) or planned (forecast) per period
    unscheduled: Money | None  # allocated but not yet in any period; None when revenue follows invoices


@dataclass(frozen=True)
class Waterfall:
    """Revenue by obligation and period: actuals up to the last recognised period, the plan after it."""

    periods: tuple[Period, ...]
    last_actual: Period | None
    rows: tuple[WaterfallRow, ...]

    def total(self, period: Period, currency: str) -> Money:
        total = Money.zero(currency)
        for row in self.rows:
            if row.currency == currency and period in row.amounts:
                total = total + row.amounts[period]
        return total

    def render(self) -> str:
        head = ["contract", "obligation", *[p.label + ("*" if self.last_actual and p > self.last_actual else "")
                                            for p in self.periods], "unscheduled"]
        table = [head]
        for row in self.rows:
            table.append([row.contract_id, row.obligation_id,
                          *[f"{row.amounts[p].amount:,}" if p in row.amounts else "" for p in self.periods],
                          "" if row.unscheduled is None else f"{row.unscheduled.amount:,}"])
        widths = [max(len(r[i]) for r in table) for i in range(len(head))]
        lines = ["  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                 for r in table]
        lines.append("(* planned: straight-line obligations only; progress-based revenue is unscheduled until earned)")
        return "\n".join(lines)


def waterfall(recognitions: Sequence[Recognition], *, contracts: Sequence[RevenueContract] = (),
              through: Period | None = None) -> Waterfall:
    """Actual revenue per period from `recognitions`; with `contracts`, the planned pattern after the actuals."""
    rows: dict[tuple[str, str], dict[Period, Money]] = {}
    currency: dict[tuple[str, str], str] = {}
    cumulative: dict[tuple[str, str], Money] = {}
    last_actual: dict[str, Period] = {}
    for rec in recognitions:
        for ob in rec.obligations:
            key = (rec.contract_id, ob.obligation_id)
            rows.setdefault(key, {})
            currency[key] = rec.currency
            rows[key][rec.period] = rows[key].get(rec.period, Money.zero(rec.currency)) + ob.revenue
            if rec.contract_id not in last_actual or rec.period >= last_actual[rec.contract_id]:
                last_actual[rec.contract_id] = rec.period
                cumulative[key] = ob.cumulative
    unscheduled: dict[tuple[str, str], Money] = {}
    for rc in contracts:
        cut = last_actual.get(rc.contract_id)
        planned_by_ob: dict[str, Money] = {}
        for plan in planned_schedule(rc):
            key = (rc.contract_id, plan.obligation_id)
            rows.setdefault(key, {})
            currency[key] = rc.currency
            if plan.period is not None and (cut is None or plan.period > cut) and \
                    (through is None or plan.period <= through):
                rows[key][plan.period] = rows[key].get(plan.period, Money.zero(rc.currency)) + plan.amount
                planned_by_ob[plan.obligation_id] = planned_by_ob.get(plan.obligation_id,
                                                                      Money.zero(rc.currency)) + plan.amount
        for po in rc.obligations:
            allocated = rc.allocation.allocated(po.id)
            if allocated is None:
                continue
            key = (rc.contract_id, po.id)
            done = cumulative.get(key, Money.zero(rc.currency))
            unscheduled[key] = allocated - done - planned_by_ob.get(po.id, Money.zero(rc.currency))
    periods = sorted({p for amounts in rows.values() for p in amounts})
    return Waterfall(
        periods=tuple(periods), last_actual=max(last_actual.values()) if last_actual else None,
        rows=tuple(WaterfallRow(c, o, currency[(c, o)], rows[(c, o)], unscheduled.get((c, o)))
                   for c, o in sorted(rows)))


@dataclass(frozen=True)
class Rollforward:
    """Deferred revenue (contract liabilities) for a period: opening + billings - revenue + reclass = closing.

    Only contracts in a liability position at the opening or the closing take part. `billings` is the
    increase in consideration billed or received, whichever is more (cash received ahead of billing is
    an advance too); `reclassified` is the movement of those contracts' contract assets (a contract
    crossing between asset and liability), so the identity holds to the cent.
    """

    period: Period
    currency: str
    opening: Money
    billings: Money
    revenue_recognised: Money
    reclassified: Money
    closing: Money
    contracts: int

    def render(self) -> str:
        rows = [("Opening deferred revenue", self.opening), ("Billings and advances received", self.billings),
                ("Revenue recognised", -self.revenue_recognised),
                ("Reclassified from/to contract assets", self.reclassified), ("Closing deferred revenue", self.closing)]
        return "\n".join(f"{label:<40}{money.amount:>18,}" for label, money in rows)


def deferred_revenue_rollforward(recognitions: Sequence[Recognition], *, period: Period) -> dict[str, Rollforward]:
    """Roll-forward of contract liabilities for `period`, one per currency, from that period's recognitions."""
    out: dict[str, Rollforward] = {}
    for rec in recognitions:
        if rec.period != period:
            continue
        opening, closing = opening_balances(rec), balances(rec)
        if opening.contract_liability.amount == 0 and closing.contract_liability.amount == 0:
            continue
        cur = rec.currency
        prev = out.get(cur) or Rollforward(period, cur, *(Money.zero(cur),) * 5, 0)
        received = (max(closing.billed_to_date, closing.collected_to_date)
                    - max(opening.billed_to_date, opening.collected_to_date))
        out[cur] = Rollforward(
            period, cur, prev.opening + opening.contract_liability, prev.billings + received,
            prev.revenue_recognised + rec.revenue,
            prev.reclassified + (closing.contract_asset - opening.contract_asset),
            prev.closing + closing.contract_liability, prev.contracts + 1)
    for roll in out.values():
        check = roll.opening + roll.billings - roll.revenue_recognised + roll.reclassified
        if check != roll.closing:  # cannot happen by construction; refuse rather than print a report that does not foot
            raise RevenueError(f"deferred revenue roll-forward {period} {roll.currency} does not foot: "
                               f"{check} against closing {roll.closing}")
    return out
