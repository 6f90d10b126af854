"""The HTTP API: health, metrics, signed webhook intake, the exception queue and replay. OpenAPI at /docs.

Every route but /health, /metrics, /docs and the webhook needs a bearer token whose user has the route's
role (see `auth`); what a call changes is recorded under that user's name. The web console is mounted at
/console (`console`): people sign in there with their tokens and get a session.

Webhooks are HMAC-SHA256 signed over `timestamp + "." + raw body` with a shared secret
(`X-Q2C-Timestamp`, `X-Q2C-Signature: sha256=<hex>`), the scheme a Salesforce Flow or Apex callout
can produce. A bad or stale signature gets 401; a malformed body gets 400 naming the field; an
oversized body gets 413; nothing is enqueued for any of them.

Every input is bounded (see `api_models`), every error has one shape (see `api_errors`), and
replaying everything at once is not offered: a bulk replay must say what it replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from q2c.connectors.salesforce.ids import normalize_id
from q2c.connectors.salesforce.mapping import canonical_id
from q2c.engine.replay import CorrectionPolicy, CorrectionRefused, ReplayResult, replay, replay_payload
from q2c.entrypoints import auth
from q2c.entrypoints.api_body import bounded_route_class
from q2c.entrypoints.api_docs import serve_docs
from q2c.entrypoints.api_errors import ApiError, error_responses, install_error_handlers
from q2c.entrypoints.api_models import (
    MAX_API_BODY_BYTES,
    MAX_ID,
    MAX_LIST_LIMIT,
    MAX_RULE_LENGTH,
    MAX_STATUS_LENGTH,
    MAX_SYSTEM_LENGTH,
    PRINTABLE,
    STATUS_PATTERN,
    AuditVerification,
    BulkReplayRequest,
    ErrorResponse,
    ExceptionDetail,
    ExceptionSummary,
    Health,
    HeldRecord,
    OpportunityWon,
    ReplayOutcome,
    ReplayRequest,
    SettleOutcome,
    SettleRequest,
    WebhookAccepted,
)
from q2c.entrypoints.auth import OperatorCaller, requires
from q2c.entrypoints.health_report import EndpointFigures, assess
from q2c.entrypoints.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from q2c.entrypoints.metrics import HubMetrics, MetricSources
from q2c.store import audit
from q2c.store import exceptions as exception_store
from q2c.store import users as user_store
from q2c.store.exceptions import ExceptionRow
from q2c.store.users import Caller, Role
from q2c.workflows import exception_actions
from q2c.workflows.hub import Hub
from q2c.workflows.project_setup import enqueue_won_deal, won_deal_correlation

SIGNATURE_TOLERANCE_SECONDS = 300
WEBHOOK_UNAUTHORIZED = "The webhook signature is missing, stale or does not match the body."
WEBHOOK_SECURITY_SCHEME = "webhookSignature"
log = logging.getLogger("q2c.api")

ExceptionIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="An exception id.")]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, headers: Any, body: bytes, *, now: float | None = None) -> str | None:
    """None when the request is authentic; otherwise why not (for the 401 body)."""
    timestamp = headers.get("x-q2c-timestamp")
    signature = headers.get("x-q2c-signature")
    if not timestamp or not signature:
        return "missing X-Q2C-Timestamp or X-Q2C-Signature header"
    try:
        age = abs((now or time.time()) - int(timestamp))
    except ValueError:
        return "X-Q2C-Timestamp is not a Unix timestamp"
    if age > SIGNATURE_TOLERANCE_SECONDS:
        return f"timestamp is {int(age)} s away from now (allowed: {SIGNATURE_TOLERANCE_SECONDS} s)"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "signature does not match the body"
    return None


def won_opportunity_id(body: bytes) -> str:
    """The 18-character id of the won deal a webhook body announces; ApiError(400) naming the field if not."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "body must be a JSON object")
    raw_id = payload.get("opportunityId")
    opportunity_id = normalize_id(raw_id) if isinstance(raw_id, str) and raw_id.isascii() else None
    if opportunity_id is None or not opportunity_id.startswith("006"):
        shown = repr(raw_id) if len(repr(raw_id)) <= 40 else repr(raw_id)[:37] + "..."
        raise ApiError(400, "field 'opportunityId': expected a 15- or 18-character Opportunity id starting with "
                            f"006, got {shown}", field="opportunityId")
    if payload.get("isWon") is not True:
        raise ApiError(400, "field 'isWon': must be true (only won deals are set up)", field="isWon")
    return opportunity_id


def refuse_replaying_everything(body: BulkReplayRequest) -> None:
    """A bulk replay whose filters would match every open exception is refused with 400, naming the field.

    Matching everything: no filter at all, or no ids and neither a rule (other than one made only of `*`,
    or empty) nor a system (other than an empty one) that narrows it down.
    """
    if body.ids is not None:
        return  # a list of ids never matches more than itself
    every_rule = body.rule is None or body.rule.strip("*") == ""
    every_system = not body.system
    if not (every_rule and every_system):
        return
    if body.rule is not None:
        what = "an empty rule" if body.rule == "" else f"rule {body.rule!r}"
        raise ApiError(400, f"field 'rule': {what} matches every exception, and replaying everything at once is not "
                            "offered; name a rule (`*` stands for any run of characters, as in 'time.*')",
                       field="rule")
    if body.system is not None:
        raise ApiError(400, "field 'system': an empty system matches every exception, and replaying everything at "
                            "once is not offered; name a system (salesforce, harvest, netsuite)", field="system")
    raise ApiError(400, "say what to replay: 'ids', 'rule' or 'system' (replaying everything at once is not offered)")


def _summary(row: ExceptionRow) -> ExceptionSummary:
    v = row.violation
    return ExceptionSummary(id=row.id, status=row.status, system=v.system, object=v.object, record_id=v.record_id,
                            field=v.field, rule=v.rule, message=v.message, action=v.action, retryable=v.retryable,
                            occurrences=row.occurrences, work_kind=row.work_kind, aggregate=row.aggregate,
                            correlation_id=row.correlation_id, created_at=row.created_at,
                            replayed_as=row.replayed_as,
                            records=[HeldRecord(entity=s.entity, id=s.record_id, status=s.status)
                                     for s in row.subjects])


def _outcome(result: ReplayResult) -> ReplayOutcome:
    return ReplayOutcome(exception_id=result.exception_id, work_item_id=result.work_item_id,
                         skipped=result.skipped_reason)


def _webhook_openapi() -> dict[str, Any]:
    """The webhook reads its raw body (the signature covers the bytes), so its body, timestamp header and
    signature scheme are documented here rather than declared as parameters."""
    headers = [
        {"name": "X-Q2C-Timestamp", "in": "header", "required": True, "schema": {"type": "string"},
         "description": f"Unix time of signing; at most {SIGNATURE_TOLERANCE_SECONDS} s from the hub's clock."},
    ]
    return {"parameters": headers, "security": [{WEBHOOK_SECURITY_SCHEME: []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": OpportunityWon.model_json_schema()}}}}


def create_app(engine: Engine, *, webhook_secret: str, max_body_bytes: int = 1_000_000,
               health_extra: EndpointFigures | None = None, overdue_after_seconds: float = 60.0,
               corrections: Mapping[str, CorrectionPolicy] | None = None,
               routers: Sequence[APIRouter] = (), metrics: MetricSources | None = None,
               console: bool = True, hub: Hub | None = None) -> FastAPI:
    """The API over one hub database. `max_body_bytes` bounds the webhook's body (every other body is bounded
    by MAX_API_BODY_BYTES); `health_extra` returns the vendor endpoints' figures for /health
    (`{"endpoints": [...]}`); `overdue_after_seconds` is how long a due retry may wait for a worker before
    /health calls it overdue; `corrections` says, per kind of work, how a corrected payload is checked
    (a kind without one refuses corrected payloads). `routers` are the feature routes that need the whole hub
    (contract changes, invoices, reference data), each built by its own module over the hub (see `wiring`).
    `metrics` says what /metrics reads besides the database (the vendor endpoints' guards, the workers, the
    KPIs: `metrics.hub_sources`); the app keeps its own registry of them. Bearer tokens are checked against
    the users and tokens in `engine` (`auth`); every route of `routers` must state its role. `console` mounts
    the web console at /console (`console`: sessions signed in with the same tokens, the same roles)."""
    app = FastAPI(title="q2c", version="0.1.0", docs_url=None, redoc_url=None, lifespan=_warn_without_admin(engine),
                  description="Quote-to-cash sync hub: webhooks, exceptions, replay, health. Every route but "
                              "/health, /metrics and the signed webhook needs `Authorization: Bearer <token>` "
                              "(`q2c tokens create USER`) whose user has the role the route names: viewer < "
                              "operator < controller < admin. Every error has the shape "
                              '{"error": {"status", "code", "message", "field"}}.')
    auth.install(app, engine)
    serve_docs(app)  # Swagger UI from an installed package: /docs works offline
    app.router.route_class = bounded_route_class(MAX_API_BODY_BYTES)
    install_error_handlers(app)
    overdue_after = timedelta(seconds=overdue_after_seconds)

    @app.get("/health", response_model=Health, summary="Is the hub working, and what needs attention",
             responses={503: {"model": Health, "description": "down: the database does not answer"}})
    def health(response: Response) -> Health:
        report = assess(engine, health_extra, overdue_after=overdue_after)
        response.status_code = 503 if report.status == "down" else 200
        response.headers["Cache-Control"] = "no-store"
        return report

    hub_metrics = HubMetrics(engine, metrics or MetricSources(), overdue_after=overdue_after)

    @app.get("/metrics", include_in_schema=False)  # for scrapers, in their own format: not part of the JSON API
    def metrics_text() -> Response:
        return Response(hub_metrics.exposition(), media_type=METRICS_CONTENT_TYPE,
                        headers={"Cache-Control": "no-store"})

    async def opportunity_won(request: Request, response: Response) -> WebhookAccepted:
        body = await request.body()
        problem = ("webhook intake is disabled: no webhook_secret is configured" if not webhook_secret
                   else verify_signature(webhook_secret, request.headers, body))
        if problem is not None:
            raise ApiError(401, problem)
        opportunity_id = won_opportunity_id(body)
        fresh, correlation = await run_in_threadpool(_enqueue_won, engine, opportunity_id)
        response.headers["X-Correlation-Id"] = correlation
        return WebhookAccepted(accepted=True, duplicate=not fresh, opportunity_id=opportunity_id,
                               correlation_id=correlation)

    app.router.add_api_route(  # its own body limit: the webhook's, from the config
        "/webhooks/salesforce/opportunity-won", opportunity_won, methods=["POST"], status_code=202,
        response_model=WebhookAccepted, summary="A deal was won (signed webhook)",
        responses={**error_responses(400, 413, 503),
                   401: {"model": ErrorResponse, "description": WEBHOOK_UNAUTHORIZED}},
        openapi_extra=_webhook_openapi(),
        route_class_override=bounded_route_class(max_body_bytes))

    @app.get("/exceptions", response_model=list[ExceptionSummary], summary="The exception queue",
             responses=error_responses(422, 503), dependencies=[requires(Role.VIEWER)])
    def list_exceptions(
        status: Annotated[str | None, Query(max_length=MAX_STATUS_LENGTH, pattern=STATUS_PATTERN,
                                            description="open (default), replayed, resolved, ignored; "
                                                        "empty for every status")] = exception_store.OPEN,
        rule: Annotated[str | None, Query(max_length=MAX_RULE_LENGTH, pattern=PRINTABLE,
                                          description="A rule name; `*` stands for any run of characters")] = None,
        system: Annotated[str | None, Query(max_length=MAX_SYSTEM_LENGTH, pattern=PRINTABLE)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 200,
    ) -> list[ExceptionSummary]:
        with engine.connect() as conn:
            rows = exception_store.search(conn, status=status or None, rule=rule, system=system, limit=limit)
        return [_summary(r) for r in rows]

    @app.get("/exceptions/{exception_id}", response_model=ExceptionDetail, summary="One exception, with its payload",
             responses=error_responses(404, 422, 503), dependencies=[requires(Role.VIEWER)])
    def show_exception(exception_id: ExceptionIdPath) -> ExceptionDetail:
        row = _existing(engine, exception_id)
        return ExceptionDetail(**_summary(row).model_dump(), payload=replay_payload(row))

    @app.post("/exceptions/{exception_id}/replay", response_model=ReplayOutcome, summary="Replay one exception",
              responses=error_responses(400, 404, 413, 422, 503))
    def replay_one(exception_id: ExceptionIdPath, caller: OperatorCaller,
                   body: ReplayRequest | None = None) -> ReplayOutcome:
        row = _existing(engine, exception_id)
        corrected = body.corrected_payload if body is not None else None
        try:
            (result,) = replay(engine, [row], actor=caller.name, corrected_payload=corrected,
                               corrections=corrections)
        except CorrectionRefused as refused:
            raise ApiError(400, f"field 'corrected_payload': {refused}", field="corrected_payload") from None
        return _outcome(result)

    def settle(exception_id: int, status: str, reason: str, caller: Caller) -> SettleOutcome:
        _existing(engine, exception_id)
        try:
            why_not = exception_actions.settle(engine, exception_id, status=status, reason=reason, actor=caller.name)
        except exception_actions.ReasonRefused as refused:
            raise ApiError(422, str(refused), field="reason") from None
        if why_not is not None:
            raise ApiError(409, f"exception {exception_id} is {why_not}: only an open exception can be settled")
        return SettleOutcome(exception_id=exception_id, status=status)

    @app.post("/exceptions/{exception_id}/resolve", response_model=SettleOutcome,
              summary="Resolve one exception: dealt with outside q2c (with a reason)",
              responses=error_responses(404, 409, 413, 422, 503))
    def resolve_one(exception_id: ExceptionIdPath, caller: OperatorCaller, body: SettleRequest) -> SettleOutcome:
        return settle(exception_id, exception_store.RESOLVED, body.reason, caller)

    @app.post("/exceptions/{exception_id}/ignore", response_model=SettleOutcome,
              summary="Ignore one exception: it needs nothing (with a reason)",
              responses=error_responses(404, 409, 413, 422, 503))
    def ignore_one(exception_id: ExceptionIdPath, caller: OperatorCaller, body: SettleRequest) -> SettleOutcome:
        return settle(exception_id, exception_store.IGNORED, body.reason, caller)

    @app.post("/exceptions/replay", response_model=list[ReplayOutcome],
              summary="Replay the open exceptions that match every filter given",
              responses=error_responses(400, 413, 422, 503))
    def replay_many(body: BulkReplayRequest, caller: OperatorCaller) -> list[ReplayOutcome]:
        refuse_replaying_everything(body)
        with engine.connect() as conn:
            rows = exception_store.search(conn, rule=body.rule, system=body.system, ids=body.ids)
        return [_outcome(r) for r in replay(engine, rows, actor=caller.name)]

    @app.get("/audit/verify", response_model=AuditVerification,
             summary="Recompute the audit trail's chain and hold it against its checkpoints",
             responses=error_responses(503), dependencies=[requires(Role.VIEWER)])
    def audit_verify() -> AuditVerification:
        """What `q2c audit verify --json` says: `ok: false` names what is wrong (`problem`), from which entry on
        (`first_bad_seq`) and the last checkpoint the trail still matches; 503 when this server has no audit key."""
        try:
            with engine.connect() as conn:
                result = audit.verify(conn)
        except audit.AuditKeyMissing:  # the config's fault, told to the operator by `q2c audit verify`
            raise ApiError(503, "the audit trail cannot be checked: this server has no key for it; set "
                                "audit.key_file or audit.key_env (`q2c audit verify` says which is missing)") from None
        return AuditVerification.model_validate(result.as_dict())

    for router in routers:
        router.route_class = app.router.route_class
        app.include_router(router)
    auth.check_every_route_has_a_role(app)
    if console:  # its own app, held to its own open routes (auth.CONSOLE_OPEN_ROUTES): not part of the JSON API
        from q2c.entrypoints.console import console_app

        app.mount("/console", console_app(engine, health_extra=health_extra, overdue_after=overdue_after,
                                          corrections=corrections, hub=hub))  # hub: the finance pages
    _finish_openapi(app)
    return app


def _warn_without_admin(engine: Engine) -> Any:
    """At start-up, say how to make the first admin when no active one exists (every protected route is 401)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        def admins() -> int:
            with engine.connect() as conn:
                return user_store.active_admins(conn)

        try:
            count = await run_in_threadpool(admins)
        except sa.exc.SQLAlchemyError:
            count = -1  # /health tells of a database that does not answer
        if count == 0:
            log.warning("no active admin user: every route but /health, /metrics and the webhook answers 401 "
                        "until one exists; create the first with `%s`", auth.FIRST_ADMIN)
        yield

    return lifespan


def _enqueue_won(engine: Engine, opportunity_id: str) -> tuple[bool, str]:
    """A Salesforce Flow's call: the opportunity by its Salesforce id, queued under its canonical id; whether it
    was new, and the correlation id its setup is followed by (the first delivery's, for a duplicate)."""
    correlation = uuid.uuid4().hex
    with engine.begin() as conn:
        fresh = enqueue_won_deal(conn, canonical_id(opportunity_id), source="salesforce.webhook",
                                 correlation_id=correlation)
        if not fresh:
            correlation = won_deal_correlation(conn, canonical_id(opportunity_id)) or correlation
    return fresh, correlation


def _existing(engine: Engine, exception_id: int) -> ExceptionRow:
    with engine.connect() as conn:
        row = exception_store.get(conn, exception_id)
    if row is None:
        raise ApiError(404, f"exception {exception_id} does not exist", field="exception_id")
    return row


def _integer_bounds(node: Any) -> None:
    """FastAPI's OpenAPI model keeps numeric bounds as floats, and 2**63-1 does not survive a float (it
    becomes 2**63, one past the largest id): integer schemas get their bounds back as integers."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if isinstance(node.get(key), float):
                    node[key] = MAX_ID if node[key] == float(MAX_ID) else int(node[key])
        for value in node.values():
            _integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _integer_bounds(value)


def _finish_openapi(app: FastAPI) -> None:
    """Exact integer bounds, the webhook's signature scheme, and each protected route's role, 401 and 403."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            _integer_bounds(schema)
            schemes: dict[str, Any] = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[WEBHOOK_SECURITY_SCHEME] = {
                "type": "apiKey", "in": "header", "name": "X-Q2C-Signature",
                "description": 'sha256=<hex of HMAC-SHA256(shared webhook secret, timestamp + "." + body)>, '
                               "with the timestamp sent as X-Q2C-Timestamp."}
            auth.document_roles(schema, app)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
