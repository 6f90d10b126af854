"""Dynamics 365 Sales as the hub's CRM (the `Crm` port): won deals in, ERP ids written back to the
columns the ERP owns, opportunity changes from change tracking. Vendor JSON stops here.
"""

from __future__ import annotations

from datetime import datetime

from q2c.connectors.dynamics365_sales.changes import ChangeFeed
from q2c.connectors.dynamics365_sales.client import DataverseClient
from q2c.connectors.dynamics365_sales.mapping import (
    ACCOUNT,
    ID_PREFIX,
    LINE,
    OPPORTUNITY,
    canonical_id,
    change_terms,
    customers_from_bundle,
    erp_owned_columns,
    erp_writeback_columns,
    opportunity_from_bundle,
)
from q2c.connectors.dynamics365_sales.reads import (
    opportunity_bundle,
    opportunity_columns,
    won_opportunities,
    write_erp_ids,
)
from q2c.connectors.dynamics365_sales.settings import Dynamics365SalesSettings
from q2c.connectors.dynamics365_sales.values import LABEL, SYSTEM, MappingError, as_datetime
from q2c.domain.naming import SystemNames
from q2c.domain.violations import Violation
from q2c.engine.errors import Rejected
from q2c.workflows.ports import CrmChange, Deal

NAMES = SystemNames(system=SYSTEM, label=LABEL, id_prefix=ID_PREFIX,
                    objects={"opportunity": OPPORTUNITY, "customer": ACCOUNT})


def field_names(s: Dynamics365SalesSettings) -> dict[str, str]:
    """Canonical field -> the table and column a person edits, for exception messages."""
    c = s.columns
    names = {
        "customer_id": f"{OPPORTUNITY}.customerid", "parent_id": f"{ACCOUNT}.parentaccountid",
        "legal_entity": c.legal_entity, "tax_profile.tax_id": f"{ACCOUNT}.{c.tax_id}",
        "billing_terms.payment_terms": f"{ACCOUNT}.{c.payment_terms}",
        "currency": f"{OPPORTUNITY}.transactioncurrencyid", "lines": LINE,
        "service_offering": f"{LINE}.{c.service_offering}", "amount": f"{LINE}.extendedamount",
        "cap": f"{LINE}.{c.cap_amount}", "milestones": s.milestones_table, "estimated_hours": f"{LINE}.quantity",
        "end_date": f"{OPPORTUNITY}.{c.end_date}",
    }
    extra = {"service_start": s.line_service_start_column, "term_months": s.line_term_months_column,
             "overage_rate": s.line_overage_rate_column, "rollover_months": s.line_rollover_months_column}
    names.update({k: f"{LINE}.{v}" for k, v in extra.items() if v})
    if s.change_approval_column:
        names["change_approved"] = f"{OPPORTUNITY}.{s.change_approval_column}"
    return names


class Dynamics365SalesCrm:
    names = NAMES

    def __init__(self, client: DataverseClient) -> None:
        self.client = client
        s = client.settings
        self._feed = ChangeFeed(client, opportunity_columns(s), erp_owned_columns(s)[OPPORTUNITY],
                                copy_column=s.columns.erp_owned_copy)

    @property
    def feed(self) -> ChangeFeed:
        return self._feed

    def won_deal_ids(self, since: datetime | None) -> list[tuple[str, datetime]]:
        return [(canonical_id(str(o["opportunityid"])), as_datetime(o["modifiedon"]))
                for o in won_opportunities(self.client, since)]

    def deal(self, opportunity_id: str) -> Deal:
        s = self.client.settings
        bundle = opportunity_bundle(self.client, NAMES.external_id(opportunity_id))
        problems: list[Violation] = []
        try:
            customers = customers_from_bundle(bundle, s)
        except MappingError as exc:
            problems.extend(exc.violations)
            customers = []
        try:
            opportunity = opportunity_from_bundle(bundle, s)
        except MappingError as exc:
            problems.extend(v for v in exc.violations if v not in problems)
        if problems:
            raise Rejected(problems)
        terms = change_terms(bundle["opportunity"], s)
        if terms.amends_id:
            opportunity = opportunity.model_copy(update={"amends_id": terms.amends_id})
        return Deal(opportunity=opportunity, customers={c.id: c for c in customers}, field_names=field_names(s),
                    change_approved=terms.approved, change_effective=terms.effective)

    def write_back(self, deal: Deal, *, customer_number: str, contract_id: str, project_id: str) -> None:
        account = deal.customers.get(deal.opportunity.customer_id)
        opportunity_row = NAMES.external_id(deal.opportunity.id)
        write_erp_ids(self.client, account_id=NAMES.external_id(account.id) if account else None,
                      opportunity_id=opportunity_row, customer_number=customer_number,
                      contract_id=contract_id, project_id=project_id)
        self._feed.wrote(opportunity_row, erp_writeback_columns(self.client.settings, customer_number,
                                                                contract_id, project_id)[OPPORTUNITY])

    def opportunity_changes(self, after: int | None) -> list[CrmChange]:
        """Opportunity changes after a position (see `changes`): the rows changed, the columns that changed,
        and whether q2c's application user made the change."""
        app_user = self.client.app_user_id()
        return [CrmChange(opportunity_ids=(c.opportunity_id,), changed_fields=c.changed, values=dict(c.values),
                          origin=c.modified_by_name or (f"systemuser {c.modified_by}" if c.modified_by else ""),
                          by_q2c=c.modified_by == app_user, position=c.position, won=c.won)
                for c in self._feed.changes_after(after)]

    def erp_owned_fields(self) -> frozenset[str]:
        return erp_owned_columns(self.client.settings)[OPPORTUNITY]

    def close(self) -> None:
        self.client.close()
