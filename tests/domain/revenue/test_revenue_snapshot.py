"""The snapshot the hub stores when it posts a period: JSON-safe, and read back to exactly the same recognition."""

from __future__ import annotations

import itertools
import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from revenue_builders import contract, obligation, usd

from q2c.domain.money import Money
from q2c.domain.revenue import (
    AdvanceLayer,
    Billed,
    Collected,
    ControlTransferred,
    CostToDate,
    EstimateChanged,
    ExpectedLoss,
    FunctionalBalances,
    FunctionalPeriod,
    FxRate,
    FxTable,
    ObligationRecognition,
    Period,
    ProgressFact,
    Recognition,
    RecognitionMethod,
    RevenueError,
    RevenueLine,
    recognise,
    recognise_periods,
    recognition_from_json,
    recognition_to_json,
)

text = st.text(max_size=30)
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**9, max_value=10**9)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


def money(currency: str) -> st.SearchStrategy[Money]:
    return st.builds(lambda d: Money(amount=d, currency=currency), decimals)


lines = st.builds(RevenueLine, st.sampled_from(["catch_up", "late", "progress"]), money("USD"), text)
obligations = st.builds(
    ObligationRecognition, obligation_id=text, name=text, method=st.sampled_from(list(RecognitionMethod)),
    allocated=st.none() | money("USD"), estimate_total=st.none() | decimals,
    progress=st.none() | st.fractions(), progress_text=text, previously=money("USD"), cumulative=money("USD"),
    revenue=money("USD"), lines=st.lists(lines, max_size=3).map(tuple), phase_id=st.none() | text,
    service_line=st.none() | text)
losses = st.builds(ExpectedLoss, text, *(money("USD") for _ in range(9)))
rates = st.builds(FxRate, st.just("USD"), st.sampled_from(["EUR", "JPY"]), decimals, dates)
layers = st.builds(AdvanceLayer, dates, money("USD"), money("EUR"), decimals)
balances = st.builds(FunctionalBalances, st.just("EUR"), money("EUR"), money("EUR"), money("EUR"), money("EUR"),
                     st.lists(layers, max_size=3).map(tuple))
functional = st.builds(
    FunctionalPeriod, currency=st.just("EUR"), closing_rate=rates, opening=balances, closing=balances,
    cash=money("EUR"), revenue=st.lists(st.tuples(text, money("EUR")), max_size=3).map(tuple), released=money("EUR"),
    loss_charge=money("EUR"), exchange_difference=money("EUR"), rates=st.lists(rates, max_size=3).map(tuple))
recognitions = st.builds(
    Recognition, revenue_contract_id=text, contract_id=text, customer_id=text, version=st.integers(1, 10**6),
    legal_entity=text, currency=st.just("USD"),
    period=st.builds(Period, st.integers(1900, 9999), st.integers(1, 12)),
    obligations=st.lists(obligations, max_size=4).map(tuple), applied_fact_ids=st.frozensets(text, max_size=6),
    billed_before=money("USD"), billed_in_period=money("USD"), collected_before=money("USD"),
    collected_in_period=money("USD"), notes=st.lists(text, max_size=3).map(tuple),
    expected_losses=st.lists(losses, max_size=2).map(tuple), functional=st.none() | functional)


@settings(max_examples=200, deadline=None)
@given(recognitions)
def test_any_recognition_round_trips_exactly_through_json(rec: Recognition) -> None:
    data = recognition_to_json(rec)
    assert json.loads(json.dumps(data)) == data  # plain JSON: strings, numbers, lists, objects, null
    assert recognition_from_json(json.loads(json.dumps(data))) == rec


def test_a_real_chain_continues_from_its_snapshot_as_from_the_recognition() -> None:
    """A cost-to-cost obligation that turns onerous, in USD with EUR books, cash and a late fact: each period
    recognised from the previous one's snapshot is identical to the one recognised from the recognition itself."""
    rc = contract([obligation("B", RecognitionMethod.INPUT_COST, 1000, estimated_total=Decimal(800)),
                   obligation("TM", RecognitionMethod.RIGHT_TO_INVOICE, None)], 1000)
    fx = FxTable(tuple(FxRate("USD", "EUR", Decimal(r), date(2026, m, 1))
                       for m, r in ((1, "0.91"), (2, "0.93"), (3, "0.90"))))
    facts: list[ProgressFact] = [
        Billed(id="i1", obligation_id="B", on=date(2026, 1, 5), amount=usd(500)),
        CostToDate(id="c1", obligation_id="B", on=date(2026, 1, 31), cost=Decimal(400)),
        Collected(id="p1", obligation_id="", on=date(2026, 2, 3), amount=usd(700)),
        EstimateChanged(id="e1", obligation_id="B", on=date(2026, 2, 20), total=Decimal(1250), reason="rework"),
        CostToDate(id="c2", obligation_id="B", on=date(2026, 2, 28), cost=Decimal(750)),
        Billed(id="t1", obligation_id="TM", on=date(2026, 1, 30), amount=usd(120))]
    chain = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 3), functional_currency="EUR", fx=fx)
    assert chain[1].expected_losses and chain[1].loss_provision.amount > 0
    for before, after in itertools.pairwise(chain):
        stored = json.loads(json.dumps(recognition_to_json(before)))
        again = recognise(rc, facts, period=after.period, prior=recognition_from_json(stored), fx=fx)
        assert again == after


def _snapshot() -> dict[str, Any]:
    rec = recognise(contract([obligation("A", RecognitionMethod.POINT_IN_TIME, 10)], 10),
                    [Billed(id="b", obligation_id="A", on=date(2026, 1, 2), amount=usd(10)),
                     ControlTransferred(id="t", obligation_id="A", on=date(2026, 1, 3))], period=Period(2026, 1))
    return json.loads(json.dumps(recognition_to_json(rec)))  # type: ignore[no-any-return]


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("obligations"), "key obligations: missing"),
    (lambda d: d.update(version="1"), "key version: expected an integer, got str"),
    (lambda d: d.update(snapshot_version=7), "key snapshot_version: 7 is not a snapshot version"),
    (lambda d: d.update(period="2026-13"), "key period: "),
    (lambda d: d["obligations"][0].update(progress="1/0"), r"key obligations\[0\]\.progress: '1/0' is not a fraction"),
    (lambda d: d["obligations"][0].update(method="by_magic"), r"key obligations\[0\]\.method: 'by_magic' is not"),
    (lambda d: d["obligations"][0]["cumulative"].update(amount="ten"),
     r"key obligations\[0\]\.cumulative\.amount: 'ten' is not a decimal number"),
    (lambda d: d["billed_before"].update(currency="XXX"), r"key billed_before\.currency"),
    (lambda d: d.update(applied_fact_ids="b"), "key applied_fact_ids: expected a list of strings"),
    (lambda d: d.update(functional={"currency": "EUR"}), r"key functional\.closing_rate: missing"),
])
def test_a_malformed_snapshot_is_refused_naming_the_key(mutate: Any, message: str) -> None:
    data = _snapshot()
    assert recognition_from_json(data).cumulative == usd(10)
    mutate(data)
    with pytest.raises(RevenueError, match="revenue snapshot " + message):
        recognition_from_json(data)


def test_fractions_and_decimals_keep_their_exact_value() -> None:
    data = _snapshot()
    data["obligations"][0]["progress"] = "2/3"
    data["obligations"][0]["estimate_total"] = "0.1000"
    rec = recognition_from_json(data)
    assert rec.obligations[0].progress == Fraction(2, 3)
    assert str(rec.obligations[0].estimate_total) == "0.1000"
    assert recognition_to_json(rec)["obligations"][0]["estimate_total"] == "0.1000"
