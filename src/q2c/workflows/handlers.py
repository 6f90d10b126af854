"""Which workflow handles which kind of work item, which records an item carries, and which kinds
accept a corrected payload on replay."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from q2c.engine.replay import CorrectionPolicy
from q2c.engine.tracing import batch_span, change_span
from q2c.engine.worker import Effects, Handler, Outcome, SubjectsOf, per_item
from q2c.store.exceptions import Subject
from q2c.store.queue import WorkItem
from q2c.workflows import (
    billing_run,
    contract_changes,
    crm_changes,
    invoice_review,
    invoice_status,
    project_setup,
    rebill,
    reference_data,
    reference_resources,
    revenue_close,
    time_approved,
)
from q2c.workflows.hub import Hub
from q2c.workflows.time_corrections import correct_time


def handlers(hub: Hub) -> dict[str, Handler]:
    """Every work kind's handler, each traced (`engine/tracing.py`): a span per item in its change's trace, and
    one span for a micro-batch of time (one ERP request serves several changes: linked to each)."""

    def deliver(items: list[WorkItem]) -> Mapping[int, Outcome]:
        with batch_span(f"q2c.work {time_approved.KIND}", [i.correlation_id for i in items],
                        attributes={"q2c.work_items": len(items)}):
            return time_approved.deliver_time(hub, items)

    def one(kind: str, fn: Callable[[WorkItem], Effects | None]) -> Handler:
        def traced(item: WorkItem) -> Effects | None:
            with change_span(f"q2c.work {kind}", item.correlation_id, attributes={
                    "q2c.work_item": item.id, "q2c.aggregate": item.aggregate, "q2c.attempt": item.attempts}):
                return fn(item)
        return per_item(traced)

    return {
        time_approved.KIND: deliver,
        time_approved.REMAP_KIND: one(time_approved.REMAP_KIND, partial(time_approved.remap_time_entry, hub)),
        time_approved.ACCOUNT_KIND: one(time_approved.ACCOUNT_KIND,
                                        partial(time_approved.recheck_tracker_account, hub)),
        crm_changes.FEED_KIND: one(crm_changes.FEED_KIND, partial(crm_changes.acknowledge_feed_gap, hub)),
        project_setup.KIND: one(project_setup.KIND, partial(project_setup.set_up_deal, hub)),
        billing_run.KIND: one(billing_run.KIND, partial(billing_run.bill_contract, hub)),
        revenue_close.KIND: one(revenue_close.KIND, partial(revenue_close.close_contract, hub)),
        contract_changes.KIND: one(contract_changes.KIND, partial(contract_changes.check_contract, hub)),
        reference_data.REPRICE_KIND: one(reference_data.REPRICE_KIND, partial(reference_data.reprice_contract, hub)),
        reference_data.FX_KIND: one(reference_data.FX_KIND, partial(reference_data.recheck_fx, hub)),
        reference_resources.RESOURCES_KIND: one(reference_resources.RESOURCES_KIND,
                                                partial(reference_resources.recheck_resources, hub)),
        invoice_review.RELEASE_KIND: one(invoice_review.RELEASE_KIND, partial(invoice_review.release_invoice, hub)),
        invoice_status.KIND: one(invoice_status.KIND, partial(invoice_status.apply_invoice_status, hub)),
        rebill.KIND: one(rebill.KIND, partial(rebill.rebill_step, hub)),
    }


def _opportunity(item: WorkItem) -> list[Subject]:
    opportunity_id = item.payload.get("opportunity_id")
    return [Subject("opportunity", str(opportunity_id))] if opportunity_id else []


def subjects() -> dict[str, SubjectsOf]:
    """For an item that fails as a whole: the records it carries, so its exception names each of them."""
    return {
        time_approved.KIND: time_approved.subjects_of_item,
        project_setup.KIND: _opportunity,
        billing_run.KIND: billing_run.contract_subject,
        revenue_close.KIND: billing_run.contract_subject,
        contract_changes.KIND: billing_run.contract_subject,
        reference_data.REPRICE_KIND: billing_run.contract_subject,
        invoice_review.RELEASE_KIND: invoice_review.invoice_subject,
        invoice_status.KIND: invoice_review.invoice_subject,
        rebill.KIND: billing_run.contract_subject,
    }


def corrections() -> dict[str, CorrectionPolicy]:
    """Kinds of work whose exceptions may be replayed with a corrected payload, and how it is checked."""
    return {time_approved.KIND: correct_time}
