"""Fixed-fee phases billed on a schedule: percentages of the fee on dates.

* Percentages are positive and add up to exactly 100; dates are strictly increasing.
* Each instalment is fee x percent / 100 rounded under the policy's mode, except the last, which
  is the fee minus the instalments before it: the schedule always adds up to the fee to the cent.
* An instalment falls due on its date. A run bills every due instalment not yet billed, one line
  each, on one invoice; nothing due gives no invoice.
* A fixed fee sold without milestones is billed monthly over the contract term by default
  (`monthly_schedule`): equal instalments in minor units, the remainder spread one unit at a time
  over the first months, due on the last day of each month, so the schedule adds up to the fee.
* A fixed fee sold with a billing schedule (the phase's `billing_schedule`: percentages on dates) is
  billed by it instead (`fixed_fee_schedule`); the dates need not fall on month ends.
* After an approved change of the fee (`respread`), what is billed stays billed and the instalments not
  billed yet carry the rest of the new fee, so the schedule still adds up to it: equally for the monthly
  schedule, and in proportion to their percentages for a schedule sold in percentages (40% and 30% left
  open stay 4 to 3), so a change of the fee does not move what the customer agreed to pay when.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from q2c.domain.billing.errors import InvalidSchedule
from q2c.domain.billing.rounding import RoundingPolicy, minor_unit, require_minor_units, round_amount
from q2c.domain.billing.terms import check_phase
from q2c.domain.model import BillingType, Contract, ContractPhase, Invoice, InvoiceLine
from q2c.domain.money import Money

HUNDRED = Decimal(100)


class Instalment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    number: int
    due_date: date
    percent: Decimal
    amount: Money


class BillingSchedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    phase_id: str
    fee: Money
    instalments: tuple[Instalment, ...]


def schedule_from_percentages(phase: ContractPhase, plan: Sequence[tuple[date, Decimal]], *,
                              policy: RoundingPolicy = RoundingPolicy()) -> BillingSchedule:
    """Split the phase fee into dated instalments; ids are ``<phase id>-1``, ``-2``, ..."""
    where = f"billing schedule of phase {phase.id}"
    if not plan:
        raise InvalidSchedule(f"{where} has no instalments")
    require_minor_units(phase.amount, what=f"phase {phase.id} field amount")
    for n, (when, percent) in enumerate(plan, start=1):
        if percent <= 0:
            raise InvalidSchedule(f"{where}: instalment {n} field percent is {percent}, it must be positive")
        if n > 1 and when <= plan[n - 2][0]:
            raise InvalidSchedule(
                f"{where}: instalment {n} field due_date {when.isoformat()} is not after instalment {n - 1}'s "
                f"{plan[n - 2][0].isoformat()}")
    total_percent = sum((p for _, p in plan), Decimal(0))
    if total_percent != HUNDRED:
        raise InvalidSchedule(f"{where}: percentages add up to {total_percent}, not 100")
    currency = phase.amount.currency
    instalments: list[Instalment] = []
    so_far = Decimal(0)
    for n, (when, percent) in enumerate(plan, start=1):
        if n < len(plan):
            amount = round_amount(phase.amount.amount * percent / HUNDRED, currency, policy)
        else:
            amount = phase.amount.amount - so_far
            if amount < 0:
                raise InvalidSchedule(
                    f"{where}: after rounding the earlier instalments the last ({percent}%) would be {amount}; "
                    "use larger percentages")
        so_far += amount
        instalments.append(Instalment(id=f"{phase.id}-{n}", number=n, due_date=when, percent=percent,
                                      amount=Money(amount=amount, currency=currency)))
    return BillingSchedule(phase_id=phase.id, fee=phase.amount, instalments=tuple(instalments))


def _month_ends(start: date, end: date) -> list[date]:
    out = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(date(year, month, calendar.monthrange(year, month)[1]))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def monthly_schedule(phase: ContractPhase, *, start: date, end: date) -> BillingSchedule:
    """The phase fee in equal monthly instalments from the month of `start` to the month of `end`."""
    where = f"billing schedule of phase {phase.id}"
    if end < start:
        raise InvalidSchedule(f"{where}: the term ends {end.isoformat()}, before it starts {start.isoformat()}")
    require_minor_units(phase.amount, what=f"phase {phase.id} field amount")
    if phase.amount.amount < 0:
        raise InvalidSchedule(f"{where}: the fee {phase.amount} is negative")
    months = _month_ends(start, end)
    unit = minor_unit(phase.amount.currency)
    units = int(phase.amount.amount / unit)
    base, extra = divmod(units, len(months))
    currency = phase.amount.currency
    instalments = tuple(
        Instalment(id=f"{phase.id}-{n}", number=n, due_date=due,
                   percent=(Decimal(100) * (base + (1 if n <= extra else 0)) / units) if units else
                   Decimal(100) / len(months),
                   amount=Money(amount=(base + (1 if n <= extra else 0)) * unit, currency=currency))
        for n, due in enumerate(months, start=1))
    return BillingSchedule(phase_id=phase.id, fee=phase.amount, instalments=instalments)


def fixed_fee_schedule(phase: ContractPhase, *, start: date, end: date | None,
                       policy: RoundingPolicy = RoundingPolicy()) -> BillingSchedule:
    """The schedule a fixed fee without milestones is billed by: its own billing schedule when it was sold
    with one (percentages on dates), else equal monthly instalments over the contract term `start`-`end`."""
    if phase.billing_schedule:
        return schedule_from_percentages(phase, [(s.bill_date, s.percent) for s in phase.billing_schedule],
                                         policy=policy)
    if end is None:
        raise InvalidSchedule(f"billing schedule of phase {phase.id}: a fixed fee billed monthly needs the "
                              "contract's end date")
    return monthly_schedule(phase, start=start, end=end)


def respread(schedule: BillingSchedule, billed: Mapping[str, Money], *, proportional: bool = False,
             policy: RoundingPolicy = RoundingPolicy()) -> BillingSchedule:
    """The schedule after a change of the fee: billed instalments stay as billed, and what the fee leaves
    (fee less billed) is spread over the instalments not billed yet, equally in minor units, the remainder over
    the first of them; or, `proportional`, in proportion to their percentages, each rounded under the policy
    and the last taking the rest (as `schedule_from_percentages` splits the fee). With none left, an
    adjustment instalment due with the last one bills (or, negative, credits) the difference, so billing
    always comes to the fee."""
    currency = schedule.fee.currency
    billed_total = sum((m.amount for m in billed.values()), Decimal(0))
    left = schedule.fee.amount - billed_total
    kept = [i.model_copy(update={"amount": billed[i.id]}) if i.id in billed else i for i in schedule.instalments]
    open_ = [i for i in kept if i.id not in billed]
    if sum((i.amount.amount for i in open_), Decimal(0)) == left:
        return schedule if all(i.id not in billed or billed[i.id] == i.amount for i in schedule.instalments) \
            else schedule.model_copy(update={"instalments": tuple(kept)})
    unit = minor_unit(currency)
    fee = schedule.fee.amount

    def percent(amount: Decimal) -> Decimal:
        return Decimal(100) * amount / fee if fee else Decimal(0)

    if not open_:
        last = kept[-1]
        extra = Instalment(id=f"{schedule.phase_id}-adj", number=last.number + 1, due_date=last.due_date,
                           percent=percent(left), amount=Money(amount=left, currency=currency))
        return schedule.model_copy(update={"instalments": (*kept, extra)})
    spread = _in_proportion(left, open_, currency, policy) if proportional else _equally(left, open_, unit)
    out = tuple(i.model_copy(update={"amount": Money(amount=spread[i.id], currency=currency),
                                     "percent": percent(spread[i.id])}) if i.id in spread else i for i in kept)
    return schedule.model_copy(update={"instalments": out})


def _equally(left: Decimal, open_: Sequence[Instalment], unit: Decimal) -> dict[str, Decimal]:
    units = int(left / unit)
    base, extra_units = divmod(abs(units), len(open_))
    sign = -1 if units < 0 else 1
    return {i.id: sign * (base + (1 if n < extra_units else 0)) * unit for n, i in enumerate(open_)}


def _in_proportion(left: Decimal, open_: Sequence[Instalment], currency: str,
                   policy: RoundingPolicy) -> dict[str, Decimal]:
    weight = sum((i.percent for i in open_), Decimal(0))
    spread: dict[str, Decimal] = {}
    so_far = Decimal(0)
    for n, i in enumerate(open_, start=1):
        share = round_amount(left * i.percent / weight, currency, policy) if n < len(open_) else left - so_far
        spread[i.id] = share
        so_far += share
    return spread


def instalments_due(schedule: BillingSchedule, *, as_of: date,
                    billed_instalment_ids: Collection[str] = ()) -> tuple[Instalment, ...]:
    """Instalments due on or before the date and not billed yet, in date order."""
    return tuple(i for i in schedule.instalments if i.due_date <= as_of and i.id not in billed_instalment_ids)


def schedule_invoice(*, invoice_id: str, contract: Contract, phase: ContractPhase, schedule: BillingSchedule,
                     invoice_date: date, billed_instalment_ids: Collection[str] = ()) -> Invoice | None:
    """One invoice for every due, unbilled instalment of a fixed-fee phase; None when nothing is due."""
    check_phase(contract, phase, (BillingType.FIXED_FEE,), run="scheduled fixed-fee invoice")
    if schedule.phase_id != phase.id or schedule.fee != phase.amount:
        raise InvalidSchedule(
            f"billing schedule for phase {schedule.phase_id} (fee {schedule.fee}) does not match phase "
            f"{phase.id} (fee {phase.amount}): rebuild the schedule after a fee change")
    due = instalments_due(schedule, as_of=invoice_date, billed_instalment_ids=billed_instalment_ids)
    if not due:
        return None
    count = len(schedule.instalments)
    lines = tuple(
        InvoiceLine(
            description=(f"Phase '{phase.name}' instalment {i.number} of {count} "
                         f"({i.percent:f}% of {schedule.fee}), due {i.due_date.isoformat()}"),
            quantity=Decimal(1), unit_price=i.amount, amount=i.amount, phase_id=phase.id, instalment_id=i.id)
        for i in due)
    total = sum((i.amount.amount for i in due), Decimal(0))
    return Invoice(id=invoice_id, contract_id=contract.id, customer_id=contract.customer_id,
                   invoice_date=invoice_date, currency=contract.currency, lines=lines,
                   total=Money(amount=total, currency=contract.currency))
