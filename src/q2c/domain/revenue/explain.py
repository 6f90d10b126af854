"""`explain_contract`: a contract's numbers in plain words, for the accountant who must sign them off."""

from __future__ import annotations

from collections.abc import Sequence

from q2c.domain.revenue.balances import balances
from q2c.domain.revenue.obligations import RecognitionMethod, RevenueContract
from q2c.domain.revenue.recognition import Recognition

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
                                        "(ASC 606-10-55-18 / IFRS 15.B16)",
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
        out.append("  Time-and-materials consideration is not estimated up front: it is recognised as invoiced.")
    allocation = rc.allocation
    out.append("Allocation of the transaction price:")
    for ob in rc.obligations:
        line = allocation.line(ob.id)
        amount = "as invoiced" if line.allocated is None else str(line.allocated)
        out.append(f"  - {ob.name} [{ob.id}]: {amount}. Standalone selling price: {ob.ssp.describe()}. "
                   f"{line.reason}.")
    for note in allocation.notes:
        out.append(f"  Note: {note}.")
    policy = rc.policy
    progress = ("exact ratio" if policy.progress_decimals is None
                else f"rounded to {policy.progress_decimals} decimals")
    out.append(f"Policy: cumulative revenue rounded {policy.rounding.value.replace('_', '-')} to the minor unit; "
               f"measure of progress {progress}; milestones count when {policy.milestone_trigger.value}.")
    out.append("How each obligation is recognised:")
    for ob in rc.obligations:
        out.append(f"  - {ob.id}: {METHOD_WORDS[ob.method]}" +
                   (f"; closed at {ob.terminated_at} by a prospective modification" if ob.terminated_at else ""))
    for change in rc.history:
        out.append(f"Change (version {change.version}, {change.on.isoformat()}, {change.paragraph}): {change.text}.")
    for rec in [*history, *([recognition] if recognition is not None else [])]:
        out.extend(_explain_recognition(rec))
    return "\n".join(out)


def _explain_recognition(rec: Recognition) -> list[str]:
    out = [f"Period {rec.period}: revenue {rec.revenue}, cumulative {rec.cumulative}, billed in period "
           f"{rec.billed_in_period} (to date {rec.billed_to_date})."]
    for ob in rec.obligations:
        allocated = "as invoiced" if ob.allocated is None else f"of {ob.allocated} allocated"
        out.append(f"  - {ob.obligation_id}: {ob.progress_text}; cumulative {ob.cumulative} {allocated}; "
                   f"previously {ob.previously}; this period {ob.revenue}.")
        for line in ob.lines:
            if line.kind != "progress":
                out.append(f"      {line.kind.replace('_', '-')} {line.amount}: {line.reason}.")
    for note in rec.notes:
        out.append(f"  Audit note: {note}.")
    b = balances(rec)
    out.append(f"  Balances at {rec.period.end.isoformat()}: receivable {b.receivable}; net position "
               f"{b.position.value} {b.contract_asset if b.contract_asset.amount else b.contract_liability} "
               f"(recognised {b.recognised_to_date} less billed {b.billed_to_date}; presented net per contract, "
               f"ASC 606-10-45-1 / IFRS 15.105).")
    return out
