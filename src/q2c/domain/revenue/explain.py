"""A contract's numbers for the accountant who signs them off: in plain words, and as data.

`explain_contract` writes the price, the allocation, each method and each period's progress,
catch-ups, modifications, credits, expected losses and balances in sentences; `explain_figures`
returns the same figures as JSON-safe data (amounts as strings) for `q2c revenue explain --json`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from q2c.domain.money import Money
from q2c.domain.revenue.balances import ContractBalance, balances, opening_balances
from q2c.domain.revenue.methods import closed_text
from q2c.domain.revenue.minor_units import from_units, to_units
from q2c.domain.revenue.obligations import ModificationTreatment, RecognitionMethod, RevenueContract
from q2c.domain.revenue.recognition import Recognition
from q2c.domain.revenue.translation import FunctionalBalances, FunctionalPeriod

METHOD_WORDS = {
    RecognitionMethod.POINT_IN_TIME: "at a point in time, when control passes (ASC 606-10-25-30 / IFRS 15.38)",
    RecognitionMethod.INPUT_HOURS: "over time, input method: hours incurred over total estimated hours "
                                   "(ASC 606-10-55-20 / IFRS 15.B18)",
    RecognitionMethod.INPUT_COST: "over time, input method: cost incurred over total estimated cost "
                                  "(ASC 606-10-55-20 / IFRS 15.B18)",
    RecognitionMethod.OUTPUT_MILESTONES: "over time, output method: milestones reached "
                                         "(ASC 606-10-55-17 / IFRS 15.B15)",
    RecognitionMethod.OUTPUT_UNITS: "over time, output method: units delivered (ASC 606-10-55-17 / IFRS 15.B15)",
    RecognitionMethod.RIGHT_TO_INVOICE: "over time, as invoiced: right-to-invoice practical expedient "
                                        "(ASC 606-10-55-18 / IFRS 15.B16); credit notes reduce it",
    RecognitionMethod.RATABLE_DAILY: "over time, straight line by day over the service term",
    RecognitionMethod.RATABLE_MONTHLY: "over time, straight line by month over the service term",
}


def explain_contract(rc: RevenueContract, recognition: Recognition | None = None, *,
                     history: Sequence[Recognition] = ()) -> str:
    """The price, its allocation, each obligation's method and progress, catch-ups and balances, in words."""
    cur = rc.currency
    out = [f"Revenue contract {rc.id} (contract {rc.contract_id}, customer {rc.customer_id}, legal entity "
           f"{rc.legal_entity}, {cur}), version {rc.version}."]
    price = rc.price
    out.append(f"Transaction price {price.total()}: fixed consideration {price.fixed}"
               + (", plus variable consideration:" if price.variable else "."))
    for vc in price.variable:
        out.append(f"  - {vc.explain()}")
    if any(ob.method is RecognitionMethod.RIGHT_TO_INVOICE for ob in rc.obligations):
        out.append("  Time-and-materials consideration is not estimated up front: it is recognised as invoiced, "
                   "net of credit notes.")
    allocation = rc.allocation
    out.append("Allocation of the transaction price:")
    for ob in rc.obligations:
        line = allocation.line(ob.id)
        amount = "as invoiced" if line.allocated is None else str(line.allocated)
        ssp = "" if ob.terminated_at is not None else f" Standalone selling price: {ob.ssp.describe()}."
        out.append(f"  - {ob.name} [{ob.id}]: {amount}.{ssp} {line.reason}.")
    for note in allocation.notes:
        out.append(f"  Note: {note}.")
    policy = rc.policy
    progress = ("exact ratio" if policy.progress_decimals is None
                else f"rounded to {policy.progress_decimals} decimals")
    out.append(f"Policy: cumulative revenue rounded {policy.rounding.value.replace('_', '-')} to the minor unit; "
               f"measure of progress {progress}; milestones count when {policy.milestone_trigger.value}.")
    out.append("How each obligation is recognised:")
    for ob in rc.obligations:
        if ob.terminated_at is not None:
            out.append(f"  - {ob.id}: {closed_text(ob)}")
        else:
            out.append(f"  - {ob.id}: {METHOD_WORDS[ob.method]}"
                       + (f"; measured from {ob.input_baseline} already used, the part remaining after a "
                          f"modification" if ob.measured_by and ob.input_baseline else ""))
    for change in rc.history:
        out.append(f"Change (version {change.version}, {change.on.isoformat()}, {change.paragraph}): {change.text}.")
    basis = _basis_words(rc)
    if basis:
        out.append(basis)
    for rec in [*history, *([recognition] if recognition is not None else [])]:
        out.extend(_explain_recognition(rec))
    return "\n".join(out)


def _basis_words(rc: RevenueContract) -> str:
    basis = rc.basis
    if basis is None:
        return ""
    if basis.treatment is ModificationTreatment.TERMINATION_AND_NEW_CONTRACT:
        return (f"After modification {basis.modification_id}: a change in variable consideration promised before it "
                f"is allocated to the obligations identified before it, on their allocation basis then; the part "
                f"of a closed obligation is revenue at once, the rest goes to the remaining obligations "
                f"(ASC 606-10-32-45(a) / IFRS 15.90(a)). Other changes go to the remaining obligations (32-45(b) / "
                f"15.90(b)).")
    return (f"After modification {basis.modification_id}: a change in the transaction price goes to the obligations "
            f"unsatisfied or partially unsatisfied immediately after it (ASC 606-10-32-45(b) / IFRS 15.90(b)).")


def _billed_words(rec: Recognition) -> str:
    billed = rec.billed_in_period
    if billed.amount < 0:
        return f"credit notes exceeded invoices in the period by {-billed} (billed to date {rec.billed_to_date})"
    return f"billed in period {billed} (to date {rec.billed_to_date})"


def _explain_recognition(rec: Recognition) -> list[str]:
    out = [f"Period {rec.period}: revenue {rec.revenue}, cumulative {rec.cumulative}, {_billed_words(rec)}"
           + (f", collected in period {rec.collected_in_period} (to date {rec.collected_to_date})"
              if rec.collected_to_date.amount else "") + "."]
    for ob in rec.obligations:
        allocated = "as invoiced" if ob.allocated is None else f"of {ob.allocated} allocated"
        out.append(f"  - {ob.obligation_id}: {ob.progress_text}; cumulative {ob.cumulative} {allocated}; "
                   f"previously {ob.previously}; this period {ob.revenue}.")
        for line in ob.lines:
            if line.kind != "progress":
                out.append(f"      {line.kind.replace('_', '-')} {line.amount}: {line.reason}.")
    for note in rec.notes:
        out.append(f"  Audit note: {note}.")
    for loss in rec.expected_losses:
        out.append(f"  Expected loss: {loss.describe()}.")
    b = balances(rec)
    out.append(f"  Balances at {rec.period.end.isoformat()}: receivable {b.receivable}; net position "
               f"{_position(b)} (recognised {b.recognised_to_date} against {_consideration(b)}; presented net per "
               f"contract, ASC 606-10-45-1 / IFRS 15.105)"
               + (f"; loss provision {b.loss_provision}" if b.loss_provision.amount else "") + ".")
    if rec.functional is not None:
        out.append(f"  {_functional_words(rec.functional)}.")
    return out


def _position(b: ContractBalance) -> str:
    amount = b.contract_asset if b.contract_asset.amount else b.contract_liability
    return f"{b.position.value} {amount}"


def _consideration(b: ContractBalance) -> str:
    if b.cash_in_advance.amount:
        return (f"consideration received {b.collected_to_date}, of which {b.cash_in_advance} in advance of billing "
                f"(billed {b.billed_to_date})")
    return f"billed {b.billed_to_date}"


def _functional_words(f: FunctionalPeriod) -> str:
    c, rate = f.closing, f.closing_rate
    word = "gain" if f.exchange_difference.amount >= 0 else "loss"
    return (f"In {f.currency}: revenue {f.total_revenue} (of which {f.released} released from advances at their "
            f"historical rates, IFRIC 22), cash {f.cash}; receivable {c.receivable} and contract asset "
            f"{c.contract_asset} at the period-end rate {rate.rate} of {rate.on.isoformat()}, contract liability "
            f"{c.contract_liability} at historical rates; exchange {word} "
            f"{Money(amount=abs(f.exchange_difference.amount), currency=f.currency)} (IAS 21.23, 21.28)")


def _amount(m: Money | None) -> str | None:
    """The amount with exactly its currency's decimals ("13500.00"); every amount here is in whole minor units."""
    return None if m is None else str(from_units(to_units(m, what="amount"), m.currency).amount)


def _pct(p: Fraction | None) -> str | None:
    if p is None:
        return None
    return f"{Decimal(p.numerator) * 100 / Decimal(p.denominator):.2f}"


def _balance_figures(b: ContractBalance) -> dict[str, Any]:
    return {"receivable": _amount(b.receivable), "contract_asset": _amount(b.contract_asset),
            "contract_liability": _amount(b.contract_liability), "position": b.position.value,
            "cash_in_advance": _amount(b.cash_in_advance), "loss_provision": _amount(b.loss_provision)}


def _functional_balances(b: FunctionalBalances) -> dict[str, Any]:
    return {"receivable": _amount(b.receivable), "contract_asset": _amount(b.contract_asset),
            "contract_liability": _amount(b.contract_liability), "loss_provision": _amount(b.loss_provision),
            "advances": [{"arose_on": x.arose_on.isoformat(), "amount": _amount(x.amount),
                          "functional": _amount(x.functional), "rate": str(x.rate)} for x in b.layers]}


def explain_figures(rc: RevenueContract, recognition: Recognition) -> dict[str, Any]:
    """The figures behind `explain_contract` for one period, JSON-safe: amounts as strings in the contract currency."""
    allocation = rc.allocation
    obligations = []
    for ob in recognition.obligations:
        line = allocation.line(ob.obligation_id) if ob.obligation_id in {o.id for o in rc.obligations} else None
        obligations.append({
            "id": ob.obligation_id, "name": ob.name, "method": ob.method.value, "allocated": _amount(ob.allocated),
            "allocation_reason": None if line is None else line.reason,
            "estimate_total": None if ob.estimate_total is None else str(ob.estimate_total),
            "progress": None if ob.progress is None else f"{ob.progress.numerator}/{ob.progress.denominator}",
            "progress_percent": _pct(ob.progress), "progress_text": ob.progress_text,
            "previously": _amount(ob.previously), "cumulative": _amount(ob.cumulative), "revenue": _amount(ob.revenue),
            "lines": [{"kind": x.kind, "amount": _amount(x.amount), "reason": x.reason} for x in ob.lines],
        })
    f = recognition.functional
    return {
        "revenue_contract": rc.id, "contract": rc.contract_id, "customer": rc.customer_id,
        "legal_entity": rc.legal_entity, "version": recognition.version, "currency": recognition.currency,
        "period": recognition.period.label,
        "transaction_price": {
            "total": _amount(rc.price.total()), "fixed": _amount(rc.price.fixed),
            "variable": [{"id": vc.id, "description": vc.description, "estimate": _amount(vc.estimate()),
                          "included": _amount(vc.included()), "constraint": vc.constraint.reason,
                          "applies_to": list(vc.applies_to)} for vc in rc.price.variable]},
        "allocation_notes": list(allocation.notes),
        "revenue": _amount(recognition.revenue), "cumulative": _amount(recognition.cumulative),
        "previously": _amount(recognition.previously), "obligations": obligations,
        "billed": {"before": _amount(recognition.billed_before), "in_period": _amount(recognition.billed_in_period),
                   "to_date": _amount(recognition.billed_to_date)},
        "collected": {"before": _amount(recognition.collected_before),
                      "in_period": _amount(recognition.collected_in_period),
                      "to_date": _amount(recognition.collected_to_date)},
        "opening_balances": _balance_figures(opening_balances(recognition)),
        "balances": _balance_figures(balances(recognition)),
        "catch_ups": [{"obligation": ob_id, "amount": _amount(line.amount), "reason": line.reason}
                      for ob_id, line in recognition.catch_ups],
        "late": [{"obligation": ob.obligation_id, "amount": _amount(line.amount), "reason": line.reason}
                 for ob in recognition.obligations for line in ob.lines if line.kind == "late"],
        "expected_losses": [{"obligation": x.obligation_id, "estimated_total_cost": _amount(x.estimated_total_cost),
                             "allocated": _amount(x.allocated), "expected_loss": _amount(x.expected_loss),
                             "cost_to_date": _amount(x.cost_to_date), "revenue_to_date": _amount(x.revenue_to_date),
                             "provision": _amount(x.provision), "provision_before": _amount(x.provision_before),
                             "text": x.describe()} for x in recognition.expected_losses],
        "modifications": [{"version": h.version, "on": h.on.isoformat(), "paragraph": h.paragraph, "text": h.text}
                          for h in rc.history],
        "notes": list(recognition.notes),
        "functional": None if f is None else {
            "currency": f.currency, "closing_rate": str(f.closing_rate.rate),
            "closing_rate_on": f.closing_rate.on.isoformat(), "revenue": _amount(f.total_revenue),
            "revenue_by_obligation": {ob_id: _amount(m) for ob_id, m in f.revenue},
            "released_from_advances": _amount(f.released), "cash": _amount(f.cash),
            "exchange_difference": _amount(f.exchange_difference), "loss_charge": _amount(f.loss_charge),
            "opening": _functional_balances(f.opening), "closing": _functional_balances(f.closing)},
    }
