"""A revenue contract version as the hub stores it: JSON-safe, and read back to exactly the same contract."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from revenue_builders import contract, obligation, usd

from q2c.domain.model import BillingType, Contract, ContractPhase, Milestone, MilestoneStatus, RateCard, RateCardLine
from q2c.domain.money import Money, Rounding, currency_exponent
from q2c.domain.revenue import (
    ClosedPart,
    ConstraintJudgement,
    ContractChange,
    ContractModification,
    ControlTransferred,
    CostToDate,
    DiscountAttribution,
    EstimateMethod,
    HoursToDate,
    InvalidContract,
    MilestoneReached,
    MilestoneTarget,
    ModificationBasis,
    ModificationOutcome,
    ModificationTreatment,
    Outcome,
    PerformanceObligation,
    Period,
    ProgressFact,
    RecognitionMethod,
    RecognitionPolicy,
    RevenueContract,
    RevenueError,
    SspBasis,
    StandaloneSellingPrice,
    TransactionPrice,
    UnitsDelivered,
    VariableConsideration,
    apply_modification,
    recognise,
    reestimate_variable,
    revenue_contract_from,
    revenue_contract_from_json,
    revenue_contract_to_json,
)
from q2c.domain.revenue.minor_units import from_units

M = RecognitionMethod
POINT, HOURS, UNITS = M.POINT_IN_TIME, M.INPUT_HOURS, M.OUTPUT_UNITS


def _stored(rc: RevenueContract) -> dict[str, Any]:
    """What the hub writes and reads back: the JSON through a real serialiser."""
    data = revenue_contract_to_json(rc)
    text = json.dumps(data)
    assert json.loads(text) == data  # plain JSON: strings, integers, booleans, lists, objects, null
    return json.loads(text)  # type: ignore[no-any-return]


def _round_trips(rc: RevenueContract) -> RevenueContract:
    stored = _stored(rc)
    back = revenue_contract_from_json(stored)
    assert back == rc
    assert revenue_contract_to_json(back) == stored  # exponents of Decimals kept: USD 12.50 stays "12.50"
    return back


# contracts from the canonical model

CARD = RateCard(id="RC", currency="USD", lines=(RateCardLine(role="Consultant", rate=usd(150),
                                                             effective_from=date(2026, 1, 1)),))
CONTRACT = Contract(
    id="C-1", customer_id="CUST-1", opportunity_id="OPP-1", name="Acme", legal_entity="US01", currency="USD",
    start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), rate_card=CARD, phases=(
        ContractPhase(id="PH-TM", name="Build", billing_type=BillingType.TIME_AND_MATERIALS, amount=usd(20000),
                      service_offering="Implementation"),
        ContractPhase(id="PH-MS", name="Rollout", billing_type=BillingType.MILESTONE, amount=usd(15000), milestones=(
            Milestone(id="MS-1", name="Design", amount=usd(5000), status=MilestoneStatus.ACCEPTED,
                      completed_on=date(2026, 2, 10)),
            Milestone(id="MS-2", name="Go-live", amount=usd(10000)))),
        ContractPhase(id="PH-FF", name="Discovery", billing_type=BillingType.FIXED_FEE, amount=usd("10000.50")),
        ContractPhase(id="PH-RT", name="Support", billing_type=BillingType.RETAINER, amount=usd(12000))))


@pytest.mark.parametrize("policy", [None, RecognitionPolicy(Rounding.BANKERS, 3, MilestoneStatus.ACCEPTED)])
def test_a_contract_from_the_canonical_model_round_trips(policy: RecognitionPolicy | None) -> None:
    rc = revenue_contract_from(CONTRACT, estimated_hours={"PH-FF": Decimal("100.5")},
                               ssp={"PH-MS": usd(18000), "PH-FF": usd("12000.00")}, policy=policy)
    _ = rc.allocation  # computed and cached on the instance: it must not reach the JSON
    data = _stored(rc)
    assert "allocation" not in json.dumps(data)
    back = _round_trips(rc)
    assert back.allocation == rc.allocation
    assert data["obligations"][2]["estimated_total"] == "100.5"
    assert data["obligations"][2]["ssp"]["amount"] == {"amount": "12000.00", "currency": "USD"}
    facts: list[ProgressFact] = [HoursToDate(id="h", obligation_id="PH-FF", on=date(2026, 3, 31), hours=Decimal(40)),
                                 MilestoneReached(id="m", obligation_id="PH-MS", on=date(2026, 2, 10),
                                                  milestone_id="MS-1", status=MilestoneStatus.ACCEPTED)]
    assert recognise(back, facts, period=Period(2026, 3)) == recognise(rc, facts, period=Period(2026, 3))


# contracts after each treatment of a modification


def _bonus(amount: int, reason: str, applies_to: tuple[str, ...] = ()) -> VariableConsideration:
    return VariableConsideration(
        id="V", description="performance bonus", method=EstimateMethod.EXPECTED_VALUE,
        outcomes=(Outcome(usd(amount), Decimal("0.75")), Outcome(usd(0), Decimal("0.25"))),
        constraint=ConstraintJudgement.unconstrained(reason), applies_to=applies_to,
        applies_to_reason="the bonus is for Y alone" if applies_to else "")


def _units_contract() -> tuple[RevenueContract, list[ProgressFact]]:
    rc = contract([obligation("P", UNITS, 12000, estimated_total=Decimal(120))], 12000, rc_id="RC-5")
    return rc, [UnitsDelivered(id="d1", obligation_id="P", on=date(2026, 3, 31), units=Decimal(60))]


def _modify(rc: RevenueContract, facts: list[ProgressFact], mod: ContractModification,
            treatment: ModificationTreatment, period: Period = Period(2026, 3)) -> ModificationOutcome:
    outcome = apply_modification(rc, mod, recognised=recognise(rc, facts, period=period), facts=facts)
    assert outcome.decision.treatment is treatment
    return outcome


def test_a_separate_contract_and_the_existing_one_with_a_concession_round_trip() -> None:
    """Example 5 Case A, and the same with a credit on what was transferred (a new version of the existing one)."""
    rc, facts = _units_contract()
    mod = ContractModification(
        id="M1", approved_on=date(2026, 4, 1), description="30 more products at 95", price_change=usd(2850),
        adds_distinct_goods=True, priced_at_ssp=True, remaining_distinct=True, ssp_evidence="95 is the current price",
        added_obligations=(obligation("Q", UNITS, 2850, estimated_total=Decimal(30)),),
        concession_on_transferred=usd(100))
    outcome = _modify(rc, facts, mod, ModificationTreatment.SEPARATE_CONTRACT)
    assert outcome.separate is not None and outcome.contract.version == 2
    _round_trips(outcome.separate)
    back = _round_trips(outcome.contract)
    assert back.history == outcome.contract.history and back.price.fixed == usd(11900)


def test_a_termination_and_new_contract_with_a_credit_and_closed_parts_round_trips() -> None:
    """Example 5 Case B: a closed part with its credit, a remaining part measured by the old obligation's facts from
    a baseline, a restated SSP, an added obligation and the basis holding the version before."""
    rc, facts = _units_contract()
    mod = ContractModification(
        id="M1", approved_on=date(2026, 4, 1), description="30 more products at 80; credit 15 each on 60 delivered",
        price_change=usd(2400), adds_distinct_goods=True, priced_at_ssp=False, remaining_distinct=True,
        ssp_evidence="the current SSP is 95", remaining_ssp={"P": usd(5700)},
        added_obligations=(obligation("Q", UNITS, 2850, estimated_total=Decimal(30)),),
        concession_on_transferred=usd(900), concession_obligation="P", revised_estimates={"P": Decimal("121.5")})
    new = _modify(rc, facts, mod, ModificationTreatment.TERMINATION_AND_NEW_CONTRACT).contract
    closed, remaining = new.obligation("P"), new.obligation("P/M1")
    assert closed.closed is not None and closed.closed.credit == usd(900)
    assert (remaining.measured_by, remaining.input_baseline, remaining.estimates_after) == \
        ("P", Decimal(60), date(2026, 4, 1))
    assert new.basis is not None and new.basis.satisfied == (("P", Fraction(1, 2)),)
    back = _round_trips(new)
    assert back.allocation == new.allocation
    done = [*facts, UnitsDelivered(id="d2", obligation_id="P", on=date(2026, 6, 30), units=Decimal(120))]
    assert recognise(back, done, period=Period(2026, 6)) == recognise(new, done, period=Period(2026, 6))


def test_example_6_termination_then_a_change_in_variable_consideration_round_trips() -> None:
    """The re-estimate after a prospective modification is allocated on the version before it (15.90(a)): that
    version must come back exactly, or the closed part's catch-up would differ."""
    rc = contract([obligation("X", POINT, 600), obligation("Y", POINT, 600)], 1000,
                  variable=[_bonus(200, "highly probable")], start=date(2026, 7, 1))
    facts: list[ProgressFact] = [ControlTransferred(id="tx", obligation_id="X", on=date(2026, 7, 1))]
    mod = ContractModification(
        id="M1", approved_on=date(2026, 11, 30), description="add Product Z for 300", price_change=usd(300),
        adds_distinct_goods=True, priced_at_ssp=False, remaining_distinct=True,
        ssp_evidence="Z's standalone selling price equals X's and Y's; 300 is below it",
        added_obligations=(obligation("Z", POINT, 600),), revised_variable=(_bonus(220, "usage data"),))
    v2 = _modify(rc, facts, mod, ModificationTreatment.TERMINATION_AND_NEW_CONTRACT, Period(2026, 10)).contract
    v3 = reestimate_variable(v2, _bonus(240, "usage above plan"), on=date(2026, 12, 15), reason="November usage")
    for version in (v2, v3):
        back = _round_trips(version)
        assert back.basis is not None and version.basis is not None and back.basis.before == version.basis.before
    back = revenue_contract_from_json(_stored(v3))
    assert [back.allocation.allocated(x) for x in "XYZ"] == [v3.allocation.allocated(x) for x in "XYZ"]
    nov = recognise(v2, facts, period=Period(2026, 11), prior=recognise(rc, facts, period=Period(2026, 10)))
    assert recognise(back, facts, period=Period(2026, 12), prior=nov) == recognise(v3, facts, period=Period(2026, 12),
                                                                                    prior=nov)


def test_a_cumulative_catch_up_with_a_discount_and_a_closed_obligation_round_trips() -> None:
    """15.21(b): X is satisfied before the modification and closed; the discount attribution on Y and W survives;
    the variable consideration is retargeted; Y's estimate is revised."""
    discount = DiscountAttribution(("Y", "W"), regularly_sold_separately=True, bundle_regularly_discounted=True,
                                   discount_substantially_same=True, evidence="Y and W sell together at 10% off")
    rc = contract([obligation("X", POINT, 4000), obligation("Y", HOURS, 6000, estimated_total=Decimal(100)),
                   obligation("W", POINT, 2000), obligation("T", POINT, 1000)], 11000,
                  variable=[_bonus(1000, "the target is met each year", ("Y",))], discount=discount)
    facts: list[ProgressFact] = [ControlTransferred(id="tx", obligation_id="X", on=date(2026, 1, 20)),
                                 HoursToDate(id="h3", obligation_id="Y", on=date(2026, 3, 31), hours=Decimal(50))]
    mod = ContractModification(
        id="M2", approved_on=date(2026, 4, 15), description="Y's scope grows by 20 hours for 1,000",
        price_change=usd(1000), adds_distinct_goods=False, priced_at_ssp=False, remaining_distinct=False,
        revised_estimates={"Y": Decimal("120.25")})
    v2 = _modify(rc, facts, mod, ModificationTreatment.CUMULATIVE_CATCH_UP).contract
    assert v2.discount == discount and v2.obligation("X").closed is not None
    assert v2.basis is not None and v2.basis.treatment is ModificationTreatment.CUMULATIVE_CATCH_UP
    back = _round_trips(v2)
    assert back.allocation == v2.allocation


def test_a_chain_of_modifications_round_trips_with_every_earlier_version() -> None:
    """A ratable service, a milestone obligation and a cost-plus-margin one: a prospective modification (the ratable
    term restarts, reached milestones are transferred, the cost-plus-margin SSP is restated pro rata), then a
    catch-up on the result: each version holds the one before, two deep."""
    ms = PerformanceObligation(
        id="MS", name="Rollout", method=M.OUTPUT_MILESTONES, ssp=StandaloneSellingPrice.observable(usd(3000), "list"),
        milestones=(MilestoneTarget("A", "Design", usd(1000)), MilestoneTarget("B", "Go-live", usd(2000))))
    build = PerformanceObligation(
        id="BLD", name="Build", method=M.INPUT_COST,
        ssp=StandaloneSellingPrice.cost_plus_margin(usd("8000.00"), Decimal("0.25"), "cost plan"),
        estimated_total=Decimal(8000))
    support = obligation("SUP", M.RATABLE_DAILY, 3650, start=date(2026, 1, 1), end=date(2026, 12, 31))
    rc = contract([ms, build, support], 16000)
    facts: list[ProgressFact] = [
        MilestoneReached(id="a", obligation_id="MS", on=date(2026, 2, 1), milestone_id="A",
                         status=MilestoneStatus.COMPLETED),
        CostToDate(id="c", obligation_id="BLD", on=date(2026, 3, 31), cost=Decimal(2000))]
    first = ContractModification(
        id="M1", approved_on=date(2026, 4, 1), description="more support days", price_change=usd(500),
        adds_distinct_goods=False, priced_at_ssp=False, remaining_distinct=True)
    v2 = _modify(rc, facts, first, ModificationTreatment.TERMINATION_AND_NEW_CONTRACT).contract
    assert v2.obligation("MS/M1").transferred_milestones == ("A",)
    assert v2.obligation("SUP/M1").start == date(2026, 4, 2)
    assert v2.obligation("BLD/M1").ssp.cost is not None
    _round_trips(v2)
    second = ContractModification(
        id="M2", approved_on=date(2026, 5, 1), description="build re-scoped", price_change=usd(-250),
        adds_distinct_goods=False, priced_at_ssp=False, remaining_distinct=False)
    costs = facts[1:]  # the closed part of MS keeps no milestones, so v2 is recognised here on the cost fact alone
    v3 = apply_modification(v2, second, recognised=recognise(v2, costs, period=Period(2026, 4)), facts=costs).contract
    assert v3.basis is not None and v3.basis.before.basis is not None and v3.version == 3
    back = _round_trips(v3)
    assert back.basis is not None and back.basis.before.basis is not None
    assert back.basis.before.basis.before == rc
    assert back.allocation == v3.allocation


def test_every_constructor_field_and_nothing_else_is_stored() -> None:
    """A field added to a dataclass without a key here would be dropped silently: the keys are the fields."""
    closed = ClosedPart("M0", date(2026, 1, 1), "25-13(a)", usd(10), usd(0), "all of it")
    ob = replace(obligation("A", POINT, 10), terminated_at=usd(10), closed=closed,
                 milestones=(MilestoneTarget("m", "m", usd(1)),))
    before = contract([obligation("A", POINT, 10)], 10, variable=[_bonus(5, "likely")])
    rc = replace(before, obligations=(ob,), discount=DiscountAttribution(("A",), True, True, True, "evidence"),
                 history=(ContractChange(date(2026, 1, 1), 2, "p", "t"),),
                 basis=ModificationBasis("M0", date(2026, 1, 1), ModificationTreatment.CUMULATIVE_CATCH_UP, before,
                                         (("A", Fraction(1)),)))
    data = _stored(rc)

    def names(cls: type) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    assert set(data) == names(RevenueContract) | {"format_version"}
    obj = data["obligations"][0]
    assert set(obj) == names(PerformanceObligation)
    assert set(obj["ssp"]) == names(StandaloneSellingPrice)
    assert set(obj["closed"]) == names(ClosedPart)
    assert set(obj["milestones"][0]) == names(MilestoneTarget)
    assert set(data["price"]) == names(TransactionPrice)
    vc = data["price"]["variable"][0]
    assert set(vc) == names(VariableConsideration)
    assert set(vc["outcomes"][0]) == names(Outcome) and set(vc["constraint"]) == names(ConstraintJudgement)
    assert set(data["discount"]) == names(DiscountAttribution)
    assert set(data["policy"]) == names(RecognitionPolicy)
    assert set(data["history"][0]) == names(ContractChange)
    assert set(data["basis"]) == names(ModificationBasis)
    assert set(data["basis"]["satisfied"][0]) == {"obligation_id", "share"}
    assert set(data["basis"]["before"]) == names(RevenueContract)
    _round_trips(rc)


# any contract the constructor accepts

CURRENCIES = ("USD", "JPY", "BHD")
texts = st.text(max_size=12)
words = st.text(min_size=1, max_size=12).filter(lambda s: bool(s.strip()))
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
free_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-10**9, max_value=10**9)


@st.composite
def units_money(draw: st.DrawFn, currency: str, lo: int = 0, hi: int = 10**9) -> Money:
    """Whole minor units, sometimes written with more decimals (USD 12.3000): the exponent must survive."""
    exact = from_units(draw(st.integers(lo, hi)), currency).amount
    places = currency_exponent(currency) + draw(st.integers(0, 2))
    return Money(amount=exact.quantize(Decimal(1).scaleb(-places)), currency=currency)


def free_money(currency: str) -> st.SearchStrategy[Money]:
    return st.builds(lambda d: Money(amount=d, currency=currency), free_decimals)


@st.composite
def ssps(draw: st.DrawFn, currency: str) -> StandaloneSellingPrice:
    basis = draw(st.sampled_from(list(SspBasis)))
    plus_margin = basis is SspBasis.EXPECTED_COST_PLUS_MARGIN
    amount = draw(st.none() | units_money(currency)) if basis is SspBasis.RESIDUAL else draw(units_money(currency))
    return StandaloneSellingPrice(
        basis, amount, draw(words),
        cost=draw(free_money(currency) if plus_margin else st.none() | free_money(currency)),
        margin=draw(free_decimals if plus_margin else st.none() | free_decimals),
        range_low=draw(st.none() | free_money(currency)), range_high=draw(st.none() | free_money(currency)),
        weight=draw(st.none() | units_money(currency)))


@st.composite
def obligations(draw: st.DrawFn, ob_id: str, currency: str) -> PerformanceObligation:
    method = draw(st.sampled_from(list(RecognitionMethod)))
    terminated = draw(st.none() | units_money(currency))
    closed = None
    if terminated is not None and draw(st.booleans()):
        closed = ClosedPart(draw(texts), draw(dates), draw(texts), draw(free_money(currency)),
                            draw(free_money(currency)), draw(texts))
    start, end = draw(st.none() | dates), draw(st.none() | dates)
    estimate = draw(st.none() | free_decimals)
    excluded = draw(free_decimals)
    milestones = tuple(draw(st.lists(st.builds(MilestoneTarget, texts, texts, units_money(currency)), max_size=3)))
    if terminated is None:  # an open obligation must be measurable: the constructor checks it
        if method.ratable:
            start = draw(dates)
            end = start + timedelta(days=draw(st.integers(0, 3000)))
        if method.needs_estimate:
            estimate = draw(st.decimals(min_value=Decimal("0.0001"), max_value=10**7, places=4))
        if method is M.INPUT_COST:
            assert estimate is not None
            excluded = estimate * draw(st.integers(0, 9)) / 10
        if method is M.OUTPUT_MILESTONES:
            milestones = (MilestoneTarget(draw(texts), draw(texts), draw(units_money(currency, lo=1))), *milestones)
    return PerformanceObligation(
        id=ob_id, name=draw(texts), method=method, ssp=draw(ssps(currency)), start=start, end=end,
        estimated_total=estimate, excluded_cost_estimate=excluded, milestones=milestones,
        phase_id=draw(st.none() | texts), service_line=draw(st.none() | texts), measured_by=draw(st.none() | texts),
        input_baseline=draw(free_decimals), terminated_at=terminated, closed=closed,
        estimates_after=draw(st.none() | dates), transferred_milestones=tuple(draw(st.lists(texts, max_size=3))))


@st.composite
def variables(draw: st.DrawFn, vc_id: str, currency: str, targets: list[str]) -> VariableConsideration:
    cuts = sorted(draw(st.lists(st.integers(0, 100), max_size=3)))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    outcomes = tuple(Outcome(draw(units_money(currency, lo=-10**6, hi=10**6)), Decimal(w) / 100) for w in weights)
    method = draw(st.sampled_from(list(EstimateMethod)))
    top = max(o.probability for o in outcomes)
    if sum(1 for o in outcomes if o.probability == top) > 1:
        method = EstimateMethod.EXPECTED_VALUE
    vc = VariableConsideration(vc_id, draw(texts), method, outcomes, ConstraintJudgement(None, draw(words)),
                               tuple(draw(st.lists(st.sampled_from(targets), unique=True))), draw(texts))
    if draw(st.booleans()):
        estimate = vc.estimate()
        below = from_units(draw(st.integers(0, 10**6)), currency).amount
        vc = replace(vc, constraint=ConstraintJudgement(Money(amount=estimate.amount - below, currency=currency),
                                                        vc.constraint.reason))
    return vc


@st.composite
def revenue_contracts(draw: st.DrawFn, depth: int = 2, currency: str | None = None) -> RevenueContract:
    currency = currency or draw(st.sampled_from(CURRENCIES))
    ids = draw(st.lists(words, min_size=1, max_size=4, unique=True))
    obs = tuple(draw(obligations(ob_id, currency)) for ob_id in ids)
    basis = None
    variable: list[VariableConsideration] = []
    if depth > 0 and draw(st.booleans()):
        before = draw(revenue_contracts(depth - 1, currency))
        satisfied = tuple(draw(st.lists(st.tuples(texts, st.fractions()), max_size=3)))
        basis = ModificationBasis(draw(texts), draw(dates), draw(st.sampled_from(list(ModificationTreatment))),
                                  before, satisfied)
        variable = [replace(vc, applies_to=tuple(t for t in vc.applies_to if t in ids))
                    for vc in before.price.variable]  # what was promised before stays in the price
    taken = {vc.id for vc in variable}
    for vc_id in draw(st.lists(words, max_size=2, unique=True)):
        if vc_id not in taken:
            variable.append(draw(variables(vc_id, currency, ids)))
    included = sum((vc.included().amount for vc in variable), Decimal(0))
    fixed = draw(units_money(currency)).amount + max(Decimal(0), -included)
    discount = None
    if draw(st.booleans()):
        discount = DiscountAttribution(tuple(draw(st.lists(st.sampled_from(ids), unique=True))), draw(st.booleans()),
                                       draw(st.booleans()), draw(st.booleans()), draw(texts),
                                       draw(st.none() | free_money(currency)))
    policy = RecognitionPolicy(draw(st.sampled_from(list(Rounding))), draw(st.none() | st.integers(0, 12)),
                               draw(st.sampled_from(list(MilestoneStatus))))
    history = tuple(draw(st.lists(st.builds(ContractChange, dates, st.integers(1, 10**6), texts, texts), max_size=3)))
    end = draw(st.none() | dates)
    return RevenueContract(
        id=draw(texts), contract_id=draw(texts), customer_id=draw(texts), legal_entity=draw(texts), currency=currency,
        start=draw(dates), end=end, obligations=obs, price=TransactionPrice(Money(amount=fixed, currency=currency),
                                                                            tuple(variable)),
        discount=discount, policy=policy, version=draw(st.integers(1, 10**6)), history=history, basis=basis)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(revenue_contracts())
def test_any_revenue_contract_round_trips_exactly_through_json(rc: RevenueContract) -> None:
    _round_trips(rc)


# refusals, each naming the key


def _document() -> dict[str, Any]:
    rc = contract([obligation("X", POINT, 600), obligation("Y", POINT, 600)], 1000,
                  variable=[_bonus(200, "highly probable")], start=date(2026, 7, 1))
    facts: list[ProgressFact] = [ControlTransferred(id="tx", obligation_id="X", on=date(2026, 7, 1))]
    mod = ContractModification(
        id="M1", approved_on=date(2026, 11, 30), description="add Z", price_change=usd(300),
        adds_distinct_goods=True, priced_at_ssp=False, remaining_distinct=True, ssp_evidence="below SSP",
        added_obligations=(obligation("Z", POINT, 600),))
    v2 = _modify(rc, facts, mod, ModificationTreatment.TERMINATION_AND_NEW_CONTRACT, Period(2026, 10)).contract
    data = _stored(v2)
    assert revenue_contract_from_json(data) == v2
    return data


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["obligations"][0].pop("method"), r"key obligations\[0\]\.method: missing"),
    (lambda d: d["obligations"][0]["ssp"]["amount"].update(amount=600.0),
     r"key obligations\[0\]\.ssp\.amount\.amount: expected the number as a string \(exact\), got float"),
    (lambda d: d["price"]["fixed"].update(amount=1300), r"key price\.fixed\.amount: expected the number as a string"),
    (lambda d: d["obligations"][1].update(method="by_magic"),
     r"key obligations\[1\]\.method: 'by_magic' is not a recognition method \(point_in_time, "),
    (lambda d: d["obligations"][0]["ssp"].update(basis="guess"), r"key obligations\[0\]\.ssp\.basis: 'guess' is not"),
    (lambda d: d["policy"].update(rounding="up"), r"key policy\.rounding: 'up' is not a rounding rule"),
    (lambda d: d["basis"].update(treatment="ignore"), r"key basis\.treatment: 'ignore' is not a modification"),
    (lambda d: d["price"]["variable"][0].update(method="hunch"), r"key price\.variable\[0\]\.method: 'hunch' is not"),
    (lambda d: d["basis"]["before"]["obligations"][0].pop("ssp"), r"key basis\.before\.obligations\[0\]\.ssp: missing"),
    (lambda d: d["basis"]["satisfied"][0].update(share="1/0"), r"key basis\.satisfied\[0\]\.share: '1/0' is not a"),
    (lambda d: d["basis"]["satisfied"][0].update(share="0.5"), r"key basis\.satisfied\[0\]\.share: '0.5' is not a"),
    (lambda d: d.update(start="2026-02-30"), "key start: '2026-02-30' is not an ISO date"),
    (lambda d: d["price"]["variable"][0]["outcomes"][0].update(probability="most"),
     r"key price\.variable\[0\]\.outcomes\[0\]\.probability: 'most' is not a decimal number"),
    (lambda d: d["obligations"][0].update(input_baseline="NaN"), r"key obligations\[0\]\.input_baseline: 'NaN' is not"),
    (lambda d: d.update(currency="usd"), "key currency: 'usd' is not an upper-case ISO 4217 code"),
    (lambda d: d["price"]["fixed"].update(currency="XYZ"), r"key price\.fixed\.currency: 'XYZ' is not an ISO 4217"),
    (lambda d: d.update(version="2"), "key version: expected an integer, got str"),
    (lambda d: d.update(version=True), "key version: expected an integer, got bool"),
    (lambda d: d.update(format_version=2), "key format_version: 2 is not a format version this engine reads"),
    (lambda d: d.pop("format_version"), "key format_version: missing"),
    (lambda d: d["obligations"].append("Q"), r"key obligations\[3\]: expected an object, got str"),
    (lambda d: d.update(history={}), "key history: expected a list, got dict"),
    (lambda d: d["price"]["variable"][0].update(applies_to=["X", 1]),
     r"key price\.variable\[0\]\.applies_to\[1\]: expected a string, got int"),
    (lambda d: d["obligations"][0].update(allocation={}), r"key obligations\[0\]\.allocation: not a key of this"),
    (lambda d: d["basis"]["before"].update(format_version=1), r"key basis\.before\.format_version: not a key of this"),
    (lambda d: d["price"]["fixed"].update(note="x"), r"key price\.fixed\.note: not a key of this format"),
    (lambda d: d.update(discount={"obligation_ids": ["Y"], "regularly_sold_separately": "yes"}),
     r"key discount\.regularly_sold_separately: expected true or false, got str"),
    (lambda d: d["obligations"][2].update(id="X"),
     r"key \(top\): revenue contract RC-1 obligation X: obligation id used twice"),
    (lambda d: d["basis"]["before"]["price"]["fixed"].update(amount="1000.001"),
     r"key basis\.before: revenue contract RC-1 field transaction_price\.fixed is 1000\.001 USD, which has more"),
    (lambda d: d["basis"]["before"]["obligations"][0]["ssp"].update(evidence=" "),
     r"key basis\.before: revenue contract RC-1 obligation X field ssp\.evidence"),
])
def test_a_malformed_document_is_refused_naming_the_key(mutate: Any, message: str) -> None:
    data = _document()
    mutate(data)
    with pytest.raises(InvalidContract, match="revenue contract JSON " + message):
        revenue_contract_from_json(data)


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(RevenueError, match=r"revenue contract JSON key \(top\): expected an object, got list"):
        revenue_contract_from_json([])  # type: ignore[arg-type]


def test_fractions_and_decimals_keep_their_exact_value() -> None:
    data = _document()
    data["basis"]["satisfied"][0]["share"] = "2/6"
    data["obligations"][0]["input_baseline"] = "0.1000"
    rc = revenue_contract_from_json(data)
    assert rc.basis is not None and rc.basis.satisfied[0][1] == Fraction(1, 3)
    assert str(rc.obligations[0].input_baseline) == "0.1000"
    assert revenue_contract_to_json(rc)["obligations"][0]["input_baseline"] == "0.1000"
