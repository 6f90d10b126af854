"""Step 4: allocate the transaction price to the performance obligations.

Order of work, each step citing the standard:

1. Parts closed by a modification keep what they earned under the terms before it (25-13(a) / 15.21(a)),
   plus their share of a later change in variable consideration promised before it (32-45(a) / 15.90(a)).
2. Right-to-invoice obligations take the consideration invoiced for them and nothing else: the
   variable hours-times-rate consideration relates entirely to them (32-40 / IFRS 15.85).
3. Variable consideration that relates entirely to some obligations goes to those alone, on their
   relative standalone selling prices (32-39..41 / IFRS 15.84-86).
4. The rest of the price goes on relative standalone selling prices (32-31 / IFRS 15.76); a discount
   goes to every obligation in proportion (32-36 / IFRS 15.81) unless the three criteria of
   32-37 / IFRS 15.82 are evidenced, in which case it goes only to the named obligations, before any
   residual approach (32-37 last sentence / IFRS 15.83).
5. A residual-SSP obligation receives what is left after the others (32-34(c) / IFRS 15.79(c)); a
   residual of zero or less, or outside the observed range, is refused (Example 34 Case C).

Every split is done in whole minor units by largest remainder, so the allocations add up to the
transaction price exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from q2c.domain.money import Money
from q2c.domain.revenue.errors import AllocationRefused, where
from q2c.domain.revenue.minor_units import from_units, largest_remainder, to_units
from q2c.domain.revenue.obligations import (
    ModificationTreatment,
    PerformanceObligation,
    RecognitionMethod,
    RevenueContract,
    SspBasis,
)
from q2c.domain.revenue.price_changes import closed_part_changes, earlier_variable_ids


@dataclass(frozen=True)
class ObligationAllocation:
    """What one obligation was allocated, and the reasoning, in minor units and words."""

    obligation_id: str
    ssp: Money | None  # None: residual, or right-to-invoice
    allocated: Money | None  # None: right-to-invoice (revenue = amount invoiced)
    discount_share: Money  # SSP minus the allocation of the general pool (negative: a premium)
    variable_share: Money  # variable consideration allocated specifically to this obligation
    reason: str


@dataclass(frozen=True)
class Allocation:
    contract_id: str
    version: int
    currency: str
    transaction_price: Money
    lines: tuple[ObligationAllocation, ...]
    notes: tuple[str, ...]

    def allocated(self, obligation_id: str) -> Money | None:
        return self.line(obligation_id).allocated

    def line(self, obligation_id: str) -> ObligationAllocation:
        for line in self.lines:
            if line.obligation_id == obligation_id:
                return line
        raise KeyError(obligation_id)


def allocate(rc: RevenueContract) -> Allocation:
    """The allocation of `rc`'s transaction price; refuses what the standard does not allow, naming why."""
    cur = rc.currency
    obs = rc.obligations
    ids = [ob.id for ob in obs]
    notes: list[str] = []
    allocated: dict[str, int] = {}
    variable_share: dict[str, int] = dict.fromkeys(ids, 0)
    discount_share: dict[str, int] = dict.fromkeys(ids, 0)
    ssp_units: dict[str, int | None] = {}
    reasons: dict[str, str] = {}
    for ob in obs:
        ssp_units[ob.id] = None if ob.ssp.amount is None else to_units(ob.ssp.amount, what="ssp")

    # 1. closed parts keep what they earned, plus their share of later changes in earlier variable consideration
    terminated = [ob for ob in obs if ob.terminated_at is not None]
    changes = closed_part_changes(rc)
    for ob in terminated:
        assert ob.terminated_at is not None
        kept = to_units(ob.terminated_at, what="terminated_at")
        extra, why = changes.get(ob.id, (0, ""))
        allocated[ob.id] = kept + extra
        if ob.closed is not None:
            reasons[ob.id] = (f"satisfied part closed by modification {ob.closed.modification_id} on "
                              f"{ob.closed.on.isoformat()} ({ob.closed.paragraph}): kept at {ob.terminated_at}, what "
                              f"it earned under the terms before it")
        else:
            reasons[ob.id] = f"satisfied part closed by a modification: kept at {ob.terminated_at}"
        if extra:
            reasons[ob.id] += f", plus {why}"

    # 2. right to invoice
    rti = [ob for ob in obs if ob.terminated_at is None and ob.method is RecognitionMethod.RIGHT_TO_INVOICE]
    for ob in rti:
        reasons[ob.id] = ("variable consideration (time and materials) allocated entirely to this obligation and "
                          "recognised as invoiced: right to invoice (ASC 606-10-55-18 / IFRS 15.B16; 32-40 / 15.85)")
    pool_obs = [ob for ob in obs if ob.terminated_at is None and ob.method is not RecognitionMethod.RIGHT_TO_INVOICE]
    pool_ids = [ob.id for ob in pool_obs]

    total = to_units(rc.price.total(), what=where(rc.id, field="transaction_price"))
    pool = total - sum(allocated.values())

    # 3. variable consideration specific to some obligations (not the earlier consideration of a new contract under
    # 25-13(a): what of it was not yet recognised is part of the remaining price, allocated on SSPs at the modification)
    earlier = earlier_variable_ids(rc)
    for vc in rc.price.variable:
        if not vc.applies_to or vc.id in earlier:
            continue
        amount = to_units(vc.included(), what="variable consideration")
        targets = [t for t in vc.applies_to if t in pool_ids]
        if len(targets) != len(vc.applies_to):
            raise AllocationRefused(f"revenue contract {rc.id} variable consideration {vc.id} field applies_to: "
                                    f"only obligations measured by progress or at a point in time can take it")
        weights = [_weight(rc, t, ssp_units) for t in targets]
        shares = largest_remainder(amount, weights)
        for t, share in zip(targets, shares, strict=True):
            variable_share[t] += share
        pool -= amount
        why = vc.applies_to_reason or "its terms relate specifically to them"
        notes.append(f"variable consideration {vc.id} ({vc.included()}) allocated only to {', '.join(targets)}: "
                     f"{why} (ASC 606-10-32-40 / IFRS 15.85)")

    if not pool_obs:
        if pool != 0:
            raise AllocationRefused(f"{where(rc.id, field='transaction_price')}: {from_units(pool, cur)} has no "
                                    f"obligation to go to (all are right-to-invoice or terminated)")
    else:
        general = _allocate_pool(rc, pool, pool_obs, ssp_units, discount_share, reasons, notes)
        for ob_id, units in general.items():
            allocated[ob_id] = units + variable_share[ob_id]

    lines = []
    for ob in obs:
        ssp = ssp_units[ob.id]
        if ob.method is RecognitionMethod.RIGHT_TO_INVOICE and ob.terminated_at is None:
            lines.append(ObligationAllocation(ob.id, None if ssp is None else from_units(ssp, cur), None,
                                              Money.zero(cur), Money.zero(cur), reasons[ob.id]))
            continue
        lines.append(ObligationAllocation(
            ob.id, None if ssp is None else from_units(ssp, cur), from_units(allocated[ob.id], cur),
            from_units(discount_share[ob.id], cur), from_units(variable_share[ob.id], cur), reasons[ob.id]))
    return Allocation(rc.id, rc.version, cur, rc.price.total(), tuple(lines), tuple(notes))


def _weight(rc: RevenueContract, ob_id: str, ssp_units: dict[str, int | None]) -> int:
    units = ssp_units[ob_id]
    if units is None:
        raise AllocationRefused(f"{where(rc.id, ob_id, 'ssp')}: a residual obligation cannot take variable "
                                f"consideration on relative standalone selling prices; give it an estimated SSP")
    return units


def _allocate_pool(rc: RevenueContract, pool: int, pool_obs: list[PerformanceObligation],
                   ssp_units: dict[str, int | None], discount_share: dict[str, int], reasons: dict[str, str],
                   notes: list[str]) -> dict[str, int]:
    cur = rc.currency
    residual = [ob for ob in pool_obs if ob.ssp.basis is SspBasis.RESIDUAL]
    priced = [ob for ob in pool_obs if ob.ssp.basis is not SspBasis.RESIDUAL]
    result: dict[str, int] = {}
    attribution = rc.discount
    if pool < 0:
        raise AllocationRefused(f"{where(rc.id, field='transaction_price')}: after specific variable consideration "
                                f"{from_units(pool, cur)} is left to allocate")

    if attribution is not None:
        missing = attribution.missing_criteria()
        if missing:
            raise AllocationRefused(
                f"{where(rc.id, field='discount')}: the discount can go to {', '.join(attribution.obligation_ids)} "
                f"alone only if all three criteria hold; not evidenced: {'; '.join(m.value for m in missing)}")
        targets = [ob for ob in priced if ob.id in attribution.obligation_ids]
        if len(targets) != len(attribution.obligation_ids):
            raise AllocationRefused(f"{where(rc.id, field='discount.obligation_ids')}: every target must be an "
                                    f"obligation with a standalone selling price (not residual, not right-to-invoice)")
        if len(targets) == len(pool_obs):
            raise AllocationRefused(f"{where(rc.id, field='discount.obligation_ids')}: naming every obligation is the "
                                    f"proportionate allocation; 32-37 applies to one or more, but not all")
        others = [ob for ob in priced if ob.id not in attribution.obligation_ids]
        ssp_targets = sum(ssp_units[ob.id] or 0 for ob in targets)
        if residual:
            if attribution.amount is None:
                raise AllocationRefused(f"{where(rc.id, field='discount.amount')}: with a residual obligation the "
                                        f"discount cannot be derived; state the observed discount")
            discount = to_units(attribution.amount, what="discount.amount")
        else:
            discount = sum(ssp_units[ob.id] or 0 for ob in priced) - pool
            if attribution.amount is not None and to_units(attribution.amount, what="discount.amount") != discount:
                raise AllocationRefused(f"{where(rc.id, field='discount.amount')}: stated {attribution.amount}, but "
                                        f"SSPs less the price give {from_units(discount, cur)}")
        if discount <= 0:
            raise AllocationRefused(f"{where(rc.id, field='discount')}: there is no discount to attribute "
                                    f"({from_units(discount, cur)})")
        if discount > ssp_targets:
            raise AllocationRefused(f"{where(rc.id, field='discount')}: discount {from_units(discount, cur)} exceeds "
                                    f"the targets' SSPs {from_units(ssp_targets, cur)}")
        shares = largest_remainder(ssp_targets - discount, [ssp_units[ob.id] or 0 for ob in targets])
        for ob, share in zip(targets, shares, strict=True):
            result[ob.id] = share
            partners = ", ".join(t.id for t in targets if t.id != ob.id) or "no other obligation"
            reasons[ob.id] = (f"takes the whole discount with {partners}: {from_units(ssp_targets - discount, cur)} "
                              f"shared on relative SSPs (ASC 606-10-32-37 / IFRS 15.82: {attribution.evidence})")
        for ob in others:
            result[ob.id] = ssp_units[ob.id] or 0
            reasons[ob.id] = "allocated its standalone selling price: the discount is evidenced to belong elsewhere"
        notes.append(f"discount {from_units(discount, cur)} attributed to {', '.join(attribution.obligation_ids)} "
                     f"(32-37 / IFRS 15.82): {attribution.evidence}")
        if residual:
            _residual(rc, pool - sum(result.values()), residual, result, reasons, notes)
    elif residual:
        for ob in priced:
            result[ob.id] = ssp_units[ob.id] or 0
            reasons[ob.id] = "allocated its standalone selling price; the residual obligation takes the rest"
        _residual(rc, pool - sum(result.values()), residual, result, reasons, notes)
    else:
        weights = [ssp_units[ob.id] or 0 for ob in priced]
        if sum(weights) == 0:
            raise AllocationRefused(f"{where(rc.id, field='ssp')}: every standalone selling price is zero; "
                                    f"there is nothing to allocate on")
        shares = largest_remainder(pool, weights)
        ssp_total = sum(weights)
        for ob, share in zip(priced, shares, strict=True):
            result[ob.id] = share
            reasons[ob.id] = (f"relative standalone selling price {from_units(ssp_units[ob.id] or 0, cur)} / "
                              f"{from_units(ssp_total, cur)} of {from_units(pool, cur)} "
                              f"(ASC 606-10-32-31 / IFRS 15.76)")
        basis = rc.basis
        if basis is not None and basis.treatment is ModificationTreatment.TERMINATION_AND_NEW_CONTRACT:
            if ssp_total != pool:
                notes.append(
                    f"the price left for the remaining obligations after modification {basis.modification_id}, "
                    f"{from_units(pool, cur)} (consideration not yet recognised plus the modification's), is allocated "
                    f"in proportion to their standalone selling prices at the modification date "
                    f"({from_units(ssp_total, cur)}): the blended price of the new contract "
                    f"(ASC 606-10-25-13(a) / IFRS 15.21(a), Example 5 Case B)")
        elif ssp_total != pool and len(priced) > 1:
            kind = "discount" if ssp_total > pool else "premium"
            notes.append(f"{kind} of {from_units(abs(ssp_total - pool), cur)} spread over all obligations in "
                         f"proportion to their SSPs (ASC 606-10-32-36 / IFRS 15.81)")
    for ob in pool_obs:
        ssp = ssp_units[ob.id]
        if ssp is not None:
            discount_share[ob.id] = ssp - result[ob.id]
    return result


def _residual(rc: RevenueContract, left: int, residual: list[PerformanceObligation], result: dict[str, int],
              reasons: dict[str, str], notes: list[str]) -> None:
    cur = rc.currency
    if left <= 0:
        raise AllocationRefused(
            f"{where(rc.id, residual[0].id, 'ssp')}: the residual approach leaves {from_units(left, cur)}; a "
            f"distinct good or service must carry value, so estimate its SSP another way (ASC 606-10-32-34(c), "
            f"Example 34 Case C)")
    if len(residual) == 1:
        shares = [left]
    else:
        weights = []
        for ob in residual:
            if ob.ssp.weight is None:
                raise AllocationRefused(f"{where(rc.id, ob.id, 'ssp.weight')}: several residual obligations share the "
                                        f"residual on their estimated SSPs; give each a weight (32-35)")
            weights.append(to_units(ob.ssp.weight, what="ssp.weight"))
        shares = largest_remainder(left, weights)
    for ob, share in zip(residual, shares, strict=True):
        low, high = ob.ssp.range_low, ob.ssp.range_high
        if (low is not None and share < to_units(low, what="range_low")) or \
                (high is not None and share > to_units(high, what="range_high")):
            raise AllocationRefused(
                f"{where(rc.id, ob.id, 'ssp')}: the residual {from_units(share, cur)} is outside the observed range "
                f"{low}..{high}, so the residual approach does not meet the allocation objective "
                f"(ASC 606-10-32-28, Example 34 Case C)")
        result[ob.id] = share
        reasons[ob.id] = (f"residual approach: the price left after the other obligations, {from_units(share, cur)} "
                          f"(ASC 606-10-32-34(c) / IFRS 15.79(c): {ob.ssp.evidence})")
    notes.append(f"residual {from_units(left, cur)} to {', '.join(ob.id for ob in residual)}")
