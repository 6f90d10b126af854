"""Small builders for revenue tests: contracts, obligations and money in a line each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from q2c.domain.money import Money
from q2c.domain.revenue import (
    AccountMap,
    DiscountAttribution,
    PerformanceObligation,
    RecognitionMethod,
    RecognitionPolicy,
    RevenueContract,
    StandaloneSellingPrice,
    TransactionPrice,
    VariableConsideration,
)

ACCOUNTS = AccountMap(revenue="4000", contract_asset="1250", contract_liability="2300", billing="1200",
                      fx_rounding="7990")
DIMENSIONS = {"department": "PS", "project": "P-1"}


def usd(amount: str | int | Decimal) -> Money:
    return Money.of(amount, "USD")


def obligation(ob_id: str, method: RecognitionMethod, ssp: str | int | None, **kw: object) -> PerformanceObligation:
    price = StandaloneSellingPrice.observable(usd(ssp), "list price") if ssp is not None else \
        StandaloneSellingPrice.residual("price highly variable")
    return PerformanceObligation(id=ob_id, name=f"Obligation {ob_id}", method=method, ssp=price, **kw)  # type: ignore[arg-type]


def contract(obligations: Sequence[PerformanceObligation], fixed: str | int | Decimal, *,
             variable: Sequence[VariableConsideration] = (), discount: DiscountAttribution | None = None,
             policy: RecognitionPolicy | None = None, currency: str = "USD", rc_id: str = "RC-1",
             start: date = date(2026, 1, 1)) -> RevenueContract:
    return RevenueContract(
        id=rc_id, contract_id=rc_id.removeprefix("RC-"), customer_id="CUST-1", legal_entity="US01",
        currency=currency, start=start, end=None, obligations=tuple(obligations),
        price=TransactionPrice(Money.of(fixed, currency), tuple(variable)), discount=discount,
        policy=policy or RecognitionPolicy())
