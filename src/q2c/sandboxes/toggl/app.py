"""A Toggl Track sandbox: API v9 and Reports API v3, the subset q2c uses, over real HTTP.

What it reproduces (each module says which of it is documented and which is observed or recalled):
HTTP Basic with `<api_token>:api_token` or e-mail and password (403 on wrong credentials, 401 without
any: engineering.toggl.com/docs/authentication), the user, the workspace and its people, clients,
projects (with `billable`, `rate`, `currency`), tasks, project users, time entries (`/me/time_entries`
and workspace-level create/update/stop/delete), timesheet approvals (setups and timesheets, 402
"Approvals are a premium feature" without the plan), the detailed report with `X-Next-ID` /
`X-Next-Row-Number` paging, Toggl's errors as bare JSON strings, the hourly quota (402 with
`X-Toggl-Quota-Remaining` / `X-Toggl-Quota-Resets-In`) and the leaky-bucket burst limit (429).

This module holds the routes and puts a sandbox together; the workspace and each part of the
protocol are modules of their own. `/__sandbox/users` adds a person (Toggl invites people by e-mail,
which a sandbox cannot do); it is the only route a real Toggl would not have besides the kit's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import Response

from q2c.sandboxes.kit import Faults, Sandbox, VendorLimits
from q2c.sandboxes.toggl import directory, entries, reports, timesheets
from q2c.sandboxes.toggl.auth import Member, StoreHere, Viewer, signed_in
from q2c.sandboxes.toggl.quota import TOGGL_BURST, Quota, install_quota, toggl_throttle
from q2c.sandboxes.toggl.store import Store, system_clock
from q2c.sandboxes.toggl.wire import (
    Json,
    TogglRefusal,
    as_bool,
    as_date,
    body_of,
    install_error_handlers,
    json_response,
)

__all__ = ["TOGGL_BURST", "Quota", "TogglSandbox", "create_sandbox"]

WORKSPACE_ID = 7_700_001
ORGANIZATION_ID = 6_600_001
OWNER_TOKEN = "1971800d4d82861d8f2c1651fea4d212"  # the shape of a Toggl API token: 32 hex digits
OWNER_EMAIL = "owner@sandbox-consulting.example"


class TogglSandbox(Sandbox):
    """The kit's sandbox with the workspace it serves (`.store`) and helpers to seed it."""

    def __init__(self, app: FastAPI, store: Store, quota: Quota, *, faults: Faults | None,
                 limits: VendorLimits | None, token: str) -> None:
        super().__init__("toggl", app, faults=faults, limits=limits, throttle=toggl_throttle,
                         reset=self._reset_all)
        self.store = store
        self.quota = quota
        self.token = token  # the workspace owner's API token (an admin)

    @property
    def workspace_id(self) -> int:
        return self.store.workspace_id

    def _reset_all(self) -> None:
        self.store.reset()
        self.quota.reset()

    # --- seeding (what a person does in the Toggl web app) -----------------------------------------
    def add_user(self, email: str, fullname: str, *, timezone: str = "UTC", admin: bool = False,
                 token: str | None = None, password: str | None = None) -> Json:
        with self.store.lock:
            return directory.add_user(self.store, email, fullname, timezone=timezone, admin=admin,
                                      token=token or f"{len(self.store.users) + 1:032x}", password=password)

    def owner_id(self) -> int:
        return next(int(u["id"]) for u in self.store.users.values() if u["api_token"] == self.token)


def _admin(store: Store, user_id: int) -> None:
    if not store.members[user_id]["admin"]:
        raise TogglRefusal(403, "User does not have access to this resource.")


api = APIRouter(prefix="/api/v9", dependencies=[Depends(signed_in)])


# --- me and the workspace ------------------------------------------------------------------------
@api.get("/me")
async def me(store: StoreHere, user_id: Viewer) -> Response:
    with store.lock:
        return json_response(directory.me(store, user_id))


@api.get("/me/workspaces")
async def my_workspaces(store: StoreHere, user_id: Viewer) -> Response:
    with store.lock:
        return json_response([directory.workspace(store, user_id)] if user_id in store.members else [])


@api.get("/workspaces/{workspace_id}")
async def workspace(workspace_id: int, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(directory.workspace(store, user_id))


@api.get("/workspaces/{workspace_id}/users")
async def workspace_users(workspace_id: int, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(directory.workspace_users(store))


@api.get("/organizations/{organization_id}/workspaces/{workspace_id}/workspace_users")
async def organization_workspace_users(organization_id: int, workspace_id: int, store: StoreHere,
                                       user_id: Member) -> Response:
    if organization_id != store.organization_id:
        raise TogglRefusal(403, "User does not have access to this resource.")
    with store.lock:
        return json_response(directory.organization_workspace_users(store))


# --- clients, projects, tasks, project users -----------------------------------------------------
@api.get("/workspaces/{workspace_id}/clients")
async def clients(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(directory.list_clients(store, status=request.query_params.get("status"),
                                                    name=request.query_params.get("name")))


@api.post("/workspaces/{workspace_id}/clients")
async def create_client(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    body = await body_of(request)
    with store.lock:
        return json_response(directory.create_client(store, body, user_id))


@api.get("/workspaces/{workspace_id}/projects")
async def projects(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(directory.list_projects(store, request.query_params))


@api.post("/workspaces/{workspace_id}/projects")
async def create_project(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    body = await body_of(request)
    with store.lock:
        return json_response(directory.create_project(store, body))


@api.get("/workspaces/{workspace_id}/projects/{project_id}")
async def project(workspace_id: int, project_id: int, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(directory.project_of(store, project_id))


@api.put("/workspaces/{workspace_id}/projects/{project_id}")
async def update_project(workspace_id: int, project_id: int, request: Request, store: StoreHere,
                         user_id: Member) -> Response:
    body = await body_of(request)
    with store.lock:
        return json_response(directory.update_project(store, project_id, body))


@api.get("/workspaces/{workspace_id}/projects/{project_id}/tasks")
async def project_tasks(workspace_id: int, project_id: int, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(directory.project_tasks(store, project_id))


@api.post("/workspaces/{workspace_id}/projects/{project_id}/tasks")
async def create_task(workspace_id: int, project_id: int, request: Request, store: StoreHere,
                      user_id: Member) -> Response:
    body = await body_of(request)
    with store.lock:
        return json_response(directory.create_task(store, project_id, body))


@api.get("/workspaces/{workspace_id}/tasks")
async def tasks(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(directory.list_tasks(store, request.query_params))


@api.get("/workspaces/{workspace_id}/project_users")
async def project_users(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(directory.list_project_users(store, request.query_params))


@api.post("/workspaces/{workspace_id}/project_users")
async def add_project_user(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    body = await body_of(request)
    with store.lock:
        _admin(store, user_id)
        return json_response(directory.add_project_user(store, body))


# --- time entries ----------------------------------------------------------------------------------
@api.get("/me/time_entries")
async def my_time_entries(request: Request, store: StoreHere, user_id: Viewer) -> Response:
    with store.lock:
        return json_response(entries.mine(store, user_id, request.query_params))


@api.get("/me/time_entries/current")
async def current_entry(store: StoreHere, user_id: Viewer) -> Response:
    with store.lock:
        running = next((e for e in store.entries.values() if e.user_id == user_id and e.running
                        and e.deleted_at is None), None)
        return json_response(None if running is None else entries.rendered(store, running, user_id))


@api.get("/me/time_entries/{entry_id}")
async def my_time_entry(entry_id: int, store: StoreHere, user_id: Viewer) -> Response:
    with store.lock:
        entry = entries.entry_of(store, entry_id)
        if entry.user_id != user_id:
            raise TogglRefusal(404, "Time entry not found")
        return json_response(entries.rendered(store, entry, user_id))


@api.post("/workspaces/{workspace_id}/time_entries")
async def create_time_entry(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    body = await body_of(request)
    with store.lock:
        return json_response(entries.rendered(store, entries.create(store, body, user_id), user_id))


@api.put("/workspaces/{workspace_id}/time_entries/{entry_id}")
async def update_time_entry(workspace_id: int, entry_id: int, request: Request, store: StoreHere,
                            user_id: Member) -> Response:
    body = await body_of(request)
    with store.lock:
        return json_response(entries.rendered(store, entries.update(store, entry_id, body, user_id), user_id))


@api.patch("/workspaces/{workspace_id}/time_entries/{entry_id}/stop")
async def stop_time_entry(workspace_id: int, entry_id: int, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(entries.rendered(store, entries.stop(store, entry_id, user_id), user_id))


@api.delete("/workspaces/{workspace_id}/time_entries/{entry_id}")
async def delete_time_entry(workspace_id: int, entry_id: int, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        entries.delete(store, entry_id, user_id)
    return Response(status_code=200)


# --- approvals -------------------------------------------------------------------------------------
@api.get("/workspaces/{workspace_id}/timesheet_setups")
async def timesheet_setups(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(timesheets.list_setups(store, request.query_params))


@api.post("/workspaces/{workspace_id}/timesheet_setups")
async def create_timesheet_setups(workspace_id: int, request: Request, store: StoreHere,
                                  user_id: Member) -> Response:
    body = await body_of(request)
    with store.lock:
        return json_response(timesheets.create_setups(store, body, user_id))


@api.get("/workspaces/{workspace_id}/timesheets")
async def workspace_timesheets(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    with store.lock:
        return json_response(timesheets.list_timesheets(store, request.query_params))


@api.put("/workspaces/{workspace_id}/timesheets/{setup_id}/{start_date}")
async def update_timesheet(workspace_id: int, setup_id: int, start_date: str, request: Request, store: StoreHere,
                           user_id: Member) -> Response:
    body = await body_of(request)
    status = body.get("status")
    comment = body.get("rejection_comment")
    with store.lock:
        return json_response(timesheets.decide(store, setup_id, as_date(start_date, "start_date"), str(status),
                                               user_id, comment if isinstance(comment, str) else None))


@api.get("/workspaces/{workspace_id}/timesheets/{setup_id}/{start_date}")
async def timesheet_entries(workspace_id: int, setup_id: int, start_date: str, store: StoreHere,
                            user_id: Member) -> Response:
    with store.lock:
        timesheets.require_feature(store)
        setup = timesheets.setup_for(store, setup_id)
        first, last = timesheets.period_bounds(store, setup, as_date(start_date, "start_date"))
        inside = [e for e in store.entries.values() if e.user_id == setup["member_id"] and e.deleted_at is None
                  and first <= timesheets.member_day(store, e.user_id, e.start) <= last]
        return json_response([entries.rendered(store, e, user_id) for e in sorted(inside, key=lambda e: e.start)])


# --- Reports API v3 --------------------------------------------------------------------------------
reports_api = APIRouter(prefix="/reports/api/v3", dependencies=[Depends(signed_in)])


@reports_api.post("/workspace/{workspace_id}/search/time_entries")
async def search_time_entries(workspace_id: int, request: Request, store: StoreHere, user_id: Member) -> Response:
    body = await body_of(request)
    with store.lock:
        report = reports.search(store, user_id, body)
    return json_response(report.rows, headers=report.headers)


# --- the stand-in for inviting people --------------------------------------------------------------
admin = APIRouter(prefix="/__sandbox", include_in_schema=False)


@admin.post("/users")
async def add_person(request: Request, store: StoreHere) -> Response:
    body = await body_of(request)
    email, name = body.get("email"), body.get("fullname")
    if not isinstance(email, str) or "@" not in email or not isinstance(name, str) or not name.strip():
        raise TogglRefusal(400, "email and fullname are required")
    sandbox: TogglSandbox = request.app.state.sandbox
    user = sandbox.add_user(email, name.strip(), timezone=str(body.get("timezone") or "UTC"),
                            admin=as_bool(body.get("admin", False), "admin"))
    return json_response(user)


def create_sandbox(faults: Faults | None = None, *, token: str = OWNER_TOKEN, workspace_id: int = WORKSPACE_ID,
                   limits: VendorLimits | None = None, quota: Quota | None = None,
                   clock: Callable[[], datetime] | None = None, premium: bool = True,
                   owner_timezone: str = "UTC") -> TogglSandbox:
    """A workspace with its owner (an admin whose API token is `token`). Limits default to none; pass
    `TOGGL_BURST` and a `Quota(per_organization=600, per_user=30)` for Toggl's documented ones."""
    store = Store(workspace_id=workspace_id, organization_id=ORGANIZATION_ID, clock=clock or system_clock,
                  premium=premium)
    app = FastAPI(title="Toggl Track API v9 sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    install_error_handlers(app)
    quota = quota or Quota()
    install_quota(app, quota)
    app.include_router(api)
    app.include_router(reports_api)
    app.include_router(admin)
    sandbox = TogglSandbox(app, store, quota, faults=faults, limits=limits, token=token)
    app.state.sandbox = sandbox
    directory.add_user(store, OWNER_EMAIL, "Sandbox Owner", timezone=owner_timezone, admin=True, token=token)
    store.keep_as_initial()
    return sandbox
