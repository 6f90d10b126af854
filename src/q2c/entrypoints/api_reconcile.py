"""The reconciliation and close-readiness routes: the same rules as `q2c reconcile` and `q2c period`.

POST /reconciliation runs a reconciliation now (it reads every system, so it answers when done); the kept
runs are GET /reconciliation/runs and /reconciliation/runs/{id} (`?format=csv` for the drifts and totals as
CSV); GET /reconciliation is the latest run. POST /reconciliation/heal/{exception_id} applies a drift's fix
(409 when the data belongs to someone else to fix: the message says who). GET /periods/{entity}/{period}
is the close readiness; POST .../close closes, 409 while blockers remain unless forced with a reason.
Reading needs the viewer role, running a reconciliation the operator role, healing and closing the
controller role (recorded under the caller's name).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from q2c.entrypoints.api_errors import ApiError, error_responses
from q2c.entrypoints.api_models import MAX_ID, PRINTABLE, RequestBody
from q2c.entrypoints.auth import ControllerCaller, requires
from q2c.store.users import Role
from q2c.workflows.hub import Hub

EntityPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$",
                                 description="A legal entity code, such as US01.")]
PeriodPath = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", description="An accounting period, YYYY-MM.")]
Format = Annotated[str, Query(pattern=r"^(json|csv)$", description="json (default) or csv")]


class RunRequest(RequestBody):
    pairs: list[str] | None = Field(default=None, max_length=4,
                                    description="bookings, time, invoices, revenue (all without it)")


class HealRequest(RequestBody):
    """Nothing to say but who heals, and that is the authenticated caller: the body may be left out."""


class HealOut(BaseModel):
    exception_id: int
    done: str


class CloseRequest(RequestBody):
    force: bool = Field(default=False, description="Close although blockers remain (needs a reason).")
    reason: str | None = Field(default=None, max_length=2000, pattern=PRINTABLE)


def _csv_or_json(data: dict[str, Any], fmt: str) -> Response:
    from q2c.entrypoints.reconcile_render import to_csv

    if fmt == "csv":
        return PlainTextResponse(to_csv(data), media_type="text/csv")
    return JSONResponse(data)


def reconcile_router(hub: Hub) -> APIRouter:
    from q2c.entrypoints.reconcile_render import report_json, run_json
    from q2c.store import drifts

    router = APIRouter(tags=["reconciliation"])

    def _run(run_id: int) -> dict[str, Any]:
        with hub.engine.connect() as conn:
            run = drifts.get_run(conn, run_id)
            if run is None:
                raise ApiError(404, f"reconciliation run {run_id} does not exist", field="run_id")
            return run_json(run, drifts.of_run(conn, run_id))

    @router.post("/reconciliation", summary="Reconcile now: every pair read fresh from the systems",
                 responses=error_responses(400, 422, 503), dependencies=[requires(Role.OPERATOR)])
    async def run_now(body: RunRequest | None = None) -> JSONResponse:
        from q2c.workflows.reconcile import reconcile

        try:
            report = await run_in_threadpool(reconcile, hub, pairs=body.pairs if body else None)
        except ValueError as exc:
            raise ApiError(400, str(exc), field="pairs") from None
        return JSONResponse(report_json(report))

    @router.get("/reconciliation", summary="The latest reconciliation run with its drifts",
                responses=error_responses(404, 422, 503), dependencies=[requires(Role.VIEWER)])
    def latest(format: Format = "json") -> Response:
        with hub.engine.connect() as conn:
            found = drifts.runs_list(conn, limit=1)
        if not found:
            raise ApiError(404, "no reconciliation has run yet: POST /reconciliation or `q2c reconcile`")
        return _csv_or_json(_run(found[0].id), format)

    @router.get("/reconciliation/runs", summary="The kept reconciliation runs, newest first",
                responses=error_responses(422, 503), dependencies=[requires(Role.VIEWER)])
    def runs(limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> list[dict[str, Any]]:
        with hub.engine.connect() as conn:
            found = drifts.runs_list(conn, limit=limit)
        return [{"run_id": r.id, "status": r.status, "started_at": r.started_at.isoformat(),
                 "compared": r.stats.get("compared"), "matched": r.stats.get("matched"),
                 "drifts": r.stats.get("drifts")} for r in found]

    @router.get("/reconciliation/runs/{run_id}", summary="One kept run: pairs, totals and drifts",
                responses=error_responses(404, 422, 503), dependencies=[requires(Role.VIEWER)])
    def run(run_id: Annotated[int, Path(ge=1, le=MAX_ID)], format: Format = "json") -> Response:
        return _csv_or_json(_run(run_id), format)

    @router.post("/reconciliation/heal/{exception_id}", response_model=HealOut,
                 summary="Apply the fix a drift proposes, when q2c may", responses=error_responses(404, 409, 422))
    async def heal(exception_id: Annotated[int, Path(ge=1, le=MAX_ID)], caller: ControllerCaller,
                   body: HealRequest | None = None) -> HealOut:
        from q2c.store import exceptions as exception_store
        from q2c.workflows.reconcile_heal import HealError
        from q2c.workflows.reconcile_heal import heal as apply

        with hub.engine.connect() as conn:
            if exception_store.get(conn, exception_id) is None:
                raise ApiError(404, f"exception {exception_id} does not exist", field="exception_id")
        try:
            done = await run_in_threadpool(apply, hub, exception_id, actor=caller.name)
        except HealError as exc:
            raise ApiError(409, str(exc), field="exception_id") from None
        return HealOut(exception_id=exception_id, done=done)

    def _period(entity: str, period: str) -> Any:
        from q2c.domain.revenue import Period

        if hub.config.legal_entity(entity) is None:
            raise ApiError(404, f"legal entity {entity} is not configured", field="legal_entity")
        try:
            return Period.parse(period)
        except ValueError as exc:
            raise ApiError(422, str(exc), field="period") from None

    @router.get("/periods/{legal_entity}/{period}", summary="Close readiness: what blocks a clean close",
                responses=error_responses(404, 422, 503), dependencies=[requires(Role.VIEWER)])
    async def period_status(legal_entity: EntityPath, period: PeriodPath) -> dict[str, Any]:
        from q2c.workflows.close_readiness import readiness

        found = await run_in_threadpool(readiness, hub, legal_entity, _period(legal_entity, period))
        return found.to_json()

    @router.post("/periods/{legal_entity}/{period}/close", summary="Close the period (refused while blocked)",
                 responses=error_responses(400, 404, 409, 422, 503))
    async def close(legal_entity: EntityPath, period: PeriodPath, caller: ControllerCaller,
                    body: CloseRequest | None = None) -> dict[str, Any]:
        from q2c.workflows.close_readiness import CloseRefused, close_period

        parsed = _period(legal_entity, period)
        body = body or CloseRequest()
        if body.force and not (body.reason and body.reason.strip()):
            raise ApiError(400, "field 'reason': a forced close says why it closes with blockers open", field="reason")
        try:
            changed, found = await run_in_threadpool(lambda: close_period(
                hub, legal_entity, parsed, actor=caller.name, force=body.force, reason=body.reason))
        except CloseRefused as exc:
            raise ApiError(409, str(exc), field="period") from None
        return {**found.to_json(), "closed": True, "changed": changed, "forced": bool(found.blockers)}

    return router
