"""Changes in the transaction price: re-estimating variable consideration, and where the change goes.

A change in the transaction price is allocated on the same basis as at contract inception, not
re-allocated for later changes in standalone selling prices; the part allocated to an obligation
already satisfied is revenue (or a reduction of revenue) in the period of the change (ASC
606-10-32-42..44 / IFRS 15.87-89). The engine does this by keeping each obligation's SSP as given
at inception and computing the cumulative revenue from the new allocation: the difference is a
catch-up line with the reason.

After a modification the basis is the one `ModificationBasis` records (32-45 / 15.90):

* (a) the modification was a termination and a new contract (25-13(a) / 15.21(a)) and the change is
  in variable consideration promised before it: the change is allocated to the obligations of the
  version before the modification as that version allocated it; the share of each obligation that was
  satisfied at the modification goes to its closed part at once, the rest to the remaining
  obligations (IFRS 15 Example 6);
* (b) every other case: the change goes to the obligations unsatisfied or partially unsatisfied
  immediately after the modification (those satisfied before it were closed by `apply_modification`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from fractions import Fraction

from q2c.domain.revenue.errors import InvalidContract, where
from q2c.domain.revenue.minor_units import from_units, round_half_up, to_units
from q2c.domain.revenue.obligations import (
    ContractChange,
    ModificationTreatment,
    RevenueContract,
)
from q2c.domain.revenue.transaction_price import TransactionPrice, VariableConsideration


def earlier_variable_ids(rc: RevenueContract) -> frozenset[str]:
    """Variable consideration promised before a termination-and-new-contract modification (15.90(a) applies)."""
    basis = rc.basis
    if basis is None or basis.treatment is not ModificationTreatment.TERMINATION_AND_NEW_CONTRACT:
        return frozenset()
    return frozenset(vc.id for vc in basis.before.price.variable)


def closed_part_changes(rc: RevenueContract) -> dict[str, tuple[int, str]]:
    """Minor units each closed part gains from a change, after the modification, in earlier variable consideration.

    The change is allocated as the version before the modification would allocate it; each obligation's
    share of it times the part of that obligation satisfied at the modification goes to its closed part
    (15.90(a)); the rest stays in the price left for the remaining obligations. Returns the units and a
    reason per closed part.
    """
    basis = rc.basis
    if basis is None or basis.treatment is not ModificationTreatment.TERMINATION_AND_NEW_CONTRACT:
        return {}
    before = basis.before
    now = {vc.id: vc for vc in rc.price.variable}
    revised = tuple(now.get(vc.id, vc) for vc in before.price.variable)
    if revised == before.price.variable:
        return {}
    changed = [vc.id for vc, old in zip(revised, before.price.variable, strict=True) if vc != old]
    after = replace(before, price=TransactionPrice(before.price.fixed, revised))
    out: dict[str, tuple[int, str]] = {}
    for ob_id, share in basis.satisfied:
        old_alloc, new_alloc = before.allocation.allocated(ob_id), after.allocation.allocated(ob_id)
        if share == 0 or old_alloc is None or new_alloc is None:
            continue
        delta = to_units(new_alloc, what="allocated") - to_units(old_alloc, what="allocated")
        units = round_half_up(delta * share)
        if units:
            out[ob_id] = (units, (
                f"{from_units(units, rc.currency)} of the change in variable consideration {', '.join(changed)} "
                f"promised before modification {basis.modification_id}: its share of the change on the allocation "
                f"basis before the modification ({from_units(delta, rc.currency)}), times the part satisfied at the "
                f"modification ({_share(share)}) (ASC 606-10-32-45(a) / IFRS 15.90(a), Example 6)"))
    return out


def _share(share: Fraction) -> str:
    return "all of it" if share == 1 else f"{share.numerator}/{share.denominator}"


def reestimate_variable(rc: RevenueContract, revised: VariableConsideration, *, on: date,
                        reason: str) -> RevenueContract:
    """A new version of `rc` with one variable amount re-estimated, its history saying why and where it goes.

    The change is allocated by the rules above when the new version is recognised; the period that
    recognises it shows the catch-up with this reason.
    """
    if not reason.strip():
        raise InvalidContract(f"{where(rc.id, field=f'variable consideration {revised.id}')}: say why the estimate "
                              f"changed")
    old = next((vc for vc in rc.price.variable if vc.id == revised.id), None)
    was = "not included before" if old is None else f"from {old.included()}"
    basis = rc.basis
    if basis is None:
        rule = ("allocated on the same basis as at contract inception, including to obligations already satisfied "
                "(ASC 606-10-32-43..44 / IFRS 15.88-89)")
    elif revised.id in earlier_variable_ids(rc):
        rule = (f"promised before modification {basis.modification_id} (a termination and new contract): allocated "
                f"to the obligations identified before it (ASC 606-10-32-45(a) / IFRS 15.90(a))")
    else:
        rule = (f"allocated to the obligations unsatisfied or partially unsatisfied immediately after modification "
                f"{basis.modification_id} (ASC 606-10-32-45(b) / IFRS 15.90(b))")
    text = (f"variable consideration {revised.id} ({revised.description}) re-estimated {was} to {revised.included()}: "
            f"{reason}; {rule}")
    change = ContractChange(on, rc.version + 1, "ASC 606-10-32-42..45 / IFRS 15.87-90", text)
    return replace(rc, price=rc.price.replace_variable(revised), version=rc.version + 1,
                   history=(*rc.history, change))
