"""Explain as data for `q2c revenue explain --json`, and the words for estimates, blended prices, cost-plus prices,
modifications and credits."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from revenue_builders import contract, obligation, usd

from q2c.domain.revenue import (
    Billed,
    Collected,
    ContractModification,
    InvalidContract,
    PerformanceObligation,
    Period,
    ProgressFact,
    RecognitionMethod,
    SspBasis,
    StandaloneSellingPrice,
    UnitsDelivered,
    apply_modification,
    explain_contract,
    explain_figures,
    recognise,
)

UNITS = RecognitionMethod.OUTPUT_UNITS


def _example_5_case_b() -> tuple[object, object, object]:
    """IFRS 15 Example 5 Case B as in test_revenue_examples (120 products at 100; 60 delivered; 30 more at 80 and a
    credit of 15 on each of the 60 delivered): the April recognition of the modified contract."""
    rc = contract([obligation("P", UNITS, 12000, estimated_total=Decimal(120))], 12000, rc_id="RC-5")
    facts: list[ProgressFact] = [UnitsDelivered(id="d1", obligation_id="P", on=date(2026, 3, 31), units=Decimal(60)),
                                 Billed(id="i1", obligation_id="P", on=date(2026, 3, 31), amount=usd(6000)),
                                 Collected(id="c1", obligation_id="", on=date(2026, 4, 20), amount=usd(6500))]
    march = recognise(rc, facts, period=Period(2026, 3))
    mod = ContractModification(
        id="M1", approved_on=date(2026, 4, 1), description="30 more products at 80; credit 15 each on 60 delivered",
        price_change=usd(2400), adds_distinct_goods=True, priced_at_ssp=False, remaining_distinct=True,
        ssp_evidence="the current SSP is 95", remaining_ssp={"P": usd(5700)},
        added_obligations=(obligation("Q", UNITS, 2850, estimated_total=Decimal(30)),),
        concession_on_transferred=usd(900), concession_obligation="P")
    new = apply_modification(rc, mod, recognised=march, facts=facts).contract
    return new, recognise(new, facts, period=Period(2026, 4), prior=march), march


def test_explain_figures_is_json_and_carries_the_numbers_of_the_period() -> None:
    rc, april, _ = _example_5_case_b()
    figures = explain_figures(rc, april)  # type: ignore[arg-type]
    assert json.loads(json.dumps(figures)) == figures
    assert (figures["period"], figures["currency"], figures["revenue"], figures["cumulative"]) == (
        "2026-04", "USD", "-900.00", "5100.00")
    by_id = {ob["id"]: ob for ob in figures["obligations"]}
    reason = by_id["P"]["lines"][0]["reason"]
    assert by_id["P"]["lines"] == [{"kind": "catch_up", "amount": "-900.00", "reason": reason}]
    assert by_id["P/M1"]["allocated"] == "5600.00" and by_id["Q"]["allocated"] == "2800.00"
    assert by_id["P"]["progress"] == "1/1" and by_id["P"]["progress_percent"] == "100.00"
    assert figures["catch_ups"] == [{"obligation": "P", "amount": "-900.00", "reason": reason}]
    assert figures["billed"] == {"before": "6000.00", "in_period": "0.00", "to_date": "6000.00"}
    assert figures["collected"]["in_period"] == "6500.00"
    assert figures["balances"] == {"receivable": "0.00", "contract_asset": "0.00", "contract_liability": "1400.00",
                                   "position": "contract liability", "cash_in_advance": "500.00",
                                   "loss_provision": "0.00"}
    assert figures["opening_balances"]["receivable"] == "6000.00"
    assert figures["modifications"][0]["paragraph"] == "ASC 606-10-25-13(a) / IFRS 15.21(a)"
    assert figures["transaction_price"]["total"] == "13500.00" and figures["functional"] is None


def test_explain_speaks_of_blended_prices_credits_and_closed_parts_not_of_discounts_or_missing_estimates() -> None:
    rc, april, march = _example_5_case_b()
    text = explain_contract(rc, april, history=[march])  # type: ignore[arg-type]
    assert "to None" not in text and "None" not in text
    assert "discount of" not in text and "blended price of the new contract" in text
    assert "credit of USD 900.00 for what was already transferred, granted in modification M1" in text
    assert ("P: satisfied part closed by modification M1 on 2026-04-01 (ASC 606-10-25-13(a) / IFRS 15.21(a)): earned "
            "USD 6,000.00 under the terms before it (60 of 120 units delivered") in text
    assert "consideration received USD 6,500.00, of which USD 500.00 in advance of billing" in text


def test_a_cost_plus_price_needs_its_cost_and_says_it() -> None:
    priced = StandaloneSellingPrice.cost_plus_margin(usd(800), Decimal("0.25"), "staff cost plus the usual margin")
    assert priced.amount == usd(1000)
    assert priced.describe() == ("expected cost USD 800.00 plus a margin of 25.00% = USD 1,000.00 (staff cost plus the "
                                 "usual margin)")
    bare = StandaloneSellingPrice(SspBasis.EXPECTED_COST_PLUS_MARGIN, usd(1000), "estimated")
    assert bare.describe() == "expected cost plus a margin: USD 1,000.00 (estimated)"
    with pytest.raises(InvalidContract, match=r"obligation A field ssp\.cost: an expected-cost-plus-margin price"):
        contract([PerformanceObligation(id="A", name="A", method=RecognitionMethod.POINT_IN_TIME, ssp=bare)], 1000)


def test_a_period_where_credit_notes_exceed_invoices_says_so() -> None:
    rc = contract([obligation("TM", RecognitionMethod.RIGHT_TO_INVOICE, None)], 0)
    facts: list[ProgressFact] = [Billed(id="i1", obligation_id="TM", on=date(2026, 1, 31), amount=usd(500)),
                                 Billed(id="cn1", obligation_id="TM", on=date(2026, 2, 10), amount=usd(-200))]
    jan = recognise(rc, facts, period=Period(2026, 1))
    feb = recognise(rc, facts, period=Period(2026, 2), prior=jan)
    text = explain_contract(rc, feb)
    assert "credit notes exceeded invoices in the period by USD 200.00 (billed to date USD 300.00)" in text
    assert "USD 300.00 invoiced to date, after credit notes of USD 200.00 (right to invoice)" in text
