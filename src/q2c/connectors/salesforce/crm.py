"""Salesforce as the hub's CRM (the `Crm` port): won deals in, ERP ids written back to the fields
the ERP owns. Vendor JSON stops here.

Change events come over one CometD session that the adapter keeps from poll to poll in this
process (`ChangeEventStream`); it starts again from the caller's replay position whenever that is
not where the session stands (a new process, or a poll whose events were not stored).
"""

from __future__ import annotations

import threading
from datetime import date, datetime

from q2c.connectors.salesforce.client import SalesforceClient
from q2c.connectors.salesforce.fields import FieldsMissing
from q2c.connectors.salesforce.mapping import (
    ERP_OWNED_FIELDS,
    ID_PREFIX,
    MappingError,
    canonical_id,
    customers_from_bundle,
    opportunity_from_salesforce,
)
from q2c.connectors.salesforce.streaming import REPLAY_ALL, ChangeEventStream
from q2c.domain.naming import SystemNames
from q2c.engine.errors import Rejected
from q2c.workflows.ports import CrmChange, Deal

# Canonical field -> the Salesforce field a person edits, for exception messages.
FIELD_NAMES = {
    "customer_id": "Opportunity.AccountId",
    "parent_id": "Account.ParentId",
    "legal_entity": "Legal_Entity__c",
    "tax_profile.tax_id": "Account.Tax_Id__c",
    "tax_profile.exemption_certificate": "Account.Tax_Exemption_Certificate__c",
    "billing_terms.payment_terms": "Account.Payment_Terms__c",
    "currency": "Opportunity.CurrencyIsoCode",
    "lines": "OpportunityLineItem",
    "service_offering": "OpportunityLineItem.Service_Offering__c",
    "amount": "OpportunityLineItem.TotalPrice",
    "cap": "OpportunityLineItem.Cap_Amount__c",
    "milestones": "Opportunity_Milestone__c",
    "estimated_hours": "OpportunityLineItem.Quantity",
    "end_date": "Opportunity.End_Date__c",
    "service_start": "OpportunityLineItem.ServiceDate",
}
# In a single-currency org the currency is the org's, not the opportunity's
SINGLE_CURRENCY_FIELD = "Organization.DefaultCurrencyIsoCode"


def _timestamp(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("+0000", "+00:00"))


NAMES = SystemNames(system="salesforce", label="Salesforce", id_prefix=ID_PREFIX,
                    objects={"opportunity": "Opportunity", "customer": "Account"})


class SalesforceCrm:
    names = NAMES

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self._stream: ChangeEventStream | None = None
        self._stream_lock = threading.Lock()

    def won_deal_ids(self, since: datetime | None) -> list[tuple[str, datetime]]:
        return [(canonical_id(str(o["Id"])), _timestamp(o["SystemModstamp"]))
                for o in self.client.won_opportunities(since)]

    def deal(self, opportunity_id: str) -> Deal:
        try:
            bundle = self.client.opportunity_bundle(NAMES.external_id(opportunity_id))
        except FieldsMissing as exc:
            raise Rejected(exc.violations()) from None
        problems = []
        try:
            customers = customers_from_bundle(bundle)
        except MappingError as exc:
            problems.extend(exc.violations)
            customers = []
        try:
            opportunity = opportunity_from_salesforce(bundle)
        except MappingError as exc:
            problems.extend(v for v in exc.violations if v not in problems)
        if problems:
            raise Rejected(list(problems))
        names = FIELD_NAMES if bundle.get("org_currency") is None else {**FIELD_NAMES,
                                                                        "currency": SINGLE_CURRENCY_FIELD}
        raw = bundle["opportunity"]
        cfg = self.client.config
        names = {**names, **{key: f"OpportunityLineItem.{field}"
                             for key, field in self.client.retainer_fields().items()},
                 **self.client.billing_schedule_names()}
        approved = None
        if cfg.change_approval_field:
            names = {**names, "change_approved": f"Opportunity.{cfg.change_approval_field}"}
            value = raw.get(cfg.change_approval_field)
            approved = str(value).lower() in {v.lower() for v in cfg.change_approval_values} if value is not None \
                else False
        amends = raw.get(cfg.change_order_field) if cfg.change_order_field else None
        if amends:
            opportunity = opportunity.model_copy(update={"amends_id": canonical_id(str(amends))})
        effective = raw.get(cfg.change_effective_date_field) if cfg.change_effective_date_field else None
        return Deal(opportunity=opportunity, customers={c.id: c for c in customers}, field_names=names,
                    change_approved=approved,
                    change_effective=date.fromisoformat(str(effective)[:10]) if effective else None)

    def write_back(self, deal: Deal, *, customer_number: str, contract_id: str, project_id: str) -> None:
        account = deal.customers.get(deal.opportunity.customer_id)
        self.client.write_erp_ids(
            account_id=account.id.removeprefix("SF-") if account else None,
            opportunity_id=deal.opportunity.id.removeprefix("SF-"), customer_number=customer_number,
            contract_id=contract_id, project_id=project_id)

    def opportunity_changes(self, after: int | None) -> list[CrmChange]:
        """Opportunity change events after a replay position (all retained ones when None), over the session
        kept from the last call when it stands at that position, else over a new one subscribed from it."""
        start = REPLAY_ALL if after is None else after
        with self._stream_lock:
            if self._stream is None or self._stream.last_replay_id != start:
                if self._stream is not None:
                    self._stream.close()
                self._stream = ChangeEventStream(self.client, replay_id=start,
                                                 wait_seconds=self.client.config.change_events_wait_seconds)
            events = self._stream.poll()
        return [CrmChange(opportunity_ids=tuple(canonical_id(i) for i in e.record_ids),
                          changed_fields=e.changed_fields, values=dict(e.fields), origin=e.change_origin,
                          by_q2c=e.written_by(self.client.config.call_options_client), position=e.replay_id,
                          won=e.fields.get("IsWon") is True or e.fields.get("StageName") == "Closed Won")
                for e in events]

    def erp_owned_fields(self) -> frozenset[str]:
        return ERP_OWNED_FIELDS["Opportunity"]

    @property
    def change_stream(self) -> ChangeEventStream | None:
        """The CometD session change events come over (None before the first poll)."""
        return self._stream

    def close(self) -> None:
        """End the change-event session (the server forgets an idle one by itself after 40 s)."""
        with self._stream_lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
