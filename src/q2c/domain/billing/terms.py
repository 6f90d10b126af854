"""Checks every billing run makes on the contract terms before it computes anything.

Kept in one place so that the same mistake (phase from another contract, a fee in the wrong
currency, a cap with sub-cent decimals) gets the same message in every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from q2c.domain.billing.errors import BillingError, WrongPhase
from q2c.domain.billing.rating import RatedTime
from q2c.domain.billing.rounding import require_currency, require_minor_units
from q2c.domain.model import BillingType, Contract, ContractPhase


def check_phase(contract: Contract, phase: ContractPhase, allowed: Iterable[BillingType], *, run: str) -> None:
    """The phase belongs to the contract, fits the run, and its amounts are in the contract currency."""
    if all(p.id != phase.id for p in contract.phases):
        known = ", ".join(p.id for p in contract.phases) or "none"
        raise WrongPhase(f"phase {phase.id} is not a phase of contract {contract.id} (phases: {known})")
    kinds = tuple(allowed)
    if phase.billing_type not in kinds:
        wanted = " or ".join(k.value for k in kinds)
        raise WrongPhase(
            f"phase {phase.id} of contract {contract.id} field billing_type is '{phase.billing_type}': "
            f"a {run} bills only {wanted} phases")
    where = f"phase {phase.id} of contract {contract.id} field"
    require_currency(phase.amount, contract.currency, what=f"{where} amount")
    if phase.cap is not None:
        require_currency(phase.cap, contract.currency, what=f"{where} cap")
        require_minor_units(phase.cap, what=f"{where} cap")
        if phase.cap.amount < 0:
            raise WrongPhase(f"{where} cap is {phase.cap}: a not-to-exceed cap cannot be negative")
    if phase.overage_rate is not None:
        require_currency(phase.overage_rate, contract.currency, what=f"{where} overage_rate")


def check_rated(contract: Contract, rated: Sequence[RatedTime]) -> None:
    """Rated time is in the contract currency and no entry appears twice."""
    seen: set[str] = set()
    for item in rated:
        require_currency(item.rate, contract.currency, what=f"time entry {item.entry_id} field rate")
        if item.entry_id in seen:
            raise BillingError(f"time entry {item.entry_id} is listed twice in the time to bill")
        seen.add(item.entry_id)


def work_order(rated: Iterable[RatedTime]) -> list[RatedTime]:
    """First worked, first billed: by work date, then entry id, so every run orders alike."""
    return sorted(rated, key=lambda r: (r.work_date, r.entry_id))
