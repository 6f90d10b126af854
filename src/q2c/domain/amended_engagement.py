"""The engagement after an approved change of terms: the contract and project the amended deal implies,
with every id that already exists kept.

A phase's id is what its invoices, its time and its revenue obligation hang on, so a line that stays keeps
its phase (and that phase's tasks) whatever its position in the amended deal; a new line gets the next
phase number and its own tasks (a code already taken gets the phase number, as at set-up); a removed
line's phase leaves the contract. Pure: the planning rules stay in `engagement.plan_engagement`, which
plans the amended deal afresh; this maps the fresh plan onto the ids in force.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from q2c.domain.engagement import TaskTemplate, keep_retainer_term, plan_engagement
from q2c.domain.model import Contract, ContractPhase, Customer, Opportunity, Project, RateCard, Task


def phase_ids_by_line(contract: Contract, deal: Opportunity) -> dict[str, str]:
    """Opportunity line id -> phase id of `contract`, which was planned from `deal` (one phase per line, in
    line order)."""
    return {line.id: phase.id for line, phase in zip(deal.lines, contract.phases, strict=False)}


def phase_number(phase_id: str, contract_id: str) -> int:
    tail = phase_id.removeprefix(f"{contract_id}-")
    return int(tail) if tail.isdigit() else 0


def amend_engagement(contract: Contract, project: Project, *, before: Opportunity, after: Opportunity,
                     customer: Customer, rate_card: RateCard,
                     offering_tasks: Mapping[str, Sequence[TaskTemplate]],
                     source_id: str | None = None) -> tuple[Contract, Project]:
    """The contract and project once `after` replaces `before` (the deal as the contract was planned from)."""
    fresh_contract, fresh_project = plan_engagement(after, customer, legal_entity=contract.legal_entity,
                                                    rate_card=rate_card, offering_tasks=offering_tasks,
                                                    source_id=source_id)
    kept = phase_ids_by_line(contract, before)
    old_phases = {p.id: p for p in contract.phases}
    old_lines = {line.id: line for line in before.lines}
    next_number = max((phase_number(p.id, contract.id) for p in contract.phases), default=0) + 1
    fresh_to_kept: dict[str, str] = {}
    phases: list[ContractPhase] = []
    for line, fresh in zip(after.lines, fresh_contract.phases, strict=True):
        phase_id = kept.get(line.id)
        if phase_id is None:
            phase_id = f"{contract.id}-{next_number}"
            next_number += 1
        fresh_to_kept[fresh.id] = phase_id
        planned = fresh.model_copy(update={"id": phase_id})
        if phase_id in old_phases and line.id in old_lines:  # a deal's new end date alone does not stretch a retainer
            planned = keep_retainer_term(old_phases[phase_id], planned, before=old_lines[line.id], after=line)
        phases.append(planned)
    new_contract = fresh_contract.model_copy(update={
        "id": contract.id, "phases": tuple(phases), "rate_card": contract.rate_card,
        "billing_terms": contract.billing_terms, "customer_id": contract.customer_id})
    new_phase_ids = set(fresh_to_kept.values()) - set(kept.values())
    tasks: dict[str, Task] = {t.code: t for t in project.tasks}
    for phase in phases:
        if phase.id not in new_phase_ids:
            continue  # a kept phase keeps the tasks it has
        number = phase_number(phase.id, contract.id)
        for template in offering_tasks.get(phase.service_offering or "", ()):
            taken = template.code in tasks
            code = f"{template.code}-{number}" if taken else template.code
            name = f"{template.name} (phase {number})" if taken else template.name
            tasks[code] = Task(id=f"{project.id}-{code}", project_id=project.id, code=code, name=name,
                               billable=template.billable, phase_id=phase.id)
    new_project = project.model_copy(update={"name": fresh_project.name, "tasks": tuple(tasks.values())})
    return new_contract, new_project
