"""The standard's illustrative examples and audit-firm worked examples, reproduced to the cent.

Sources. The IFRS 15 Illustrative Examples (IE) and the ASC 606-10-55 examples carry the same
numbers (CU in IFRS, $ in ASC). Figures marked "confirmed" were checked against a public copy of
the example during writing; figures marked "from the standard, not re-checked" are quoted from
the published example as known to the author, and every figure the engine produces that the
example does not print is derived in the docstring by the arithmetic shown.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from revenue_builders import ACCOUNTS, DIMENSIONS, contract, obligation, usd

from q2c.domain.money import Money
from q2c.domain.revenue import (
    AllocationRefused,
    Billed,
    ConstraintJudgement,
    ContractModification,
    ControlTransferred,
    CostToDate,
    DiscountAttribution,
    EstimateChanged,
    EstimateMethod,
    ModificationTreatment,
    Outcome,
    Period,
    Position,
    ProgressFact,
    RecognitionMethod,
    RecognitionPolicy,
    RevenueContract,
    StandaloneSellingPrice,
    UnitsDelivered,
    VariableConsideration,
    apply_modification,
    balances,
    journal_entries,
    recognise,
    recognise_periods,
)

POINT = RecognitionMethod.POINT_IN_TIME


def _bc_attribution(amount: Money | None = None) -> DiscountAttribution:
    return DiscountAttribution(("B", "C"), regularly_sold_separately=True, bundle_regularly_discounted=True,
                               discount_substantially_same=True,
                               evidence="B and C are regularly sold together for 60, A alone for 40", amount=amount)


def test_example_34_case_a_discount_allocated_to_b_and_c() -> None:
    """ASC 606-10-55-259..55-263 / IFRS 15 IE250-IE253, Example 34 Case A (confirmed: SSPs 40/55/45, price 100).

    The entity regularly sells B and C together for 60 and A for 40, so the whole discount of 40 belongs
    to B and C (32-37 / IFRS 15.82): A 40; B 60 x 55/100 = 33; C 60 x 45/100 = 27.
    """
    rc = contract([obligation("A", POINT, 40), obligation("B", POINT, 55), obligation("C", POINT, 45)], 100,
                  discount=_bc_attribution())
    alloc = rc.allocation
    assert [alloc.allocated(x) for x in "ABC"] == [usd("40.00"), usd("33.00"), usd("27.00")]
    assert alloc.line("B").discount_share == usd("22.00") and alloc.line("A").discount_share == usd(0)


def test_example_34_proportionate_allocation_without_evidence() -> None:
    """Same facts without the 32-37 evidence: the discount goes to all three in proportion (32-36 / IFRS 15.81).

    Derived: 100 x 40/140 = 28.571 -> 28.57; 100 x 55/140 = 39.286 -> 39.29; 100 x 45/140 = 32.143 -> 32.14;
    28.57 + 39.29 + 32.14 = 100.00 (largest remainder gives the odd cent to B, whose remainder is largest).
    """
    rc = contract([obligation("A", POINT, 40), obligation("B", POINT, 55), obligation("C", POINT, 45)], 100)
    assert [rc.allocation.allocated(x) for x in "ABC"] == [usd("28.57"), usd("39.29"), usd("32.14")]


def test_example_34_case_b_residual_after_the_discount() -> None:
    """ASC 606-10-55-264..55-266 / IFRS 15 IE254-IE256, Example 34 Case B (from the standard, not re-checked).

    Product D is added; its SSP is highly variable (observed 15 to 45); the price is 130. The discount of 40
    is allocated to B and C first, then the residual approach gives D 130 - (40 + 33 + 27) = 30.
    """
    rc = contract([obligation("A", POINT, 40), obligation("B", POINT, 55), obligation("C", POINT, 45),
                   obligation("D", POINT, None).__class__(
                       id="D", name="Product D", method=POINT,
                       ssp=StandaloneSellingPrice.residual("sold for a broad range of amounts",
                                                           range_low=usd(15), range_high=usd(45)))],
                  130, discount=_bc_attribution(usd(40)))
    assert [rc.allocation.allocated(x) for x in "ABCD"] == [usd(40), usd(33), usd(27), usd(30)]


def test_example_34_case_c_residual_refused() -> None:
    """Example 34 Case C (IE257 / 55-267, from the standard, not re-checked): the price is 105, the residual
    would be 5, far below the observed range, so the residual approach does not meet the allocation objective.
    """
    d = obligation("D", POINT, None).__class__(
        id="D", name="Product D", method=POINT,
        ssp=StandaloneSellingPrice.residual("broad range", range_low=usd(15), range_high=usd(45)))
    rc = contract([obligation("A", POINT, 40), obligation("B", POINT, 55), obligation("C", POINT, 45), d], 105,
                  discount=_bc_attribution(usd(40)))
    with pytest.raises(AllocationRefused, match=r"obligation D field ssp: the residual USD 5\.00 is outside"):
        _ = rc.allocation


def _units_contract(rc_id: str = "RC-5") -> RevenueContract:
    return contract([obligation("P", RecognitionMethod.OUTPUT_UNITS, 12000, estimated_total=Decimal(120))], 12000,
                    rc_id=rc_id)


def test_example_5_case_a_separate_contract() -> None:
    """ASC 606-10-55-111..55-113 / IFRS 15 IE19-IE21, Example 5 Case A (confirmed: 120 products at 100; after 60
    are delivered, 30 more at 95, which is their standalone selling price).

    The added products are distinct and priced at SSP: a separate contract (25-12 / 15.20). The original keeps
    100 per product; the new contract recognises 95 per product: 2,850 for the 30.
    """
    rc = _units_contract()
    facts = [UnitsDelivered(id="d1", obligation_id="P", on=date(2026, 3, 31), units=Decimal(60))]
    march = recognise(rc, facts, period=Period(2026, 3))
    assert march.cumulative == usd(6000)
    mod = ContractModification(
        id="M1", approved_on=date(2026, 4, 1), description="30 more products at 95", price_change=usd(2850),
        adds_distinct_goods=True, priced_at_ssp=True, remaining_distinct=True, ssp_evidence="95 is the current price",
        added_obligations=(obligation("Q", RecognitionMethod.OUTPUT_UNITS, 2850, estimated_total=Decimal(30)),))
    outcome = apply_modification(rc, mod, recognised=march, facts=facts)
    assert outcome.decision.treatment is ModificationTreatment.SEPARATE_CONTRACT
    assert "25-12" in outcome.decision.paragraph
    assert outcome.contract is rc and outcome.separate is not None
    later = [*facts, UnitsDelivered(id="d2", obligation_id="P", on=date(2026, 6, 30), units=Decimal(120))]
    june = recognise(outcome.contract, later, period=Period(2026, 6), prior=march)
    assert june.cumulative == usd(12000)
    new = recognise(outcome.separate, [UnitsDelivered(id="q1", obligation_id="Q", on=date(2026, 6, 30),
                                                      units=Decimal(30))], period=Period(2026, 6))
    assert new.cumulative == usd(2850)


def test_example_5_case_b_termination_and_new_contract() -> None:
    """ASC 606-10-55-114..55-116 / IFRS 15 IE22-IE24, Example 5 Case B (confirmed: price 80 for the 30 added
    products, a credit of 15 on each of the 60 delivered products for minor defects; the blended price of the
    90 remaining products is 93.33).

    Credit 60 x 15 = 900 reduces revenue at once. The rest is a termination and a new contract (25-13(a)):
    6,000 not yet recognised + 2,400 promised = 8,400 over 90 products = 93.33 each. In the engine the 90
    products are the 60 left of the original obligation and the 30 added, both at the current SSP of 95, so
    8,400 is split 60:30 -> 5,600 and 2,800 (93.333... per product either way).
    """
    rc = _units_contract()
    facts = [UnitsDelivered(id="d1", obligation_id="P", on=date(2026, 3, 31), units=Decimal(60))]
    march = recognise(rc, facts, period=Period(2026, 3))
    mod = ContractModification(
        id="M1", approved_on=date(2026, 4, 1), description="30 more products at 80; credit 15 each on 60 delivered",
        price_change=usd(2400), adds_distinct_goods=True, priced_at_ssp=False, remaining_distinct=True,
        ssp_evidence="the current SSP is 95", remaining_ssp={"P": usd(5700)},
        added_obligations=(obligation("Q", RecognitionMethod.OUTPUT_UNITS, 2850, estimated_total=Decimal(30)),),
        concession_on_transferred=usd(900), concession_obligation="P")
    outcome = apply_modification(rc, mod, recognised=march, facts=facts)
    assert outcome.decision.treatment is ModificationTreatment.TERMINATION_AND_NEW_CONTRACT
    new = outcome.contract
    assert new.allocation.allocated("P") == usd(5100)
    assert new.allocation.allocated("P/M1") == usd(5600)
    assert new.allocation.allocated("Q") == usd(2800)
    assert (usd(5600).amount / 60).quantize(Decimal("0.01")) == Decimal("93.33")
    april = recognise(new, facts, period=Period(2026, 4), prior=march)
    (catch_up,) = april.obligation("P").lines
    assert catch_up.kind == "catch_up" and catch_up.amount == usd(-900)
    assert april.revenue == usd(-900)
    done = [*facts, UnitsDelivered(id="d2", obligation_id="P", on=date(2026, 6, 30), units=Decimal(120)),
            UnitsDelivered(id="q1", obligation_id="Q", on=date(2026, 6, 30), units=Decimal(30))]
    june = recognise(new, done, period=Period(2026, 6), prior=april)
    assert june.cumulative == usd(5100 + 8400)  # 12,000 - 900 + 2,400


def test_example_7_services_modification_prospective() -> None:
    """ASC 606-10-55-125..55-128 / IFRS 15 IE33-IE36, Example 7 (from the standard, not re-checked): a 3-year
    cleaning contract at 100,000 a year; at the end of year 2 year 3 is cut to 80,000 and 3 more years are added
    for 200,000. The remaining services are distinct: 25-13(a). Remaining consideration 80,000 + 200,000 =
    280,000 over 4 years = 70,000 a year (the engine: 280,000 split on SSPs 80,000 : 240,000 -> 70,000 and
    210,000, each spread by month).
    """
    ratable = RecognitionMethod.RATABLE_MONTHLY
    rc = contract([obligation("CLEAN", ratable, 300000, start=date(2024, 1, 1), end=date(2026, 12, 31))], 300000,
                  start=date(2024, 1, 1))
    history = recognise_periods(rc, [], first=Period(2024, 1), last=Period(2025, 12))
    assert history[-1].cumulative == usd(200000)
    mod = ContractModification(
        id="M1", approved_on=date(2026, 1, 1), description="year 3 at 80,000; years 4-6 for 200,000",
        price_change=usd(180000), adds_distinct_goods=True, priced_at_ssp=False, remaining_distinct=True,
        ssp_evidence="SSP is 80,000 a year; 3 years for 200,000 is below it", remaining_ssp={"CLEAN": usd(80000)},
        added_obligations=(obligation("EXT", ratable, 240000, start=date(2027, 1, 1), end=date(2029, 12, 31)),))
    outcome = apply_modification(rc, mod, recognised=history[-1], facts=[])
    assert outcome.decision.treatment is ModificationTreatment.TERMINATION_AND_NEW_CONTRACT
    assert outcome.contract.allocation.allocated("CLEAN/M1") == usd(70000)
    assert outcome.contract.allocation.allocated("EXT") == usd(210000)
    after = recognise_periods(outcome.contract, [], first=Period(2026, 1), last=Period(2029, 12), prior=history[-1])
    by_year: dict[int, Decimal] = {}
    for rec in after:
        by_year[rec.period.year] = by_year.get(rec.period.year, Decimal(0)) + rec.revenue.amount
    assert by_year == {2026: Decimal(70000), 2027: Decimal(70000), 2028: Decimal(70000), 2029: Decimal(70000)}


def _example_8_bonus() -> VariableConsideration:
    return VariableConsideration(
        id="BONUS", description="bonus if the building is completed within 24 months",
        method=EstimateMethod.MOST_LIKELY_AMOUNT,
        outcomes=(Outcome(usd(200000), Decimal("0.6")), Outcome(usd(0), Decimal("0.4"))),
        constraint=ConstraintJudgement.exclude("USD", "completion depends on weather and regulatory approvals, "
                                                      "outside the entity's influence; reversal not unlikely"))


@pytest.mark.parametrize(("decimals", "catch_up"), [(3, "91200.00"), (None, "91463.41")])
def test_example_8_cumulative_catch_up_with_constraint_released(decimals: int | None, catch_up: str) -> None:
    """ASC 606-10-55-129..55-133 / IFRS 15 IE37-IE41, Example 8 (from the standard, not re-checked): a building
    for 1,000,000 plus a 200,000 bonus for completion within 24 months, constrained out at inception; expected
    costs 700,000. Year 1: costs 420,000 -> 60% -> revenue 600,000. Year 2: the floor plan changes, the price
    rises 150,000, expected costs by 120,000 to 820,000, and the bonus becomes highly probable (its window is
    extended). Not distinct -> part of the existing contract (25-13(b)): price 1,350,000, progress 420,000 /
    820,000 = 51.2%, cumulative 691,200, catch-up 91,200.

    The example rounds the progress to 51.2%; with `progress_decimals=3` the engine reproduces 91,200. With the
    exact ratio (the default) the catch-up is 1,350,000 x 420/820 - 600,000 = 691,463.41 - 600,000 = 91,463.41.
    The bonus probabilities (0.6/0.4) are not in the example; only the constraint judgement drives the numbers.
    """
    bonus = _example_8_bonus()
    rc = contract([obligation("BLD", RecognitionMethod.INPUT_COST, 1000000, estimated_total=Decimal(700000))],
                  1000000, variable=[bonus], policy=RecognitionPolicy(progress_decimals=decimals))
    assert rc.price.total() == usd(1000000) and bonus.estimate() == usd(200000)
    facts: list[ProgressFact] = [CostToDate(id="c1", obligation_id="BLD", on=date(2026, 12, 31), cost=Decimal(420000))]
    year1 = recognise(rc, facts, period=Period(2026, 12))
    assert year1.cumulative == usd(600000)
    released = VariableConsideration(
        id="BONUS", description=bonus.description, method=bonus.method, outcomes=bonus.outcomes,
        constraint=ConstraintJudgement.unconstrained("window extended 6 months; experience makes completion in "
                                                     "time highly probable"))
    mod = ContractModification(
        id="M1", approved_on=date(2027, 1, 15), description="floor plan changed", price_change=usd(150000),
        adds_distinct_goods=False, priced_at_ssp=False, remaining_distinct=False, revised_variable=(released,))
    outcome = apply_modification(rc, mod, recognised=year1, facts=facts)
    assert outcome.decision.treatment is ModificationTreatment.CUMULATIVE_CATCH_UP
    new = outcome.contract
    assert new.price.total() == usd(1350000)
    facts.append(EstimateChanged(id="e1", obligation_id="BLD", on=date(2027, 1, 15), total=Decimal(820000),
                                 reason="floor plan change adds 120,000 of cost"))
    jan = recognise(new, facts, period=Period(2027, 1), prior=year1)
    (line,) = jan.obligation("BLD").lines
    assert line.kind == "catch_up" and line.amount == usd(catch_up)
    assert "allocated price changed from USD 1,000,000.00 to USD 1,350,000.00" in line.reason
    assert "total estimate changed from 700000 to 820000" in line.reason


def test_example_19_uninstalled_materials_at_zero_margin() -> None:
    """ASC 606-10-55-187..55-192 / IFRS 15 IE95-IE100, Example 19 (from the standard, not re-checked): price
    5,000,000; expected costs 4,000,000 including elevators of 1,500,000 delivered before installation. At the
    year end costs are 2,000,000 including the elevators. Progress excludes the elevators: 500,000 / 2,500,000 =
    20%; revenue = 20% x (5,000,000 - 1,500,000) + 1,500,000 = 2,200,000.
    """
    rc = contract([obligation("BLD", RecognitionMethod.INPUT_COST, 5000000, estimated_total=Decimal(4000000),
                              excluded_cost_estimate=Decimal(1500000))], 5000000)
    rec = recognise(rc, [CostToDate(id="c1", obligation_id="BLD", on=date(2026, 12, 31), cost=Decimal(2000000),
                                    excluded=Decimal(1500000))], period=Period(2026, 12))
    assert rec.cumulative == usd(2200000)


def test_expected_value_performance_bonus_pwc() -> None:
    """PwC, Revenue from contracts with customers guide, chapter 4 ('Estimating variable consideration —
    performance bonus with multiple outcomes'; facts confirmed): price 100,000 plus a 50,000 bonus reduced 10% per
    week late; 60% on time, 30% one week late, 10% two weeks late. Expected value (32-8(a) / IFRS 15.53(a)):
    150,000 x 0.6 + 145,000 x 0.3 + 140,000 x 0.1 = 147,500 (derived: bonus 50,000 x .6 + 45,000 x .3 +
    40,000 x .1 = 47,500).
    """
    bonus = VariableConsideration(
        id="B", description="completion bonus", method=EstimateMethod.EXPECTED_VALUE,
        outcomes=(Outcome(usd(50000), Decimal("0.6")), Outcome(usd(45000), Decimal("0.3")),
                  Outcome(usd(40000), Decimal("0.1"))),
        constraint=ConstraintJudgement.unconstrained("similar contracts; experience is predictive"))
    rc = contract([obligation("X", RecognitionMethod.INPUT_COST, 150000, estimated_total=Decimal(80000))], 100000,
                  variable=[bonus])
    assert bonus.estimate() == usd(47500)
    assert rc.price.total() == usd(147500)
    assert "expected value" in bonus.explain()


def test_most_likely_amount_award_fee_pwc() -> None:
    """PwC guide, chapter 4 ('performance bonus with two outcomes'; facts confirmed): 250 million plus a 25 million
    award fee if completed by a date, binary, 95% likely. Most likely amount (32-8(b) / IFRS 15.53(b)): 275 million.
    The expected value would be 273.75 million, which is not a possible outcome: why the method matters.
    """
    fee = VariableConsideration(
        id="AWARD", description="award fee", method=EstimateMethod.MOST_LIKELY_AMOUNT,
        outcomes=(Outcome(usd(25000000), Decimal("0.95")), Outcome(usd(0), Decimal("0.05"))),
        constraint=ConstraintJudgement.unconstrained("long history of completing similar facilities on time"))
    rc = contract([obligation("F", RecognitionMethod.INPUT_COST, 275000000, estimated_total=Decimal(200000000))],
                  250000000, variable=[fee])
    assert rc.price.total() == usd(275000000)
    as_expected = VariableConsideration(id="AWARD", description="award fee", method=EstimateMethod.EXPECTED_VALUE,
                                        outcomes=fee.outcomes, constraint=fee.constraint)
    assert as_expected.estimate() == usd(23750000)


def test_constraint_limits_revenue_and_records_reason() -> None:
    """Constraint (ASC 606-10-32-11 / IFRS 15.56), a constructed case with the arithmetic written out: fixed 100,000
    plus a usage bonus estimated at 30,000 (expected value 0.5 x 40,000 + 0.5 x 20,000); the accountant includes
    only 20,000 (the lowest outcome) because the customer's volumes are volatile. Price 120,000; half the work
    done -> revenue 60,000. Including more than the estimate is refused.
    """
    bonus = VariableConsideration(
        id="USAGE", description="usage bonus", method=EstimateMethod.EXPECTED_VALUE,
        outcomes=(Outcome(usd(40000), Decimal("0.5")), Outcome(usd(20000), Decimal("0.5"))),
        constraint=ConstraintJudgement.limit_to(usd(20000), "customer volumes are volatile; only the floor is "
                                                            "highly probable"))
    rc = contract([obligation("X", RecognitionMethod.INPUT_HOURS, 120000, estimated_total=Decimal(1000))], 100000,
                  variable=[bonus])
    assert rc.price.total() == usd(120000)
    assert "constrained to USD 20,000.00" in bonus.explain() and "volatile" in bonus.explain()
    from q2c.domain.revenue import HoursToDate, InvalidContract

    rec = recognise(rc, [HoursToDate(id="h", obligation_id="X", on=date(2026, 1, 31), hours=Decimal(500))],
                    period=Period(2026, 1))
    assert rec.cumulative == usd(60000)
    greedy = VariableConsideration(id="USAGE", description="usage bonus", method=bonus.method,
                                   outcomes=bonus.outcomes,
                                   constraint=ConstraintJudgement.limit_to(usd(35000), "optimism"))
    with pytest.raises(InvalidContract, match=r"variable consideration USAGE field constraint\.included"):
        contract([obligation("X", RecognitionMethod.INPUT_HOURS, 1, estimated_total=Decimal(1))], 1,
                 variable=[greedy])


def test_example_39_contract_asset_then_receivable() -> None:
    """ASC 606-10-55-287..55-290 / IFRS 15 IE201-IE204, Example 39 (from the standard, not re-checked): Products A
    and B for 1,000, A delivered first, payment conditional on delivering B; allocated A 400, B 600.
    On A: Dr contract asset 400 / Cr revenue 400. On B: Dr receivable 1,000 / Cr contract asset 400 / Cr revenue 600.
    """
    rc = contract([obligation("A", POINT, 400), obligation("B", POINT, 600)], 1000)
    facts: list[ProgressFact] = [ControlTransferred(id="ta", obligation_id="A", on=date(2026, 1, 20)),
             ControlTransferred(id="tb", obligation_id="B", on=date(2026, 2, 20)),
             Billed(id="inv", obligation_id="B", on=date(2026, 2, 20), amount=usd(1000))]
    jan, feb = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 2))
    (entry,) = journal_entries(jan, accounts=ACCOUNTS, dimensions=DIMENSIONS)
    assert {(ln.account, ln.debit.amount, ln.credit.amount) for ln in entry.lines} == {
        ("1250", Decimal("400.00"), Decimal(0)), ("4000", Decimal(0), Decimal("400.00"))}
    assert balances(jan).position is Position.CONTRACT_ASSET
    (entry,) = journal_entries(feb, accounts=ACCOUNTS, dimensions=DIMENSIONS)
    assert {(ln.account, ln.debit.amount, ln.credit.amount) for ln in entry.lines} == {
        ("1200", Decimal("1000.00"), Decimal(0)), ("1250", Decimal(0), Decimal("400.00")),
        ("4000", Decimal(0), Decimal("600.00"))}


def test_example_40_receivable_with_volume_rebate() -> None:
    """ASC 606-10-55-291..55-294 / IFRS 15 IE205-IE208, Example 40 (from the standard, not re-checked): 150 per
    product, retrospectively 125 once the customer buys more than 1 million in the year, which the entity expects.
    On 100 products: receivable 15,000 (the unconditional right to 150 each), revenue 12,500 (125 each), and the
    2,500 difference a refund liability. The engine presents the 2,500 in the contract's net position, as a
    contract liability, which is how the example labels the credit.
    """
    rebate = VariableConsideration(
        id="REBATE", description="volume rebate to 125", method=EstimateMethod.MOST_LIKELY_AMOUNT,
        outcomes=(Outcome(usd(-2500), Decimal("0.9")), Outcome(usd(0), Decimal("0.1"))),
        constraint=ConstraintJudgement.unconstrained("the customer's volumes will exceed 1 million"))
    rc = contract([obligation("P", RecognitionMethod.OUTPUT_UNITS, 15000, estimated_total=Decimal(100))], 15000,
                  variable=[rebate])
    rec = recognise(rc, [UnitsDelivered(id="u", obligation_id="P", on=date(2026, 1, 31), units=Decimal(100)),
                         Billed(id="i", obligation_id="P", on=date(2026, 1, 31), amount=usd(15000))],
                    period=Period(2026, 1))
    b = balances(rec)
    assert (rec.revenue, b.receivable, b.contract_liability) == (usd(12500), usd(15000), usd(2500))
