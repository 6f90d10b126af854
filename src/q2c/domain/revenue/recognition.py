"""Recognise revenue for one contract and one period, from the facts known now.

`recognise` is a pure function of the revenue contract, the set of facts and the previous period's
recognition as posted (`prior`). For each obligation it computes the cumulative revenue that should
be recognised by the end of the period and books the difference from what was recognised before,
split into lines an accountant can check:

* catch-up — the effect, on progress already reported, of a new estimate or a new allocated price
  (cumulative catch-up, ASC 606-10-25-35, 32-43 / IFRS 15.43, 88; ASC 250-10-45-17 / IAS 8.36);
* late — what belongs to earlier periods but was not recognised in them: facts that arrived after
  their period was recognised, or, without `prior`, everything earned before the period;
* progress — what was achieved in the period itself.

`prior=None` means nothing was recognised for the contract before the period: the engine never
assumes that earlier periods were posted. A close that runs month after month passes the last
posted period's recognition (or its snapshot, `recognition_from_json`).

Facts are deduplicated by id, so replaying an event changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from q2c.domain.money import Money, check_currency
from q2c.domain.revenue.errors import InvalidFact, MissingFxRate, RevenueError, where
from q2c.domain.revenue.facts import Billed, Collected, ProgressFact, distinct_facts
from q2c.domain.revenue.fx import FxTable
from q2c.domain.revenue.losses import ExpectedLoss, expected_loss
from q2c.domain.revenue.methods import Estimate, current_estimate, inputs_as_of, measure
from q2c.domain.revenue.minor_units import from_units, to_units
from q2c.domain.revenue.obligations import ContractChange, PerformanceObligation, RecognitionMethod, RevenueContract
from q2c.domain.revenue.periods import Period, PeriodCalendar
from q2c.domain.revenue.translation import ContractTotals, FunctionalBalances, FunctionalPeriod, translate

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
    expected_losses: tuple[ExpectedLoss, ...] = ()
    functional: FunctionalPeriod | None = None  # balances in the functional currency, when it differs

    def obligation(self, obligation_id: str) -> ObligationRecognition:
        for ob in self.obligations:
            if ob.obligation_id == obligation_id:
                return ob
        raise KeyError(obligation_id)

    def _sum(self, attr: str) -> Money:
        total = from_units(0, self.currency)
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

    @property
    def loss_provision(self) -> Money:
        """Provision for expected losses at the period end (IAS 37.66 / ASC 605-35-25-46)."""
        total = from_units(0, self.currency)
        for loss in self.expected_losses:
            total = total + loss.provision
        return total

    @property
    def loss_provision_before(self) -> Money:
        total = from_units(0, self.currency)
        for loss in self.expected_losses:
            total = total + loss.provision_before
        return total


def recognise(rc: RevenueContract, facts: Sequence[ProgressFact], *, period: Period,
              prior: Recognition | None = None, calendar: PeriodCalendar | None = None,
              functional_currency: str | None = None, fx: FxTable | None = None) -> Recognition:
    """Revenue of `rc` for `period` from `facts`.

    `prior` is the recognition of the last period posted: its cumulative amounts are what the ledger
    holds and it says which facts were already applied. Without it nothing is taken as recognised
    before `period`: revenue earned earlier is recognised now, as late lines with a note. With a
    `calendar`, a closed `period` is refused and late facts say which closed period they missed. With a
    `functional_currency` other than the contract's (and `fx`), the functional balances are carried
    from `prior` (a prior that carries them implies its functional currency).
    """
    cur = rc.currency
    if calendar is not None:
        if calendar.legal_entity != rc.legal_entity:
            raise RevenueError(f"{where(rc.id, field='legal_entity')}: {rc.legal_entity}, but the period calendar "
                               f"is for {calendar.legal_entity}")
        calendar.require_open(period.end, what=f"revenue of {rc.id} for {period}")
    if prior is not None:
        _check_prior(rc, prior, period)
    keys = {ob.facts_key for ob in rc.obligations} | {ob.id for ob in rc.obligations} | {""}
    every = distinct_facts(facts)
    for fact in every:
        if fact.obligation_id not in keys:
            raise InvalidFact(f"fact {fact.id} field obligation_id: {fact.obligation_id!r} is not an obligation of "
                              f"revenue contract {rc.id}")
    known = [f for f in every if f.on <= period.end]
    if prior is not None:
        before = [f for f in known if f.id in prior.applied_fact_ids]
        late = [f for f in known if f.id not in prior.applied_fact_ids and f.on < period.start]
    else:
        before = []
        late = [f for f in known if f.on < period.start]
    posted_through = None if prior is None else prior.period
    notes = [_late_note(f, period, calendar, posted_through) for f in late]
    if prior is not None and prior.period < period.previous():
        gap = (f"period {period.previous()} was" if prior.period.next() == period.previous()
               else f"periods {prior.period.next()} to {period.previous()} were")
        notes.append(f"{gap} not recognised for revenue contract {rc.id} (the last recognised is {prior.period}): "
                     f"what was earned then is recognised in {period}")
    allocation = rc.allocation
    history = [h for h in rc.history if prior is None or h.version > prior.version]
    previous_provisions = {x.obligation_id: to_units(x.provision, what="provision")
                           for x in (prior.expected_losses if prior is not None else ())}
    lines_out: list[ObligationRecognition] = []
    losses: list[ExpectedLoss] = []
    for ob in rc.obligations:
        alloc_money = allocation.allocated(ob.id)
        alloc = None if alloc_money is None else to_units(alloc_money, what="allocated")
        old = _prior_line(prior, ob.id)
        prev_cum = 0 if old is None else to_units(old.cumulative, what="prior cumulative")
        est_new = current_estimate(ob, known, period.end)
        inputs_final = inputs_as_of(ob, known, period.end, cur)
        final = measure(ob, alloc, inputs_final, est_new, period.end, rc.policy, cur)
        if ob.terminated_at is not None:
            lines = _closed_lines(rc, ob, final.cumulative, prev_cum, prior, period, history,
                                  allocation.line(ob.id).reason)
        else:
            lines = _lines(rc, ob, alloc, alloc_money, old, prev_cum, est_new, before, late, posted_through,
                           period, final.cumulative, final.text, history)
        lines_out.append(ObligationRecognition(
            obligation_id=ob.id, name=ob.name, method=ob.method, allocated=alloc_money, estimate_total=est_new.total,
            progress=final.progress, progress_text=final.text, previously=from_units(prev_cum, cur),
            cumulative=from_units(final.cumulative, cur), revenue=from_units(final.cumulative - prev_cum, cur),
            lines=tuple(lines), phase_id=ob.phase_id, service_line=ob.service_line))
        loss = expected_loss(ob, alloc, est_new, inputs_final, final.cumulative, previous_provisions.get(ob.id, 0), cur)
        if loss is not None:
            losses.append(loss)
    if late and prior is None:
        notes.append(f"no earlier recognition was given for revenue contract {rc.id}: nothing is taken as posted "
                     f"before {period}, so revenue earned before it is recognised in {period}")
    billed_all = _sum_units(known, Billed, cur)
    collected_all = _sum_units(known, Collected, cur)
    billed_before = 0 if prior is None else to_units(prior.billed_to_date, what="prior billed")
    collected_before = 0 if prior is None else to_units(prior.collected_to_date, what="prior collected")
    rec = Recognition(
        revenue_contract_id=rc.id, contract_id=rc.contract_id, customer_id=rc.customer_id, version=rc.version,
        legal_entity=rc.legal_entity, currency=cur, period=period, obligations=tuple(lines_out),
        applied_fact_ids=frozenset(f.id for f in known),
        billed_before=from_units(billed_before, cur), billed_in_period=from_units(billed_all - billed_before, cur),
        collected_before=from_units(collected_before, cur),
        collected_in_period=from_units(collected_all - collected_before, cur), notes=tuple(notes),
        expected_losses=tuple(losses))
    functional = _functional_currency(rc, prior, functional_currency)
    if functional is None:
        return rec
    if fx is None:
        raise MissingFxRate(f"{where(rc.id)}: functional currency {functional} differs from {cur}; an FX table "
                            f"(fx=) is needed to translate {period}")
    fresh = [f for f in known if isinstance(f, (Billed, Collected))
             and (prior is None or f.id not in prior.applied_fact_ids)]
    opening = _functional_opening(rc, prior, functional)
    translated = translate(
        what=where(rc.id), currency=cur, functional=functional, fx=fx, period=period, opening=opening,
        before=ContractTotals(billed_before, collected_before, to_units(rec.previously, what="previously")),
        events=fresh, revenue=[(ob.obligation_id, to_units(ob.revenue, what="revenue")) for ob in rec.obligations],
        provision_before=to_units(rec.loss_provision_before, what="provision"),
        provision=to_units(rec.loss_provision, what="provision"))
    return replace(rec, functional=translated)


def _check_prior(rc: RevenueContract, prior: Recognition, period: Period) -> None:
    if prior.revenue_contract_id != rc.id:
        raise RevenueError(f"{where(rc.id)}: the prior recognition is of {prior.revenue_contract_id}")
    if prior.period >= period:
        raise RevenueError(f"{where(rc.id)}: the prior recognition is for {prior.period}, not before {period}")
    if prior.currency != rc.currency:
        raise RevenueError(f"{where(rc.id, field='currency')}: {rc.currency}, but the prior recognition is in "
                           f"{prior.currency}")
    known_ids = {ob.id for ob in rc.obligations}
    for earlier in prior.obligations:
        if earlier.obligation_id not in known_ids:
            raise RevenueError(f"{where(rc.id, earlier.obligation_id)}: recognised before but no longer in the "
                               f"contract; a modification must keep it (closed at its revenue)")


def _functional_currency(rc: RevenueContract, prior: Recognition | None, requested: str | None) -> str | None:
    carried = None if prior is None or prior.functional is None else prior.functional.currency
    functional = check_currency(requested) if requested is not None else carried
    if functional is None or functional == rc.currency:
        if carried is not None:
            raise RevenueError(f"{where(rc.id)}: the prior recognition carries balances in {carried}; recognise "
                               f"with functional_currency={carried!r} so they carry on")
        return None
    return functional


def _functional_opening(rc: RevenueContract, prior: Recognition | None, functional: str) -> FunctionalBalances:
    if prior is None:
        return FunctionalBalances.zero(functional)
    if prior.functional is not None:
        if prior.functional.currency != functional:
            raise RevenueError(f"{where(rc.id)}: the prior recognition carries balances in "
                               f"{prior.functional.currency}, not {functional}")
        return prior.functional.closing
    if prior.cumulative.amount or prior.billed_to_date.amount or prior.collected_to_date.amount \
            or prior.loss_provision.amount:
        raise RevenueError(f"{where(rc.id)}: the prior recognition ({prior.period}) carries no {functional} balances, "
                           f"so the functional balances posted for it are unknown; recognise the chain with "
                           f"functional_currency={functional!r} from its first period")
    return FunctionalBalances.zero(functional)


def _lines(rc: RevenueContract, ob: PerformanceObligation, alloc: int | None, alloc_money: Money | None,
           old: ObligationRecognition | None, prev_cum: int, est_new: Estimate, before: list[ProgressFact],
           late: list[ProgressFact], posted_through: Period | None, period: Period, final: int, final_text: str,
           history: Sequence[ContractChange]) -> list[RevenueLine]:
    cur = rc.currency
    prev_end = period.start - timedelta(days=1)
    prior_given = posted_through is not None
    lines: list[RevenueLine] = []
    with_late = measure(ob, alloc, inputs_as_of(ob, before + late, prev_end, cur), est_new, prev_end, rc.policy, cur)
    if old is None:
        # nothing was recognised for this obligation: what it earned before the period is late
        if with_late.cumulative:
            ids = ", ".join(f.id for f in late if f.obligation_id in (ob.facts_key, ob.id))
            if prior_given:
                why = f"{ob.id} is new in version {rc.version}: what it earned before {period} was not recognised"
            else:
                why = f"earned before {period}: no revenue was posted for {ob.id} before {period}"
            lines.append(RevenueLine(LATE, from_units(with_late.cumulative, cur),
                                     f"{why} ({with_late.text}" + (f"; facts {ids})" if ids else ")")))
        base = with_late.cumulative
    else:
        # the catch-up remeasures what was posted, at the date it was posted to, under the terms as they stand now
        assert posted_through is not None
        posted_end = posted_through.end
        restated = measure(ob, alloc, inputs_as_of(ob, before, posted_end, cur), est_new, posted_end, rc.policy, cur)
        if restated.cumulative != prev_cum:
            lines.append(RevenueLine(CATCH_UP, from_units(restated.cumulative - prev_cum, cur),
                                     _catch_up_reason(ob, old.allocated, alloc_money, old.estimate_total, est_new,
                                                      history)))
        if with_late.cumulative != restated.cumulative:
            ids = ", ".join(f.id for f in late if f.obligation_id in (ob.facts_key, ob.id))
            if posted_end < prev_end:
                why = (f"earned between {posted_end.isoformat()} and {period}, in periods not recognised for this "
                       f"contract ({with_late.text}" + (f"; facts {ids})" if ids else ")"))
            else:
                why = f"facts dated before {period} reported after it was recognised: {ids}"
            lines.append(RevenueLine(LATE, from_units(with_late.cumulative - restated.cumulative, cur), why))
        base = with_late.cumulative
    if final != base:
        lines.append(RevenueLine(PROGRESS, from_units(final - base, cur), f"progress in {period}: {final_text}"))
    return lines


def _closed_lines(rc: RevenueContract, ob: PerformanceObligation, target: int, prev_cum: int,
                  prior: Recognition | None, period: Period, history: Sequence[ContractChange],
                  allocation_reason: str) -> list[RevenueLine]:
    """Lines of a part closed by a modification: progress up to the modification under the old terms, then any
    credit on what was transferred and any later change in earlier variable consideration (15.90(a))."""
    cur = rc.currency
    lines: list[RevenueLine] = []
    base = prev_cum
    c = ob.closed
    if c is not None and (prior is None or prior.period.end < c.on):
        earned = to_units(c.earned, what="earned")
        upto = (f"up to modification {c.modification_id} on {c.on.isoformat()}, measured under the terms before it: "
                f"{c.measured}")
        if earned != prev_cum:
            if period.contains(c.on):
                lines.append(RevenueLine(PROGRESS, from_units(earned - prev_cum, cur), f"progress in {period} {upto}"))
            elif c.on < period.start:
                why = (f"no revenue was posted for {ob.id} before {period}" if prior is None
                       else f"the periods after {prior.period} were not recognised before the modification")
                lines.append(RevenueLine(LATE, from_units(earned - prev_cum, cur), f"earned {upto}; {why}"))
            else:
                lines.append(RevenueLine(CATCH_UP, from_units(earned - prev_cum, cur),
                                         f"the contract version of a modification dated after {period} was used: "
                                         f"{upto}"))
        credit = to_units(c.credit, what="credit")
        if credit:
            lines.append(RevenueLine(CATCH_UP, from_units(-credit, cur), (
                f"credit of {c.credit} for what was already transferred, granted in modification {c.modification_id}: "
                f"a reduction of the transaction price recognised as a reduction of revenue at once "
                f"(ASC 606-10-25-13(a) / IFRS 15.21(a), IFRS 15 Example 5 Case B)")))
        base = earned - credit
    if target != base:
        texts = "; ".join(f"{h.paragraph}: {h.text}" for h in history)
        lines.append(RevenueLine(CATCH_UP, from_units(target - base, cur), (
            f"cumulative catch-up: the closed part is now {from_units(target, cur)} ({allocation_reason})"
            + (f"; {texts}" if texts else ""))))
    return lines


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


def _late_note(fact: ProgressFact, period: Period, calendar: PeriodCalendar | None,
               posted_through: Period | None) -> str:
    own = Period.of(fact.on)
    head = f"late fact {fact.id} ({type(fact).__name__}, dated {fact.on.isoformat()})"
    closed = calendar is not None and not calendar.is_open(own)
    if posted_through is None or own > posted_through:
        text = f"{head}: no revenue was posted for period {own} for this contract"
        if closed:
            assert calendar is not None
            text += f", which is closed for {calendar.legal_entity}"
        return text + f"; recognised in {period}"
    if closed:
        assert calendar is not None
        return (f"{head}: period {own} is closed for {calendar.legal_entity}; recognised in {period}, the first "
                f"open period")
    return f"{head}: period {own} was already recognised; its effect is recognised in {period}"


def _catch_up_reason(ob: PerformanceObligation, prev_alloc: Money | None, alloc: Money | None,
                     prev_est: Decimal | None, est: Estimate, history: Sequence[ContractChange]) -> str:
    reasons = []
    if prev_alloc != alloc:
        change = f"allocated price changed from {prev_alloc} to {alloc}"
        texts = [f"{h.paragraph}: {h.text}" for h in history]
        if texts:
            change += " (" + "; ".join(texts) + ")"
        reasons.append(change + "; applied to progress to date (ASC 606-10-32-43 / IFRS 15.88)")
    if ob.method.needs_estimate and prev_est is not None and est.total is not None and prev_est != est.total:
        reasons.append(f"total estimate changed from {prev_est} to {est.total} ({est.source}); cumulative catch-up "
                       f"(ASC 606-10-25-35 / IFRS 15.43; ASC 250-10-45-17 / IAS 8.36)")
    if not reasons:
        texts = [f"{h.paragraph}: {h.text}" for h in history]
        reasons.append("remeasured progress to date under the contract as it now stands"
                       + (" (" + "; ".join(texts) + ")" if texts else ""))
    return "cumulative catch-up: " + "; ".join(reasons)
