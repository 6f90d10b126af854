"""Retainers: a prepaid block of hours (or amount) a month, drawn down by the work, over the retainer's own term.

Terms come from the contract phase (billing type ``retainer``):

* ``amount`` is the whole retainer over its term. The term is whole calendar months from the month of
  ``term_start`` to the month of ``term_end`` (the contract's term for a phase planned without one); the
  first month counts in full whatever its first day. Each month's fee is the amount divided by the months,
  rounded under the policy, and the last month takes the remainder, so the fees add up to the amount exactly
  (`retainer_months`).
* ``retainer_hours`` set: an *hours* retainer; each month's fee buys that many hours, and work draws down
  hours. Not set: an *amount* retainer; the month's fee itself is the balance and work draws down its value
  at the rate card (hours x rate, rounded under the policy).
* ``overage_rate``: hours beyond the balance of an hours retainer are billed at this rate (required once
  there is overage). Work beyond the balance of an amount retainer is billed at its own value.
* ``rollover_months``: unused hours of a month stay usable for that many following months (never past the
  term), then expire; none or 0: they expire at the end of their month.

Per month: available = carried balances + the month's allowance. The month's work (approved, billable,
not billed, worked up to the month's end: a late entry for a month already settled is drawn in the next
one) is drawn first worked, first drawn, from the balances that expire soonest first, then from the
month's own allowance; what exceeds the balance is overage. What is left rolls over or expires. Expired
balance is *breakage*: for an amount retainer its amount, for an hours retainer the expired hours at the
prepaid price per hour of the month that prepaid them (fee / hours), rounded under the policy. In the last
month of the term everything left expires.

A month is billed in arrears, once, on the first run on or after its last day (`bill_retainer`): one line
for its fee (instalment ``<phase>-<n>``, listing the entries drawn from the balance) and, when there is
overage, one for it (instalment ``<phase>-<n>-overage``, listing the entries beyond the balance, booked to
the phase's overage key so revenue recognises it as invoiced). Arrears keeps each fee beside what it
bought on the same invoice, and leaves billing equal to the straight-line revenue at each month end. The
instalment ids are how a re-run knows the month is billed, and the entries listed on a month's lines are
how a later month replays the balances it inherits.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping, Sequence
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
from q2c.domain.revenue.contracts import overage_obligation_id

HOURS_STEP = Decimal("0.01")  # prepaid hours a month are kept to the hundredth


class RetainerUnit(StrEnum):
    HOURS = "hours"
    AMOUNT = "amount"


class UnusedBalance(StrEnum):
    ROLLOVER = "rollover"
    EXPIRE = "expire"


class CarriedBalance(BaseModel):
    """Prepaid balance left from an earlier month, still usable; it keeps the price it was prepaid at."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    earned_in: date  # first day of the month whose fee prepaid it
    amount: Decimal  # hours, or the contract currency
    usable_until: date | None  # its last usable day; None: to the end of the term
    prepaid_fee: Money  # that month's fee and allowance: the price of the balance, for breakage
    prepaid_allowance: Decimal


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
    carried: tuple[CarriedBalance, ...] = ()  # what rolls over, by the month that prepaid it


class RetainerMonth(BaseModel):
    """One month of a retainer's term: the dates its work counts in, its fee and what the fee prepays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase_id: str
    number: int
    of: int
    start: date
    end: date
    fee: Money
    allowance: Decimal  # hours, or (amount retainer) the fee
    final: bool

    @property
    def instalment_id(self) -> str:
        return f"{self.phase_id}-{self.number}"

    @property
    def overage_instalment_id(self) -> str:
        return f"{self.instalment_id}-overage"


class RetainerRun(BaseModel):
    """What one billing run does for a retainer phase: the months it settles and their invoice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice: Invoice | None
    settled: tuple[RetainerPeriod, ...]
    entry_ids: tuple[str, ...]  # every entry the months drew: the caller records them as billed
    explanation: str


# --- the term ---------------------------------------------------------------------------------------


def _month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def term_end_after(start: date, months: int) -> date:
    """The last day of a term of `months` calendar months whose first month is `start`'s."""
    if months < 1:
        raise RetainerRefused(f"a retainer term of {months} months: it must be at least one month")
    return _month_end(_add_months(start, months - 1))


def months_between(start: date, end: date) -> int:
    """Calendar months from the month of `start` to the month of `end`, both counted."""
    if end < start:
        raise RetainerRefused(f"the retainer term ends {end.isoformat()}, before it starts {start.isoformat()}")
    return (end.year - start.year) * 12 + end.month - start.month + 1


def hours_per_month(total_hours: Decimal, months: int, *, where: str) -> Decimal:
    """The prepaid hours a month: the hours sold over the term divided by its months, exact to the hundredth."""
    if total_hours <= 0:
        raise RetainerRefused(f"{where}: the prepaid hours are {total_hours}; they must be positive")
    per_month = total_hours / months
    if per_month != per_month.quantize(HOURS_STEP):
        raise RetainerRefused(f"{where}: {total_hours} h over {months} months is {per_month:.4f}... h a month; the "
                              f"hours must divide into the months to the hundredth of an hour")
    if per_month == per_month.to_integral_value():
        return per_month.quantize(Decimal(1))
    return per_month.quantize(HOURS_STEP).normalize()


def retainer_term(contract: Contract, phase: ContractPhase) -> tuple[date, date]:
    """First and last day of the retainer: its own term, else (planned without one) the contract's."""
    start = phase.term_start or contract.start_date
    end = phase.term_end or contract.end_date
    if end is None:
        raise RetainerRefused(f"retainer phase {phase.id} field term_end is empty and contract {contract.id} has no "
                              f"end_date: a retainer needs its term (term months on the line, or the deal's end)")
    months_between(start, end)
    return start, end


def month_fees(total: Money, months: int, policy: RoundingPolicy = RoundingPolicy()) -> tuple[Money, ...]:
    """`total` in `months` fees: each the total / months rounded under the policy, the last the remainder."""
    require_minor_units(total, what="retainer amount")
    each = round_amount(total.amount / months, total.currency, policy)
    last = total.amount - each * (months - 1)
    if last < 0:
        raise RetainerRefused(f"a retainer of {total} over {months} months: after {months - 1} fees of {each} the "
                              f"last month would be {last}")
    return tuple(Money(amount=each if n < months else last, currency=total.currency) for n in range(1, months + 1))


def retainer_months(contract: Contract, phase: ContractPhase,
                    policy: RoundingPolicy = RoundingPolicy()) -> tuple[RetainerMonth, ...]:
    """The months of the retainer's term, with their dates, fees and allowances (see module docstring)."""
    check_phase(contract, phase, (BillingType.RETAINER,), run="retainer schedule")
    start, end = retainer_term(contract, phase)
    count = months_between(start, end)
    fees = month_fees(phase.amount, count, policy)
    out = []
    for n, fee in enumerate(fees, start=1):
        first = _add_months(start, n - 1)
        allowance = phase.retainer_hours if phase.retainer_hours is not None else fee.amount
        out.append(RetainerMonth(phase_id=phase.id, number=n, of=count, start=max(first, start),
                                 end=min(_month_end(first), end), fee=fee, allowance=allowance, final=n == count))
    return tuple(out)


# --- one period --------------------------------------------------------------------------------------


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
    fee: Money | None = None,
    carried: Sequence[CarriedBalance] = (),
    rollover_months: int | None = None,
    late_work: bool = False,
) -> RetainerPeriod:
    """Draw one period's work down against the retainer balance (see module docstring).

    `fee` is the period's fee (a month of `retainer_months`); without it the phase amount is taken as the
    fee of this one period. Balances carried in come as `carried` (each with its price and last usable day)
    or, without a history, as one `carried_in` figure usable to the end of the term. With
    `unused=ROLLOVER`, the period's unused allowance stays usable for `rollover_months` more months (None:
    to the end of the term), and `max_carryover` caps what is carried. `late_work` also draws unbilled work
    dated before the period (approved after its own period was settled).
    """
    check_phase(contract, phase, (BillingType.RETAINER,), run="retainer drawdown")
    check_rated(contract, rated)
    currency = contract.currency
    where = f"retainer phase {phase.id}"
    fee = fee if fee is not None else phase.amount
    require_minor_units(fee, what=f"{where} fee")
    if fee.currency != currency:
        raise RetainerRefused(f"{where} fee is in {fee.currency}, but the contract bills in {currency}")
    if period_end < period_start:
        raise RetainerRefused(
            f"{where}: period ends {period_end.isoformat()} before it starts {period_start.isoformat()}")
    unit = retainer_unit(phase)
    if phase.retainer_hours is not None and phase.retainer_hours <= 0:
        raise RetainerRefused(f"{where} field retainer_hours is {phase.retainer_hours}: it must be positive")
    if carried_in < 0 or (max_carryover is not None and max_carryover < 0) or any(c.amount < 0 for c in carried):
        raise RetainerRefused(f"{where}: carried-in balance and maximum carryover cannot be negative")
    if carried_in and carried:
        raise RetainerRefused(f"{where}: give the carried-in balance once, as carried balances or as one figure")
    if rollover_months is not None and rollover_months < 0:
        raise RetainerRefused(f"{where} field rollover_months is {rollover_months}: it cannot be negative")
    if unit is RetainerUnit.AMOUNT:
        require_minor_units(Money(amount=carried_in, currency=currency), what=f"{where} carried-in balance")
        if max_carryover is not None:
            require_minor_units(Money(amount=max_carryover, currency=currency), what=f"{where} maximum carryover")

    allowance = phase.retainer_hours if phase.retainer_hours is not None else fee.amount
    layers = list(carried) or ([CarriedBalance(earned_in=period_start, amount=carried_in, usable_until=None,
                                               prepaid_fee=fee, prepaid_allowance=allowance)] if carried_in else [])
    taken = [r for r in work_order(rated) if r.billable and r.entry_id not in billed_entry_ids
             and (late_work or period_start <= r.work_date) and r.work_date <= period_end]
    carried_total = sum((c.amount for c in layers), Decimal(0))
    available = carried_total + allowance
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

    # the balances that expire soonest are drawn first, this period's allowance last
    to_draw = drawn
    left: list[CarriedBalance] = []
    for layer in sorted(layers, key=lambda c: (c.usable_until or date.max, c.earned_in)):
        take = min(layer.amount, to_draw)
        to_draw -= take
        if layer.amount > take:
            left.append(layer.model_copy(update={"amount": layer.amount - take}))
    own_left = allowance - to_draw
    rolls = unused is UnusedBalance.ROLLOVER and not final_period
    if own_left > 0 and rolls and rollover_months != 0:
        until = None if rollover_months is None else _month_end(_add_months(period_end, rollover_months))
        left.append(CarriedBalance(earned_in=period_start, amount=own_left, usable_until=until, prepaid_fee=fee,
                                   prepaid_allowance=allowance))
        own_left = Decimal(0)
    lapsed: list[tuple[Decimal, CarriedBalance | None]] = [(own_left, None)] if own_left > 0 else []
    kept: list[CarriedBalance] = []
    for layer in left:
        if not rolls or (layer.usable_until is not None and layer.usable_until <= period_end):
            lapsed.append((layer.amount, layer))
        else:
            kept.append(layer)
    if max_carryover is not None:
        excess = sum((c.amount for c in kept), Decimal(0)) - max_carryover
        capped: list[CarriedBalance] = []
        for layer in sorted(kept, key=lambda c: (c.usable_until or date.max, c.earned_in)):  # oldest cut first
            cut = min(max(excess, Decimal(0)), layer.amount)
            excess -= cut
            if cut:
                lapsed.append((cut, layer))
            if layer.amount > cut:
                capped.append(layer.model_copy(update={"amount": layer.amount - cut}))
        kept = capped
    carried_out = sum((c.amount for c in kept), Decimal(0))
    expired = sum((amount for amount, _ in lapsed), Decimal(0))

    if phase.retainer_hours is not None:
        overage_amount = Decimal(0)
        if overage > 0:
            if phase.overage_rate is None:
                raise RetainerRefused(
                    f"{where} field overage_rate is empty, but {overage:f} h were worked beyond the "
                    f"{available:f} h available in {period_start.isoformat()}..{period_end.isoformat()}")
            overage_amount = round_amount(overage * phase.overage_rate.amount, currency, policy)
        exact = sum((amount * (layer.prepaid_fee.amount if layer else fee.amount)
                     / (layer.prepaid_allowance if layer else allowance) for amount, layer in lapsed), Decimal(0))
        breakage = round_amount(exact, currency, policy)
    else:
        overage_amount = overage
        breakage = expired
    if overage == 0:
        overage_ids = []

    period = RetainerPeriod(
        phase_id=phase.id, period_start=period_start, period_end=period_end, unit=unit,
        carried_in=carried_total, allowance=allowance, available=available, used=used, drawn=drawn,
        overage=overage, unused=available - drawn, carried_out=carried_out, expired=expired, fee=fee,
        overage_amount=Money(amount=overage_amount, currency=currency),
        breakage=Money(amount=breakage, currency=currency),
        entry_ids=tuple(i.entry_id for i in taken), overage_entry_ids=tuple(overage_ids), explanation="",
        carried=tuple(kept))
    return period.model_copy(update={"explanation": _explain(period, phase, policy)})


def _explain(p: RetainerPeriod, phase: ContractPhase, policy: RoundingPolicy) -> str:
    def q(value: Decimal) -> str:
        return _quantity(p, value)

    text = (f"Retainer '{phase.name}' ({phase.id}) {p.period_start.isoformat()}..{p.period_end.isoformat()}: "
            f"{q(p.carried_in)} carried in + {q(p.allowance)} prepaid = {q(p.available)} available; "
            f"{len(p.entry_ids)} entries used {q(p.used)}, {q(p.drawn)} drawn from the balance.")
    if p.overage > 0:
        rate = f" at {phase.overage_rate}" if p.unit is RetainerUnit.HOURS else " at rate card value"
        text += f" Overage {q(p.overage)}{rate} = {p.overage_amount} (entries {', '.join(p.overage_entry_ids)})."
    text += f" Unused {q(p.unused)}: {q(p.carried_out)} rolled over, {q(p.expired)} expired"
    text += f" (breakage {p.breakage})." if p.expired > 0 else "."
    until = sorted({c.usable_until for c in p.carried if c.usable_until is not None})
    if until:
        text += f" Rolled-over balance usable until {', '.join(d.isoformat() for d in until)}."
    return text + f" Rounding: {policy.describe()}."


def _quantity(period: RetainerPeriod, value: Decimal) -> str:
    """Hours as people write them (30 h, 7.5 h), or the amount in the contract currency."""
    if period.unit is RetainerUnit.HOURS:
        return f"{value.normalize():f} h"
    return str(Money(amount=value, currency=period.fee.currency))


def _period_lines(phase: ContractPhase, period: RetainerPeriod, *, include_fee: bool = True,
                  month: RetainerMonth | None = None) -> list[InvoiceLine]:
    span = f"{period.period_start.isoformat()}..{period.period_end.isoformat()}"
    label = f"Retainer '{phase.name}'" + (f" month {month.number} of {month.of}" if month is not None else "")
    lines: list[InvoiceLine] = []
    overage_ids = set(period.overage_entry_ids)
    if include_fee:
        prepaid = (f"{period.allowance:f} h" if period.unit is RetainerUnit.HOURS
                   else str(Money(amount=period.allowance, currency=period.fee.currency)))
        text = f"{label} {span}: prepaid {prepaid}"
        if month is not None:
            text += (f"; {_quantity(period, period.carried_in)} carried in, {_quantity(period, period.used)} used, "
                     f"{_quantity(period, period.carried_out)} rolled over, {_quantity(period, period.expired)} "
                     "expired")
        lines.append(InvoiceLine(
            description=text, quantity=Decimal(1), unit_price=period.fee, amount=period.fee, phase_id=phase.id,
            instalment_id=month.instalment_id if month is not None else None,
            time_entry_ids=tuple(e for e in period.entry_ids if e not in overage_ids)))
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
            description=f"{label} {span} overage: {what}", quantity=quantity, unit_price=price,
            amount=period.overage_amount, phase_id=overage_obligation_id(phase.id),
            instalment_id=month.overage_instalment_id if month is not None else None,
            time_entry_ids=period.overage_entry_ids))
    return lines


def _invoice(invoice_id: str, contract: Contract, invoice_date: date, lines: Sequence[InvoiceLine]) -> Invoice:
    total = sum((line.amount.amount for line in lines), Decimal(0))
    return Invoice(id=invoice_id, contract_id=contract.id, customer_id=contract.customer_id,
                   invoice_date=invoice_date, currency=contract.currency, lines=tuple(lines),
                   total=Money(amount=total, currency=contract.currency))


def retainer_invoice(*, invoice_id: str, contract: Contract, phase: ContractPhase, period: RetainerPeriod,
                     invoice_date: date, include_fee: bool = True) -> Invoice | None:
    """The period's fee (unless billed elsewhere) and its overage; None if both are nil.

    The overage line is booked to the phase's overage key (`overage_obligation_id`): it is variable
    consideration the revenue engine recognises as invoiced, apart from the fee's straight line."""
    check_phase(contract, phase, (BillingType.RETAINER,), run="retainer invoice")
    if period.phase_id != phase.id:
        raise RetainerRefused(f"retainer period of phase {period.phase_id} cannot be invoiced on phase {phase.id}")
    lines = _period_lines(phase, period, include_fee=include_fee)
    return _invoice(invoice_id, contract, invoice_date, lines) if lines else None


# --- the term, month by month ------------------------------------------------------------------------


def _rollover(phase: ContractPhase) -> tuple[UnusedBalance, int]:
    months = phase.rollover_months or 0
    return (UnusedBalance.ROLLOVER, months) if months > 0 else (UnusedBalance.EXPIRE, 0)


def _settle(contract: Contract, phase: ContractPhase, month: RetainerMonth, rated: Sequence[RatedTime],
            carried: Sequence[CarriedBalance], billed_entry_ids: Collection[str],
            policy: RoundingPolicy) -> RetainerPeriod:
    unused, months = _rollover(phase)
    return retainer_drawdown(contract=contract, phase=phase, period_start=month.start, period_end=month.end,
                             rated=rated, billed_entry_ids=billed_entry_ids, unused=unused,
                             final_period=month.final, policy=policy, fee=month.fee, carried=carried,
                             rollover_months=months, late_work=True)


def retainer_history(contract: Contract, phase: ContractPhase, invoices: Sequence[Invoice],
                     billed_time: Mapping[str, RatedTime], *,
                     policy: RoundingPolicy = RoundingPolicy()) -> tuple[RetainerPeriod, ...]:
    """The months already billed, replayed from the entries listed on their invoice lines, in order.

    Refuses a history that does not add up (a month billed while an earlier one was not, an entry the hub
    does not hold, overage that the entries do not reproduce), naming the month and invoice."""
    months = retainer_months(contract, phase, policy)
    lines: dict[str, list[tuple[Invoice, InvoiceLine]]] = {}
    for invoice in invoices:
        if invoice.kind != "invoice":
            continue  # a credit note mirrors the invoice's lines: the month stays billed
        for line in invoice.lines:
            if line.instalment_id is not None:
                lines.setdefault(line.instalment_id, []).append((invoice, line))
    billed = [m for m in months if m.instalment_id in lines]
    gap = next((n for n, m in enumerate(billed, start=1) if m.number != n), None)
    if gap is not None:
        raise RetainerRefused(f"retainer phase {phase.id}: month {billed[-1].number} is billed but month {gap} is "
                              f"not, so the balances carried into the months after cannot be known")
    out: list[RetainerPeriod] = []
    carried: tuple[CarriedBalance, ...] = ()
    for month in billed:
        mine = [*lines[month.instalment_id], *lines.get(month.overage_instalment_id, [])]
        entries: list[RatedTime] = []
        for invoice, line in mine:
            for entry_id in line.time_entry_ids:
                if entry_id not in billed_time:
                    raise RetainerRefused(
                        f"retainer phase {phase.id} month {month.number}: entry {entry_id} on invoice {invoice.id} "
                        f"is not among the phase's billed time, so the month's drawdown cannot be replayed")
                entries.append(billed_time[entry_id])
        period = _settle(contract, phase, month, entries, carried, (), policy)
        on_invoice = [line for _, line in lines.get(month.overage_instalment_id, [])]
        billed_over = (sum((line.quantity for line in on_invoice), Decimal(0)) if period.unit is RetainerUnit.HOURS
                       else sum((line.amount.amount for line in on_invoice), Decimal(0)))
        if billed_over != period.overage:
            raise RetainerRefused(
                f"retainer phase {phase.id} month {month.number}: invoice {mine[0][0].id} bills "
                f"{_quantity(period, billed_over)} of overage, but its entries give "
                f"{_quantity(period, period.overage)}; the month's time changed after it was billed")
        out.append(period)
        carried = period.carried
    return tuple(out)


def bill_retainer(*, invoice_id: str, contract: Contract, phase: ContractPhase, invoices: Sequence[Invoice],
                  rated: Sequence[RatedTime], billed_time: Mapping[str, RatedTime], as_of: date,
                  invoice_date: date, policy: RoundingPolicy = RoundingPolicy()) -> RetainerRun:
    """Settle every month of the retainer that has ended by `as_of` and is not billed yet, on one invoice.

    `rated` is the phase's unbilled time; `billed_time` the entries already billed on its invoices (for the
    balances carried into the first month to settle)."""
    history = retainer_history(contract, phase, invoices, billed_time, policy=policy)
    carried = history[-1].carried if history else ()
    drawn_before = {e for p in history for e in p.entry_ids}
    rated = [r for r in rated if r.entry_id not in drawn_before]  # a month's entries are drawn once, whatever else
    months = retainer_months(contract, phase, policy)
    lines: list[InvoiceLine] = []
    settled: list[RetainerPeriod] = []
    taken: list[str] = []
    for month in months[len(history):]:
        if month.end > as_of:
            break
        period = _settle(contract, phase, month, rated, carried, taken, policy)
        lines.extend(_period_lines(phase, period, month=month))
        settled.append(period)
        taken.extend(period.entry_ids)
        carried = period.carried
    if not settled:
        nxt = months[len(history)] if len(history) < len(months) else None
        why = (f"month {nxt.number} of {nxt.of} ends {nxt.end.isoformat()}, after {as_of.isoformat()}" if nxt
               else "every month of its term is billed")
        return RetainerRun(invoice=None, settled=(), entry_ids=(), explanation=f"retainer: nothing due ({why})")
    invoice = _invoice(invoice_id, contract, invoice_date, lines)
    text = "; ".join(p.explanation for p in settled)
    return RetainerRun(invoice=invoice, settled=tuple(settled), entry_ids=tuple(taken), explanation=text)
