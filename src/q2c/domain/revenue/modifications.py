"""Contract modifications: the three treatments, chosen from the facts, with the reason recorded.

`choose_treatment` is a pure function of two questions asked of the modification:

1. Does it add distinct goods or services, priced at their standalone selling prices (with
   appropriate adjustments)? Then it is a separate contract (ASC 606-10-25-12 / IFRS 15.20).
2. Otherwise: are the remaining goods or services distinct from those already transferred?
   Yes -> termination of the old contract and creation of a new one, prospectively
   (25-13(a) / 15.21(a)); no -> part of the existing contract, with a cumulative catch-up
   (25-13(b) / 15.21(b)).

The mixed case of 25-13(c) / 15.21(c) is not decided automatically: split the modification per
obligation and apply the treatments separately.

A modification is measured at its own date: what the obligations earned up to `approved_on` (facts
dated on or before it) belongs to the terms before it, even when the last closed period ended
earlier; the period that contains the modification recognises that part at the old terms and the
rest under the new ones. The new version records a `ModificationBasis`, which decides where a later
change in the transaction price goes (ASC 606-10-32-45 / IFRS 15.90, see `price_changes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from q2c.domain.money import Money
from q2c.domain.revenue.errors import InvalidContract, where
from q2c.domain.revenue.facts import ProgressFact, distinct_facts
from q2c.domain.revenue.methods import Measure, current_estimate, inputs_as_of, measure
from q2c.domain.revenue.minor_units import from_units, round_half_up, to_units
from q2c.domain.revenue.obligations import (
    ClosedPart,
    ContractChange,
    DiscountAttribution,
    ModificationBasis,
    ModificationTreatment,
    PerformanceObligation,
    RecognitionMethod,
    RevenueContract,
    SspBasis,
    StandaloneSellingPrice,
)
from q2c.domain.revenue.recognition import Recognition
from q2c.domain.revenue.transaction_price import TransactionPrice, VariableConsideration

__all__ = ["ContractModification", "ModificationOutcome", "ModificationTreatment", "TreatmentDecision",
           "apply_modification", "choose_treatment"]


PARAGRAPHS = {
    ModificationTreatment.SEPARATE_CONTRACT: "ASC 606-10-25-12 / IFRS 15.20",
    ModificationTreatment.TERMINATION_AND_NEW_CONTRACT: "ASC 606-10-25-13(a) / IFRS 15.21(a)",
    ModificationTreatment.CUMULATIVE_CATCH_UP: "ASC 606-10-25-13(b) / IFRS 15.21(b)",
}


@dataclass(frozen=True)
class ContractModification:
    """An approved change of scope or price, with the facts that decide its accounting."""

    id: str
    approved_on: date
    description: str
    price_change: Money  # change in consideration, including the price of anything added (may be negative)
    adds_distinct_goods: bool
    priced_at_ssp: bool
    remaining_distinct: bool  # remaining goods/services distinct from those already transferred
    ssp_evidence: str = ""
    added_obligations: tuple[PerformanceObligation, ...] = ()
    remaining_ssp: Mapping[str, Money] = field(default_factory=dict)  # SSP now of what remains of each obligation
    concession_on_transferred: Money | None = None  # credit for goods already transferred (Example 5 Case B)
    concession_obligation: str | None = None
    revised_obligations: tuple[PerformanceObligation, ...] = ()  # same id, new terms (catch-up)
    revised_variable: tuple[VariableConsideration, ...] = ()
    revised_estimates: Mapping[str, Decimal] = field(default_factory=dict)  # prospective: total estimate as modified


@dataclass(frozen=True)
class TreatmentDecision:
    treatment: ModificationTreatment
    paragraph: str
    reason: str


@dataclass(frozen=True)
class ModificationOutcome:
    decision: TreatmentDecision
    contract: RevenueContract  # the existing contract after the modification (maybe unchanged)
    separate: RevenueContract | None  # the new contract, for a separate-contract modification
    notes: tuple[str, ...]


def choose_treatment(mod: ContractModification) -> TreatmentDecision:
    """The accounting treatment the facts of `mod` call for, and why, in words."""
    if mod.adds_distinct_goods and mod.priced_at_ssp and mod.added_obligations:
        t = ModificationTreatment.SEPARATE_CONTRACT
        return TreatmentDecision(t, PARAGRAPHS[t], (
            f"the modification adds distinct goods or services ({', '.join(o.name for o in mod.added_obligations)}) "
            f"and the price rises by their standalone selling prices ({mod.ssp_evidence or 'as assessed'}): "
            f"accounted for as a separate contract; the existing contract is unchanged"))
    if not mod.added_obligations:
        why = "it adds no goods or services (a change of price or of the existing scope)"
    elif not mod.adds_distinct_goods:
        why = "the added goods or services are not distinct"
    else:
        why = (f"the added goods or services are distinct but the price does not reflect their standalone selling "
               f"prices ({mod.ssp_evidence or 'no evidence that it does'})")
    if mod.remaining_distinct:
        t = ModificationTreatment.TERMINATION_AND_NEW_CONTRACT
        return TreatmentDecision(t, PARAGRAPHS[t], (
            f"not a separate contract because {why}; the remaining goods or services are distinct from those "
            f"transferred, so the existing contract is treated as terminated and a new one created: the consideration "
            f"not yet recognised plus the modification's is allocated to the remaining obligations, prospectively"))
    t = ModificationTreatment.CUMULATIVE_CATCH_UP
    return TreatmentDecision(t, PARAGRAPHS[t], (
        f"not a separate contract because {why}; the remaining goods or services are not distinct and form part of a "
        f"partially satisfied obligation, so the modification is part of the existing contract: the transaction price "
        f"and measure of progress are updated and revenue adjusted by a cumulative catch-up on {mod.approved_on}"))


def apply_modification(rc: RevenueContract, mod: ContractModification, *, recognised: Recognition,
                       facts: Sequence[ProgressFact]) -> ModificationOutcome:
    """The contract(s) after `mod`.

    `recognised` is the last recognition posted for this version (it must be of `rc`); `facts` are the
    contract's facts, of which those dated on or before `mod.approved_on` measure what was earned under
    the terms before the modification.
    """
    if recognised.revenue_contract_id != rc.id or recognised.version != rc.version:
        raise InvalidContract(f"{where(rc.id)}: the recognition given is of {recognised.revenue_contract_id} "
                              f"version {recognised.version}, not version {rc.version}")
    if mod.price_change.currency != rc.currency:
        raise InvalidContract(f"{where(rc.id, field=f'modification {mod.id}.price_change')}: "
                              f"{mod.price_change.currency}, but the contract is in {rc.currency}")
    decision = choose_treatment(mod)
    concession = mod.concession_on_transferred or Money.zero(rc.currency)
    if concession.amount < 0:
        raise InvalidContract(f"{where(rc.id, field=f'modification {mod.id}.concession_on_transferred')}: "
                              f"give the credit as a positive amount")
    by_id = {o.id: o for o in rc.obligations}
    for ob_id, total in mod.revised_estimates.items():
        target = by_id.get(ob_id)
        if target is None or not target.method.needs_estimate or target.terminated_at is not None:
            raise InvalidContract(f"{where(rc.id, field=f'modification {mod.id}.revised_estimates')}: {ob_id} is not "
                                  f"an open obligation measured against a total estimate (hours, cost or units)")
        if total <= 0:
            raise InvalidContract(f"{where(rc.id, ob_id, f'modification {mod.id}.revised_estimates')}: {total} is not "
                                  f"a positive total estimate")
    change = ContractChange(mod.approved_on, rc.version + 1, decision.paragraph,
                            f"modification {mod.id}: {mod.description}; {decision.reason}")
    if decision.treatment is ModificationTreatment.SEPARATE_CONTRACT:
        separate = RevenueContract(
            id=f"{rc.id}+{mod.id}", contract_id=rc.contract_id, customer_id=rc.customer_id,
            legal_entity=rc.legal_entity, currency=rc.currency, start=mod.approved_on, end=rc.end,
            obligations=mod.added_obligations, price=TransactionPrice(mod.price_change), policy=rc.policy,
            history=(ContractChange(mod.approved_on, 1, decision.paragraph, f"created by modification {mod.id} of "
                                    f"{rc.id}: {mod.description}"),))
        existing = rc
        if concession.amount > 0:
            existing = _new_version(rc, rc.obligations, _price(rc.price, -concession.amount, mod), rc.discount,
                                    change, rc.basis)
        return ModificationOutcome(decision, existing, separate, (decision.reason,))
    known = [f for f in distinct_facts(facts) if f.on <= mod.approved_on]
    if decision.treatment is ModificationTreatment.CUMULATIVE_CATCH_UP:
        return _catch_up(rc, mod, decision, change, known, concession)
    return _prospective(rc, mod, decision, change, known, concession)


def _price(price: TransactionPrice, delta: Decimal, mod: ContractModification) -> TransactionPrice:
    out = TransactionPrice(Money(amount=price.fixed.amount + delta, currency=price.fixed.currency), price.variable)
    for vc in mod.revised_variable:
        out = out.replace_variable(vc)
    return out


def _new_version(rc: RevenueContract, obligations: tuple[PerformanceObligation, ...], price: TransactionPrice,
                 discount: DiscountAttribution | None, change: ContractChange,
                 basis: ModificationBasis | None) -> RevenueContract:
    return RevenueContract(
        id=rc.id, contract_id=rc.contract_id, customer_id=rc.customer_id, legal_entity=rc.legal_entity,
        currency=rc.currency, start=rc.start, end=rc.end, obligations=obligations, price=price,
        discount=discount, policy=rc.policy, version=rc.version + 1, history=(*rc.history, change), basis=basis)


def _old_terms(rc: RevenueContract, ob: PerformanceObligation, known: Sequence[ProgressFact],
               on: date) -> tuple[int, Measure]:
    """What `ob` earned by `on` under the contract as it stood before the modification."""
    allocated = rc.allocation.allocated(ob.id)
    alloc = None if allocated is None else to_units(allocated, what="allocated")
    m = measure(ob, alloc, inputs_as_of(ob, known, on, rc.currency), current_estimate(ob, known, on), on,
                rc.policy, rc.currency)
    return (alloc or 0), m


def _kept(rc: RevenueContract, ob: PerformanceObligation) -> PerformanceObligation:
    """A part already closed stays closed, at what it is allocated now (a later change in it has been applied)."""
    allocated = rc.allocation.allocated(ob.id)
    return ob if allocated is None or allocated == ob.terminated_at else replace(ob, terminated_at=allocated)


def _catch_up(rc: RevenueContract, mod: ContractModification, decision: TreatmentDecision, change: ContractChange,
              known: Sequence[ProgressFact], concession: Money) -> ModificationOutcome:
    """25-13(b): one contract, updated price and progress; obligations satisfied before it are closed (15.90(b))."""
    revised = {o.id: o for o in mod.revised_obligations}
    unknown = set(revised) - {o.id for o in rc.obligations}
    if unknown:
        raise InvalidContract(f"{where(rc.id, field=f'modification {mod.id}.revised_obligations')}: no obligation "
                              f"{', '.join(sorted(unknown))}")
    notes = [decision.reason]
    obligations: list[PerformanceObligation] = []
    closed: list[str] = []
    for ob in rc.obligations:
        if ob.id in mod.revised_estimates:  # the estimate as modified replaces earlier estimate facts
            base = revised.get(ob.id, ob)
            obligations.append(replace(base, estimated_total=mod.revised_estimates[ob.id],
                                       estimates_after=mod.approved_on))
        elif ob.id in revised:
            obligations.append(revised[ob.id])
        elif ob.terminated_at is not None:
            obligations.append(_kept(rc, ob))
            closed.append(ob.id)
        elif ob.method is RecognitionMethod.RIGHT_TO_INVOICE:
            obligations.append(ob)
        else:
            allocated, m = _old_terms(rc, ob, known, mod.approved_on)
            if allocated and m.cumulative >= allocated:
                obligations.append(replace(ob, terminated_at=from_units(m.cumulative, rc.currency), closed=ClosedPart(
                    mod.id, mod.approved_on, decision.paragraph, from_units(m.cumulative, rc.currency),
                    Money.zero(rc.currency), m.text)))
                closed.append(ob.id)
            else:
                obligations.append(ob)
    if closed:
        notes.append(f"{', '.join(closed)} fully satisfied before modification {mod.id}: kept at their allocation; "
                     f"the modification and later changes in the price go to the obligations not yet satisfied "
                     f"(ASC 606-10-32-45(b) / IFRS 15.90(b))")
    variable = []
    for vc in rc.price.variable:
        targets = tuple(t for t in vc.applies_to if t not in closed)
        variable.append(replace(vc, applies_to=targets, applies_to_reason=vc.applies_to_reason if targets else ""))
    price = _price(TransactionPrice(rc.price.fixed, tuple(variable)), mod.price_change.amount - concession.amount, mod)
    basis = ModificationBasis(mod.id, mod.approved_on, decision.treatment, rc,
                              tuple((ob_id, Fraction(1)) for ob_id in closed))
    discount = rc.discount
    if discount is not None and any(t in closed for t in discount.obligation_ids):
        discount = None
        notes.append("the discount attribution names an obligation satisfied before the modification; the rest of "
                     "the price is allocated on standalone selling prices")
    updated = _new_version(rc, tuple(obligations) + mod.added_obligations, price, discount, change, basis)
    return ModificationOutcome(decision, updated, None, tuple(notes))


def _prospective(rc: RevenueContract, mod: ContractModification, decision: TreatmentDecision,
                 change: ContractChange, known: Sequence[ProgressFact], concession: Money) -> ModificationOutcome:
    """25-13(a): the part satisfied by the modification date is closed at what it earned under the old terms; the
    consideration not yet recognised plus the modification's goes to the remaining obligations."""
    cur = rc.currency
    on = mod.approved_on
    kept: list[PerformanceObligation] = []
    renamed: dict[str, str | None] = {}
    satisfied: list[tuple[str, Fraction]] = []
    notes = [decision.reason]
    if mod.concession_obligation is None and concession.amount > 0:
        raise InvalidContract(f"{where(rc.id, field=f'modification {mod.id}.concession_obligation')}: say which "
                              f"obligation's transferred goods the credit is for")
    for ob in rc.obligations:
        credit = to_units(concession, what="concession") if ob.id == mod.concession_obligation else 0
        if ob.terminated_at is not None or ob.method is RecognitionMethod.RIGHT_TO_INVOICE:
            if credit:
                raise InvalidContract(f"{where(rc.id, ob.id)}: a concession on transferred goods needs an obligation "
                                      f"with an allocated price")
            kept.append(_kept(rc, ob) if ob.terminated_at is not None else ob)
            renamed[ob.id] = ob.id
            if ob.terminated_at is not None:
                satisfied.append((ob.id, Fraction(1)))
            continue
        allocated, m = _old_terms(rc, ob, known, on)
        earned = m.cumulative
        if earned == 0 and not credit:
            kept.append(_restate_ssp(ob, mod, Fraction(1), cur))
            renamed[ob.id] = ob.id
            satisfied.append((ob.id, Fraction(0)))
            continue
        if earned - credit < 0:
            raise InvalidContract(f"{where(rc.id, ob.id)}: the credit {concession} exceeds the revenue it earned, "
                                  f"{from_units(earned, cur)}")
        kept.append(PerformanceObligation(
            id=ob.id, name=f"{ob.name} (transferred before modification {mod.id})", method=ob.method,
            ssp=ob.ssp, phase_id=ob.phase_id, service_line=ob.service_line,
            terminated_at=from_units(earned - credit, cur),
            # every milestone fact belongs to the remaining part or was earned before: none re-measures this one
            transferred_milestones=tuple(sorted({*ob.transferred_milestones, *(m.id for m in ob.milestones)})),
            closed=ClosedPart(mod.id, on, decision.paragraph, from_units(earned, cur), from_units(credit, cur),
                              m.text)))
        satisfied.append((ob.id, Fraction(min(earned, allocated), allocated) if allocated else Fraction(1)))
        if credit:
            notes.append(f"credit {concession} for goods of {ob.id} already transferred: a reduction of the "
                         f"transaction price and of revenue now (Example 5 Case B)")
        if earned >= allocated:
            renamed[ob.id] = None
            continue
        remaining = _remaining_part(rc, ob, mod, known, on, Fraction(allocated - earned, allocated))
        kept.append(remaining)
        renamed[ob.id] = remaining.id
    kept.extend(mod.added_obligations)
    earlier = {vc.id for vc in rc.price.variable}
    price = _price(rc.price, mod.price_change.amount - concession.amount, mod)
    # the version the later changes in earlier variable consideration are allocated on: as it stood, with any
    # re-estimate made by the modification itself (that one is part of the modification, 15.90 first sentence)
    before_price = TransactionPrice(rc.price.fixed, tuple(
        next((r for r in mod.revised_variable if r.id == vc.id), vc) for vc in rc.price.variable))
    before = rc if before_price == rc.price else replace(rc, price=before_price)
    basis = ModificationBasis(mod.id, on, decision.treatment, before, tuple(satisfied))
    if rc.discount is not None:
        notes.append("the discount attribution of the old contract does not carry to the new one: the remaining "
                     "consideration is allocated on standalone selling prices at the modification date")
    if earlier:
        notes.append(f"variable consideration promised before the modification ({', '.join(sorted(earlier))}): what "
                     f"of it was not yet recognised is part of the price of the remaining obligations; a later change "
                     f"in it is allocated as before the modification (ASC 606-10-32-45(a) / IFRS 15.90(a))")
    updated = _new_version(rc, tuple(kept), price, None, change, basis)
    return ModificationOutcome(decision, updated, None, tuple(notes))


def _restate_ssp(ob: PerformanceObligation, mod: ContractModification, share: Fraction,
                 currency: str) -> PerformanceObligation:
    given = mod.remaining_ssp.get(ob.id)
    if given is not None:
        return replace(ob, ssp=StandaloneSellingPrice.observable(given, f"standalone selling price at modification "
                                                                        f"{mod.id} of what remains"))
    if ob.ssp.amount is None or share == 1:
        return ob
    units = round_half_up(to_units(ob.ssp.amount, what="ssp") * share)
    evidence = f"inception SSP {ob.ssp.amount} pro rata to the part not yet transferred ({ob.ssp.evidence})"
    if ob.ssp.basis is SspBasis.EXPECTED_COST_PLUS_MARGIN and ob.ssp.cost is not None:
        cost = from_units(round_half_up(to_units(ob.ssp.cost, what="ssp.cost") * share), currency)
        return replace(ob, ssp=StandaloneSellingPrice(ob.ssp.basis, from_units(units, currency), evidence,
                                                      cost=cost, margin=ob.ssp.margin))
    return replace(ob, ssp=StandaloneSellingPrice(ob.ssp.basis, from_units(units, currency), evidence))


def _remaining_part(rc: RevenueContract, ob: PerformanceObligation, mod: ContractModification,
                    facts: Sequence[ProgressFact], on: date, share: Fraction) -> PerformanceObligation:
    base = _restate_ssp(ob, mod, share, rc.currency)
    common = {"id": f"{ob.id}/{mod.id}", "name": f"{ob.name} (remaining after modification {mod.id})",
              "measured_by": ob.facts_key}
    if ob.method.ratable:
        assert ob.end is not None
        return replace(base, start=on + timedelta(days=1), **common)  # type: ignore[arg-type]
    if ob.method is RecognitionMethod.OUTPUT_MILESTONES:
        reached = {mid for mid, _ in inputs_as_of(ob, facts, on, rc.currency).milestones}
        return replace(base, milestones=tuple(m for m in ob.milestones if m.id not in reached),
                       transferred_milestones=(*ob.transferred_milestones, *sorted(reached)),
                       **common)  # type: ignore[arg-type]
    if ob.method.needs_estimate:
        inputs = inputs_as_of(ob, facts, on, rc.currency)
        estimate = current_estimate(ob, facts, on)
        total = mod.revised_estimates.get(ob.id, estimate.total)
        assert total is not None
        if estimate.excluded_total:
            raise InvalidContract(f"{where(rc.id, ob.id)}: a prospective modification of a cost-to-cost obligation "
                                  f"with uninstalled materials must be split by hand")
        done = {RecognitionMethod.INPUT_HOURS: inputs.hours, RecognitionMethod.INPUT_COST: inputs.cost,
                RecognitionMethod.OUTPUT_UNITS: inputs.units}[ob.method]
        if total - done <= 0:
            raise InvalidContract(f"{where(rc.id, ob.id, 'estimated_total')}: inputs to date {done} reach the estimate "
                                  f"{total} but revenue is not complete; revise the estimate "
                                  f"(revised_estimates of modification {mod.id})")
        # the remaining part measures from `done` against the estimate as modified; later estimates still apply
        return replace(base, estimated_total=total, input_baseline=done, estimates_after=on,
                       **common)  # type: ignore[arg-type]
    raise InvalidContract(f"{where(rc.id, ob.id)}: a {ob.method.value} obligation cannot be partly satisfied")
