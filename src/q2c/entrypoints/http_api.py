"""The HTTP API: health, signed webhook intake, the exception queue and replay. OpenAPI at /docs.

Webhooks are HMAC-SHA256 signed over `timestamp + "." + raw body` with a shared secret
(`X-Q2C-Timestamp`, `X-Q2C-Signature: sha256=<hex>`), the scheme a Salesforce Flow or Apex callout
can produce. A bad or stale signature gets 401; a malformed body gets 400 naming the field; an
oversized body gets 413; nothing is enqueued for any of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from q2c.connectors.salesforce.ids import normalize_id
from q2c.engine.replay import replay
from q2c.store import audit, queue
from q2c.store import exceptions as exception_store
from q2c.store.exceptions import ExceptionRow
from q2c.workflows.project_setup import enqueue_won_deal

SIGNATURE_TOLERANCE_SECONDS = 300


class ReplayRequest(BaseModel):
    corrected_payload: dict[str, Any] | None = None
    actor: str = Field(default="api", max_length=80)


class BulkReplayRequest(BaseModel):
    rule: str | None = None
    system: str | None = None
    ids: list[int] | None = None
    actor: str = Field(default="api", max_length=80)


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


def _enqueue_won(engine: Engine, opportunity_id: str) -> bool:
    with engine.begin() as conn:
        return enqueue_won_deal(conn, opportunity_id, source="salesforce.webhook")


async def _bounded_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing (413) as soon as it is known to exceed the limit, declared or streamed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _exception_json(row: ExceptionRow) -> dict[str, Any]:
    v = row.violation
    return {"id": row.id, "status": row.status, "system": v.system, "object": v.object, "record_id": v.record_id,
            "field": v.field, "rule": v.rule, "message": v.message, "action": v.action, "retryable": v.retryable,
            "occurrences": row.occurrences, "work_kind": row.work_kind, "aggregate": row.aggregate,
            "correlation_id": row.correlation_id, "created_at": row.created_at.isoformat(),
            "replayed_as": row.replayed_as}


def create_app(engine: Engine, *, webhook_secret: str, max_body_bytes: int = 1_000_000,
               health_extra: Any = None) -> FastAPI:
    app = FastAPI(title="q2c", version="0.1.0",
                  description="Quote-to-cash sync hub: webhooks, exceptions, replay, health.")

    @app.get("/health")
    def health() -> dict[str, Any]:
        with engine.connect() as conn:
            body: dict[str, Any] = {"status": "ok", "queue": queue.counts(conn),
                                    "exceptions": exception_store.counts(conn)}
        if callable(health_extra):
            body.update(health_extra())
        return body

    @app.post("/webhooks/salesforce/opportunity-won", status_code=202)
    async def opportunity_won(request: Request) -> JSONResponse:
        body = await _bounded_body(request, max_body_bytes)
        problem = ("webhook intake is disabled: no webhook_secret is configured" if not webhook_secret
                   else verify_signature(webhook_secret, request.headers, body))
        if problem is not None:
            raise HTTPException(401, problem)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise HTTPException(400, "body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise HTTPException(400, "body must be a JSON object")
        raw_id = payload.get("opportunityId")
        opportunity_id = normalize_id(raw_id) if isinstance(raw_id, str) and raw_id.isascii() else None
        if opportunity_id is None or not opportunity_id.startswith("006"):
            raise HTTPException(400, "field 'opportunityId': expected a 15- or 18-character Opportunity id "
                                     f"starting with 006, got {raw_id!r}")
        if payload.get("isWon") is not True:
            raise HTTPException(400, "field 'isWon': must be true (only won deals are set up)")
        fresh = await run_in_threadpool(_enqueue_won, engine, opportunity_id)
        return JSONResponse({"accepted": True, "duplicate": not fresh, "opportunityId": opportunity_id},
                            status_code=202)

    @app.get("/exceptions")
    def list_exceptions(status: str | None = "open", rule: str | None = None, system: str | None = None,
                        limit: Annotated[int, Query(ge=1, le=10_000)] = 200) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = exception_store.search(conn, status=status or None, rule=rule, system=system, limit=limit)
        return [_exception_json(r) for r in rows]

    @app.get("/exceptions/{exception_id}")
    def show_exception(exception_id: int) -> dict[str, Any]:
        with engine.connect() as conn:
            row = exception_store.get(conn, exception_id)
        if row is None:
            raise HTTPException(404, f"exception {exception_id} does not exist")
        return {**_exception_json(row), "payload": row.payload}

    @app.post("/exceptions/{exception_id}/replay")
    def replay_one(exception_id: int, body: ReplayRequest) -> dict[str, Any]:
        with engine.connect() as conn:
            row = exception_store.get(conn, exception_id)
        if row is None:
            raise HTTPException(404, f"exception {exception_id} does not exist")
        (result,) = replay(engine, [row], actor=body.actor, corrected_payload=body.corrected_payload)
        return {"exception_id": result.exception_id, "work_item_id": result.work_item_id,
                "skipped": result.skipped_reason}

    @app.post("/exceptions/replay")
    def replay_many(body: BulkReplayRequest) -> list[dict[str, Any]]:
        if body.rule is None and body.system is None and body.ids is None:
            raise HTTPException(400, "say what to replay: 'ids', 'rule' or 'system' (replaying everything at once "
                                     "is not offered)")
        with engine.connect() as conn:
            rows = exception_store.search(conn, rule=body.rule, system=body.system, ids=body.ids)
        return [{"exception_id": r.exception_id, "work_item_id": r.work_item_id, "skipped": r.skipped_reason}
                for r in replay(engine, rows, actor=body.actor)]

    @app.get("/audit/verify")
    def audit_verify() -> dict[str, Any]:
        with engine.connect() as conn:
            result = audit.verify(conn)
        return {"ok": result.ok, "entries": result.entries, "first_bad_seq": result.first_bad_seq,
                "reason": result.reason}

    return app
