"""Step 5: how far each obligation is satisfied, and the cumulative revenue that corresponds.

Every method yields a target *cumulative* revenue to date, rounded once to the minor unit; the
revenue of a period is the difference between two cumulative targets. So rounding never
accumulates, a change of estimate is a cumulative catch-up by construction (ASC 606-10-25-35 /
IFRS 15.43 and ASC 250 / IAS 8 change in estimate), and when an obligation is fully satisfied its
cumulative revenue is exactly its allocated price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from q2c.domain.model import MilestoneStatus
from q2c.domain.money import Rounding, currency_exponent
from q2c.domain.revenue.errors import InvalidFact
from q2c.domain.revenue.facts import (
    Billed,
    Completed,
    ControlTransferred,
    CostToDate,
    EstimateChanged,
    HoursToDate,
    MilestoneReached,
    ProgressFact,
    UnitsDelivered,
)
from q2c.domain.revenue.minor_units import from_units, round_half_even, round_half_up, to_units
from q2c.domain.revenue.obligations import PerformanceObligation, RecognitionMethod, RecognitionPolicy
from q2c.domain.revenue.periods import Period, periods_between


@dataclass(frozen=True)
class Estimate:
    """The total estimate in force (hours, cost or units), and where it came from."""

    total: Decimal | None
    excluded_total: Decimal
    source: str  # "inception estimate" or "estimate E-3 of 2026-10-31: scope grew"


@dataclass(frozen=True)
class Inputs:
    """Progress inputs known as of a cut-off date."""

    hours: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    excluded_cost: Decimal = Decimal(0)
    units: Decimal = Decimal(0)
    milestones: tuple[tuple[str, MilestoneStatus], ...] = ()
    control_on: date | None = None
    completed_on: date | None = None
    billed_units: int = 0
    credited_units: int = 0  # the credit notes within billed_units (negative Billed facts), as a positive amount
    excluded_fact: str = ""  # the CostToDate fact that reported `excluded_cost`


@dataclass(frozen=True)
class Measure:
    """Target cumulative revenue (minor units) and the measure of progress behind it, in words."""

    cumulative: int
    progress: Fraction | None
    text: str


def current_estimate(ob: PerformanceObligation, facts: Sequence[ProgressFact], cutoff: date) -> Estimate:
    """The last estimate dated on or before `cutoff` (ties by fact id), else the inception estimate.

    A remaining part after a modification ignores estimates dated on or before the modification: they
    belonged to the terms before it, and the part starts from the estimate the modification set.
    """
    latest: EstimateChanged | None = None
    for fact in facts:
        if isinstance(fact, EstimateChanged) and fact.obligation_id == ob.facts_key and fact.on <= cutoff \
                and (ob.estimates_after is None or fact.on > ob.estimates_after) \
                and (latest is None or (fact.on, fact.id) >= (latest.on, latest.id)):
            latest = fact
    if latest is None:
        source = "inception estimate" if ob.estimates_after is None else \
            f"estimate at the modification of {ob.estimates_after.isoformat()}"
        return Estimate(ob.estimated_total, ob.excluded_cost_estimate, source)
    excluded = ob.excluded_cost_estimate if latest.excluded_total is None else latest.excluded_total
    return Estimate(latest.total, excluded,
                    f"estimate {latest.id} of {latest.on.isoformat()} ({latest.reason})")


def inputs_as_of(ob: PerformanceObligation, facts: Sequence[ProgressFact], cutoff: date, currency: str) -> Inputs:
    """Cumulative inputs from the facts dated on or before `cutoff`; for 'to date' facts the latest wins."""
    hours = cost = excluded = units = None
    excluded_fact = ""
    last: dict[str, tuple[date, str]] = {}
    milestones: dict[str, MilestoneStatus] = {}
    control_on = completed_on = None
    billed = credited = 0
    valid_milestones = {m.id for m in ob.milestones}
    transferred = set(ob.transferred_milestones)
    for fact in facts:
        if fact.obligation_id != ob.facts_key or fact.on > cutoff:
            continue
        key = (fact.on, fact.id)
        kind = type(fact).__name__
        newer = kind not in last or key >= last[kind]
        if isinstance(fact, HoursToDate):
            if newer:
                hours, last[kind] = fact.hours, key
        elif isinstance(fact, CostToDate):
            if not Decimal(0) <= fact.excluded <= max(fact.cost, Decimal(0)):
                raise InvalidFact(f"fact {fact.id} field excluded: {fact.excluded} must be between 0 and the cost to "
                                  f"date {fact.cost}")
            if newer:
                cost, excluded, excluded_fact, last[kind] = fact.cost, fact.excluded, fact.id, key
        elif isinstance(fact, UnitsDelivered):
            if newer:
                units, last[kind] = fact.units, key
        elif isinstance(fact, MilestoneReached):
            if fact.milestone_id in transferred:
                continue  # reached before the modification: it belongs to the satisfied part
            if fact.milestone_id not in valid_milestones:
                raise InvalidFact(f"fact {fact.id} field milestone_id: {fact.milestone_id} is not a milestone of "
                                  f"obligation {ob.id}")
            before = milestones.get(fact.milestone_id)
            if before is None or before is MilestoneStatus.COMPLETED:
                milestones[fact.milestone_id] = fact.status
        elif isinstance(fact, ControlTransferred):
            control_on = fact.on if control_on is None else min(control_on, fact.on)
        elif isinstance(fact, Completed):
            completed_on = fact.on if completed_on is None else min(completed_on, fact.on)
        elif isinstance(fact, Billed):
            if fact.amount.currency != currency:
                raise InvalidFact(f"fact {fact.id} field amount: {fact.amount.currency}, but the contract is in "
                                  f"{currency}")
            amount = to_units(fact.amount, what=f"fact {fact.id} field amount")
            billed += amount
            credited += max(-amount, 0)
    return Inputs(hours=hours or Decimal(0), cost=cost or Decimal(0), excluded_cost=excluded or Decimal(0),
                  units=units or Decimal(0), milestones=tuple(sorted(milestones.items())), control_on=control_on,
                  completed_on=completed_on, billed_units=billed, credited_units=credited,
                  excluded_fact=excluded_fact)


def ratable_schedule(ob: PerformanceObligation, allocated: int) -> list[tuple[Period, int]]:
    """Straight-line spread of `allocated` over the service term, by whole month or by day, summing exactly.

    Like every other method, the cumulative amount at each period end is the exact straight-line
    proportion rounded half-up once (allocated x elapsed weight / total weight); a period's amount
    is the difference of two cumulatives. So at any date the revenue to date is the nearest cent to
    the straight line, and the last period ends exactly on the allocated price.
    """
    assert ob.start is not None and ob.end is not None
    return list(_straight_line(ob.start, ob.end, ob.method is RecognitionMethod.RATABLE_MONTHLY, allocated))


@lru_cache(maxsize=4096)
def _straight_line(start: date, end: date, by_month: bool, allocated: int) -> tuple[tuple[Period, int], ...]:
    periods = periods_between(Period.of(start), Period.of(end))
    weights = [1] * len(periods) if by_month else \
        [(min(p.end, end) - max(p.start, start)).days + 1 for p in periods]
    return tuple(zip(periods, cumulative_spread(allocated, weights), strict=True))


@lru_cache(maxsize=4096)
def _running_straight_line(start: date, end: date, by_month: bool, allocated: int) -> tuple[int, ...]:
    """Cumulative straight-line revenue at the end of each period of the term."""
    out, running = [], 0
    for _, units in _straight_line(start, end, by_month, allocated):
        running += units
        out.append(running)
    return tuple(out)


def cumulative_spread(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` over positions so that each running sum is round_half_up(total x running weight / all weight)."""
    weight_sum = sum(weights)
    out, running, before = [], 0, 0
    for w in weights:
        running += w
        cum = round_half_up(Fraction(total * running, weight_sum))
        out.append(cum - before)
        before = cum
    return out


def closed_text(ob: PerformanceObligation) -> str:
    """How a closed part was measured, in words."""
    c = ob.closed
    if c is None:
        return f"satisfied part kept at {ob.terminated_at} (closed by a modification)"
    text = (f"satisfied part closed by modification {c.modification_id} on {c.on.isoformat()} ({c.paragraph}): "
            f"earned {c.earned} under the terms before it ({c.measured})")
    if c.credit.amount:
        text += f", less a credit of {c.credit} for what was already transferred"
    return text


def _round(value: Fraction, rounding: Rounding) -> int:
    return round_half_up(value) if rounding is Rounding.HALF_UP else round_half_even(value)


def _progress(raw: Fraction, policy: RecognitionPolicy) -> Fraction:
    clipped = min(max(raw, Fraction(0)), Fraction(1))
    if policy.progress_decimals is None:
        return clipped
    scale = 10 ** policy.progress_decimals
    return Fraction(round_half_up(clipped * scale), scale)


def _ratio(done: Decimal, total: Decimal) -> Fraction:
    """done / total; an estimate already reached counts as complete rather than dividing by zero."""
    if total <= 0:
        return Fraction(1) if done > 0 else Fraction(0)
    return Fraction(done) / Fraction(total)


def _pct(p: Fraction) -> str:
    """Progress for people to read (display only; amounts are never computed from it)."""
    return f"{Decimal(p.numerator) * 100 / Decimal(p.denominator):.2f}%"


def _to_units(value: Decimal, currency: str) -> int:
    return round_half_up(Fraction(value) * 10 ** currency_exponent(currency))


def measure(ob: PerformanceObligation, allocated: int | None, inputs: Inputs, estimate: Estimate, cutoff: date,
            policy: RecognitionPolicy, currency: str) -> Measure:
    """Target cumulative revenue of `ob` as of `cutoff` from `inputs` under `estimate` and `allocated`."""
    if ob.terminated_at is not None:
        kept = to_units(ob.terminated_at, what="terminated_at") if allocated is None else allocated
        return Measure(kept, Fraction(1), closed_text(ob))
    method = ob.method
    if method is RecognitionMethod.RIGHT_TO_INVOICE:
        text = f"{from_units(inputs.billed_units, currency)} invoiced to date"
        if inputs.credited_units:
            text += f", after credit notes of {from_units(inputs.credited_units, currency)}"
        return Measure(inputs.billed_units, None, text + " (right to invoice)")
    assert allocated is not None
    if inputs.completed_on is not None and inputs.completed_on <= cutoff:
        return Measure(allocated, Fraction(1), f"fully satisfied on {inputs.completed_on.isoformat()}")
    if method is RecognitionMethod.POINT_IN_TIME:
        if inputs.control_on is not None:
            return Measure(allocated, Fraction(1), f"control transferred on {inputs.control_on.isoformat()}")
        return Measure(0, Fraction(0), "control not yet transferred")
    if method.ratable:
        assert ob.start is not None and ob.end is not None
        first, last, cut = Period.of(ob.start), Period.of(ob.end), Period.of(cutoff)
        count = last.index - first.index + 1
        ended = min(max(cut.index - first.index + (1 if cutoff >= cut.end else 0), 0), count)  # periods ended
        running = _running_straight_line(ob.start, ob.end, method is RecognitionMethod.RATABLE_MONTHLY, allocated)
        cum = running[ended - 1] if ended else 0
        if method is RecognitionMethod.RATABLE_MONTHLY:
            return Measure(cum, Fraction(ended, count),
                           f"{ended} of {count} months of service ({ob.start} to {ob.end}), straight line")
        total_days = (ob.end - ob.start).days + 1
        elapsed_days = max(0, min((min(cutoff, ob.end) - ob.start).days + 1, total_days))
        return Measure(cum, Fraction(elapsed_days, total_days),
                       f"{elapsed_days} of {total_days} days of service ({ob.start} to {ob.end}), straight line")
    if method is RecognitionMethod.OUTPUT_MILESTONES:
        values = {m.id: to_units(m.value, what="milestone value") for m in ob.milestones}
        counted = [mid for mid, status in inputs.milestones if mid in values and
                   (policy.milestone_trigger is MilestoneStatus.COMPLETED or status is MilestoneStatus.ACCEPTED)]
        p = _progress(Fraction(sum(values[m] for m in counted), sum(values.values())), policy)
        names = ", ".join(m.name for m in ob.milestones if m.id in counted) or "none"
        word = "accepted" if policy.milestone_trigger is MilestoneStatus.ACCEPTED else "reached"
        return Measure(_round(allocated * p, policy.rounding), p,
                       f"milestones {word}: {names}; {_pct(p)} of the milestones' value")
    assert estimate.total is not None, f"obligation {ob.id}: no estimate"
    total = estimate.total - ob.input_baseline  # a remaining part measures from its baseline
    if method is RecognitionMethod.INPUT_HOURS:
        done = inputs.hours - ob.input_baseline
        p = _progress(_ratio(done, total), policy)
        return Measure(_round(allocated * p, policy.rounding), p,
                       f"{done} of {total} estimated hours ({_pct(p)}; {estimate.source})")
    if method is RecognitionMethod.OUTPUT_UNITS:
        done = inputs.units - ob.input_baseline
        p = _progress(_ratio(done, total), policy)
        return Measure(_round(allocated * p, policy.rounding), p,
                       f"{done} of {total} units delivered ({_pct(p)}; {estimate.source})")
    # cost-to-cost
    done = inputs.cost - ob.input_baseline
    excluded_total = estimate.excluded_total
    if inputs.excluded_cost > excluded_total:
        if excluded_total == 0:
            raise InvalidFact(
                f"fact {inputs.excluded_fact} field excluded: {inputs.excluded_cost} of cost is reported as not "
                f"depicting progress (e.g. uninstalled materials), but obligation {ob.id} has no estimate of such "
                f"cost; set its excluded_cost_estimate (or excluded_total on an EstimateChanged fact) so the cost is "
                f"left out of progress and recognised at zero margin (ASC 606-10-55-21(b) / IFRS 15.B19(b)), or "
                f"report the cost without `excluded`")
        raise InvalidFact(f"fact {inputs.excluded_fact} field excluded: {inputs.excluded_cost} is above the estimate "
                          f"of excluded cost {excluded_total} for obligation {ob.id} ({estimate.source}); revise the "
                          f"estimate (EstimateChanged with excluded_total)")
    if excluded_total == 0:
        p = _progress(_ratio(done, total), policy)
        return Measure(_round(allocated * p, policy.rounding), p,
                       f"cost {done} of {total} estimated ({_pct(p)}; {estimate.source})")
    measured_done = done - inputs.excluded_cost
    measured_total = total - excluded_total
    p = _progress(_ratio(measured_done, measured_total), policy)
    excluded_units = _to_units(inputs.excluded_cost, currency)
    margin_base = allocated - _to_units(excluded_total, currency)
    cum = excluded_units + _round(margin_base * p, policy.rounding)
    return Measure(min(cum, allocated), Fraction(cum, allocated) if allocated else Fraction(0),
                   f"cost {measured_done} of {measured_total} estimated excluding uninstalled materials ({_pct(p)}), "
                   f"plus materials {inputs.excluded_cost} at zero margin (ASC 606-10-55-21(b) / IFRS 15.B19(b); "
                   f"{estimate.source})")
