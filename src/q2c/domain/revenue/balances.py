"""Contract balances at a reporting date: receivable, contract asset, contract liability.

Per contract, revenue recognised against the consideration billed or received (whichever is more) is
ONE position: a contract asset (performance ahead of billing and payment) or a contract liability
(billing or payment ahead of performance), never both (ASC 606-10-45-1..4 / IFRS 15.105-108). The
receivable is what has been billed — an unconditional right to consideration — and not yet collected;
it is never negative: cash received beyond what was billed is an advance, part of the contract
liability until it is billed or earned (IFRS 15 Example 38 Case A). Positions are not netted across
contracts: a portfolio shows the sum of net assets and the sum of net liabilities. A provision for an
expected loss is a separate liability, never netted with the position.

A `Billed` fact is taken as the moment the right to consideration becomes unconditional; for a
cancellable contract invoiced ahead of its due date, report the billing on the due date
(IFRS 15 Example 38 Case A).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from q2c.domain.money import Money
from q2c.domain.revenue.minor_units import from_units, to_units
from q2c.domain.revenue.periods import Period
from q2c.domain.revenue.recognition import Recognition
from q2c.domain.revenue.translation import ContractTotals


class Position(StrEnum):
    CONTRACT_ASSET = "contract asset"
    CONTRACT_LIABILITY = "contract liability"
    NIL = "nil"


@dataclass(frozen=True)
class ContractBalance:
    contract_id: str
    period: Period
    currency: str
    recognised_to_date: Money
    billed_to_date: Money
    collected_to_date: Money
    receivable: Money
    contract_asset: Money
    contract_liability: Money
    cash_in_advance: Money  # collected beyond what was billed (within the net position)
    loss_provision: Money  # expected losses not yet absorbed by progress (a separate liability)

    @property
    def position(self) -> Position:
        if self.contract_asset.amount > 0:
            return Position.CONTRACT_ASSET
        if self.contract_liability.amount > 0:
            return Position.CONTRACT_LIABILITY
        return Position.NIL

    @property
    def net(self) -> Money:
        """Recognised less consideration billed or received: positive is a contract asset, negative a liability."""
        return self.contract_asset - self.contract_liability


def _balance(contract_id: str, period: Period, currency: str, recognised: Money, billed: Money,
             collected: Money, provision: Money) -> ContractBalance:
    totals = ContractTotals(to_units(billed, what="billed"), to_units(collected, what="collected"),
                            to_units(recognised, what="recognised"))

    def m(units: int) -> Money:
        return from_units(units, currency)

    return ContractBalance(
        contract_id=contract_id, period=period, currency=currency, recognised_to_date=recognised,
        billed_to_date=billed, collected_to_date=collected, receivable=m(totals.receivable),
        contract_asset=m(totals.asset), contract_liability=m(totals.liability),
        cash_in_advance=m(max(totals.collected - totals.billed, 0)), loss_provision=provision)


def balances(recognition: Recognition) -> ContractBalance:
    """Closing balances of the contract at the end of the recognition's period."""
    return _balance(recognition.contract_id, recognition.period, recognition.currency, recognition.cumulative,
                    recognition.billed_to_date, recognition.collected_to_date, recognition.loss_provision)


def opening_balances(recognition: Recognition) -> ContractBalance:
    """Balances at the start of the recognition's period (the previous period's closing, as posted)."""
    return _balance(recognition.contract_id, recognition.period.previous(), recognition.currency,
                    recognition.previously, recognition.billed_before, recognition.collected_before,
                    recognition.loss_provision_before)


@dataclass(frozen=True)
class PortfolioBalance:
    """Totals of a portfolio in one currency: assets and liabilities are summed separately, never offset."""

    currency: str
    receivable: Money
    contract_assets: Money
    contract_liabilities: Money
    contracts_in_asset: int
    contracts_in_liability: int


def portfolio(items: Sequence[ContractBalance]) -> dict[str, PortfolioBalance]:
    out: dict[str, PortfolioBalance] = {}
    for b in items:
        cur = b.currency
        prev = out.get(cur) or PortfolioBalance(cur, Money.zero(cur), Money.zero(cur), Money.zero(cur), 0, 0)
        out[cur] = PortfolioBalance(
            cur, prev.receivable + b.receivable, prev.contract_assets + b.contract_asset,
            prev.contract_liabilities + b.contract_liability,
            prev.contracts_in_asset + (b.position is Position.CONTRACT_ASSET),
            prev.contracts_in_liability + (b.position is Position.CONTRACT_LIABILITY))
    return out
