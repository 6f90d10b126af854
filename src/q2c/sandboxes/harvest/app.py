"""A Harvest API v2 sandbox: the subset q2c uses, over real HTTP, with Harvest's auth, paging and errors.

What it reproduces: `Authorization: Bearer` + `Harvest-Account-Id` (401 `invalid_token` otherwise),
a required `User-Agent` (400 without), list envelopes with `links.next` (page links for time
entries, cursor links elsewhere, both kinds when asked), `per_page` 1..2000 (422 beyond),
`updated_since` filters, `{"message": ...}` validation errors, 422 on editing a locked entry,
and the documented limit of 100 requests per 15 s answered with 429 + Retry-After.

Harvest has no approval endpoints; the admin routes under `/__sandbox/` play the person who
approves, reopens or invoices time in the web UI, and generate synthetic load for benchmarks.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse, Response

from q2c.sandboxes.harvest.account import (
    HarvestRefusal,
    SandboxAccount,
    TimeEntryQuery,
    parse_bool,
    parse_date,
    parse_instant,
    parse_int,
    render,
)
from q2c.sandboxes.kit import Faults, Sandbox, VendorLimits

HARVEST_LIMITS = VendorLimits(requests_per_window=100, window_seconds=15)
MAX_PER_PAGE = 2000

Paging = Literal["page", "cursor"]


class HarvestSandbox(Sandbox):
    """The kit's sandbox with the Harvest account it serves, reachable for seeding as `.state`."""

    account_id: str = ""  # what a client sends as Harvest-Account-Id, and its personal access token
    token: str = ""

    def __init__(self, app: FastAPI, state: SandboxAccount, *, faults: Faults | None,
                 limits: VendorLimits | None) -> None:
        super().__init__("harvest", app, faults=faults, limits=limits, throttle=harvest_throttle,
                         reset=state.reset)
        self.state = state


def harvest_throttle(retry_after: float) -> Response:
    """Harvest's over-limit answer: 429 with whole seconds in Retry-After."""
    seconds = max(1, int(retry_after + 0.999))
    return JSONResponse({"message": f"Too many requests: the limit is 100 requests per 15 seconds. "
                                    f"Retry in {seconds} seconds."},
                        status_code=429, headers={"Retry-After": str(seconds)})


class _Refused(Exception):
    """An answer other than 422 {"message"}: auth and User-Agent failures."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def _json(body: Any, status: int = 200) -> Response:
    return Response(render(body).encode(), status_code=status, media_type="application/json; charset=utf-8")


# --- paging ------------------------------------------------------------------------------------


# A sort key field of a listing and its type: ("id", int), ("spent_date", str).
KeyField = tuple[str, type]


def _encode_cursor(direction: str, key: Sequence[Any], fields: Sequence[KeyField]) -> str:
    """Opaque like Harvest's: base64url of {"after": {"id": 3007}}."""
    where = {name: value for (name, _), value in zip(fields, key, strict=True)}
    raw = json.dumps({direction: where}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fields: Sequence[KeyField]) -> tuple[str, tuple[Any, ...]]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ((direction, where),) = raw.items()
        key = tuple(where[name] for name, _ in fields)
        if direction not in ("after", "before") or not all(
                type(value) is kind for value, (_, kind) in zip(key, fields, strict=True)):
            raise ValueError(cursor)
        return direction, key
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise HarvestRefusal("The cursor is invalid") from None


@dataclass(frozen=True)
class _Window:
    start: int
    end: int
    meta: dict[str, Any]


def _window(request: Request, keys: Sequence[tuple[Any, ...]], fields: Sequence[KeyField], mode: Paging,
            filters: dict[str, str]) -> _Window:
    """Where this request's page starts and ends, and the envelope Harvest puts around it."""
    query = request.query_params
    per_page = MAX_PER_PAGE
    if "per_page" in query:
        per_page = parse_int(query["per_page"], "per_page")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise HarvestRefusal(f"per_page must be between 1 and {MAX_PER_PAGE}")
    total = len(keys)
    total_pages = max(1, -(-total // per_page))
    cursor = query.get("cursor")
    if cursor:
        mode = "cursor"
        direction, key = _decode_cursor(cursor, fields)
        if direction == "after":
            start = bisect_right(keys, key)
            end = min(start + per_page, total)
        else:
            end = bisect_left(keys, key)
            start = max(0, end - per_page)
    else:
        page = parse_int(query["page"], "page") if "page" in query else 1
        if page < 1:
            raise HarvestRefusal("page must be 1 or greater")
        start = min((page - 1) * per_page, total)
        end = min(start + per_page, total)
    current = start // per_page + 1
    has_next, has_previous = end < total, start > 0
    base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"

    def link(position: str, value: str, ref: str) -> str:
        return f"{base}?{urlencode({**filters, position: value, 'per_page': str(per_page), 'ref': ref})}"

    first = link("page", "1", "first")
    last = link("page", str(total_pages), "last")
    if mode == "page":
        meta = {"page": current, "next_page": current + 1 if has_next else None,
                "previous_page": current - 1 if has_previous else None}
        next_link = link("page", str(current + 1), "next") if has_next else None
        previous_link = link("page", str(current - 1), "previous") if has_previous else None
    else:
        # cursor paging: page numbers only on the first and the last page, as Harvest documents
        meta = {"page": None, "next_page": None, "previous_page": None}
        if not has_previous:
            meta.update(page=1, next_page=2 if has_next else None)
        if not has_next:
            meta.update(page=total_pages, previous_page=total_pages - 1 if total_pages > 1 else None)
        next_link = (link("cursor", _encode_cursor("after", keys[end - 1], fields), "next_cursor")
                     if has_next else None)
        previous_link = (link("cursor", _encode_cursor("before", keys[start], fields), "previous_cursor")
                         if has_previous else None)
    return _Window(start, end, {
        "per_page": per_page, "total_pages": total_pages, "total_entries": total, **meta,
        "links": {"first": first, "next": next_link, "previous": previous_link, "last": last},
    })


def _envelope(name: str, rendered: Iterable[str | bytes], meta: dict[str, Any]) -> Response:
    items = b",".join(part if isinstance(part, bytes) else part.encode() for part in rendered)
    tail = render(meta)[1:]  # drop the opening brace: the envelope continues after the array
    body = b'{"' + name.encode() + b'":[' + items + b"]," + tail.encode()
    return Response(body, media_type="application/json; charset=utf-8")


# --- the app -----------------------------------------------------------------------------------


def _filters(request: Request, names: Iterable[str]) -> dict[str, str]:
    return {name: request.query_params[name] for name in names if name in request.query_params}


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise _Refused(400, {"message": "The request body is not valid JSON"}) from None
    if not isinstance(parsed, dict):
        raise _Refused(400, {"message": "The request body must be a JSON object"})
    return parsed


def _common_filters(request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    query = request.query_params
    if "is_active" in query:
        active = parse_bool(query["is_active"], "is_active")
        rows = [r for r in rows if r["is_active"] is active]
    if "updated_since" in query:
        since = parse_instant(query["updated_since"], "updated_since")
        rows = [r for r in rows if parse_instant(r["updated_at"], "updated_at") >= since]
    return rows


def create_sandbox(faults: Faults | None = None, *, account_id: str = "100001",
                   token: str = "q2c-sandbox-token", limits: VendorLimits | None = None,
                   clock: Callable[[], datetime] | None = None,
                   time_entry_paging: Paging = "page") -> HarvestSandbox:
    """A Harvest sandbox for one account and one access token (limits default to unlimited;
    pass `HARVEST_LIMITS` for the documented 100 requests per 15 s)."""
    state = SandboxAccount(account_id=account_id, clock=clock)
    app = FastAPI(title="Harvest API v2 sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    settings = {"time_entry_paging": time_entry_paging}

    @app.exception_handler(HarvestRefusal)
    async def refusal(_: Request, exc: HarvestRefusal) -> Response:
        return JSONResponse({"message": exc.message}, status_code=exc.status)

    @app.exception_handler(_Refused)
    async def refused(_: Request, exc: _Refused) -> Response:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return JSONResponse({"message": f"{where or 'request'}: {first.get('msg', 'is invalid')}"},
                            status_code=422)

    def authorize(request: Request) -> None:
        agent = request.headers.get("user-agent", "").strip()
        if not agent:
            raise _Refused(400, {"message": "A User-Agent header naming your application and a contact "
                                            "is required, e.g. 'MyApp (name@example.com)'"})
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if (scheme.lower() != "bearer" or presented.strip() != token
                or request.headers.get("harvest-account-id", "").strip() != account_id):
            raise _Refused(401, {"error": "invalid_token", "error_description":
                                 "The access token provided is expired, revoked, malformed or invalid "
                                 "for other reasons."})

    v2 = APIRouter(prefix="/v2", dependencies=[Depends(authorize)])

    def listing(request: Request, name: str, rows: list[dict[str, Any]], filters: Iterable[str]) -> Response:
        rows = sorted(rows, key=lambda r: r["id"])
        window = _window(request, [(r["id"],) for r in rows], (("id", int),), "cursor", _filters(request, filters))
        with state.lock:
            rendered = [render(r) for r in rows[window.start:window.end]]
        return _envelope(name, rendered, window.meta)

    # company and people
    @v2.get("/company")
    async def company() -> Response:
        with state.lock:
            return _json(state.company)

    @v2.get("/users")
    async def users(request: Request) -> Response:
        rows = _common_filters(request, state.rows("users"))
        return listing(request, "users", rows, ("is_active", "updated_since"))

    @v2.get("/users/me")
    async def me() -> Response:
        return _json(state.user(state.me_id))

    @v2.get("/users/{user_id}")
    async def user(user_id: int) -> Response:
        return _json(state.user(user_id))

    @v2.post("/users")
    async def create_user(request: Request) -> Response:
        return _json(state.create_user(await _body(request)), 201)

    # clients
    @v2.get("/clients")
    async def clients(request: Request) -> Response:
        rows = _common_filters(request, state.rows("clients"))
        return listing(request, "clients", rows, ("is_active", "updated_since"))

    @v2.get("/clients/{client_id}")
    async def client(client_id: int) -> Response:
        return _json(state.client(client_id))

    @v2.post("/clients")
    async def create_client(request: Request) -> Response:
        return _json(state.create_client(await _body(request)), 201)

    @v2.patch("/clients/{client_id}")
    async def update_client(client_id: int, request: Request) -> Response:
        return _json(state.update_client(client_id, await _body(request)))

    # projects
    @v2.get("/projects")
    async def projects(request: Request) -> Response:
        rows = _common_filters(request, state.rows("projects"))
        if "client_id" in request.query_params:
            client_id = parse_int(request.query_params["client_id"], "client_id")
            rows = [r for r in rows if r["client"]["id"] == client_id]
        return listing(request, "projects", rows, ("is_active", "updated_since", "client_id"))

    @v2.get("/projects/{project_id}")
    async def project(project_id: int) -> Response:
        return _json(state.project(project_id))

    @v2.post("/projects")
    async def create_project(request: Request) -> Response:
        return _json(state.create_project(await _body(request)), 201)

    @v2.patch("/projects/{project_id}")
    async def update_project(project_id: int, request: Request) -> Response:
        return _json(state.update_project(project_id, await _body(request)))

    # tasks
    @v2.get("/tasks")
    async def tasks(request: Request) -> Response:
        rows = _common_filters(request, state.rows("tasks"))
        return listing(request, "tasks", rows, ("is_active", "updated_since"))

    @v2.get("/tasks/{task_id}")
    async def task(task_id: int) -> Response:
        return _json(state.task(task_id))

    @v2.post("/tasks")
    async def create_task(request: Request) -> Response:
        return _json(state.create_task(await _body(request)), 201)

    @v2.patch("/tasks/{task_id}")
    async def update_task(task_id: int, request: Request) -> Response:
        return _json(state.update_task(task_id, await _body(request)))

    # assignments
    @v2.get("/projects/{project_id}/task_assignments")
    async def project_task_assignments(project_id: int, request: Request) -> Response:
        state.project(project_id)
        rows = [a for a in state.rows("task_assignments") if a["project"]["id"] == project_id]
        rows = _common_filters(request, rows)
        return listing(request, "task_assignments", rows, ("is_active", "updated_since"))

    @v2.post("/projects/{project_id}/task_assignments")
    async def assign_task(project_id: int, request: Request) -> Response:
        return _json(state.assign_task(project_id, await _body(request)), 201)

    @v2.patch("/projects/{project_id}/task_assignments/{assignment_id}")
    async def update_task_assignment(project_id: int, assignment_id: int, request: Request) -> Response:
        return _json(state.update_task_assignment(project_id, assignment_id, await _body(request)))

    @v2.get("/task_assignments")
    async def task_assignments(request: Request) -> Response:
        rows = _common_filters(request, state.rows("task_assignments"))
        return listing(request, "task_assignments", rows, ("is_active", "updated_since"))

    @v2.get("/projects/{project_id}/user_assignments")
    async def project_user_assignments(project_id: int, request: Request) -> Response:
        state.project(project_id)
        rows = [a for a in state.rows("user_assignments") if a["project"]["id"] == project_id]
        rows = _common_filters(request, rows)
        if "user_id" in request.query_params:
            user_id = parse_int(request.query_params["user_id"], "user_id")
            rows = [a for a in rows if a["user"]["id"] == user_id]
        return listing(request, "user_assignments", rows, ("is_active", "updated_since", "user_id"))

    @v2.post("/projects/{project_id}/user_assignments")
    async def assign_user(project_id: int, request: Request) -> Response:
        return _json(state.assign_user(project_id, await _body(request)), 201)

    @v2.patch("/projects/{project_id}/user_assignments/{assignment_id}")
    async def update_user_assignment(project_id: int, assignment_id: int, request: Request) -> Response:
        return _json(state.update_user_assignment(project_id, assignment_id, await _body(request)))

    @v2.get("/user_assignments")
    async def user_assignments(request: Request) -> Response:
        rows = _common_filters(request, state.rows("user_assignments"))
        return listing(request, "user_assignments", rows, ("is_active", "updated_since"))

    # time entries
    entry_filters = ("user_id", "client_id", "project_id", "task_id", "external_reference_id", "is_billed",
                     "is_running", "updated_since", "from", "to")

    @v2.get("/time_entries")
    async def time_entries(request: Request) -> Response:
        q = request.query_params

        def number(name: str) -> int | None:
            return parse_int(q[name], name) if name in q else None

        def flag(name: str) -> bool | None:
            return parse_bool(q[name], name) if name in q else None

        def day(name: str) -> date | None:
            return parse_date(q[name], name) if name in q else None

        query = TimeEntryQuery(
            user_id=number("user_id"), client_id=number("client_id"), project_id=number("project_id"),
            task_id=number("task_id"), external_reference_id=q.get("external_reference_id"),
            is_billed=flag("is_billed"), is_running=flag("is_running"),
            updated_since=parse_instant(q["updated_since"], "updated_since") if "updated_since" in q else None,
            spent_from=day("from"), spent_to=day("to"))
        paging: Paging = "cursor" if settings["time_entry_paging"] == "cursor" else "page"
        with state.lock:  # the page and its envelope as of one instant
            keys = state.time_entry_keys(query)
            window = _window(request, keys, (("spent_date", str), ("id", int)), paging,
                             _filters(request, entry_filters))
            rendered, _ = state.list_time_entries(query, window.start, window.end)
        return _envelope("time_entries", rendered, window.meta)

    @v2.get("/time_entries/{entry_id}")
    async def time_entry(entry_id: int) -> Response:
        return Response(state.time_entry_json(entry_id), media_type="application/json; charset=utf-8")

    @v2.post("/time_entries")
    async def create_time_entry(request: Request) -> Response:
        return _json(state.create_time_entry(await _body(request)), 201)

    @v2.patch("/time_entries/{entry_id}")
    async def update_time_entry(entry_id: int, request: Request) -> Response:
        return _json(state.update_time_entry(entry_id, await _body(request)))

    @v2.delete("/time_entries/{entry_id}")
    async def delete_time_entry(entry_id: int) -> Response:
        state.delete_time_entry(entry_id)
        return Response(status_code=200)

    app.include_router(v2)

    # --- admin: the person in the web UI, and synthetic load --------------------------------------
    def ids_of(body: dict[str, Any]) -> list[int]:
        raw = body.get("ids") or []
        if not isinstance(raw, list):
            raise HarvestRefusal("ids must be a list of time entry ids")
        return [parse_int(str(i), "ids") for i in raw]

    @app.post("/__sandbox/approve", include_in_schema=False)
    async def approve(request: Request) -> Response:
        body = await _body(request)
        approved = state.approve(ids_of(body), all_submitted=bool(body.get("all_submitted")))
        return _json({"approved": approved})

    @app.post("/__sandbox/withdraw_approval", include_in_schema=False)
    async def withdraw(request: Request) -> Response:
        return _json({"reopened": state.withdraw_approval(ids_of(await _body(request)))})

    @app.post("/__sandbox/invoice", include_in_schema=False)
    async def invoice(request: Request) -> Response:
        body = await _body(request)
        return _json(state.mark_invoiced(ids_of(body), number=body.get("number")))

    @app.post("/__sandbox/generate", include_in_schema=False)
    async def generate(request: Request) -> Response:
        body = await _body(request)
        start = parse_date(str(body.get("start", "2024-01-01")), "start")
        result = state.generate_time_entries(
            parse_int(str(body.get("count", 0)), "count"), people=parse_int(str(body.get("people", 20)), "people"),
            projects=parse_int(str(body.get("projects", 10)), "projects"), start=start,
            days=parse_int(str(body.get("days", 365)), "days"),
            approved_share=float(body.get("approved_share", 0.0)), seed=parse_int(str(body.get("seed", 0)), "seed"))
        return _json(result)

    @app.put("/__sandbox/paging", include_in_schema=False)
    async def paging(request: Request) -> Response:
        body = await _body(request)
        mode = body.get("time_entries")
        if mode not in ("page", "cursor"):
            raise HarvestRefusal("time_entries must be 'page' or 'cursor'")
        settings["time_entry_paging"] = mode
        return _json({"time_entries": mode})

    @app.get("/__sandbox/summary", include_in_schema=False)
    async def summary() -> Response:
        return _json({"account_id": account_id, "users": len(state.users), "clients": len(state.clients),
                      "projects": len(state.projects), "tasks": len(state.tasks),
                      "time_entries": state.time_entry_count})

    sandbox = HarvestSandbox(app, state, faults=faults, limits=limits)
    sandbox.account_id, sandbox.token = account_id, token
    return sandbox
