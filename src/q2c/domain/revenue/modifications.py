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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from q2c.domain.money import Money
from q2c.domain.revenue.errors import InvalidContract, where
from q2c.domain.revenue.facts import ProgressFact, distinct_facts
from q2c.domain.revenue.methods import current_estimate, inputs_as_of
from q2c.domain.revenue.minor_units import from_units, round_half_up, to_units
from q2c.domain.revenue.obligations import (
    ContractChange,
    PerformanceObligation,
    RecognitionMethod,
    RevenueContract,
    StandaloneSellingPrice,
)
from q2c.domain.revenue.recognition import Recognition
from q2c.domain.revenue.transaction_price import TransactionPrice, VariableConsideration


class ModificationTreatment(StrEnum):
    SEPARATE_CONTRACT = "separate_contract"
    TERMINATION_AND_NEW_CONTRACT = "termination_and_new_contract"
    CUMULATIVE_CATCH_UP = "cumulative_catch_up"


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
    """The contract(s) after `mod`, given what was recognised up to the last period closed before it."""
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
            existing = _new_version(rc, rc.obligations, _price(rc.price, -concession.amount, mod), rc.discount, change)
        return ModificationOutcome(decision, existing, separate, (decision.reason,))
    if decision.treatment is ModificationTreatment.CUMULATIVE_CATCH_UP:
        revised = {o.id: o for o in mod.revised_obligations}
        unknown = set(revised) - {o.id for o in rc.obligations}
        if unknown:
            raise InvalidContract(f"{where(rc.id, field=f'modification {mod.id}.revised_obligations')}: no obligation "
                                  f"{', '.join(sorted(unknown))}")
        obligations = tuple(revised.get(o.id, o) for o in rc.obligations) + mod.added_obligations
        price = _price(rc.price, mod.price_change.amount - concession.amount, mod)
        updated = _new_version(rc, obligations, price, rc.discount, change)
        return ModificationOutcome(decision, updated, None, (decision.reason,))
    return _prospective(rc, mod, decision, change, recognised, facts, concession)


def _price(price: TransactionPrice, delta: Decimal, mod: ContractModification) -> TransactionPrice:
    out = TransactionPrice(Money(amount=price.fixed.amount + delta, currency=price.fixed.currency), price.variable)
    for vc in mod.revised_variable:
        out = out.replace_variable(vc)
    return out


def _new_version(rc: RevenueContract, obligations: tuple[PerformanceObligation, ...], price: TransactionPrice,
                 discount: object, change: ContractChange) -> RevenueContract:
    return RevenueContract(
        id=rc.id, contract_id=rc.contract_id, customer_id=rc.customer_id, legal_entity=rc.legal_entity,
        currency=rc.currency, start=rc.start, end=rc.end, obligations=obligations, price=price,
        discount=discount,  # type: ignore[arg-type]
        policy=rc.policy, version=rc.version + 1, history=(*rc.history, change))


def _prospective(rc: RevenueContract, mod: ContractModification, decision: TreatmentDecision,
                 change: ContractChange, recognised: Recognition, facts: Sequence[ProgressFact],
                 concession: Money) -> ModificationOutcome:
    cur = rc.currency
    cutoff = recognised.period.end
    known = [f for f in distinct_facts(facts) if f.id in recognised.applied_fact_ids]
    kept: list[PerformanceObligation] = []
    renamed: dict[str, str | None] = {}
    notes = [decision.reason]
    if mod.concession_obligation is None and concession.amount > 0:
        raise InvalidContract(f"{where(rc.id, field=f'modification {mod.id}.concession_obligation')}: say which "
                              f"obligation's transferred goods the credit is for")
    for ob in rc.obligations:
        line = recognised.obligation(ob.id)
        cum = to_units(line.cumulative, what="cumulative")
        credit = to_units(concession, what="concession") if ob.id == mod.concession_obligation else 0
        if ob.terminated_at is not None or ob.method is RecognitionMethod.RIGHT_TO_INVOICE:
            if credit:
                raise InvalidContract(f"{where(rc.id, ob.id)}: a concession on transferred goods needs an obligation "
                                      f"with an allocated price")
            kept.append(ob)
            renamed[ob.id] = ob.id
            continue
        allocated = to_units(line.allocated, what="allocated") if line.allocated is not None else 0
        if cum == 0 and not credit:
            kept.append(_restate_ssp(ob, mod, Fraction(1), cur))
            renamed[ob.id] = ob.id
            continue
        done = PerformanceObligation(
            id=ob.id, name=f"{ob.name} (transferred before modification {mod.id})", method=ob.method,
            ssp=ob.ssp, phase_id=ob.phase_id, service_line=ob.service_line,
            terminated_at=from_units(cum - credit, cur))
        kept.append(done)
        if cum - credit < 0:
            raise InvalidContract(f"{where(rc.id, ob.id)}: the credit exceeds the revenue recognised")
        if credit:
            notes.append(f"credit {concession} for goods of {ob.id} already transferred: a reduction of the "
                         f"transaction price and of revenue now (Example 5 Case B)")
        if cum >= allocated:
            renamed[ob.id] = None
            continue
        remaining = _remaining_part(rc, ob, mod, known, cutoff, Fraction(allocated - cum, allocated or 1))
        kept.append(remaining)
        renamed[ob.id] = remaining.id
    kept.extend(mod.added_obligations)
    variable = []
    for vc in rc.price.variable:
        targets = tuple(t for t in (renamed.get(x) for x in vc.applies_to) if t)
        variable.append(replace(vc, applies_to=targets))
    price = _price(TransactionPrice(rc.price.fixed, tuple(variable)), mod.price_change.amount - concession.amount, mod)
    if rc.discount is not None:
        notes.append("the discount attribution of the old contract does not carry to the new one: the remaining "
                     "consideration is allocated on standalone selling prices at the modification date")
    updated = _new_version(rc, tuple(kept), price, None, change)
    return ModificationOutcome(decision, updated, None, tuple(notes))


def _restate_ssp(ob: PerformanceObligation, mod: ContractModification, share: Fraction,
                 currency: str) -> PerformanceObligation:
    given = mod.remaining_ssp.get(ob.id)
    if given is not None:
        return replace(ob, ssp=StandaloneSellingPrice.observable(given, f"standalone selling price at modification "
                                                                        f"{mod.id} of what remains"))
    if ob.ssp.amount is None:
        return ob
    units = round_half_up(to_units(ob.ssp.amount, what="ssp") * share)
    return replace(ob, ssp=StandaloneSellingPrice(
        ob.ssp.basis, from_units(units, currency),
        f"inception SSP {ob.ssp.amount} pro rata to the part not yet transferred ({ob.ssp.evidence})"))


def _remaining_part(rc: RevenueContract, ob: PerformanceObligation, mod: ContractModification,
                    facts: Sequence[ProgressFact], cutoff: date, share: Fraction) -> PerformanceObligation:
    base = _restate_ssp(ob, mod, share, rc.currency)
    common = {"id": f"{ob.id}/{mod.id}", "name": f"{ob.name} (remaining after modification {mod.id})",
              "measured_by": ob.facts_key}
    if ob.method.ratable:
        assert ob.end is not None
        start = cutoff + timedelta(days=1)
        return replace(base, start=start, **common)  # type: ignore[arg-type]
    if ob.method is RecognitionMethod.OUTPUT_MILESTONES:
        reached = {mid for mid, _ in inputs_as_of(ob, facts, cutoff, rc.currency).milestones}
        return replace(base, milestones=tuple(m for m in ob.milestones if m.id not in reached),
                       **common)  # type: ignore[arg-type]
    if ob.method.needs_estimate:
        inputs = inputs_as_of(ob, facts, cutoff, rc.currency)
        estimate = current_estimate(ob, facts, cutoff)
        assert estimate.total is not None
        if estimate.excluded_total:
            raise InvalidContract(f"{where(rc.id, ob.id)}: a prospective modification of a cost-to-cost obligation "
                                  f"with uninstalled materials must be split by hand")
        done = {RecognitionMethod.INPUT_HOURS: inputs.hours, RecognitionMethod.INPUT_COST: inputs.cost,
                RecognitionMethod.OUTPUT_UNITS: inputs.units}[ob.method]
        if estimate.total - done <= 0:
            raise InvalidContract(f"{where(rc.id, ob.id, 'estimated_total')}: inputs to date {done} reach the estimate "
                                  f"{estimate.total} but revenue is not complete; revise the estimate first")
        # the remaining part keeps the original measure (so later estimates apply) and counts from `done`
        return replace(base, estimated_total=estimate.total, input_baseline=done, **common)  # type: ignore[arg-type]
    raise InvalidContract(f"{where(rc.id, ob.id)}: a {ob.method.value} obligation cannot be partly satisfied")
