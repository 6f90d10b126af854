"""The invoice routes: list and show invoices and credit notes, approve or reject drafts, re-bill an edit.

The same rules as `q2c invoices` hold. An approval is recorded at once and the release to the ERP is queued
for the hub's workers (the answer is 202; GET shows the invoice released once they have run); a rejection is
done at once. A re-bill is checked and queued (202): the workers credit, re-deliver and bill in order on the
contract. A draft that is not in review, or an exception that is not an open edit after billing, is 409.
Reading needs the viewer role; approving, rejecting and re-billing the controller role, recorded under the
caller's name.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from q2c.entrypoints.api_errors import ApiError, error_responses
from q2c.entrypoints.api_models import MAX_ID, MAX_LIST_LIMIT, PRINTABLE, RequestBody
from q2c.entrypoints.auth import ControllerCaller, requires
from q2c.store.users import Role
from q2c.workflows.hub import Hub

InvoiceIdPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:+-]+$",
                                    description="An invoice or credit note id, such as INV-C-006A-1-20261130.")]


class InvoiceLineOut(BaseModel):
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    phase_id: str | None
    milestone_id: str | None
    instalment_id: str | None
    time_entry_ids: list[str]


class InvoiceSummary(BaseModel):
    id: str
    kind: str = Field(description="invoice or credit_note")
    contract_id: str
    customer_id: str
    invoice_date: dt.date
    currency: str
    total: Decimal
    lines: int
    standing: str = Field(description="in_review, released, posted, paid, voided or rejected")
    erp_id: str | None


class HistoryEntry(BaseModel):
    at: str
    actor: str
    action: str
    after: dict[str, Any] | None


class InvoiceDetail(InvoiceSummary):
    invoice_lines: list[InvoiceLineOut]
    history: list[HistoryEntry]


class ApproveRequest(RequestBody):
    """Nothing to say but who approves, and that is the authenticated caller: the body may be left out."""


class RejectRequest(RequestBody):
    reason: str = Field(min_length=1, max_length=2000, pattern=PRINTABLE,
                        description="Why it is rejected: what must be corrected.")


class ReleaseQueued(BaseModel):
    invoice_id: str
    standing: str
    work_item_id: int


class RejectOut(BaseModel):
    invoice_id: str
    standing: str
    unbilled_entries: list[str]
    milestones_billable_again: list[str]
    instalments_billable_again: list[str]


class RebillRequest(RequestBody):
    exception_id: int = Field(ge=1, le=MAX_ID, description="An open time.edited_after_billing exception.")
    date: dt.date | None = Field(default=None, description="Date of the credit note and the new invoice (today).")


class RebillOut(BaseModel):
    exception_id: int
    contract_id: str
    state: str = Field(description="requested, credited or done")
    entry_ids: list[str]
    credit_notes: list[str]
    invoices: list[str]
    work_item_id: int | None


def invoices_router(hub: Hub) -> APIRouter:
    from q2c.workflows import invoice_review, rebill

    router = APIRouter(prefix="/invoices", tags=["invoices"])

    def _summary(view: invoice_review.InvoiceView) -> InvoiceSummary:
        return InvoiceSummary.model_validate(view.summary())

    def _existing(invoice_id: str) -> invoice_review.InvoiceView:
        view = invoice_review.get_invoice(hub, invoice_id)
        if view is None:
            raise ApiError(404, f"invoice {invoice_id} does not exist", field="invoice_id")
        return view

    @router.get("", response_model=list[InvoiceSummary], summary="Invoices and credit notes with where each stands",
                responses=error_responses(400, 422, 503), dependencies=[requires(Role.VIEWER)])
    def list_invoices(
        status: Annotated[str | None, Query(max_length=20, pattern=r"^[a-z_]*$",
                                            description="in_review, released, posted, paid, voided, rejected")] = None,
        contract_id: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 200,
    ) -> list[InvoiceSummary]:
        try:
            found = invoice_review.list_invoices(hub, standing=status or None, contract_id=contract_id)
        except invoice_review.ReviewRefused as exc:
            raise ApiError(400, str(exc), field="status") from None
        return [_summary(v) for v in found[:limit]]

    @router.get("/{invoice_id}", response_model=InvoiceDetail, summary="One invoice: lines and history",
                responses=error_responses(404, 422, 503), dependencies=[requires(Role.VIEWER)])
    def show_invoice(invoice_id: InvoiceIdPath) -> InvoiceDetail:
        view = _existing(invoice_id)
        lines = [InvoiceLineOut(description=ln.description, quantity=ln.quantity, unit_price=ln.unit_price.amount,
                                amount=ln.amount.amount, phase_id=ln.phase_id, milestone_id=ln.milestone_id,
                                instalment_id=ln.instalment_id, time_entry_ids=list(ln.time_entry_ids))
                 for ln in view.invoice.lines]
        history = [HistoryEntry(at=str(e["at"]), actor=str(e["actor"]), action=str(e["action"]), after=e.get("after"))
                   for e in invoice_review.invoice_history(hub, invoice_id)]
        return InvoiceDetail(**_summary(view).model_dump(), invoice_lines=lines, history=history)

    @router.post("/{invoice_id}/approve", status_code=202, response_model=ReleaseQueued,
                 summary="Approve a draft; the workers release it to the ERP", responses=error_responses(404, 409, 422))
    async def approve(invoice_id: InvoiceIdPath, caller: ControllerCaller,
                      body: ApproveRequest | None = None) -> ReleaseQueued:
        _existing(invoice_id)
        try:
            done = await run_in_threadpool(invoice_review.approve, hub, invoice_id, actor=caller.name)
        except invoice_review.ReviewRefused as exc:
            raise ApiError(409, str(exc), field="invoice_id") from None
        return ReleaseQueued(invoice_id=invoice_id, standing="approved", work_item_id=done.work_item_id)

    @router.post("/{invoice_id}/reject", response_model=RejectOut, summary="Reject a draft: its time is billable "
                 "again", responses=error_responses(400, 404, 409, 422))
    def reject(invoice_id: InvoiceIdPath, body: RejectRequest, caller: ControllerCaller) -> RejectOut:
        _existing(invoice_id)
        if not body.reason.strip():
            raise ApiError(400, "field 'reason': say why the draft is rejected", field="reason")
        try:
            done = invoice_review.reject(hub, invoice_id, actor=caller.name, reason=body.reason)
        except invoice_review.ReviewRefused as exc:
            raise ApiError(409, str(exc), field="invoice_id") from None
        return RejectOut(invoice_id=invoice_id, standing=invoice_review.REJECTED, unbilled_entries=list(done.unbilled),
                        milestones_billable_again=list(done.milestone_ids),
                        instalments_billable_again=list(done.instalment_ids))

    @router.post("/rebill", status_code=202, response_model=RebillOut,
                 summary="Credit the lines of edited billed time and bill it again as corrected",
                 responses=error_responses(404, 409, 422))
    async def rebill_edit(body: RebillRequest, caller: ControllerCaller) -> RebillOut:
        from q2c.store import exceptions as exception_store

        with hub.engine.connect() as conn:
            if exception_store.get(conn, body.exception_id) is None:
                raise ApiError(404, f"exception {body.exception_id} does not exist", field="exception_id")
        try:
            done = await run_in_threadpool(rebill.request_rebill, hub, body.exception_id,
                                           on=body.date or hub.today(), actor=caller.name)
        except rebill.RebillRefused as exc:
            raise ApiError(409, str(exc), field="date" if "field date" in str(exc) else "exception_id") from None
        return RebillOut(exception_id=done.exception_id, contract_id=done.contract_id, state=done.state,
                         entry_ids=list(done.entry_ids), credit_notes=list(done.credit_notes),
                         invoices=list(done.invoices), work_item_id=done.work_item_id)

    return router
