"""Billing: time-and-materials invoice runs from approved unbilled time, and milestone billing on
completion, as invoices in the ERP.

`enqueue_billing` puts one item per active contract on the close lane (ahead of everything else);
`bill_contract` handles one. Invoice ids derive from the phase and the invoice date, so re-running
the same day's billing after a crash upserts the same invoice instead of raising a second one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Connection

from q2c.domain.billing import milestone_invoice, time_and_materials_invoice
from q2c.domain.model import BillingType, Contract, Invoice, MilestoneStatus, Project
from q2c.domain.money import Money
from q2c.engine.hashing import content_hash
from q2c.engine.worker import Effects
from q2c.store import audit, links, records
from q2c.store.queue import WorkItem
from q2c.workflows.hub import Hub
from q2c.workflows.time_approved import mark_billed, mark_over_cap, synced_rated_time

KIND = "billing.contract"


def enqueue_billing(hub: Hub, *, invoice_date: date) -> int:
    return hub.enqueue_per_contract(KIND, invoice_date=invoice_date.isoformat())


@dataclass
class _Billed:
    invoice: Invoice | None
    entry_ids: tuple[str, ...] = ()
    over_cap_ids: tuple[str, ...] = ()
    over_cap: Money | None = None
    milestone_id: str | None = None
    explanation: str = ""
    erp_ref: str = ""


@dataclass
class _Run:
    billed: list[_Billed] = field(default_factory=list)


def bill_contract(hub: Hub, item: WorkItem) -> Effects | None:
    contract_id = str(item.payload["contract_id"])
    invoice_date = date.fromisoformat(str(item.payload["invoice_date"]))
    with hub.engine.connect() as conn:
        contract_rec = records.get_record(conn, entity="contract", canonical_id=contract_id)
        if contract_rec is None:
            return None
        contract = Contract.model_validate(contract_rec.payload)
        project = next((Project.model_validate(r.payload) for r in
                        records.list_records(conn, entity="project", aggregate=f"contract:{contract_id}")), None)
        invoices = [Invoice.model_validate(r.payload) for r in
                    records.list_records(conn, entity="invoice", aggregate=f"contract:{contract_id}")]
        rated = synced_rated_time(conn, project.id) if project is not None else []
    run = _Run()
    billed_milestones = {line.milestone_id for inv in invoices for line in inv.lines if line.milestone_id}
    contract = with_current_milestones(hub, contract)
    for phase in contract.phases:
        if phase.billing_type is BillingType.TIME_AND_MATERIALS and project is not None:
            phase_tasks = {t.code for t in project.tasks if t.phase_id in (None, phase.id)}
            offered = [r for r in rated if r.task_code in phase_tasks]
            billed_to_date = sum((line.amount for inv in invoices for line in inv.lines if line.phase_id == phase.id),
                                 start=Money.zero(contract.currency))
            result = time_and_materials_invoice(
                invoice_id=f"INV-{phase.id}-{invoice_date:%Y%m%d}", contract=contract, phase=phase, rated=offered,
                billed_to_date=billed_to_date, invoice_date=invoice_date)
            if result.invoice is not None or result.over_cap_entry_ids:
                over_cap_only = tuple(i for i in result.over_cap_entry_ids if i not in result.billed_entry_ids)
                run.billed.append(_Billed(result.invoice, result.billed_entry_ids, over_cap_only,
                                          result.unbillable_over_cap, explanation=result.explanation))
        elif phase.billing_type in (BillingType.MILESTONE, BillingType.FIXED_FEE):
            for milestone in phase.milestones:
                if milestone.status is MilestoneStatus.PENDING or milestone.id in billed_milestones:
                    continue
                invoice = milestone_invoice(invoice_id=f"INV-{milestone.id}", contract=contract, phase=phase,
                                            milestone=milestone, invoice_date=invoice_date)
                run.billed.append(_Billed(invoice, milestone_id=milestone.id,
                                          explanation=f"milestone '{milestone.name}' {milestone.status.value}"))
    for b in run.billed:
        if b.invoice is not None:
            b.erp_ref = hub.erp.upsert_invoice(b.invoice, legal_entity=contract.legal_entity,
                                               project_id=project.id if project is not None else None)
    return _effects(hub, item, contract, run)


def with_current_milestones(hub: Hub, contract: Contract) -> Contract:
    """Milestone status is owned by the CRM: the contract with its milestones as the CRM has them now."""
    if not any(p.milestones for p in contract.phases):
        return contract
    deal = hub.crm.deal(contract.opportunity_id.removeprefix("SF-"))
    # Phases were planned one per opportunity line, in line order (see domain.engagement).
    phases = tuple(phase.model_copy(update={"milestones": line.milestones}) if phase.milestones else phase
                   for phase, line in zip(contract.phases, deal.opportunity.lines, strict=False))
    return contract.model_copy(update={"phases": phases})


def _effects(hub: Hub, item: WorkItem, contract: Contract, run: _Run) -> Effects | None:
    def write(conn: Connection) -> None:
        trail: list[audit.AuditEntry] = []
        for b in run.billed:
            if b.invoice is not None:
                payload = b.invoice.model_dump(mode="json")
                digest = content_hash(payload)
                records.upsert_records(conn, [records.Record("invoice", b.invoice.id, f"contract:{contract.id}",
                                                             "draft", b.invoice.schema_version, digest, payload)])
                links.upsert_links(conn, [links.Link("invoice", b.invoice.id, "netsuite", b.erp_ref, digest, None)])
                mark_billed(conn, b.entry_ids, b.invoice.id)
                trail.append(audit.AuditEntry(
                    actor=hub.actor, system="netsuite", action="invoice", entity="invoice", record_id=b.invoice.id,
                    correlation_id=item.correlation_id,
                    after={"total": str(b.invoice.total.amount), "currency": b.invoice.currency,
                           "entries": len(b.entry_ids), "milestone": b.milestone_id, "why": b.explanation}))
            if b.over_cap_ids:
                mark_over_cap(conn, b.over_cap_ids)
                trail.append(audit.AuditEntry(
                    actor=hub.actor, system="q2c", action="over_cap", entity="contract", record_id=contract.id,
                    correlation_id=item.correlation_id,
                    after={"unbillable": str(b.over_cap.amount if b.over_cap else Decimal(0)),
                           "entries": list(b.over_cap_ids), "why": b.explanation}))
        audit.append(conn, trail)

    return write
