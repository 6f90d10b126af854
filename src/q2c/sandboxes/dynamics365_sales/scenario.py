"""The demo's and the delivery trials' story in a Dynamics 365 Sales org, done as the salesperson would do it
in the app: accounts, opportunities with write-in products, the firm's `q2c_milestone` rows, closing a deal
as won. A won deal's products are locked, so adding one to it reopens the deal, adds the product and closes
it as won again, as a salesperson would."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox
from q2c.sandboxes.dynamics365_sales.tables import BILLING_TYPES, MILESTONE_STATUS, PAYMENT_TERMS
from q2c.sandboxes.kit import Sandbox
from q2c.sandboxes.registry import BillingKind

BILLING_LABELS: dict[BillingKind, str] = {"time_and_materials": "Time and Materials", "fixed_fee": "Fixed Fee",
                                          "milestone": "Milestone", "retainer": "Retainer"}
CENT = Decimal("0.01")


def _org(box: Sandbox) -> DataverseSandbox:
    assert isinstance(box, DataverseSandbox), f"{box.name} is not the Dynamics 365 Sales sandbox"
    return box


def _choice(options: dict[int, str], label: str, column: str) -> int:
    for value, text in options.items():
        if text.lower() == label.lower():
            return value
    raise ValueError(f"{column} has no option {label!r}; options: {', '.join(options.values())}")


def _present(values: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


class DynamicsScenario:
    def account(self, box: Sandbox, *, name: str, parent: str | None, tax_id: str | None, tax_code: str | None,
                payment_terms: str, currency: str, country: str, legal_entity: str) -> str:
        org = _org(box)
        row = org.ui_create("account", _present({
            "name": name, "parentaccountid@odata.bind": f"/accounts({parent})" if parent else None,
            "q2c_taxid": tax_id, "q2c_taxcode": tax_code,
            "paymenttermscode": _choice(PAYMENT_TERMS, payment_terms, "account.paymenttermscode"),
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({org.currency_id(currency)})",
            "address1_country": country, "q2c_legalentity": legal_entity}))
        return str(row["accountid"])

    def deal(self, box: Sandbox, *, name: str, account: str, won: bool, close_date: str, currency: str,
             legal_entity: str | None, start: str | None = None, end: str | None = None) -> str:
        org = _org(box)
        row = org.ui_create("opportunity", _present({
            "name": name, "customerid_account@odata.bind": f"/accounts({account})",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({org.currency_id(currency)})",
            "estimatedclosedate": close_date, "q2c_legalentity": legal_entity, "q2c_startdate": start,
            "q2c_enddate": end}))
        opportunity_id = str(row["opportunityid"])
        if won:
            org.win(opportunity_id, actual_end=close_date)
        return opportunity_id

    def line(self, box: Sandbox, deal: str, *, description: str, offering: str, billing: BillingKind,
             quantity: Decimal, amount: Decimal, currency: str, cap: Decimal | None = None) -> str:
        org = _org(box)
        opportunity = org.org.require("opportunity", deal)
        if org.org.currency_code(opportunity["transactioncurrencyid"]) != currency:
            raise ValueError(f"opportunity {deal} is in {org.org.currency_code(opportunity['transactioncurrencyid'])}, "
                             f"not {currency}: a product takes its opportunity's currency")
        won_on = opportunity["actualclosedate"] if opportunity["statecode"] == 1 else None
        if won_on is not None:
            org.ui_update("opportunity", deal, {"statecode": 0})  # Reopen Opportunity
        price = (amount / quantity).quantize(CENT, rounding=ROUND_CEILING)
        # the lines' order as the salesperson arranges them in the form (Sequence Number)
        sequence = 1 + sum(1 for r in org.org.rows["opportunityproduct"].values()
                           if str(r.get("opportunityid") or "").lower() == deal.lower())
        row = org.ui_create("opportunityproduct", _present({
            "opportunityid@odata.bind": f"/opportunities({deal})", "productdescription": description,
            "sequencenumber": sequence,
            "quantity": quantity, "priceperunit": price, "manualdiscountamount": (price * quantity - amount) or None,
            "q2c_serviceoffering": offering,
            "q2c_billingtype": _choice(BILLING_TYPES, BILLING_LABELS[billing], "opportunityproduct.q2c_billingtype"),
            "q2c_capamount": cap}))
        if won_on is not None:
            org.win(deal, actual_end=won_on.isoformat())
        return str(row["opportunityproductid"])

    def milestone(self, box: Sandbox, deal: str, line: str, *, name: str, amount: Decimal, due: str,
                  currency: str) -> str:
        org = _org(box)
        row = org.ui_create("q2c_milestone", {
            "q2c_name": name, "q2c_opportunityid@odata.bind": f"/opportunities({deal})", "q2c_lineitemid": line,
            "q2c_amount": amount, "q2c_duedate": due,
            "q2c_status": _choice(MILESTONE_STATUS, "Pending", "q2c_milestone.q2c_status"),
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({org.currency_id(currency)})"})
        return str(row["q2c_milestoneid"])

    def complete_milestone(self, box: Sandbox, milestone: str, *, on: str) -> None:
        _org(box).ui_update("q2c_milestone", milestone, {
            "q2c_status": _choice(MILESTONE_STATUS, "Completed", "q2c_milestone.q2c_status"), "q2c_completedon": on})

    def overwrite_contract_id(self, box: Sandbox, deal: str, value: str) -> None:
        _org(box).ui_update("opportunity", deal, {"q2c_contractid": value})
