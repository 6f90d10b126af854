"""What an approved change of a deal's terms means for the accounting: the facts that decide its treatment
(ASC 606-10-25-10 to 13 / IFRS 15.18 to 21), the controller's questions where they do not, and the
revenue contract's next version.

The firm's defaults, each a reading of the standard for professional services:

* A new line adds distinct services (a separately sold service of the catalogue). A new time-and-materials
  line is priced at its standalone selling price, because hours are billed at the rate card, which is the
  firm's standalone price list: a separate contract (25-12). Whether a new fixed-fee, milestone or retainer
  line is priced at its standalone selling price is a judgement: the controller answers.
* A change to an existing time-and-materials line (estimate, cap) is recognised as invoiced under the right
  to invoice (55-18): nothing to catch up; it is recorded as part of the existing contract.
* A change to a fixed-fee or milestone line (its price, estimate or milestones) changes one partly
  satisfied obligation whose remaining work is not distinct from the work done: part of the existing
  contract, with a cumulative catch-up (25-13(b); ASC 606 Example 8).
* A moved start or end date changes no price: part of the existing contract.
* Anything else (a retainer changed, new lines together with changed ones, the case of 25-13(c)) is for
  the controller to decide. A change of customer or legal entity, a changed billing type or a removed line
  is not applied by q2c at all: it says why, and a person deals with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from q2c.domain.amendments import Amendment, AmendmentKind
from q2c.domain.model import BillingType, Contract, ContractPhase
from q2c.domain.money import Money
from q2c.domain.revenue import (
    ContractChange,
    ContractModification,
    InvalidContract,
    ModificationTreatment,
    Period,
    RevenueContract,
    TransactionPrice,
    TreatmentDecision,
    apply_modification,
    choose_treatment,
    recognise,
)
from q2c.domain.revenue.facts import ProgressFact
from q2c.domain.revenue.modifications import PARAGRAPHS
from q2c.domain.revenue.recognition import Recognition

__all__ = ["Assessment", "ChangeTerms", "assess", "change_terms", "fixed_consideration", "next_version"]


@dataclass(frozen=True)
class ChangeTerms:
    """Where a change lands in the contract: the phases it adds, changes and removes."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    dates_moved: bool


@dataclass(frozen=True)
class Assessment:
    """The treatment the facts call for, or why a person must decide (`question`) or act (`blocked`)."""

    treatment: ModificationTreatment | None
    facts: tuple[str, ...]  # each fact found, in words
    question: str = ""  # what the controller must answer when `treatment` is None and nothing blocks
    blocked: tuple[str, ...] = ()  # why q2c will not apply the change at all

    @property
    def decided(self) -> bool:
        return self.treatment is not None and not self.blocked


def fixed_consideration(contract: Contract) -> Money:
    """The fixed part of the transaction price: every phase but time and materials (whose consideration is
    variable and recognised as invoiced)."""
    return sum((p.amount for p in contract.phases if p.billing_type is not BillingType.TIME_AND_MATERIALS),
               start=Money.zero(contract.currency))


def change_terms(before: Contract, after: Contract, found: Sequence[Amendment],
                 phase_of_line: dict[str, str]) -> ChangeTerms:
    """`phase_of_line`: opportunity line id -> phase id, for the lines of both versions."""
    old, new = {p.id for p in before.phases}, {p.id for p in after.phases}
    changed = sorted({phase_of_line[a.line_id] for a in found if a.line_id and a.kind in (
        AmendmentKind.LINE_CHANGED, AmendmentKind.MILESTONE_ADDED, AmendmentKind.MILESTONE_CHANGED,
        AmendmentKind.MILESTONE_REMOVED) and phase_of_line.get(a.line_id) in old & new})
    dates = any(a.kind is AmendmentKind.DEAL_CHANGED and a.field in ("start_date", "end_date") for a in found)
    return ChangeTerms(tuple(sorted(new - old)), tuple(changed), tuple(sorted(old - new)), dates)


def assess(found: Sequence[Amendment], terms: ChangeTerms, before: Contract, after: Contract) -> Assessment:
    phases = {p.id: p for p in (*before.phases, *after.phases)}
    blocked = [f"{a.describe()}: a change of {a.field.replace('_id', '').replace('_', ' ')} is a new contract, "
               "not a modification; set up a new deal for it" for a in found
               if a.kind is AmendmentKind.DEAL_CHANGED and a.field in ("customer_id", "legal_entity") and a.field]
    blocked += [f"{a.describe()}: a line changing its billing type is a different service; remove the line by "
                "hand and add a new one" for a in found
                if a.kind is AmendmentKind.LINE_CHANGED and a.field == "billing_type"]
    blocked += [f"phase {p} removed: q2c does not end a performance obligation by itself (its invoices, time and "
                "recognised revenue must be settled by the controller first); put the line back or settle the "
                "phase by hand and record the change as rejected" for p in terms.removed]
    if blocked:
        return Assessment(None, (), blocked=tuple(blocked))
    added = [phases[p] for p in terms.added]
    changed = [phases[p] for p in terms.changed]
    facts: list[str] = []
    if added:
        facts.append(f"adds distinct services: {', '.join(_name(p) for p in added)} (a separately sold service of "
                     "the catalogue)")
    if added and not changed and not terms.dates_moved:
        if all(p.billing_type is BillingType.TIME_AND_MATERIALS for p in added):
            facts.append("priced at their standalone selling prices: time and materials is billed at the rate card, "
                         "the firm's standalone price list")
            return Assessment(ModificationTreatment.SEPARATE_CONTRACT, tuple(facts))
        return Assessment(None, tuple(facts), question=(
            "Is the price of the added line(s) their standalone selling price? Yes: a separate contract "
            "(--treatment separate_contract). No: are the remaining services distinct from those already "
            "delivered? Yes: --treatment termination_and_new_contract; no: --treatment cumulative_catch_up"))
    if added:
        return Assessment(None, tuple(facts), question=(
            "The change both adds lines and changes existing ones (ASC 606-10-25-13(c) / IFRS 15.21(c)): choose "
            "the treatment for the whole change with --treatment, or reject it and have the CRM record the parts "
            "as separate changes"))
    kinds = {p.billing_type for p in changed}
    if BillingType.RETAINER in kinds:
        facts.append("changes a retainer, a series of distinct monthly services")
        return Assessment(None, tuple(facts), question=(
            "Are the remaining months of the retainer distinct from those delivered (usually yes: "
            "--treatment termination_and_new_contract), or part of one obligation "
            "(--treatment cumulative_catch_up)?"))
    if changed and kinds <= {BillingType.TIME_AND_MATERIALS}:
        facts.append(f"changes only time-and-materials terms of {', '.join(_name(p) for p in changed)}: recognised "
                     "as invoiced under the right to invoice (ASC 606-10-55-18), so nothing is caught up")
    elif changed:
        facts.append(f"changes {', '.join(_name(p) for p in changed)}: one partly satisfied obligation each, whose "
                     "remaining work is not distinct from the work done (ASC 606 Example 8)")
    if terms.dates_moved:
        facts.append("moves the contract's dates; no price changes with them")
    if not changed and not terms.dates_moved:
        facts.append("changes no term the accounting depends on")
    return Assessment(ModificationTreatment.CUMULATIVE_CATCH_UP, tuple(facts))


def _name(phase: ContractPhase) -> str:
    return f"{phase.id} ({phase.name})"


def _facts_for(treatment: ModificationTreatment) -> tuple[bool, bool, bool]:
    """(adds distinct goods, priced at SSP, remaining distinct) that lead `choose_treatment` to `treatment`."""
    return {ModificationTreatment.SEPARATE_CONTRACT: (True, True, True),
            ModificationTreatment.TERMINATION_AND_NEW_CONTRACT: (False, False, True),
            ModificationTreatment.CUMULATIVE_CATCH_UP: (False, False, False)}[treatment]


def next_version(current: RevenueContract, fresh: RevenueContract, *, change_id: str, approved_on: date,
                 description: str, treatment: ModificationTreatment, terms: ChangeTerms, before: Contract,
                 after: Contract, facts: Sequence[ProgressFact],
                 chosen_by: str | None = None, reason: str = "") -> tuple[RevenueContract, TreatmentDecision,
                                                                           tuple[str, ...]]:
    """The revenue contract's next version once the change is applied with `treatment`.

    `current` is the version in force, `fresh` the revenue contract the amended contract would have if it
    were set up today (its obligations carry the new terms); `facts` the contract's facts (those dated up to
    `approved_on` measure what the old terms earned). A separate contract keeps its own obligations and allocation
    inside the same revenue contract record; when that would move the existing obligations' allocation (they
    are not priced at their standalone selling prices) it is refused, naming the obligation.
    """
    adds, at_ssp, remaining = _facts_for(treatment)
    new_obs = {ob.id: ob for ob in fresh.obligations}
    added = tuple(new_obs[p] for p in terms.added)
    revised = tuple(new_obs[p] for p in terms.changed if new_obs[p].method.needs_estimate is False)
    estimates = {p: new_obs[p].estimated_total for p in terms.changed
                 if new_obs[p].method.needs_estimate and new_obs[p].estimated_total is not None
                 and new_obs[p].estimated_total != current.obligation(p).estimated_total}
    price_change = fixed_consideration(after) - fixed_consideration(before)
    mod = ContractModification(
        id=change_id, approved_on=approved_on, description=description, price_change=price_change,
        adds_distinct_goods=adds, priced_at_ssp=at_ssp, remaining_distinct=remaining,
        ssp_evidence="time and materials at the rate card" if treatment is ModificationTreatment.SEPARATE_CONTRACT
        else "", added_obligations=added,
        revised_obligations=revised if treatment is ModificationTreatment.CUMULATIVE_CATCH_UP else (),
        revised_estimates={k: Decimal(v) for k, v in estimates.items() if v is not None})
    decision = choose_treatment(mod)
    if chosen_by:
        decision = replace(decision, reason=f"chosen by {chosen_by}" + (f" ({reason})" if reason else "")
                           + f": {decision.reason}")
    outcome = apply_modification(current, mod, recognised=_measured(current, facts, approved_on), facts=facts)
    if outcome.separate is not None:
        return _combined(outcome.contract, outcome.separate, decision), decision, outcome.notes
    history = (*outcome.contract.history[:-1], replace(outcome.contract.history[-1], text=(
        f"modification {change_id}: {description}; {decision.reason}")))
    return replace(outcome.contract, history=history), decision, outcome.notes


def _measured(current: RevenueContract, facts: Sequence[ProgressFact], on: date) -> Recognition:
    """A recognition of the version in force up to the modification date: `apply_modification` measures the old
    terms from the facts itself and takes this as proof of which version it modifies."""
    return recognise(current, [f for f in facts if f.on <= on], period=Period.of(on))


def _combined(existing: RevenueContract, separate: RevenueContract, decision: TreatmentDecision) -> RevenueContract:
    """A separate contract (25-12) kept in the existing revenue contract's record, each part at its own allocation."""
    change = ContractChange(separate.start, existing.version + 1, PARAGRAPHS[decision.treatment],
                            f"{separate.history[0].text}; {decision.reason}")
    price = TransactionPrice(existing.price.fixed + separate.price.fixed,
                             (*existing.price.variable, *separate.price.variable))
    combined = replace(existing, obligations=(*existing.obligations, *separate.obligations), price=price,
                       version=existing.version + 1, history=(*existing.history, change))
    for part in (existing, separate):
        for ob in part.obligations:
            own, now = part.allocation.allocated(ob.id), combined.allocation.allocated(ob.id)
            if own != now:
                raise InvalidContract(
                    f"revenue contract {existing.id} obligation {ob.id}: kept with the separate contract of "
                    f"{separate.id} its allocation would move from {own} to {now}, because the contract is not "
                    "priced at standalone selling prices; choose termination_and_new_contract or "
                    "cumulative_catch_up instead")
    return combined
