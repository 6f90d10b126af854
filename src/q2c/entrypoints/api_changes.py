"""The contract-change routes: list and show changes with their plan, approve (choosing a treatment) or reject.

An approval is recorded at once and the contract's change check is queued; the hub's workers apply the
change when nothing else holds it, so the answer is 202 with the change as it stands, and GET shows the
outcome. The same rules as `q2c changes` hold: a change waiting for a treatment refuses an approval
without one (409), an ended change refuses both (409). Approving and rejecting need the controller role;
the approver is the authenticated caller, so a change that needs two people's approval cannot be approved
twice by one person under two names, and a second approval by the same caller is refused (409).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from q2c.entrypoints.api_errors import ApiError, error_responses
from q2c.entrypoints.api_models import PRINTABLE, RequestBody
from q2c.entrypoints.auth import ControllerCaller, requires
from q2c.store.users import Role
from q2c.workflows.hub import Hub

ChangeIdPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:+-]+$",
                                   description="A contract change id, such as CHG-C-006A-1.")]
Treatment = Literal["separate_contract", "termination_and_new_contract", "cumulative_catch_up"]


class ApproveRequest(RequestBody):
    treatment: Treatment | None = Field(default=None, description="The treatment, where the facts do not decide.")
    reason: str = Field(default="", max_length=2000, pattern=PRINTABLE, description="The judgement made.")
    effective: date | None = Field(default=None, description="The date the change takes effect, if not the CRM's.")


class RejectRequest(RequestBody):
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
                responses=error_responses(422, 503), dependencies=[requires(Role.VIEWER)])
    def list_changes(show_all: Annotated[bool, Query(alias="all")] = False) -> list[dict[str, Any]]:
        with hub.engine.connect() as conn:
            rows = contract_changes.list_changes(conn, include_ended=show_all)
        return [{**r.payload, "state": r.state} for r in rows]

    @router.get("/{change_id}", summary="One contract change with its plan", responses=error_responses(404, 422),
                dependencies=[requires(Role.VIEWER)])
    def show_change(change_id: ChangeIdPath) -> dict[str, Any]:
        return _one(change_id)

    @router.post("/{change_id}/apply", status_code=202, summary="Approve a change; it is applied when nothing "
                 "else holds it", responses=error_responses(404, 409, 422))
    async def apply_change(change_id: ChangeIdPath, caller: ControllerCaller,
                           body: ApproveRequest | None = None) -> dict[str, Any]:
        body = body or ApproveRequest()
        change = _one(change_id)
        approvers = {str(a.get("by")) for a in change.get("approvals", [])}
        if change["state"] == contract_changes.State.NEEDS_SECOND_APPROVAL and caller.name in approvers:
            raise ApiError(409, f"contract change {change_id} needs the approval of a second person: {caller.name} "
                                "has approved it already")
        try:
            await run_in_threadpool(contract_changes.approve, hub, change_id, actor=caller.name,
                                    treatment=ModificationTreatment(body.treatment) if body.treatment else None,
                                    reason=body.reason, effective=body.effective)
        except ChangeError as exc:
            raise ApiError(409, str(exc), field="treatment" if "treatment" in str(exc) else None) from None
        return _one(change_id)

    @router.post("/{change_id}/reject", summary="Reject a change", responses=error_responses(404, 409, 422))
    def reject_change(change_id: ChangeIdPath, body: RejectRequest, caller: ControllerCaller) -> dict[str, Any]:
        _one(change_id)
        try:
            contract_changes.reject(hub, change_id, actor=caller.name, reason=body.reason)
        except ChangeError as exc:
            raise ApiError(409, str(exc)) from None
        return _one(change_id)

    return router
