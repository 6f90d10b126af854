"""Retainers: a prepaid amount or block of hours per period, drawn down by the work.

Terms come from the contract phase (billing type ``retainer``):

* ``amount`` is the fee billed each period.
* ``retainer_hours`` set: an *hours* retainer; the fee buys that many hours a period and work draws
  down hours. Not set: an *amount* retainer; the fee itself is the balance and work draws down its
  value at the rate card (hours x rate, rounded under the policy).
* ``overage_rate``: hours beyond the balance of an hours retainer are billed at this rate (required
  once there is overage). Work beyond the balance of an amount retainer is billed at its own value.

Per period: available = carried in + this period's allowance; work in the period (approved,
billable, not billed, work date inside the period) is drawn first-worked-first-drawn; what exceeds
the balance is overage; what is left is either rolled over (optionally up to ``max_carryover``)
or expires. Expired balance is *breakage*: for an amount retainer its amount, for an hours
retainer the expired hours at the prepaid price per hour (fee / retainer hours), rounded under
the policy. On the final period of the contract everything left expires.

The entries in ``entry_ids`` are consumed by the retainer: the caller records them as billed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from q2c.domain.billing.errors import RetainerRefused
from q2c.domain.billing.rating import RatedTime
from q2c.domain.billing.rounding import (
    RoundingPolicy,
    RoundingScope,
    require_minor_units,
    round_amount,
    value_under,
)
from q2c.domain.billing.terms import check_phase, check_rated, work_order
from q2c.domain.model import BillingType, Contract, ContractPhase, Invoice, InvoiceLine
from q2c.domain.money import Money


class RetainerUnit(StrEnum):
    HOURS = "hours"
    AMOUNT = "amount"


class UnusedBalance(StrEnum):
    ROLLOVER = "rollover"
    EXPIRE = "expire"


class RetainerPeriod(BaseModel):
    """One settled retainer period. Balances are in ``unit`` (hours, or the contract currency)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase_id: str
    period_start: date
    period_end: date
    unit: RetainerUnit
    carried_in: Decimal
    allowance: Decimal
    available: Decimal
    used: Decimal
    drawn: Decimal
    overage: Decimal
    unused: Decimal
    carried_out: Decimal
    expired: Decimal
    fee: Money
    overage_amount: Money
    breakage: Money
    entry_ids: tuple[str, ...]
    overage_entry_ids: tuple[str, ...]
    explanation: str


def retainer_unit(phase: ContractPhase) -> RetainerUnit:
    return RetainerUnit.AMOUNT if phase.retainer_hours is None else RetainerUnit.HOURS


def retainer_drawdown(
    *,
    contract: Contract,
    phase: ContractPhase,
    period_start: date,
    period_end: date,
    rated: Sequence[RatedTime],
    billed_entry_ids: Collection[str] = (),
    carried_in: Decimal = Decimal(0),
    unused: UnusedBalance = UnusedBalance.EXPIRE,
    max_carryover: Decimal | None = None,
    final_period: bool = False,
    policy: RoundingPolicy = RoundingPolicy(),
) -> RetainerPeriod:
    """Draw one period's work down against the retainer balance (see module docstring)."""
    check_phase(contract, phase, (BillingType.RETAINER,), run="retainer drawdown")
    check_rated(contract, rated)
    currency = contract.currency
    where = f"retainer phase {phase.id}"
    require_minor_units(phase.amount, what=f"{where} field amount")
    if period_end < period_start:
        raise RetainerRefused(
            f"{where}: period ends {period_end.isoformat()} before it starts {period_start.isoformat()}")
    unit = retainer_unit(phase)
    if phase.retainer_hours is not None and phase.retainer_hours <= 0:
        raise RetainerRefused(f"{where} field retainer_hours is {phase.retainer_hours}: it must be positive")
    if carried_in < 0 or (max_carryover is not None and max_carryover < 0):
        raise RetainerRefused(f"{where}: carried-in balance and maximum carryover cannot be negative")
    if unit is RetainerUnit.AMOUNT:
        require_minor_units(Money(amount=carried_in, currency=currency), what=f"{where} carried-in balance")
        if max_carryover is not None:
            require_minor_units(Money(amount=max_carryover, currency=currency), what=f"{where} maximum carryover")

    taken = [r for r in work_order(rated) if r.billable and r.entry_id not in billed_entry_ids
             and period_start <= r.work_date <= period_end]
    allowance = phase.retainer_hours if phase.retainer_hours is not None else phase.amount.amount
    available = carried_in + allowance
    per_line = policy.scope is RoundingScope.PER_LINE

    def drawn_by(item: RatedTime) -> Decimal:
        if unit is RetainerUnit.HOURS:
            return item.hours
        return round_amount(item.exact_amount, currency, policy) if per_line else item.exact_amount

    running = Decimal(0)
    overage_ids: list[str] = []
    for item in taken:
        running += drawn_by(item)
        if running > available:
            overage_ids.append(item.entry_id)
    if unit is RetainerUnit.HOURS:
        used = running
    else:
        used = value_under([item.exact_amount for item in taken], currency, policy)
    drawn = min(used, available)
    overage = used - drawn
    left = available - drawn
    if unused is UnusedBalance.ROLLOVER and not final_period:
        carried_out = left if max_carryover is None else min(left, max_carryover)
    else:
        carried_out = Decimal(0)
    expired = left - carried_out

    if phase.retainer_hours is not None:
        overage_amount = Decimal(0)
        if overage > 0:
            if phase.overage_rate is None:
                raise RetainerRefused(
                    f"{where} field overage_rate is empty, but {overage:f} h were worked beyond the "
                    f"{available:f} h available in {period_start.isoformat()}..{period_end.isoformat()}")
            overage_amount = round_amount(overage * phase.overage_rate.amount, currency, policy)
        breakage = round_amount(expired * phase.amount.amount / phase.retainer_hours, currency, policy)
    else:
        overage_amount = overage
        breakage = expired
    if overage == 0:
        overage_ids = []

    period = RetainerPeriod(
        phase_id=phase.id, period_start=period_start, period_end=period_end, unit=unit,
        carried_in=carried_in, allowance=allowance, available=available, used=used, drawn=drawn,
        overage=overage, unused=left, carried_out=carried_out, expired=expired, fee=phase.amount,
        overage_amount=Money(amount=overage_amount, currency=currency),
        breakage=Money(amount=breakage, currency=currency),
        entry_ids=tuple(i.entry_id for i in taken), overage_entry_ids=tuple(overage_ids), explanation="")
    return period.model_copy(update={"explanation": _explain(period, phase, policy)})


def _explain(p: RetainerPeriod, phase: ContractPhase, policy: RoundingPolicy) -> str:
    cur = p.fee.currency

    def q(value: Decimal) -> str:
        return f"{value:f} h" if p.unit is RetainerUnit.HOURS else str(Money(amount=value, currency=cur))

    text = (f"Retainer '{phase.name}' ({phase.id}) {p.period_start.isoformat()}..{p.period_end.isoformat()}: "
            f"{q(p.carried_in)} carried in + {q(p.allowance)} prepaid = {q(p.available)} available; "
            f"{len(p.entry_ids)} entries used {q(p.used)}, {q(p.drawn)} drawn from the balance.")
    if p.overage > 0:
        rate = f" at {phase.overage_rate}" if p.unit is RetainerUnit.HOURS else " at rate card value"
        text += f" Overage {q(p.overage)}{rate} = {p.overage_amount} (entries {', '.join(p.overage_entry_ids)})."
    text += f" Unused {q(p.unused)}: {q(p.carried_out)} rolled over, {q(p.expired)} expired"
    text += f" (breakage {p.breakage})." if p.expired > 0 else "."
    return text + f" Rounding: {policy.describe()}."


def retainer_invoice(*, invoice_id: str, contract: Contract, phase: ContractPhase, period: RetainerPeriod,
                     invoice_date: date, include_fee: bool = True) -> Invoice | None:
    """The period's fee (unless billed in advance elsewhere) and its overage; None if both are nil."""
    check_phase(contract, phase, (BillingType.RETAINER,), run="retainer invoice")
    if period.phase_id != phase.id:
        raise RetainerRefused(f"retainer period of phase {period.phase_id} cannot be invoiced on phase {phase.id}")
    span = f"{period.period_start.isoformat()}..{period.period_end.isoformat()}"
    lines: list[InvoiceLine] = []
    if include_fee:
        prepaid = (f"{period.allowance:f} h" if period.unit is RetainerUnit.HOURS
                   else str(Money(amount=period.allowance, currency=contract.currency)))
        lines.append(InvoiceLine(
            description=f"Retainer '{phase.name}' {span}: prepaid {prepaid}", quantity=Decimal(1),
            unit_price=period.fee, amount=period.fee, phase_id=phase.id))
    if period.overage_amount.amount > 0:
        if period.unit is RetainerUnit.HOURS:
            if phase.overage_rate is None:
                raise RetainerRefused(
                    f"retainer phase {phase.id} field overage_rate is empty but the period has overage")
            quantity, price = period.overage, phase.overage_rate
            what = f"{period.overage:f} h beyond the retainer at {phase.overage_rate}"
        else:
            quantity, price = Decimal(1), period.overage_amount
            what = "work beyond the prepaid balance, at rate card value"
        lines.append(InvoiceLine(
            description=f"Retainer '{phase.name}' {span} overage: {what}", quantity=quantity, unit_price=price,
            amount=period.overage_amount, phase_id=phase.id, time_entry_ids=period.overage_entry_ids))
    if not lines:
        return None
    total = sum((line.amount.amount for line in lines), Decimal(0))
    return Invoice(id=invoice_id, contract_id=contract.id, customer_id=contract.customer_id,
                   invoice_date=invoice_date, currency=contract.currency, lines=tuple(lines),
                   total=Money(amount=total, currency=contract.currency))
