"""The chart of accounts the revenue journals post to, from the config."""

from __future__ import annotations

from q2c.domain.revenue import AccountMap
from q2c.workflows.hub import Hub


def account_map(hub: Hub) -> AccountMap:
    a = hub.config.revenue_accounts
    return AccountMap(revenue=a.revenue, contract_asset=a.contract_asset, contract_liability=a.contract_liability,
                      billing=a.receivable, fx_rounding=a.fx_rounding, cash=a.cash, fx_gain_loss=a.fx_gain_loss,
                      loss_provision=a.loss_provision, loss_expense=a.loss_expense)
