"""From a won deal to the engagement the firm will deliver: a contract with phases and a project
with tasks. Pure: the catalogue (service offerings and their tasks) and the rate card come in.

Canonical ids derive from the opportunity's id, so setting the same deal up twice yields the same
contract and project (the ERP and time-tracker writes are upserts on these ids).

Each line of the deal becomes its own phase with its own tasks, so time logged to a task always
belongs to exactly one phase (T&M time is invoiced by the hour, time on a fixed fee counts towards
its progress). A task takes its catalogue code as it is, unless an earlier phase already has a task
of that code: then it takes the code with its phase number (BUILD on phase 1, BUILD-2 on phase 2).
A fixed fee's billing schedule (percentages of the fee on dates) travels with its phase as sold.

A retainer phase carries its own term, fixed here: it starts on the line's service date (else the deal's
start) and runs the line's term months (else to the deal's end date as it is now), with the line's hours
spread evenly over its months. So a later change of the deal's end date does not stretch a retainer; an
amended engagement keeps the term of a retainer whose line did not change (`keep_retainer_term`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from q2c.domain.billing.retainers import hours_per_month, months_between, term_end_after
from q2c.domain.model import (
    BillingType,
    Contract,
    ContractPhase,
    Customer,
    Opportunity,
    OpportunityLine,
    Project,
    RateCard,
    Task,
)


@dataclass(frozen=True)
class TaskTemplate:
    code: str
    name: str
    billable: bool = True


_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def engagement_ids(opportunity: Opportunity, *, source_id: str | None = None) -> tuple[str, str]:
    """(contract id, project id) for a deal: stable, short enough for every target system.

    `source_id` is the CRM's own id of the opportunity (its canonical id without the CRM's prefix); the
    last twelve characters of it name the engagement (Salesforce ids end in their unique part). A GUID
    (Dataverse) is named by twelve hex digits of its hash instead: sequential GUIDs, which Dataverse
    makes, share their last group, so its tail would give different deals one engagement."""
    source = source_id or opportunity.id
    key = hashlib.sha256(source.lower().encode()).hexdigest()[:12] if _GUID.fullmatch(source) else source[-12:]
    return f"C-{key}", f"P-{key}"


def plan_engagement(opportunity: Opportunity, customer: Customer, *, legal_entity: str, rate_card: RateCard,
                    offering_tasks: Mapping[str, Sequence[TaskTemplate]],
                    source_id: str | None = None) -> tuple[Contract, Project]:
    contract_id, project_id = engagement_ids(opportunity, source_id=source_id)
    phases = tuple(
        ContractPhase(id=f"{contract_id}-{i}",
                      name=f"{line.service_offering or 'Services'} ({line.billing_type.value})",
                      billing_type=line.billing_type, amount=line.amount, cap=line.cap, milestones=line.milestones,
                      billing_schedule=line.billing_schedule, service_offering=line.service_offering,
                      estimated_hours=line.estimated_hours,
                      **retainer_terms(opportunity, line))
        for i, line in enumerate(opportunity.lines, start=1))
    contract = Contract(id=contract_id, customer_id=customer.id, opportunity_id=opportunity.id, name=opportunity.name,
                        legal_entity=legal_entity, currency=opportunity.amount.currency,
                        start_date=opportunity.start_date or opportunity.close_date, end_date=opportunity.end_date,
                        phases=phases, rate_card=rate_card, billing_terms=customer.billing_terms)
    tasks: dict[str, Task] = {}
    for number, phase in enumerate(phases, start=1):
        for template in offering_tasks.get(phase.service_offering or "", ()):
            taken = template.code in tasks
            code = f"{template.code}-{number}" if taken else template.code
            name = f"{template.name} (phase {number})" if taken else template.name
            tasks[code] = Task(id=f"{project_id}-{code}", project_id=project_id, code=code, name=name,
                               billable=template.billable, phase_id=phase.id)
    project = Project(id=project_id, contract_id=contract_id, customer_id=customer.id, name=opportunity.name,
                      tasks=tuple(tasks.values()))
    return contract, project


def retainer_terms(opportunity: Opportunity, line: OpportunityLine) -> dict[str, Any]:
    """The phase fields of a retainer line: its term, prepaid hours a month, overage rate and rollover."""
    if line.billing_type is not BillingType.RETAINER:
        return {}
    start = line.service_start or opportunity.start_date or opportunity.close_date
    end = term_end_after(start, line.term_months) if line.term_months is not None else opportunity.end_date
    hours = None
    if end is not None and line.estimated_hours is not None:
        hours = hours_per_month(line.estimated_hours, months_between(start, end),
                                where=f"opportunity line {line.id} field estimated_hours")
    return {"term_start": start, "term_end": end, "retainer_hours": hours, "overage_rate": line.overage_rate,
            "rollover_months": line.rollover_months}


def keep_retainer_term(kept: ContractPhase, planned: ContractPhase, *, before: OpportunityLine,
                       after: OpportunityLine) -> ContractPhase:
    """`planned` (the phase re-planned from the amended deal) with the term `kept` had, when the retainer's
    line itself did not change: a new end date of the deal alone does not stretch a retainer."""
    if planned.billing_type is not BillingType.RETAINER or before != after:
        return planned
    return planned.model_copy(update={"term_start": kept.term_start, "term_end": kept.term_end,
                                      "retainer_hours": kept.retainer_hours})


def ancestors_top_down(customer: Customer, customers: Mapping[str, Customer]) -> list[Customer]:
    """The account's parents, top of the hierarchy first, then the account: the order an ERP needs."""
    chain = [customer]
    seen = {customer.id}
    while chain[-1].parent_id and chain[-1].parent_id in customers and chain[-1].parent_id not in seen:
        parent = customers[chain[-1].parent_id]
        seen.add(parent.id)
        chain.append(parent)
    return list(reversed(chain))
