"""Contract modifications measured at their own date, and changes in the transaction price after them
(ASC 606-10-25-13, 32-42..45 / IFRS 15.21, 87-90)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from revenue_builders import contract, obligation, usd

from q2c.domain.revenue import (
    Completed,
    ConstraintJudgement,
    ContractModification,
    ControlTransferred,
    EstimateMethod,
    HoursToDate,
    ModificationTreatment,
    Outcome,
    Period,
    ProgressFact,
    RecognitionMethod,
    VariableConsideration,
    apply_modification,
    explain_contract,
    recognise,
    recognise_periods,
    reestimate_variable,
)

POINT = RecognitionMethod.POINT_IN_TIME
HOURS = RecognitionMethod.INPUT_HOURS


def _bonus(amount: int, reason: str) -> VariableConsideration:
    return VariableConsideration(
        id="V", description="performance bonus", method=EstimateMethod.EXPECTED_VALUE,
        outcomes=(Outcome(usd(amount), Decimal(1)),), constraint=ConstraintJudgement.unconstrained(reason))


def test_example_6_change_in_price_after_a_termination_and_new_contract() -> None:
    """IFRS 15 IE25-IE32 / ASC 606-10-55-117..55-124, Example 6 (the text of 15.21(a) and 15.90(a)-(b) confirmed
    against a public copy of IFRS 15; the example's figures are from the standard as known to the author and could
    not be confirmed against a public copy, so each is re-derived here). Products X and Y, equal SSPs,
    fixed 1,000 plus variable consideration estimated at 200, included: 600 each. X transfers at inception (1 July):
    revenue 600. 30 November: Product Z is added for 300 more, not its SSP (equal to X's and Y's): Y and Z are distinct
    from X, so termination and new contract (15.21(a)): Y's 600 + 300 = 900 -> Y 450, Z 450. Then the estimate of the
    variable consideration rises to 240: the 40 was promised before the modification, so it is allocated as at
    inception, 20 to X and 20 to Y (15.90(a)); X is satisfied, so 20 is revenue at once; Y's 20 goes to the remaining
    obligations, 10 each: Y 460, Z 460. Y transfers on 31 March (460) and Z on 30 June (460): 1,540 in all.
    """
    rc = contract([obligation("X", POINT, 600), obligation("Y", POINT, 600)], 1000,
                  variable=[_bonus(200, "highly probable")], start=date(2026, 7, 1))
    facts: list[ProgressFact] = [ControlTransferred(id="tx", obligation_id="X", on=date(2026, 7, 1))]
    jul_oct = recognise_periods(rc, facts, first=Period(2026, 7), last=Period(2026, 10))
    assert jul_oct[0].revenue == usd(600) and jul_oct[-1].cumulative == usd(600)
    mod = ContractModification(
        id="M1", approved_on=date(2026, 11, 30), description="add Product Z for 300", price_change=usd(300),
        adds_distinct_goods=True, priced_at_ssp=False, remaining_distinct=True,
        ssp_evidence="Z's standalone selling price equals X's and Y's; 300 is below it",
        added_obligations=(obligation("Z", POINT, 600),))
    outcome = apply_modification(rc, mod, recognised=jul_oct[-1], facts=facts)
    assert outcome.decision.treatment is ModificationTreatment.TERMINATION_AND_NEW_CONTRACT
    v2 = outcome.contract
    assert [v2.allocation.allocated(x) for x in "XYZ"] == [usd(600), usd(450), usd(450)]
    nov = recognise(v2, facts, period=Period(2026, 11), prior=jul_oct[-1])
    assert nov.revenue == usd(0)
    v3 = reestimate_variable(v2, _bonus(240, "the customer's usage came in above plan"), on=date(2026, 12, 15),
                             reason="usage data for November")
    assert [v3.allocation.allocated(x) for x in "XYZ"] == [usd(620), usd(460), usd(460)]
    dec = recognise(v3, facts, period=Period(2026, 12), prior=nov)
    (line,) = dec.obligation("X").lines
    assert (line.kind, line.amount) == ("catch_up", usd(20))
    assert "ASC 606-10-32-45(a) / IFRS 15.90(a)" in line.reason and "re-estimated from USD 200.00" in line.reason
    assert dec.revenue == usd(20)
    later = [*facts, ControlTransferred(id="ty", obligation_id="Y", on=date(2027, 3, 31)),
             ControlTransferred(id="tz", obligation_id="Z", on=date(2027, 6, 30))]
    rest = recognise_periods(v3, later, first=Period(2027, 1), last=Period(2027, 6), prior=dec)
    assert rest[2].obligation("Y").revenue == usd(460) and rest[5].obligation("Z").revenue == usd(460)
    assert rest[-1].cumulative == usd(1540)
    text = explain_contract(v3, dec)
    assert "blended price" in text and "discount of" not in text
    assert "allocated to the obligations identified before it" in text


def test_after_a_catch_up_modification_a_price_change_goes_only_to_the_unsatisfied_obligation() -> None:
    """15.21(b) and 15.90(b), a constructed case with the hand figures: X (SSP 4,000, point in time) and Y (SSP 6,000,
    100 estimated hours); price 9,000 + a bonus of 1,000 included: X 4,000, Y 6,000. X is delivered in January; by
    31 March Y has 50 hours: 3,000. On 15 April Y's scope grows for 1,000 more and 120 hours; the rest of Y is not
    distinct from what was done: part of the existing contract. X was satisfied before the modification, so it keeps
    4,000 and Y takes 11,000 - 4,000 = 7,000 (re-allocating on SSPs would have moved 400 to X). April, 60 hours:
    cumulative 60/120 x 7,000 = 3,500: catch-up 50/120 x 7,000 - 3,000 = -83.33, progress 583.33. In May the bonus is
    re-estimated to nothing: by 15.90(b) the 1,000 comes off Y alone (Y 6,000, X still 4,000), a catch-up of
    60/120 x 6,000 - 3,500 = -500.
    """
    rc = contract([obligation("X", POINT, 4000), obligation("Y", HOURS, 6000, estimated_total=Decimal(100))], 9000,
                  variable=[_bonus(1000, "the customer has met the target each year")])
    facts: list[ProgressFact] = [ControlTransferred(id="tx", obligation_id="X", on=date(2026, 1, 20)),
                                 HoursToDate(id="h3", obligation_id="Y", on=date(2026, 3, 31), hours=Decimal(50))]
    q1 = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 3))
    assert q1[-1].obligation("Y").cumulative == usd(3000)
    revised_y = obligation("Y", HOURS, 6000, estimated_total=Decimal(120))
    mod = ContractModification(
        id="M2", approved_on=date(2026, 4, 15), description="Y's scope grows by 20 hours for 1,000",
        price_change=usd(1000), adds_distinct_goods=False, priced_at_ssp=False, remaining_distinct=False,
        revised_obligations=(revised_y,))
    outcome = apply_modification(rc, mod, recognised=q1[-1], facts=facts)
    assert outcome.decision.treatment is ModificationTreatment.CUMULATIVE_CATCH_UP
    v2 = outcome.contract
    assert (v2.allocation.allocated("X"), v2.allocation.allocated("Y")) == (usd(4000), usd(7000))
    assert any("15.90(b)" in note for note in outcome.notes)
    facts.append(HoursToDate(id="h4", obligation_id="Y", on=date(2026, 4, 30), hours=Decimal(60)))
    apr = recognise(v2, facts, period=Period(2026, 4), prior=q1[-1])
    assert {x.kind: x.amount for x in apr.obligation("Y").lines} == {"catch_up": usd("-83.33"),
                                                                     "progress": usd("583.33")}
    assert apr.obligation("X").revenue == usd(0)
    by_estimate = apply_modification(rc, replace(mod, revised_obligations=(), revised_estimates={"Y": Decimal(120)}),
                                     recognised=q1[-1], facts=facts).contract
    same = recognise(by_estimate, facts, period=Period(2026, 4), prior=q1[-1]).obligation("Y").lines
    assert [(x.kind, x.amount) for x in same] == [(x.kind, x.amount) for x in apr.obligation("Y").lines]
    assert "estimate at the modification of 2026-04-15" in same[0].reason
    v3 = reestimate_variable(v2, _bonus(0, "the target will not be met"), on=date(2026, 5, 20),
                             reason="the customer cut its volumes")
    may = recognise(v3, facts, period=Period(2026, 5), prior=apr)
    assert (v3.allocation.allocated("X"), v3.allocation.allocated("Y")) == (usd(4000), usd(6000))
    assert may.obligation("X").revenue == usd(0)
    (line,) = may.obligation("Y").lines
    assert (line.kind, line.amount) == ("catch_up", usd(-500))
    assert "32-45(b) / IFRS 15.90(b)" in line.reason


def test_a_modification_is_measured_at_its_own_date_not_at_the_last_period_end() -> None:
    """25-13(a) / 15.21(a) measured at the modification date, a constructed case with the hand figures: a fixed fee of
    10,000 for a series of consulting hours (distinct days, 25-14(b)), 100 hours estimated; 40 hours by 31 March,
    posted: 4,000. On 12 April, with 55 hours worked, 20 more hours are added for 1,000 (below their SSP): the hours
    not yet delivered are distinct, so termination and new contract. What was earned by 12 April belongs to the old
    terms: 55/100 x 10,000 = 5,500 (1,500 of it between 1 and 12 April). The rest, 10,000 - 5,500 + 1,000 = 5,500,
    pays for the 120 - 55 = 65 hours left. By 30 April 70 hours: 15/65 x 5,500 = 1,269.23. April's revenue is
    1,500 + 1,269.23 = 2,769.23. (Cutting off at 31 March instead would re-price hours 40-55 at the new rate:
    7,000 / 80 x 30 = 2,625.00.) At completion the contract has earned 11,000.
    """
    rc = contract([obligation("FF", HOURS, 10000, estimated_total=Decimal(100))], 10000)
    facts: list[ProgressFact] = [HoursToDate(id="h-mar", obligation_id="FF", on=date(2026, 3, 31), hours=Decimal(40)),
                                 HoursToDate(id="h-mod", obligation_id="FF", on=date(2026, 4, 12), hours=Decimal(55))]
    march = recognise(rc, facts, period=Period(2026, 3))
    assert march.cumulative == usd(4000)
    mod = ContractModification(
        id="M3", approved_on=date(2026, 4, 12), description="20 more consulting hours for 1,000",
        price_change=usd(1000), adds_distinct_goods=True, priced_at_ssp=False, remaining_distinct=True,
        ssp_evidence="20 hours sell for 2,000 on their own", revised_estimates={"FF": Decimal(120)})
    outcome = apply_modification(rc, mod, recognised=march, facts=facts)
    v2 = outcome.contract
    assert v2.allocation.allocated("FF") == usd(5500) and v2.allocation.allocated("FF/M3") == usd(5500)
    facts.append(HoursToDate(id="h-apr", obligation_id="FF", on=date(2026, 4, 30), hours=Decimal(70)))
    april = recognise(v2, facts, period=Period(2026, 4), prior=march)
    (closed,) = april.obligation("FF").lines
    assert (closed.kind, closed.amount) == ("progress", usd(1500))
    assert "up to modification M3 on 2026-04-12, measured under the terms before it: 55 of 100" in closed.reason
    assert april.obligation("FF/M3").revenue == usd("1269.23")
    assert april.revenue == usd("2769.23")
    facts += [HoursToDate(id="h-jun", obligation_id="FF", on=date(2026, 6, 30), hours=Decimal(120)),
              Completed(id="done", obligation_id="FF", on=date(2026, 6, 30))]
    _, june = recognise_periods(v2, facts, first=Period(2026, 5), last=Period(2026, 6), prior=april)
    assert june.cumulative == usd(11000)
    assert "total estimate changed" not in " ".join(x.reason for ob in june.obligations for x in ob.lines)
