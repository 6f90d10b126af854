"""The reference-data routes: what the hub prices and translates with, and re-pricing after a rate change.

`GET /reference` answers what `q2c reference show` prints (the resources with the config's role, whether
the ERP and the tracker have them, active or not, and their employee number, as the last sync read them).
`POST /reference/reprice` with `{"apply": false}` answers the preview (nothing changes); with
`{"apply": true}` it queues one re-pricing item per contract (in order with that contract's billing
runs), works those items itself for up to `APPLY_WAIT_SECONDS`, and answers the outcome per project.
An item still waiting then (an ERP retry) is counted in `pending`; the hub's workers finish it and a
new preview shows the result. Reading needs the viewer role; re-pricing (the preview and the applying
alike: one route does both, and applying changes what unbilled time is billed at) the controller role.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from q2c.entrypoints.api_errors import error_responses
from q2c.entrypoints.api_models import RequestBody
from q2c.entrypoints.auth import requires
from q2c.store.users import Role
from q2c.workflows.hub import Hub
from q2c.workflows.reference_data import ReferenceView, RepriceReport

APPLY_WAIT_SECONDS = 30.0


class RepriceRequest(RequestBody):
    apply: bool = Field(description="false: the preview, nothing changes; true: apply it (ERP timebills and the "
                                    "hub's ratings of unbilled time; billed time never changes).")


def reference_router(hub: Hub) -> APIRouter:
    from q2c.workflows import reference_data

    router = APIRouter(prefix="/reference", tags=["reference data"])

    @router.get("", response_model=ReferenceView, responses=error_responses(422, 503),
                dependencies=[requires(Role.VIEWER)],
                summary="Rate cards in force with their dated lines, resources with roles and where they are, "
                        "FX rates with dates")
    def show(fx_limit: Annotated[int, Query(ge=0, le=100_000, description="FX rates per pair, newest first "
                                                                        "(0: all)")] = 10) -> ReferenceView:
        return reference_data.reference_view(hub, fx_limit=fx_limit)

    @router.post("/reprice", response_model=RepriceReport, responses=error_responses(413, 422, 503),
                 dependencies=[requires(Role.CONTROLLER)],
                 summary="Re-price unbilled time to the rate cards in force: the preview, or applied")
    def reprice(body: RepriceRequest) -> RepriceReport:
        before = reference_data.preview_reprice(hub)
        if not body.apply:
            return before
        reference_data.enqueue_reprice(hub, before)
        _work_reprices(hub)
        return reference_data.reprice_outcome(before, reference_data.preview_reprice(hub),
                                              pending=reference_data.unfinished_reprices(hub))

    return router


def _work_reprices(hub: Hub) -> None:
    """Work the queued re-pricing items here (the service's workers may take some too) until none is left."""
    from q2c.engine.worker import Worker
    from q2c.entrypoints.wiring import delivery_policy
    from q2c.workflows import reference_data
    from q2c.workflows.handlers import handlers, subjects

    kind = reference_data.REPRICE_KIND
    worker = Worker(hub.engine, {kind: handlers(hub)[kind]}, policy=delivery_policy(hub.config),
                    subjects={k: v for k, v in subjects().items() if k == kind}, guards=hub.guards)
    deadline = time.monotonic() + APPLY_WAIT_SECONDS
    while reference_data.unfinished_reprices(hub) and time.monotonic() < deadline:
        if not worker.run_once():
            time.sleep(0.1)
