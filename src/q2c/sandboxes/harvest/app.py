"""A Harvest API v2 sandbox: the subset q2c uses, over real HTTP, with Harvest's auth, paging and errors.

What it reproduces: `Authorization: Bearer` + `Harvest-Account-Id` (401 `invalid_token` otherwise),
a required `User-Agent` (400 without), list envelopes with `links.next` (page links for time
entries, cursor links elsewhere, both kinds when asked), time entries newest first (entry_index),
`per_page` 1..2000 (422 beyond), `updated_since` filters, `{"message": ...}` validation errors, 422
on editing a locked entry, what the token's user may see and do by their access roles
(permissions), and the documented limit of 100 requests per 15 s answered with 429 + Retry-After.

This module holds the `/v2` routes and puts a sandbox together; the account, its records and the
protocol's pieces (auth, paging, limits, errors) are modules of their own, and the web-UI stand-ins
are under `/__sandbox/` (admin.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import Response

from q2c.sandboxes.harvest import admin, permissions
from q2c.sandboxes.harvest.account import SandboxAccount
from q2c.sandboxes.harvest.auth import authorize
from q2c.sandboxes.harvest.entry_index import QUERY_FILTERS, TimeEntryQuery
from q2c.sandboxes.harvest.errors import NotFound, install_error_handlers
from q2c.sandboxes.harvest.fields import as_int
from q2c.sandboxes.harvest.limits import HARVEST_LIMITS, harvest_throttle
from q2c.sandboxes.harvest.paging import MAX_PER_PAGE, Paging, envelope, filter_rows, filters_of, window
from q2c.sandboxes.harvest.served import Account, Served, ServedHere
from q2c.sandboxes.harvest.wire import JSON_MEDIA, Json, body_of, json_response
from q2c.sandboxes.kit import Faults, Sandbox, VendorLimits
from q2c.sandboxes.kit import render_json as render

__all__ = ["HARVEST_LIMITS", "MAX_PER_PAGE", "HarvestSandbox", "Paging", "create_sandbox", "harvest_throttle"]

ACTIVE_AND_UPDATED = ("is_active", "updated_since")


class HarvestSandbox(Sandbox):
    """The kit's sandbox with the Harvest account it serves, reachable for seeding as `.state`."""

    account_id: str = ""  # what a client sends as Harvest-Account-Id, and its personal access token
    token: str = ""

    def __init__(self, app: FastAPI, served: Served, *, faults: Faults | None,
                 limits: VendorLimits | None) -> None:
        super().__init__("harvest", app, faults=faults, limits=limits, throttle=harvest_throttle,
                         reset=served.reset)
        self.state: SandboxAccount = served.account


def _listing(request: Request, account: SandboxAccount, name: str, rows: list[Json],
             filters: Iterable[str]) -> Response:
    """A list other than time entries: by id, cursor-paged, as Harvest now pages them."""
    rows = sorted(rows, key=lambda r: r["id"])
    page = window(request, [(r["id"],) for r in rows], (("id", int),), "cursor",
                  filters_of(request.query_params, filters))
    with account.lock:
        rendered = [render(r) for r in rows[page.start:page.end]]
    return envelope(name, rendered, page.meta)


def _only(rows: list[Json], request: Request, name: str, path: tuple[str, str]) -> list[Json]:
    """The rows whose `path` ("client", "id") equals the query's `name` (client_id=…), if it is given."""
    if name not in request.query_params:
        return rows
    wanted = as_int(request.query_params[name], name)
    return [r for r in rows if r[path[0]][path[1]] == wanted]


v2 = APIRouter(prefix="/v2", dependencies=[Depends(authorize)])


# --- company and people ----------------------------------------------------------------------------
@v2.get("/company")
async def company(account: Account) -> Response:
    with account.lock:
        return json_response(account.company)


@v2.get("/users")
async def users(request: Request, account: Account) -> Response:
    permissions.may_list_users(account.me)
    rows = filter_rows(request.query_params, account.rows("users"))
    return _listing(request, account, "users", rows, ACTIVE_AND_UPDATED)


@v2.get("/users/me")
async def me(account: Account) -> Response:
    return json_response(account.user(account.me_id))


@v2.get("/users/{user_id}")
async def user(user_id: int, account: Account) -> Response:
    return json_response(account.user(user_id))


@v2.post("/users")
async def create_user(request: Request, account: Account) -> Response:
    return json_response(account.create_user(await body_of(request)), 201)


# --- clients -----------------------------------------------------------------------------------------
@v2.get("/clients")
async def clients(request: Request, account: Account) -> Response:
    rows = filter_rows(request.query_params, account.rows("clients"))
    return _listing(request, account, "clients", rows, ACTIVE_AND_UPDATED)


@v2.get("/clients/{client_id}")
async def client(client_id: int, account: Account) -> Response:
    return json_response(account.client(client_id))


@v2.post("/clients")
async def create_client(request: Request, account: Account) -> Response:
    permissions.require(account.me, "create clients", grant="client_and_task_manager")
    return json_response(account.create_client(await body_of(request)), 201)


@v2.patch("/clients/{client_id}")
async def update_client(client_id: int, request: Request, account: Account) -> Response:
    return json_response(account.update_client(client_id, await body_of(request)))


# --- projects ----------------------------------------------------------------------------------------
@v2.get("/projects")
async def projects(request: Request, account: Account) -> Response:
    with account.lock:
        visible = permissions.projects_visible_to(account.me, account.user_assignments)
    rows = filter_rows(request.query_params, account.rows("projects"))
    rows = rows if visible is None else [r for r in rows if r["id"] in visible]
    rows = _only(rows, request, "client_id", ("client", "id"))
    return _listing(request, account, "projects", rows, (*ACTIVE_AND_UPDATED, "client_id"))


@v2.get("/projects/{project_id}")
async def project(project_id: int, account: Account) -> Response:
    return json_response(account.project(project_id))


@v2.post("/projects")
async def create_project(request: Request, account: Account) -> Response:
    permissions.require(account.me, "create projects", grant="project_creator")
    return json_response(account.create_project(await body_of(request)), 201)


@v2.patch("/projects/{project_id}")
async def update_project(project_id: int, request: Request, account: Account) -> Response:
    return json_response(account.update_project(project_id, await body_of(request)))


# --- tasks -------------------------------------------------------------------------------------------
@v2.get("/tasks")
async def tasks(request: Request, account: Account) -> Response:
    rows = filter_rows(request.query_params, account.rows("tasks"))
    return _listing(request, account, "tasks", rows, ACTIVE_AND_UPDATED)


@v2.get("/tasks/{task_id}")
async def task(task_id: int, account: Account) -> Response:
    return json_response(account.task(task_id))


@v2.post("/tasks")
async def create_task(request: Request, account: Account) -> Response:
    permissions.require(account.me, "create tasks", grant="client_and_task_manager")
    return json_response(account.create_task(await body_of(request)), 201)


@v2.patch("/tasks/{task_id}")
async def update_task(task_id: int, request: Request, account: Account) -> Response:
    return json_response(account.update_task(task_id, await body_of(request)))


# --- task assignments ----------------------------------------------------------------------------------
@v2.get("/projects/{project_id}/task_assignments")
async def project_task_assignments(project_id: int, request: Request, account: Account) -> Response:
    account.project(project_id)
    rows = [a for a in account.rows("task_assignments") if a["project"]["id"] == project_id]
    rows = filter_rows(request.query_params, rows)
    return _listing(request, account, "task_assignments", rows, ACTIVE_AND_UPDATED)


@v2.post("/projects/{project_id}/task_assignments")
async def assign_task(project_id: int, request: Request, account: Account) -> Response:
    return json_response(account.assign_task(project_id, await body_of(request)), 201)


@v2.patch("/projects/{project_id}/task_assignments/{assignment_id}")
async def update_task_assignment(project_id: int, assignment_id: int, request: Request,
                                 account: Account) -> Response:
    return json_response(account.update_task_assignment(project_id, assignment_id, await body_of(request)))


@v2.get("/task_assignments")
async def task_assignments(request: Request, account: Account) -> Response:
    rows = filter_rows(request.query_params, account.rows("task_assignments"))
    return _listing(request, account, "task_assignments", rows, ACTIVE_AND_UPDATED)


# --- user assignments ----------------------------------------------------------------------------------
@v2.get("/projects/{project_id}/user_assignments")
async def project_user_assignments(project_id: int, request: Request, account: Account) -> Response:
    account.project(project_id)
    rows = [a for a in account.rows("user_assignments") if a["project"]["id"] == project_id]
    rows = _only(filter_rows(request.query_params, rows), request, "user_id", ("user", "id"))
    return _listing(request, account, "user_assignments", rows, (*ACTIVE_AND_UPDATED, "user_id"))


@v2.post("/projects/{project_id}/user_assignments")
async def assign_user(project_id: int, request: Request, account: Account) -> Response:
    return json_response(account.assign_user(project_id, await body_of(request)), 201)


@v2.patch("/projects/{project_id}/user_assignments/{assignment_id}")
async def update_user_assignment(project_id: int, assignment_id: int, request: Request,
                                 account: Account) -> Response:
    return json_response(account.update_user_assignment(project_id, assignment_id, await body_of(request)))


@v2.get("/user_assignments")
async def user_assignments(request: Request, account: Account) -> Response:
    rows = filter_rows(request.query_params, account.rows("user_assignments"))
    return _listing(request, account, "user_assignments", rows, ACTIVE_AND_UPDATED)


# --- time entries ----------------------------------------------------------------------------------------
@v2.get("/time_entries")
async def time_entries(request: Request, served: ServedHere) -> Response:
    """Newest first (entry_index), only the time the token's user may see; paged by page numbers unless
    the sandbox is set to cursors. Changes lined up between pages are made once this page is answered."""
    account = served.account
    with account.lock:  # the page and its envelope as of one instant
        query = TimeEntryQuery.from_query(request.query_params,
                                          permissions.time_visible_to(account.me, account.user_assignments))
        keys = account.time_entry_keys(query)
        page = window(request, keys, (("day", int), ("id", int)), served.time_entry_paging,
                      filters_of(request.query_params, QUERY_FILTERS))
        rendered, _ = account.list_time_entries(query, page.start, page.end)
        served.between_pages.listing_answered(account)
    return envelope("time_entries", rendered, page.meta)


@v2.get("/time_entries/{entry_id}")
async def time_entry(entry_id: int, account: Account) -> Response:
    with account.lock:
        visible = permissions.time_visible_to(account.me, account.user_assignments)
        entry = account.time_entry(entry_id)
        if visible is not None and entry["user"]["id"] not in visible[0] and entry["project"]["id"] not in visible[1]:
            raise NotFound("Time entry")
        return Response(account.time_entry_json(entry_id), media_type=JSON_MEDIA)


@v2.post("/time_entries")
async def create_time_entry(request: Request, account: Account) -> Response:
    return json_response(account.create_time_entry(await body_of(request)), 201)


@v2.patch("/time_entries/{entry_id}")
async def update_time_entry(entry_id: int, request: Request, account: Account) -> Response:
    return json_response(account.update_time_entry(entry_id, await body_of(request)))


@v2.delete("/time_entries/{entry_id}")
async def delete_time_entry(entry_id: int, account: Account) -> Response:
    account.delete_time_entry(entry_id)
    return Response(status_code=200)


def create_sandbox(faults: Faults | None = None, *, account_id: str = "100001",
                   token: str = "q2c-sandbox-token", limits: VendorLimits | None = None,
                   clock: Callable[[], datetime] | None = None,
                   time_entry_paging: Paging = "page") -> HarvestSandbox:
    """A Harvest sandbox for one account and one access token (limits default to unlimited;
    pass `HARVEST_LIMITS` for the documented 100 requests per 15 s)."""
    state = SandboxAccount(account_id=account_id, clock=clock)
    app = FastAPI(title="Harvest API v2 sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.served = served = Served(state, token, time_entry_paging)
    install_error_handlers(app)
    app.include_router(v2)
    app.include_router(admin.router)
    sandbox = HarvestSandbox(app, served, faults=faults, limits=limits)
    sandbox.account_id, sandbox.token = account_id, token
    return sandbox
