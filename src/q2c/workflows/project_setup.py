"""Opportunity won -> project setup.

A won deal arrives (CRM poll, change event or webhook) and is enqueued once per opportunity
(inbox key). Setting it up validates the deal against reference data, then upserts, in order:
the customer hierarchy, the contract and the project with its tasks in the ERP; the client,
project, tasks and assignments in the time tracker; and writes the ERP's ids back to the CRM
fields the ERP owns. Every step is an upsert on a canonical id, so a retry after a crash at any
point repeats harmlessly.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from q2c.domain.billing import BillingError, monthly_schedule
from q2c.domain.engagement import TaskTemplate, ancestors_top_down, plan_engagement
from q2c.domain.model import BillingType, Contract, Customer, Opportunity, Project
from q2c.domain.revenue import RevenueContract, RevenueError, revenue_contract_from
from q2c.domain.validation.deal import DealReferenceData, deal_violations
from q2c.domain.violations import Violation
from q2c.engine.errors import Rejected
from q2c.engine.hashing import content_hash
from q2c.engine.tracing import change_span
from q2c.engine.worker import Effects
from q2c.store import audit, cursors, inbox, links, queue, records
from q2c.store import exceptions as exception_store
from q2c.store.queue import WorkItem
from q2c.workflows import contract_versions
from q2c.workflows.hub import Hub

KIND = "deal.setup"
WON_EVENT = "opportunity.won"  # its inbox key stops a second setup of the same deal: never pruned


@dataclass
class DealPollStats:
    seen: int = 0
    enqueued: int = 0
    duplicates: int = 0


def enqueue_won_deal(conn: Connection, opportunity_id: str, *, source: str, correlation_id: str | None = None) -> bool:
    """Enqueue one won deal (by canonical id) for setup; False when it was already enqueued (at-least-once
    intake: the poll, the change feed and a webhook may all report the same win)."""
    correlation = correlation_id or uuid.uuid4().hex
    with change_span("q2c.intake deal.won", correlation, attributes={"q2c.opportunity_id": opportunity_id,
                                                                      "q2c.source": source}) as span:
        event_id = inbox.record_event(conn, idempotency_key=won_event_key(opportunity_id), source=source,
                                      event_type=WON_EVENT, aggregate=f"opportunity:{opportunity_id}",
                                      correlation_id=correlation)
        span.set_attribute("q2c.duplicate", event_id is None)
        if event_id is None:
            return False
        queue.enqueue(conn, kind=KIND, aggregate=f"opportunity:{opportunity_id}",
                      payload={"opportunity_id": opportunity_id}, correlation_id=correlation, event_id=event_id,
                      priority=queue.PRIORITY_SETUP)
    return True


def won_event_key(opportunity_id: str) -> str:
    return f"opportunity.won:{opportunity_id}"


def won_deal_correlation(conn: Connection, opportunity_id: str) -> str | None:
    """The correlation id the deal's win was first received under: its setup is followed by it."""
    return inbox.correlation_of(conn, won_event_key(opportunity_id))


def cursor_name(hub: Hub) -> str:
    return f"{hub.crm.names.system}.opportunity.won_since"


def poll_won_deals(hub: Hub) -> DealPollStats:
    stats = DealPollStats()
    with hub.engine.connect() as conn:
        stored = cursors.get_cursor(conn, cursor_name(hub))
    since = datetime.fromisoformat(stored) if stored else None
    found = hub.crm.won_deal_ids(since)
    latest = since
    with hub.engine.begin() as conn:
        for opportunity_id, modified in found:
            stats.seen += 1
            if enqueue_won_deal(conn, opportunity_id, source=f"{hub.crm.names.system}.poll"):
                stats.enqueued += 1
            else:
                stats.duplicates += 1
            latest = modified if latest is None or modified > latest else latest
        if latest is not None and latest != since:
            cursors.set_cursor(conn, cursor_name(hub), latest.isoformat())
    return stats


def reference_data(hub: Hub) -> DealReferenceData:
    cfg = hub.config
    return DealReferenceData(
        legal_entities={e.code: e.currency for e in cfg.legal_entities},
        service_offerings={o.code for o in cfg.service_offerings},
        payment_terms=cfg.payment_terms,
        rate_card_currencies={c.currency for c in cfg.rate_cards})


def set_up_deal(hub: Hub, item: WorkItem) -> Effects | None:
    opportunity_id = str(item.payload["opportunity_id"])
    deal = hub.crm.deal(opportunity_id)
    opportunity = deal.opportunity
    if not opportunity.is_won:
        return None  # re-opened since it was enqueued: nothing to set up
    if opportunity.amends_id is not None:
        return _change_order(hub, item, opportunity)
    problems = deal_violations(opportunity, deal.customers, reference_data(hub), system=hub.crm.names.system,
                               fields=deal.field_names)
    if problems:
        raise Rejected(problems)
    customer = deal.customers[opportunity.customer_id]
    legal_entity = opportunity.legal_entity or customer.legal_entity or ""
    card = hub.config.rate_card_for(opportunity.amount.currency)
    assert card is not None  # guaranteed by the validation above
    offerings: Mapping[str, list[TaskTemplate]] = {
        o.code: [TaskTemplate(t.code, t.name, t.billable) for t in o.tasks] for o in hub.config.service_offerings}
    contract, project = plan_engagement(opportunity, customer, legal_entity=legal_entity, rate_card=card,
                                        offering_tasks=offerings,
                                        source_id=hub.crm.names.external_id(opportunity.id))
    revenue = _plan_checked(contract)
    # Nothing above wrote anywhere. ERP first: it owns the customer number, and the time tracker's project
    # must match an ERP job.
    chain = ancestors_top_down(customer, deal.customers)
    customer_numbers = {c.id: hub.erp.upsert_customer(c) for c in chain}
    project_ref = hub.erp.upsert_project(project, contract)
    contract_ref = hub.erp.upsert_contract(contract, project_id=project.id)
    roles = {r for o in hub.config.service_offerings for line in opportunity.lines
             if o.code == line.service_offering for r in o.roles}
    team = [r for r in hub.resources.values() if not roles or r.role in roles]
    tracker_ref = hub.tracker.set_up_project(project, customer, contract, team)
    hub.crm.write_back(deal, customer_number=customer_numbers[customer.id], contract_id=contract.id,
                       project_id=project.id)
    return _setup_effects(hub, item, deal_customers=chain, contract=contract, project=project,
                          refs={"customer": customer_numbers, "contract": contract_ref, "project": project_ref,
                                "tracker": tracker_ref},
                          revenue=revenue, opportunity=opportunity)


def _change_order(hub: Hub, item: WorkItem, opportunity: Opportunity) -> Effects:
    """A won change order amends the deal it names: it is a contract change of that deal, not a new engagement."""
    from q2c.workflows.contract_changes import contract_of_opportunity, enqueue_check

    with hub.engine.connect() as conn:
        contract_id = contract_of_opportunity(conn, opportunity.amends_id or "", crm=hub.crm.names)
    if contract_id is None:
        raise Rejected([Violation(
            system=hub.crm.names.system, object=hub.crm.names.object("opportunity"), record_id=opportunity.id,
            field="amends_id", rule="deal.change_order_unknown_deal",
            message=f"the change order amends {opportunity.amends_id}, which q2c has not set up as a contract",
            action="Check the change order's link to its original deal in the CRM, or set that deal up first, "
                   "then replay")])

    def write(conn: Connection) -> None:
        enqueue_check(conn, contract_id, change_order=opportunity.id)
        exception_store.resolve_open_for_aggregate(conn, work_kind=KIND, aggregate=item.aggregate)

    return write


def _plan_checked(contract: Contract) -> RevenueContract:
    """The revenue contract and billing plan the deal implies, or every reason they cannot be built.

    The deal rules catch what the CRM must fix; this catches whatever the engines would still refuse,
    so a deal that cannot be accounted for is stopped before its first external write, not after.
    """
    problems: list[Violation] = []
    try:
        revenue = revenue_contract_from(contract)
    except RevenueError as exc:
        problems.append(_plan_violation(contract, "deal.revenue_contract", f"the revenue contract cannot be built: "
                                                                          f"{exc}"))
    for phase in contract.phases:
        if phase.billing_type is BillingType.FIXED_FEE and not phase.milestones and contract.end_date is not None:
            try:
                monthly_schedule(phase, start=contract.start_date, end=contract.end_date)
            except BillingError as exc:
                problems.append(_plan_violation(contract, "deal.billing_schedule", f"phase {phase.id}: the billing "
                                                                                   f"schedule cannot be built: {exc}"))
    if problems:
        raise Rejected(problems)
    return revenue


def _plan_violation(contract: Contract, rule: str, message: str) -> Violation:
    return Violation(system="q2c", object="contract", record_id=contract.id, field=None, rule=rule, message=message,
                     action=f"Correct the deal's lines in the CRM (opportunity {contract.opportunity_id}), then replay")


def _setup_effects(hub: Hub, item: WorkItem, *, deal_customers: list[Customer], contract: Contract,
                   project: Project, refs: dict[str, object], revenue: RevenueContract,
                   opportunity: Opportunity) -> Effects | None:
    crm, tracker, erp = hub.crm.names, hub.tracker.names, hub.erp.names

    def write(conn: Connection) -> None:
        rows: list[records.Record] = []
        link_rows: list[links.Link] = []
        trail: list[audit.AuditEntry] = []
        customer_refs = refs["customer"]
        assert isinstance(customer_refs, dict)
        for c in deal_customers:
            payload = c.model_dump(mode="json")
            rows.append(records.Record("customer", c.id, f"customer:{c.id}", "active", c.schema_version,
                                       content_hash(payload), payload))
            link_rows.append(links.Link("customer", c.id, erp.system, str(customer_refs[c.id]),
                                        content_hash(payload), None))
        for entity, record, state, system_ref in (("contract", contract, "active", refs["contract"]),
                                                  ("project", project, "open", refs["project"])):
            payload = record.model_dump(mode="json")
            digest = content_hash(payload)
            rows.append(records.Record(entity, record.id, f"contract:{contract.id}", state, record.schema_version,
                                       digest, payload))
            link_rows.append(links.Link(entity, record.id, erp.system, str(system_ref), digest, None))
            trail.append(audit.AuditEntry(actor=hub.actor, system=erp.system, action="upsert", entity=entity,
                                          record_id=record.id, correlation_id=item.correlation_id, after=payload))
        link_rows.append(links.Link("project", project.id, tracker.system, str(refs["tracker"]),
                                    content_hash(project.model_dump(mode="json")), None))
        link_rows.append(links.Link("contract", contract.id, crm.system, crm.external_id(contract.opportunity_id),
                                    content_hash(contract.model_dump(mode="json")), None))
        rows.extend(contract_versions.revenue_records(contract.id, revenue, change_id=None))
        rows.append(contract_versions.terms_record(contract.id, contract_versions.DealTerms(opportunity)))
        records.upsert_records(conn, rows)
        links.upsert_links(conn, link_rows)
        trail.append(audit.AuditEntry(actor=hub.actor, system=crm.system, action="write_back",
                                      entity=crm.object("opportunity"),
                                      record_id=contract.opportunity_id, correlation_id=item.correlation_id,
                                      after={"contract": contract.id, "project": project.id}))
        audit.append(conn, trail)
        exception_store.resolve_open_for_aggregate(conn, work_kind=KIND, aggregate=item.aggregate)

    return write
