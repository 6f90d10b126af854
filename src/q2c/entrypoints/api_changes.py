"""The contract-change routes: list and show changes with their plan, approve (choosing a treatment) or reject.

An approval is recorded at once and the contract's change check is queued; the hub's workers apply the
change when nothing else holds it, so the answer is 202 with the change as it stands, and GET shows the
outcome. The same rules as `q2c changes` hold: a change waiting for a treatment refuses an approval
without one (409), an ended change refuses both (409).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from q2c.entrypoints.api_errors import ApiError, error_responses
from q2c.entrypoints.api_models import MAX_ACTOR_LENGTH, PRINTABLE, RequestBody
from q2c.workflows.hub import Hub

ChangeIdPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:+-]+$",
                                   description="A contract change id, such as CHG-C-006A-1.")]
Treatment = Literal["separate_contract", "termination_and_new_contract", "cumulative_catch_up"]


class ApproveRequest(RequestBody):
    actor: str = Field(min_length=1, max_length=MAX_ACTOR_LENGTH, pattern=PRINTABLE,
                       description="Who approves, as the change and the audit trail record it.")
    treatment: Treatment | None = Field(default=None, description="The treatment, where the facts do not decide.")
    reason: str = Field(default="", max_length=2000, pattern=PRINTABLE, description="The judgement made.")
    effective: date | None = Field(default=None, description="The date the change takes effect, if not the CRM's.")


class RejectRequest(RequestBody):
    actor: str = Field(min_length=1, max_length=MAX_ACTOR_LENGTH, pattern=PRINTABLE)
    reason: str = Field(min_length=1, max_length=2000, pattern=PRINTABLE, description="Why it is rejected.")


def changes_router(hub: Hub) -> APIRouter:
    from q2c.domain.revenue import ModificationTreatment
    from q2c.workflows import contract_changes
    from q2c.workflows.contract_changes import ChangeError

    router = APIRouter(prefix="/changes", tags=["contract changes"])

    def _one(change_id: str) -> dict[str, Any]:
        try:
            with hub.engine.connect() as conn:
                rec = contract_changes.get_change(conn, change_id)
        except ChangeError as exc:
            raise ApiError(404, str(exc), field="change_id") from None
        return {**rec.payload, "state": rec.state}

    @router.get("", summary="Contract changes waiting for someone (or all with ?all=true)",
                responses=error_responses(422, 503))
    def list_changes(show_all: Annotated[bool, Query(alias="all")] = False) -> list[dict[str, Any]]:
        with hub.engine.connect() as conn:
            rows = contract_changes.list_changes(conn, include_ended=show_all)
        return [{**r.payload, "state": r.state} for r in rows]

    @router.get("/{change_id}", summary="One contract change with its plan", responses=error_responses(404, 422))
    def show_change(change_id: ChangeIdPath) -> dict[str, Any]:
        return _one(change_id)

    @router.post("/{change_id}/apply", status_code=202, summary="Approve a change; it is applied when nothing "
                 "else holds it", responses=error_responses(404, 409, 422))
    async def apply_change(change_id: ChangeIdPath, body: ApproveRequest) -> dict[str, Any]:
        _one(change_id)
        try:
            await run_in_threadpool(contract_changes.approve, hub, change_id, actor=f"api:{body.actor}",
                                    treatment=ModificationTreatment(body.treatment) if body.treatment else None,
                                    reason=body.reason, effective=body.effective)
        except ChangeError as exc:
            raise ApiError(409, str(exc), field="treatment" if "treatment" in str(exc) else None) from None
        return _one(change_id)

    @router.post("/{change_id}/reject", summary="Reject a change", responses=error_responses(404, 409, 422))
    def reject_change(change_id: ChangeIdPath, body: RejectRequest) -> dict[str, Any]:
        _one(change_id)
        try:
            contract_changes.reject(hub, change_id, actor=f"api:{body.actor}", reason=body.reason)
        except ChangeError as exc:
            raise ApiError(409, str(exc)) from None
        return _one(change_id)

    return router
