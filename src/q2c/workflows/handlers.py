"""Which workflow handles which kind of work item."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from q2c.engine.worker import Handler, Outcome, per_item
from q2c.store.queue import WorkItem
from q2c.workflows import billing_run, project_setup, revenue_close, time_approved
from q2c.workflows.hub import Hub


def handlers(hub: Hub) -> dict[str, Handler]:
    def deliver(items: list[WorkItem]) -> Mapping[int, Outcome]:
        return time_approved.deliver_time(hub, items)

    return {
        time_approved.KIND: deliver,
        time_approved.REMAP_KIND: per_item(partial(time_approved.remap_time_entry, hub)),
        project_setup.KIND: per_item(partial(project_setup.set_up_deal, hub)),
        billing_run.KIND: per_item(partial(billing_run.bill_contract, hub)),
        revenue_close.KIND: per_item(partial(revenue_close.close_contract, hub)),
    }
