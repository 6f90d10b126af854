"""The report routes: WIP, revenue waterfall, deferred revenue roll-forward, remaining performance obligations
and invoices by month, from q2c's own records, as `q2c report` shows them.

Each answers JSON (amounts as strings beside their currency), or with `?format=csv` the report's rows as
text/csv under a header row. Each takes `contract_id` and `legal_entity`. A value the report cannot use (a
period that is not YYYY-MM, a day that is not YYYY-MM-DD, an unknown contract or legal entity) is 422 in
the one error shape, `field` naming the query parameter. Each needs the viewer role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from q2c.entrypoints.api_errors import ApiError, error_responses
from q2c.entrypoints.api_models import PRINTABLE
from q2c.entrypoints.auth import requires
from q2c.store.users import Role
from q2c.workflows.hub import Hub

if TYPE_CHECKING:
    from q2c.workflows.reports import Grid

ContractQuery = Annotated[str | None, Query(max_length=200, pattern=PRINTABLE, description="One contract's figures.")]
EntityQuery = Annotated[str | None, Query(max_length=40, pattern=PRINTABLE,
                                          description="One legal entity's contracts (its code).")]
FormatQuery = Annotated[Literal["json", "csv"], Query(description="json, or csv: the rows under a header row.")]
PeriodQuery = Annotated[str, Query(max_length=40, description="The period, YYYY-MM.")]
_QUERY_NAMES = {"contract": "contract_id"}  # the report's argument -> the query parameter naming it


class WipProjectOut(BaseModel):
    project_id: str
    contract_id: str
    legal_entity: str
    currency: str
    entries: int
    hours: Decimal
    at_bill_rate: Decimal
    at_cost: Decimal
    oldest_work_date: dt.date
    entries_without_cost: list[str] = Field(description="Rated without a cost rate: not in at_cost.")


class WipTotalOut(BaseModel):
    currency: str
    entries: int
    hours: Decimal
    at_bill_rate: Decimal
    at_cost: Decimal


class WipOut(BaseModel):
    as_of: dt.date
    projects: list[WipProjectOut]
    totals: list[WipTotalOut] = Field(description="One per currency.")


class WaterfallTotalOut(BaseModel):
    currency: str
    periods: dict[str, Decimal] = Field(description="Revenue recognised per period (YYYY-MM).")
    total: Decimal


class WaterfallContractOut(WaterfallTotalOut):
    contract_id: str
    legal_entity: str


class WaterfallOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    first: str | None = Field(alias="from")
    last: str | None = Field(alias="to")
    periods: list[str]
    contracts: list[WaterfallContractOut]
    totals: list[WaterfallTotalOut]


class RollforwardContractOut(BaseModel):
    contract_id: str
    legal_entity: str
    currency: str
    opening: Decimal
    billed: Decimal = Field(description="Billed, or received ahead of billing, in the period.")
    recognised: Decimal
    reclassified: Decimal = Field(description="Movement of contract assets (a contract crossing over).")
    closing: Decimal


class RollforwardTotalOut(BaseModel):
    currency: str
    contracts: int
    opening: Decimal
    billed: Decimal
    recognised: Decimal
    reclassified: Decimal
    closing: Decimal


class RollforwardOut(BaseModel):
    period: str
    contracts_posted: int = Field(description="Contracts with revenue posted for the period.")
    contracts: list[RollforwardContractOut]
    totals: list[RollforwardTotalOut]


class RemainingObligationOut(BaseModel):
    contract_id: str
    obligation_id: str
    name: str
    method: str
    legal_entity: str
    currency: str
    allocated: Decimal
    recognised: Decimal
    remaining: Decimal
    within_12_months: Decimal | None = Field(description="None: the timing follows progress still to come.")
    later: Decimal | None


class RemainingTotalOut(BaseModel):
    currency: str
    remaining: Decimal
    within_12_months: Decimal
    later: Decimal
    unscheduled: Decimal


class RightToInvoiceOut(BaseModel):
    contract_id: str
    obligation_id: str


class RpoOut(BaseModel):
    period: str
    obligations: list[RemainingObligationOut]
    totals: list[RemainingTotalOut]
    right_to_invoice: list[RightToInvoiceOut] = Field(
        description="Obligations recognised as invoiced, left out (ASC 606-10-50-14(b) / IFRS 15.121(b)).")


class InvoiceMonthTotalOut(BaseModel):
    month: str
    currency: str
    invoices: int
    credit_notes: int
    invoiced: Decimal
    credited: Decimal = Field(description="The credit notes' totals, negative.")
    total: Decimal


class InvoiceMonthOut(InvoiceMonthTotalOut):
    status: str = Field(description="in_review, released, posted, paid or voided")


class InvoicesOut(BaseModel):
    months: list[InvoiceMonthOut]
    totals: list[InvoiceMonthTotalOut] = Field(description="Per month and currency, every status.")


def _responses() -> dict[int | str, dict[str, Any]]:
    return {**error_responses(422, 503),
            200: {"description": "The report; with format=csv its rows as CSV under a header row.",
                  "content": {"text/csv": {"schema": {"type": "string"}}}}}


def reports_router(hub: Hub) -> APIRouter:
    from q2c.workflows import reports

    router = APIRouter(prefix="/reports", tags=["reports"])

    def answer(make: Callable[[], Any], model: type[BaseModel], form: str) -> Any:
        try:
            report = make()
        except reports.ReportRefused as exc:
            name = _QUERY_NAMES.get(exc.argument, exc.argument)
            raise ApiError(422, f"field '{name}': {exc.problem}", field=name) from None
        if form == "csv":
            grid: Grid = report.grid()
            return Response(content=grid.as_csv(), media_type="text/csv")
        return model.model_validate(report.to_json())

    @router.get("/wip", response_model=WipOut, summary="Approved billable time not billed as of a day, per project",
                responses=_responses(), dependencies=[requires(Role.VIEWER)])
    def wip(as_of: Annotated[str | None, Query(max_length=40, description="The day, YYYY-MM-DD (today).")] = None,
            contract_id: ContractQuery = None, legal_entity: EntityQuery = None,
            format: FormatQuery = "json") -> Any:
        return answer(lambda: reports.wip_report(
            hub, as_of=reports.parse_day(as_of, argument="as_of") if as_of is not None else hub.today(),
            contract_id=contract_id, legal_entity=legal_entity), WipOut, format)

    @router.get("/waterfall", response_model=WaterfallOut, summary="Revenue recognised per contract and period",
                responses=_responses(), dependencies=[requires(Role.VIEWER)])
    def waterfall(first: Annotated[str | None, Query(alias="from", max_length=40,
                                                     description="First period, YYYY-MM.")] = None,
                  last: Annotated[str | None, Query(alias="to", max_length=40,
                                                    description="Last period, YYYY-MM.")] = None,
                  contract_id: ContractQuery = None, legal_entity: EntityQuery = None,
                  format: FormatQuery = "json") -> Any:
        return answer(lambda: reports.waterfall_report(
            hub, first=reports.parse_period(first, argument="from") if first is not None else None,
            last=reports.parse_period(last, argument="to") if last is not None else None,
            contract_id=contract_id, legal_entity=legal_entity), WaterfallOut, format)

    @router.get("/rollforward", response_model=RollforwardOut, summary="Deferred revenue roll-forward of a period",
                responses=_responses(), dependencies=[requires(Role.VIEWER)])
    def rollforward(period: PeriodQuery, contract_id: ContractQuery = None, legal_entity: EntityQuery = None,
                    format: FormatQuery = "json") -> Any:
        return answer(lambda: reports.rollforward_report(
            hub, period=reports.parse_period(period, argument="period"), contract_id=contract_id,
            legal_entity=legal_entity), RollforwardOut, format)

    @router.get("/rpo", response_model=RpoOut, summary="Remaining performance obligations at a period end",
                responses=_responses(), dependencies=[requires(Role.VIEWER)])
    def rpo(period: PeriodQuery, contract_id: ContractQuery = None, legal_entity: EntityQuery = None,
            format: FormatQuery = "json") -> Any:
        return answer(lambda: reports.rpo_report(
            hub, period=reports.parse_period(period, argument="period"), contract_id=contract_id,
            legal_entity=legal_entity), RpoOut, format)

    @router.get("/invoices", response_model=InvoicesOut, summary="Invoices and credit notes by month and status",
                responses=_responses(), dependencies=[requires(Role.VIEWER)])
    def invoices(contract_id: ContractQuery = None, legal_entity: EntityQuery = None,
                 format: FormatQuery = "json") -> Any:
        return answer(lambda: reports.invoices_report(hub, contract_id=contract_id, legal_entity=legal_entity),
                      InvoicesOut, format)

    return router
