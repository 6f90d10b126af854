"""The runs and KPI routes: the hub's recorded runs with their figures, and its KPIs as daily series.

`GET /runs` lists runs newest first (filter by kind), `GET /runs/{id}` shows one, `GET /kpis?since=` gives
every KPI with one row per UTC day, for a chart. They read the hub's own records only (the viewer role).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, Field

from q2c.domain.kpis import KpiInputError
from q2c.entrypoints.api_errors import ApiError, error_responses
from q2c.entrypoints.api_models import MAX_ID, MAX_LIST_LIMIT
from q2c.entrypoints.auth import requires
from q2c.store import runs as run_store
from q2c.store.users import Role
from q2c.workflows.hub import Hub
from q2c.workflows.runs import KINDS

RunIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A run id.")]


class RunOut(BaseModel):
    id: int
    kind: str = Field(description=", ".join(KINDS))
    status: str = Field(description="running, ok or failed")
    started_at: AwareDatetime
    finished_at: AwareDatetime | None
    duration_seconds: float | None
    stats: dict[str, Any] = Field(description="The run's figures: its counts, `queued`, `exceptions` "
                                              "({opened, by_rule}), `duration_seconds`, and `error` when it failed.")


class CycleTimeDayOut(BaseModel):
    day: dt.date
    count: int
    p50_seconds: float | None
    p90_seconds: float | None
    max_seconds: float | None


class LagDayOut(BaseModel):
    day: dt.date
    entries: int
    mean_hours: float | None
    p90_hours: float | None


class ExceptionRateDayOut(BaseModel):
    day: dt.date
    events: int
    with_exceptions: int
    exceptions: int
    rate: float | None


class RecoveryDayOut(BaseModel):
    day: dt.date
    outages: int
    recovered: int
    mean_seconds: float | None
    max_seconds: float | None


class ConsistencyDayOut(BaseModel):
    day: dt.date
    run_id: int | None
    compared: int | None
    matched: int | None
    share: float | None


class KpisOut(BaseModel):
    """Each KPI over the same days, one row per UTC day (percentiles are nearest-rank)."""

    project_setup_cycle_time: list[CycleTimeDayOut] = Field(
        description="Won in the CRM (received by the hub) -> ready in the ERP and the tracker, per day of setup.")
    approved_to_bill_lag: list[LagDayOut] = Field(
        description="A time entry first seen approved -> the invoice that first billed it, per day of invoice.")
    revenue_event_exception_rate: list[ExceptionRateDayOut] = Field(
        description="Revenue close work items with an exception, per day they were queued.")
    integration_recovery_time: list[RecoveryDayOut] = Field(
        description="A system's circuit opened -> its waiting work drained, per day the outage began.")
    cross_system_consistency: list[ConsistencyDayOut] = Field(
        description="matched / compared in the day's last reconciliation run; null on a day without one.")


def _out(run: run_store.Run) -> RunOut:
    return RunOut(id=run.id, kind=run.kind, status=run.status, started_at=run.started_at,
                  finished_at=run.finished_at, duration_seconds=run.duration_seconds, stats=run.stats)


def runs_router(hub: Hub) -> APIRouter:
    from q2c.workflows.kpis import SinceTooEarly, kpis

    router = APIRouter(tags=["runs"])
    viewer = [requires(Role.VIEWER)]

    @router.get("/runs", response_model=list[RunOut], summary="Recorded runs, newest first",
                responses=error_responses(400, 422, 503), dependencies=viewer)
    def list_runs(
        kind: Annotated[str | None, Query(max_length=run_store.MAX_KIND_LENGTH, pattern=r"^[a-z_.]*$",
                                          description=", ".join(KINDS))] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 50,
    ) -> list[RunOut]:
        if kind and kind not in KINDS:
            raise ApiError(400, f"{kind!r} is not a kind of run; allowed: {', '.join(KINDS)}", field="kind")
        with hub.engine.connect() as conn:
            found = run_store.list_runs(conn, kind=kind or None, limit=limit)
        return [_out(r) for r in found]

    @router.get("/runs/{run_id}", response_model=RunOut, summary="One run with its figures",
                responses=error_responses(404, 422, 503), dependencies=viewer)
    def show_run(run_id: RunIdPath) -> RunOut:
        with hub.engine.connect() as conn:
            run = run_store.get_run(conn, run_id)
        if run is None:
            raise ApiError(404, f"run {run_id} does not exist", field="run_id")
        return _out(run)

    @router.get("/kpis", response_model=KpisOut, summary="The KPIs as daily series", tags=["kpis"],
                responses=error_responses(400, 409, 422, 503), dependencies=viewer)
    def show_kpis(
        since: Annotated[dt.date | None, Query(description="First day (UTC); else the first day anything was "
                                                           "recorded.")] = None,
    ) -> KpisOut:
        try:
            report = kpis(hub, since=since)
        except SinceTooEarly as exc:
            raise ApiError(400, str(exc), field="since") from None
        except KpiInputError as exc:  # a record of the hub's that the KPIs cannot read
            raise ApiError(409, f"the KPIs cannot be computed: {exc}") from None
        return KpisOut.model_validate(report.as_json())

    return router
