"""A revenue contract as JSON, and back, exactly: what the hub stores, one version per modification.

Each version is stored whole, including the `ModificationBasis` of its last modification, which
holds the version before it (and so, recursively, every earlier one): a later change in variable
consideration is allocated on that earlier version (ASC 606-10-32-45 / IFRS 15.90), so it must come
back exactly. The JSON is plain, as for recognition snapshots: amounts and Decimals as strings (never
floats), dates ISO, fractions "n/d", enums by value, every constructor field present (None as null).
Only constructor fields are stored: the allocation is recomputed from them.
`revenue_contract_from_json(revenue_contract_to_json(rc)) == rc` for every contract; a malformed
document is refused naming the key path, and so is a key this format does not have, so nothing a
writer put there is silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from q2c.domain.model import MilestoneStatus
from q2c.domain.money import Money, Rounding
from q2c.domain.revenue.errors import InvalidContract
from q2c.domain.revenue.json_reader import JsonReader
from q2c.domain.revenue.obligations import (
    ClosedPart,
    ContractChange,
    DiscountAttribution,
    MilestoneTarget,
    ModificationBasis,
    ModificationTreatment,
    PerformanceObligation,
    RecognitionMethod,
    RecognitionPolicy,
    RevenueContract,
    SspBasis,
    StandaloneSellingPrice,
)
from q2c.domain.revenue.transaction_price import (
    ConstraintJudgement,
    EstimateMethod,
    Outcome,
    TransactionPrice,
    VariableConsideration,
)

CONTRACT_FORMAT_VERSION = 1

__all__ = ["CONTRACT_FORMAT_VERSION", "revenue_contract_from_json", "revenue_contract_to_json"]


def _money(m: Money | None) -> dict[str, str] | None:
    return None if m is None else {"amount": str(m.amount), "currency": m.currency}


def _decimal(d: Decimal | None) -> str | None:
    return None if d is None else str(d)


def _date(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _ssp(s: StandaloneSellingPrice) -> dict[str, Any]:
    return {"basis": s.basis.value, "amount": _money(s.amount), "evidence": s.evidence, "cost": _money(s.cost),
            "margin": _decimal(s.margin), "range_low": _money(s.range_low), "range_high": _money(s.range_high),
            "weight": _money(s.weight)}


def _closed(c: ClosedPart | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"modification_id": c.modification_id, "on": c.on.isoformat(), "paragraph": c.paragraph,
            "earned": _money(c.earned), "credit": _money(c.credit), "measured": c.measured}


def _obligation(ob: PerformanceObligation) -> dict[str, Any]:
    return {
        "id": ob.id, "name": ob.name, "method": ob.method.value, "ssp": _ssp(ob.ssp), "start": _date(ob.start),
        "end": _date(ob.end), "estimated_total": _decimal(ob.estimated_total),
        "excluded_cost_estimate": str(ob.excluded_cost_estimate),
        "milestones": [{"id": m.id, "name": m.name, "value": _money(m.value)} for m in ob.milestones],
        "phase_id": ob.phase_id, "service_line": ob.service_line, "measured_by": ob.measured_by,
        "input_baseline": str(ob.input_baseline), "terminated_at": _money(ob.terminated_at),
        "closed": _closed(ob.closed), "estimates_after": _date(ob.estimates_after),
        "transferred_milestones": list(ob.transferred_milestones),
    }


def _variable(vc: VariableConsideration) -> dict[str, Any]:
    return {
        "id": vc.id, "description": vc.description, "method": vc.method.value,
        "outcomes": [{"amount": _money(o.amount), "probability": str(o.probability)} for o in vc.outcomes],
        "constraint": {"included": _money(vc.constraint.included), "reason": vc.constraint.reason},
        "applies_to": list(vc.applies_to), "applies_to_reason": vc.applies_to_reason,
    }


def _discount(d: DiscountAttribution | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"obligation_ids": list(d.obligation_ids), "regularly_sold_separately": d.regularly_sold_separately,
            "bundle_regularly_discounted": d.bundle_regularly_discounted,
            "discount_substantially_same": d.discount_substantially_same, "evidence": d.evidence,
            "amount": _money(d.amount)}


def _basis(b: ModificationBasis | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {"modification_id": b.modification_id, "on": b.on.isoformat(), "treatment": b.treatment.value,
            "before": _contract(b.before),
            "satisfied": [{"obligation_id": ob_id, "share": f"{s.numerator}/{s.denominator}"}
                          for ob_id, s in b.satisfied]}


def _contract(rc: RevenueContract) -> dict[str, Any]:
    return {
        "id": rc.id, "contract_id": rc.contract_id, "customer_id": rc.customer_id, "legal_entity": rc.legal_entity,
        "currency": rc.currency, "start": rc.start.isoformat(), "end": _date(rc.end),
        "obligations": [_obligation(ob) for ob in rc.obligations],
        "price": {"fixed": _money(rc.price.fixed), "variable": [_variable(vc) for vc in rc.price.variable]},
        "discount": _discount(rc.discount),
        "policy": {"rounding": rc.policy.rounding.value, "progress_decimals": rc.policy.progress_decimals,
                   "milestone_trigger": rc.policy.milestone_trigger.value},
        "version": rc.version,
        "history": [{"on": c.on.isoformat(), "version": c.version, "paragraph": c.paragraph, "text": c.text}
                    for c in rc.history],
        "basis": _basis(rc.basis),
    }


def revenue_contract_to_json(rc: RevenueContract) -> dict[str, Any]:
    """The contract as JSON-safe data (strings, integers, booleans, lists, objects, null)."""
    return {"format_version": CONTRACT_FORMAT_VERSION, **_contract(rc)}


def _reader(data: object, path: str = "") -> JsonReader:
    return JsonReader(data, path, bad=_bad)


def _bad(key: str, problem: str) -> InvalidContract:
    return InvalidContract(f"revenue contract JSON key {key}: {problem}")


def _read_ssp(r: JsonReader) -> StandaloneSellingPrice:
    ssp = StandaloneSellingPrice(
        basis=r.enum("basis", SspBasis, "a standalone selling price basis"), amount=r.opt_money("amount"),
        evidence=r.text("evidence"), cost=r.opt_money("cost"), margin=r.opt_decimal("margin"),
        range_low=r.opt_money("range_low"), range_high=r.opt_money("range_high"), weight=r.opt_money("weight"))
    r.done()
    return ssp


def _read_milestone(r: JsonReader) -> MilestoneTarget:
    milestone = MilestoneTarget(r.text("id"), r.text("name"), r.money("value"))
    r.done()
    return milestone


def _read_closed(r: JsonReader) -> ClosedPart:
    closed = ClosedPart(modification_id=r.text("modification_id"), on=r.day("on"), paragraph=r.text("paragraph"),
                        earned=r.money("earned"), credit=r.money("credit"), measured=r.text("measured"))
    r.done()
    return closed


def _read_obligation(r: JsonReader) -> PerformanceObligation:
    closed = r.opt_obj("closed")
    ob = PerformanceObligation(
        id=r.text("id"), name=r.text("name"), method=r.enum("method", RecognitionMethod, "a recognition method"),
        ssp=_read_ssp(r.obj("ssp")), start=r.opt_date("start"), end=r.opt_date("end"),
        estimated_total=r.opt_decimal("estimated_total"), excluded_cost_estimate=r.decimal("excluded_cost_estimate"),
        milestones=r.items("milestones", _read_milestone), phase_id=r.opt_text("phase_id"),
        service_line=r.opt_text("service_line"), measured_by=r.opt_text("measured_by"),
        input_baseline=r.decimal("input_baseline"), terminated_at=r.opt_money("terminated_at"),
        closed=None if closed is None else _read_closed(closed), estimates_after=r.opt_date("estimates_after"),
        transferred_milestones=r.strings("transferred_milestones"))
    r.done()
    return ob


def _read_outcome(r: JsonReader) -> Outcome:
    outcome = Outcome(r.money("amount"), r.decimal("probability"))
    r.done()
    return outcome


def _read_constraint(r: JsonReader) -> ConstraintJudgement:
    constraint = ConstraintJudgement(r.opt_money("included"), r.text("reason"))
    r.done()
    return constraint


def _read_variable(r: JsonReader) -> VariableConsideration:
    vc = VariableConsideration(
        id=r.text("id"), description=r.text("description"),
        method=r.enum("method", EstimateMethod, "an estimate method"), outcomes=r.items("outcomes", _read_outcome),
        constraint=_read_constraint(r.obj("constraint")), applies_to=r.strings("applies_to"),
        applies_to_reason=r.text("applies_to_reason"))
    r.done()
    return vc


def _read_price(r: JsonReader) -> TransactionPrice:
    price = TransactionPrice(r.money("fixed"), r.items("variable", _read_variable))
    r.done()
    return price


def _read_discount(r: JsonReader) -> DiscountAttribution:
    discount = DiscountAttribution(
        obligation_ids=r.strings("obligation_ids"), regularly_sold_separately=r.boolean("regularly_sold_separately"),
        bundle_regularly_discounted=r.boolean("bundle_regularly_discounted"),
        discount_substantially_same=r.boolean("discount_substantially_same"), evidence=r.text("evidence"),
        amount=r.opt_money("amount"))
    r.done()
    return discount


def _read_policy(r: JsonReader) -> RecognitionPolicy:
    policy = RecognitionPolicy(rounding=r.enum("rounding", Rounding, "a rounding rule"),
                               progress_decimals=r.opt_integer("progress_decimals"),
                               milestone_trigger=r.enum("milestone_trigger", MilestoneStatus, "a milestone status"))
    r.done()
    return policy


def _read_change(r: JsonReader) -> ContractChange:
    change = ContractChange(r.day("on"), r.integer("version"), r.text("paragraph"), r.text("text"))
    r.done()
    return change


def _read_share(r: JsonReader) -> tuple[str, Fraction]:
    share = r.text("obligation_id"), r.fraction("share")
    r.done()
    return share


def _read_basis(r: JsonReader) -> ModificationBasis:
    basis = ModificationBasis(
        modification_id=r.text("modification_id"), on=r.day("on"),
        treatment=r.enum("treatment", ModificationTreatment, "a modification treatment"),
        before=_read_contract(r.obj("before")), satisfied=r.items("satisfied", _read_share))
    r.done()
    return basis


def _read_contract(r: JsonReader) -> RevenueContract:
    discount, basis = r.opt_obj("discount"), r.opt_obj("basis")
    rc_id, contract_id, customer_id = r.text("id"), r.text("contract_id"), r.text("customer_id")
    legal_entity, currency = r.text("legal_entity"), r.currency("currency")
    start, end = r.day("start"), r.opt_date("end")
    obligations = r.items("obligations", _read_obligation)
    price = _read_price(r.obj("price"))
    attribution = None if discount is None else _read_discount(discount)
    policy = _read_policy(r.obj("policy"))
    version = r.integer("version")
    history = r.items("history", _read_change)
    last = None if basis is None else _read_basis(basis)
    r.done()
    try:
        return RevenueContract(id=rc_id, contract_id=contract_id, customer_id=customer_id, legal_entity=legal_entity,
                               currency=currency, start=start, end=end, obligations=obligations, price=price,
                               discount=attribution, policy=policy, version=version, history=history, basis=last)
    except ValueError as exc:  # the contract's own checks (InvalidContract, an amount finer than the minor unit)
        raise _bad(r.path or "(top)", str(exc)) from None


def revenue_contract_from_json(data: Mapping[str, Any]) -> RevenueContract:
    """The contract a stored version holds; refuses a malformed one naming the key path."""
    r = _reader(data, "")
    version = r.integer("format_version")
    if version != CONTRACT_FORMAT_VERSION:
        raise _bad("format_version", f"{version} is not a format version this engine reads "
                                     f"({CONTRACT_FORMAT_VERSION})")
    return _read_contract(r)
