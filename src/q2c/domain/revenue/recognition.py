"""Recognise revenue for one contract and one period, from the facts known now.

`recognise` is a pure function of the revenue contract, the set of facts and (optionally) the
previous period's recognition. For each obligation it computes the cumulative revenue that should
be recognised by the end of the period and books the difference from what was recognised before,
split into lines an accountant can check:

* catch-up — the effect, on progress already reported, of a new estimate or a new allocated price
  (cumulative catch-up, ASC 606-10-25-35, 32-43 / IFRS 15.43, 88; ASC 250-10-45-17 / IAS 8.36);
* late — facts dated in an earlier period that were not known when it was recognised; they land in
  this period (the first open one), with a note;
* progress — what was achieved in the period itself.

Facts are deduplicated by id, so replaying an event changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from q2c.domain.money import Money
from q2c.domain.revenue.errors import InvalidFact, RevenueError, where
from q2c.domain.revenue.facts import Billed, Collected, ProgressFact, distinct_facts
from q2c.domain.revenue.methods import Estimate, current_estimate, inputs_as_of, measure
from q2c.domain.revenue.minor_units import from_units, to_units
from q2c.domain.revenue.obligations import ContractChange, RecognitionMethod, RevenueContract
from q2c.domain.revenue.periods import Period, PeriodCalendar

CATCH_UP = "catch_up"
LATE = "late"
PROGRESS = "progress"


@dataclass(frozen=True)
class RevenueLine:
    kind: str  # catch_up | late | progress
    amount: Money
    reason: str


@dataclass(frozen=True)
class ObligationRecognition:
    obligation_id: str
    name: str
    method: RecognitionMethod
    allocated: Money | None  # None: right to invoice
    estimate_total: Decimal | None
    progress: Fraction | None
    progress_text: str
    previously: Money
    cumulative: Money
    revenue: Money  # this period
    lines: tuple[RevenueLine, ...]
    phase_id: str | None = None
    service_line: str | None = None


@dataclass(frozen=True)
class Recognition:
    """Revenue of one contract for one period, cumulative to date, with catch-ups and their reasons."""

    revenue_contract_id: str
    contract_id: str
    customer_id: str
    version: int
    legal_entity: str
    currency: str
    period: Period
    obligations: tuple[ObligationRecognition, ...]
    applied_fact_ids: frozenset[str]
    billed_before: Money
    billed_in_period: Money
    collected_before: Money
    collected_in_period: Money
    notes: tuple[str, ...]

    def obligation(self, obligation_id: str) -> ObligationRecognition:
        for ob in self.obligations:
            if ob.obligation_id == obligation_id:
                return ob
        raise KeyError(obligation_id)

    def _sum(self, attr: str) -> Money:
        total = Money.zero(self.currency)
        for ob in self.obligations:
            total = total + getattr(ob, attr)
        return total

    @property
    def revenue(self) -> Money:
        return self._sum("revenue")

    @property
    def cumulative(self) -> Money:
        return self._sum("cumulative")

    @property
    def previously(self) -> Money:
        return self._sum("previously")

    @property
    def billed_to_date(self) -> Money:
        return self.billed_before + self.billed_in_period

    @property
    def collected_to_date(self) -> Money:
        return self.collected_before + self.collected_in_period

    @property
    def catch_ups(self) -> list[tuple[str, RevenueLine]]:
        return [(ob.obligation_id, line) for ob in self.obligations for line in ob.lines if line.kind == CATCH_UP]


def recognise(rc: RevenueContract, facts: Sequence[ProgressFact], *, period: Period,
              prior: Recognition | None = None, calendar: PeriodCalendar | None = None) -> Recognition:
    """Revenue of `rc` for `period` from `facts`.

    `prior` is the recognition of the last period posted (its cumulative amounts are what the
    ledger holds); without it, earlier periods are assumed recognised from the facts dated in them.
    With a `calendar`, a closed `period` is refused and late facts say which closed period they missed.
    """
    cur = rc.currency
    if calendar is not None:
        if calendar.legal_entity != rc.legal_entity:
            raise RevenueError(f"{where(rc.id, field='legal_entity')}: {rc.legal_entity}, but the period calendar "
                               f"is for {calendar.legal_entity}")
        calendar.require_open(period.end, what=f"revenue of {rc.id} for {period}")
    if prior is not None:
        if prior.revenue_contract_id != rc.id:
            raise RevenueError(f"{where(rc.id)}: the prior recognition is of {prior.revenue_contract_id}")
        if prior.period >= period:
            raise RevenueError(f"{where(rc.id)}: the prior recognition is for {prior.period}, not before {period}")
        known_ids = {ob.id for ob in rc.obligations}
        for earlier in prior.obligations:
            if earlier.obligation_id not in known_ids:
                raise RevenueError(f"{where(rc.id, earlier.obligation_id)}: recognised before but no longer in the "
                                   f"contract; a modification must keep it (terminated at its revenue)")
    keys = {ob.facts_key for ob in rc.obligations} | {ob.id for ob in rc.obligations} | {""}
    every = distinct_facts(facts)
    for fact in every:
        if fact.obligation_id not in keys:
            raise InvalidFact(f"fact {fact.id} field obligation_id: {fact.obligation_id!r} is not an obligation of "
                              f"revenue contract {rc.id}")
    known = [f for f in every if f.on <= period.end]
    prev_end = period.start - timedelta(days=1)
    if prior is not None:
        before = [f for f in known if f.id in prior.applied_fact_ids]
        late = [f for f in known if f.id not in prior.applied_fact_ids and f.on < period.start]
    else:
        before = [f for f in known if f.on < period.start]
        late = []
    notes = [_late_note(f, period, calendar) for f in late]
    allocation = rc.allocation
    history_since = [h for h in rc.history if prior is None or h.version > prior.version]
    lines_out = []
    for ob in rc.obligations:
        alloc_money = allocation.allocated(ob.id)
        alloc = None if alloc_money is None else to_units(alloc_money, what="allocated")
        est_new = current_estimate(ob, known, period.end)
        inputs_before = inputs_as_of(ob, before, prev_end, cur)
        old = _prior_line(prior, ob.id)
        if old is not None:
            prev_cum = to_units(old.cumulative, what="prior cumulative")
            prev_alloc, prev_est = old.allocated, old.estimate_total
        elif prior is not None:
            prev_cum, prev_alloc, prev_est = 0, alloc_money, est_new.total
        else:
            est_old = current_estimate(ob, before, prev_end)
            prev_cum = measure(ob, alloc, inputs_before, est_old, prev_end, rc.policy, cur).cumulative
            prev_alloc, prev_est = alloc_money, est_old.total
        restated = measure(ob, alloc, inputs_before, est_new, prev_end, rc.policy, cur).cumulative
        with_late = measure(ob, alloc, inputs_as_of(ob, before + late, prev_end, cur), est_new, prev_end,
                            rc.policy, cur).cumulative
        final = measure(ob, alloc, inputs_as_of(ob, known, period.end, cur), est_new, period.end, rc.policy, cur)
        lines = []
        if restated != prev_cum:
            lines.append(RevenueLine(CATCH_UP, from_units(restated - prev_cum, cur),
                                     _catch_up_reason(prev_alloc, alloc_money, prev_est, est_new, history_since)))
        if with_late != restated:
            ids = ", ".join(f.id for f in late if f.obligation_id == ob.facts_key)
            lines.append(RevenueLine(LATE, from_units(with_late - restated, cur),
                                     f"facts dated before {period} reported after it was recognised: {ids}"))
        if final.cumulative != with_late:
            lines.append(RevenueLine(PROGRESS, from_units(final.cumulative - with_late, cur),
                                     f"progress in {period}: {final.text}"))
        lines_out.append(ObligationRecognition(
            obligation_id=ob.id, name=ob.name, method=ob.method, allocated=alloc_money, estimate_total=est_new.total,
            progress=final.progress, progress_text=final.text, previously=from_units(prev_cum, cur),
            cumulative=from_units(final.cumulative, cur), revenue=from_units(final.cumulative - prev_cum, cur),
            lines=tuple(lines), phase_id=ob.phase_id, service_line=ob.service_line))
    billed_all = _sum_units(known, Billed, cur)
    collected_all = _sum_units(known, Collected, cur)
    if prior is not None:
        billed_before = to_units(prior.billed_to_date, what="prior billed")
        collected_before = to_units(prior.collected_to_date, what="prior collected")
    else:
        billed_before = _sum_units(before, Billed, cur)
        collected_before = _sum_units(before, Collected, cur)
    return Recognition(
        revenue_contract_id=rc.id, contract_id=rc.contract_id, customer_id=rc.customer_id, version=rc.version,
        legal_entity=rc.legal_entity, currency=cur, period=period, obligations=tuple(lines_out),
        applied_fact_ids=frozenset(f.id for f in known),
        billed_before=from_units(billed_before, cur), billed_in_period=from_units(billed_all - billed_before, cur),
        collected_before=from_units(collected_before, cur),
        collected_in_period=from_units(collected_all - collected_before, cur), notes=tuple(notes))


def _prior_line(prior: Recognition | None, ob_id: str) -> ObligationRecognition | None:
    if prior is None:
        return None
    for ob in prior.obligations:
        if ob.obligation_id == ob_id:
            return ob
    return None


def _sum_units(facts: Sequence[ProgressFact], kind: type[Billed] | type[Collected], currency: str) -> int:
    total = 0
    for f in facts:
        if isinstance(f, (Billed, Collected)) and isinstance(f, kind):
            amount = f.amount
            if amount.currency != currency:
                raise InvalidFact(f"fact {f.id} field amount: {amount.currency}, but the contract is in {currency}")
            total += to_units(amount, what=f"fact {f.id} field amount")
    return total


def _late_note(fact: ProgressFact, period: Period, calendar: PeriodCalendar | None) -> str:
    own = Period.of(fact.on)
    if calendar is not None and not calendar.is_open(own):
        return (f"late fact {fact.id} ({type(fact).__name__}, dated {fact.on.isoformat()}): period {own} is closed "
                f"for {calendar.legal_entity}; recognised in {period}, the first open period")
    return (f"late fact {fact.id} ({type(fact).__name__}, dated {fact.on.isoformat()}): period {own} was already "
            f"recognised; its effect is recognised in {period}")


def _catch_up_reason(prev_alloc: Money | None, alloc: Money | None, prev_est: Decimal | None, est: Estimate,
                     history: Sequence[ContractChange]) -> str:
    reasons = []
    if prev_alloc != alloc:
        change = f"allocated price changed from {prev_alloc} to {alloc}"
        texts = [f"{h.paragraph}: {h.text}" for h in history]
        if texts:
            change += " (" + "; ".join(texts) + ")"
        reasons.append(change + "; applied to progress to date (ASC 606-10-32-43 / IFRS 15.88)")
    if prev_est != est.total:
        reasons.append(f"total estimate changed from {prev_est} to {est.total} ({est.source}); cumulative catch-up "
                       f"(ASC 606-10-25-35 / IFRS 15.43; ASC 250-10-45-17 / IAS 8.36)")
    if not reasons:
        reasons.append("remeasured progress to date under the contract as it now stands")
    return "cumulative catch-up: " + "; ".join(reasons)
