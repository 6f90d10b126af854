"""People, clients, projects, tasks and project members of the workspace, as Toggl Track v9 shows them.

Field names follow the v9 reference (engineering.toggl.com/docs/api/me, /workspaces, /clients,
/projects, /tasks): `GET /workspaces/{wid}/users` lists `{id, email, fullname, inactive, is_active,
is_admin, role}`; the organization's `workspace_users` list carries `uid`, `email`, `name`,
`timezone`, `admin`, `role`, `rate`; a workspace `organization_id`, `premium`, `admin`; a project
`client_id` (alias `cid`), `active`, `is_private`, `billable`, `rate`, `currency`; a task its
`project_id` and `active`; a project user its `project_id`, `user_id` and `manager`. Creating
answers 200 with the record. Error texts are the documented ones where the reference lists them
("Project user already exists", "project_ids cannot exceed 200 elements."); the rest are the
sandbox's own. Tasks are a premium feature: without it their creation answers 402 (wording the
sandbox's own).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from q2c.sandboxes.toggl.store import Store
from q2c.sandboxes.toggl.wire import Json, TogglRefusal, as_bool, as_date, as_int, optional_int, stamp_at

NAME_MAX = 255


def _name(body: Mapping[str, Any], what: str) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TogglRefusal(400, f"{what} name cannot be empty")
    if len(name.strip()) > NAME_MAX:
        raise TogglRefusal(400, f"{what} name maximum length is {NAME_MAX}")
    return name.strip()


# --- users and members -----------------------------------------------------------------------------


def add_user(store: Store, email: str, fullname: str, *, timezone: str, admin: bool, token: str,
             rate: Any = None, password: str | None = None) -> Json:
    now = stamp_at(store.now())
    user_id = store.new_id("user")
    user: Json = {"id": user_id, "api_token": token, "email": email, "fullname": fullname, "timezone": timezone,
                  "default_workspace_id": store.workspace_id, "beginning_of_week": 1, "image_url": None,
                  "created_at": now, "updated_at": now, "openid_email": None, "openid_enabled": False,
                  "country_id": None, "has_password": False, "at": now}
    if password:
        user["password"] = password
        user["has_password"] = True
    store.users[user_id] = user
    store.members[user_id] = {
        "id": store.new_id("member"), "user_id": user_id, "uid": user_id, "workspace_id": store.workspace_id,
        "wid": store.workspace_id, "email": email, "name": fullname, "timezone": timezone, "admin": admin,
        "workspace_admin": admin, "organization_admin": admin, "role": "admin" if admin else "user",
        "active": True, "inactive": False, "is_direct": True, "group_ids": [], "rate": rate,
        "labor_cost": None, "working_hours_in_minutes": 480, "at": now}
    return user


def me(store: Store, user_id: int) -> Json:
    """`GET /me`: the user, without what a real answer never carries (the sandbox's password)."""
    return {k: v for k, v in store.users[user_id].items() if k != "password"}


def workspace(store: Store, viewer: int) -> Json:
    """`GET /workspaces/{wid}` and each item of `GET /me/workspaces`, as `viewer` sees it."""
    admin = bool(store.members[viewer]["admin"])
    return {"id": store.workspace_id, "organization_id": store.organization_id, "name": store.name,
            "premium": store.premium, "business_ws": store.premium, "admin": admin,
            "role": store.members[viewer]["role"], "default_currency": store.default_currency,
            "default_hourly_rate": None, "rounding": 1, "rounding_minutes": 0, "only_admins_may_create_projects": False,
            "only_admins_see_billable_rates": False, "projects_billable_by_default": True,
            "at": stamp_at(store.now()), "server_deleted_at": None}


def organization_workspace_users(store: Store) -> list[Json]:
    """`GET /organizations/{oid}/workspaces/{wid}/workspace_users`: the long form, with `timezone`."""
    return [dict(member) for _, member in sorted(store.members.items())]


def workspace_users(store: Store) -> list[Json]:
    """`GET /workspaces/{wid}/users`: the short form with e-mail and role."""
    rows = []
    for user_id, member in sorted(store.members.items()):
        user = store.users[user_id]
        rows.append({"id": user_id, "email": user["email"], "fullname": user["fullname"],
                     "inactive": member["inactive"], "is_active": member["active"], "is_admin": member["admin"],
                     "role": member["role"]})
    return rows


def member_of(store: Store, user_id: int) -> Json:
    member = store.members.get(user_id)
    if member is None:
        raise TogglRefusal(400, "User not in workspace")
    return member


# --- clients -----------------------------------------------------------------------------------------


def create_client(store: Store, body: Mapping[str, Any], creator_id: int) -> Json:
    name = _name(body, "Client")
    if any(c["name"].casefold() == name.casefold() for c in store.clients.values()):
        raise TogglRefusal(400, "Name has already been taken")
    client_id = store.new_id("client")
    client: Json = {"id": client_id, "wid": store.workspace_id, "name": name, "archived": False,
                    "creator_id": creator_id, "notes": body.get("notes"), "at": stamp_at(store.now())}
    store.clients[client_id] = client
    return client


def list_clients(store: Store, *, status: str | None, name: str | None) -> list[Json]:
    status = status or "active"
    if status not in ("active", "archived", "both"):
        raise TogglRefusal(400, "Client status is invalid")
    rows = [c for c in store.clients.values()
            if status == "both" or c["archived"] == (status == "archived")]
    if name:
        rows = [c for c in rows if name.casefold() in c["name"].casefold()]
    return sorted(rows, key=lambda c: c["id"])


# --- projects ----------------------------------------------------------------------------------------


def _client_id(store: Store, body: Mapping[str, Any]) -> int | None:
    client_id = optional_int(body, "client_id") if body.get("client_id") is not None else optional_int(body, "cid")
    if client_id is not None and client_id not in store.clients:
        raise TogglRefusal(400, f"Client with the ID {client_id} isn't present in workspace {store.workspace_id}")
    return client_id


def _project_fields(store: Store, body: Mapping[str, Any], project: Json) -> None:
    if "name" in body:
        name = _name(body, "Project")
        if any(p["name"].casefold() == name.casefold() and p["id"] != project.get("id")
               for p in store.projects.values()):
            raise TogglRefusal(400, "Name has already been taken")
        project["name"] = name
    if "client_id" in body or "cid" in body:
        project["client_id"] = project["cid"] = _client_id(store, body)
    for flag in ("active", "is_private", "billable"):
        if body.get(flag) is not None:  # null is "not given": third-party clients send unset flags as null
            project[flag] = as_bool(body[flag], flag)
    if "rate" in body:
        rate = body["rate"]
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | Decimal) or rate < 0):
            raise TogglRefusal(400, "Invalid 'rate' value")
        project["rate"] = rate
    if "currency" in body:
        currency = body["currency"]
        if currency is not None and not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
            raise TogglRefusal(400, "Invalid 'currency' value")
        project["currency"] = currency.upper() if isinstance(currency, str) else None
    for day in ("start_date", "end_date"):
        if day in body:
            project[day] = None if body[day] is None else as_date(body[day], day).isoformat()
    project["status"] = "active" if project["active"] else "archived"
    project["at"] = stamp_at(store.now())


def create_project(store: Store, body: Mapping[str, Any]) -> Json:
    if "name" not in body:
        raise TogglRefusal(400, "Project name cannot be empty")
    project_id = store.new_id("project")
    project: Json = {"id": project_id, "workspace_id": store.workspace_id, "wid": store.workspace_id,
                     "client_id": None, "cid": None, "name": "", "is_private": True, "active": True,
                     "billable": False, "template": False, "auto_estimates": False, "estimated_hours": None,
                     "rate": None, "currency": None, "fixed_fee": None, "recurring": False, "color": "#0b83d9",
                     "start_date": store.now().date().isoformat(), "end_date": None, "status": "active",
                     "created_at": stamp_at(store.now()), "server_deleted_at": None, "at": ""}
    _project_fields(store, body, project)
    store.projects[project_id] = project
    return project


def update_project(store: Store, project_id: int, body: Mapping[str, Any]) -> Json:
    project = project_of(store, project_id)
    _project_fields(store, body, project)
    return project


def project_of(store: Store, project_id: int) -> Json:
    project = store.projects.get(project_id)
    if project is None:
        raise TogglRefusal(400, "Invalid project_id")
    return project


def list_projects(store: Store, query: Mapping[str, str]) -> list[Json]:
    """`GET /workspaces/{wid}/projects`: a plain array, `page` from 1, `per_page` default 151, at most 200."""
    active = query.get("active", "true")
    rows = [p for p in store.projects.values()
            if active == "both" or p["active"] == (active.lower() == "true")]
    if query.get("name"):
        rows = [p for p in rows if query["name"].casefold() in p["name"].casefold()]
    rows.sort(key=lambda p: (p["name"].casefold(), p["id"]))
    page = as_int(query.get("page", "1"), "page")
    per_page = min(as_int(query.get("per_page", "151"), "per_page"), 200)
    if page < 1 or per_page < 1:
        raise TogglRefusal(400, "Invalid 'page' value")
    return rows[(page - 1) * per_page: page * per_page]


# --- tasks -------------------------------------------------------------------------------------------


def create_task(store: Store, project_id: int, body: Mapping[str, Any]) -> Json:
    if not store.premium:
        raise TogglRefusal(402, "Tasks are a premium feature")
    project = store.projects.get(project_id)
    if project is None or not project["active"]:
        raise TogglRefusal(400, "Project not found/accessible, Can not change tasks of archived project")
    name = _name(body, "Task")
    if any(t["project_id"] == project_id and t["name"].casefold() == name.casefold() for t in store.tasks.values()):
        raise TogglRefusal(400, "Task name already exists in this project")
    task_id = store.new_id("task")
    task: Json = {"id": task_id, "name": name, "workspace_id": store.workspace_id, "project_id": project_id,
                  "user_id": optional_int(body, "user_id"), "active": body.get("active", True) is not False,
                  "estimated_seconds": optional_int(body, "estimated_seconds"), "tracked_seconds": 0,
                  "recurring": False, "server_deleted_at": None, "at": stamp_at(store.now())}
    store.tasks[task_id] = task
    return task


def project_tasks(store: Store, project_id: int) -> list[Json]:
    project_of(store, project_id)
    return sorted((t for t in store.tasks.values() if t["project_id"] == project_id), key=lambda t: t["id"])


def list_tasks(store: Store, query: Mapping[str, str]) -> Json:
    """`GET /workspaces/{wid}/tasks`: `{data, page, per_page, sort_field, sort_order, total_count}`."""
    active = query.get("active", "true")
    rows = [t for t in store.tasks.values() if active == "both" or t["active"] == (active.lower() == "true")]
    if query.get("pid"):
        rows = [t for t in rows if t["project_id"] == as_int(query["pid"], "pid")]
    rows.sort(key=lambda t: (t["name"].casefold(), t["id"]))
    page = as_int(query.get("page", "1"), "page")
    per_page = as_int(query.get("per_page", "50"), "per_page")
    if page < 1 or per_page < 1:
        raise TogglRefusal(400, "Invalid 'page' value")
    return {"data": rows[(page - 1) * per_page: page * per_page], "page": page, "per_page": per_page,
            "sort_field": "name", "sort_order": "ASC", "total_count": len(rows)}


# --- project members ---------------------------------------------------------------------------------


def add_project_user(store: Store, body: Mapping[str, Any]) -> Json:
    project_id = as_int(body.get("project_id"), "project_id")
    user_id = as_int(body.get("user_id"), "user_id")
    if project_id not in store.projects:
        raise TogglRefusal(400, "Invalid project_id")
    if user_id not in store.members:
        raise TogglRefusal(400, "Invalid user_id")
    if any(pu["project_id"] == project_id and pu["user_id"] == user_id for pu in store.project_users.values()):
        raise TogglRefusal(400, "Project user already exists")
    row_id = store.new_id("project_user")
    row: Json = {"id": row_id, "project_id": project_id, "user_id": user_id, "workspace_id": store.workspace_id,
                 "manager": body.get("manager") is True, "rate": body.get("rate"), "labor_cost": body.get("labor_cost"),
                 "gid": None, "group_id": None, "at": stamp_at(store.now())}
    store.project_users[row_id] = row
    return row


def list_project_users(store: Store, query: Mapping[str, str]) -> list[Json]:
    rows = list(store.project_users.values())
    if query.get("project_ids"):
        wanted = [as_int(p, "project_ids") for p in query["project_ids"].split(",") if p.strip()]
        if len(wanted) > 200:
            raise TogglRefusal(400, "project_ids cannot exceed 200 elements.")
        rows = [r for r in rows if r["project_id"] in wanted]
    if query.get("user_id"):
        rows = [r for r in rows if r["user_id"] == as_int(query["user_id"], "user_id")]
    return sorted(rows, key=lambda r: r["id"])
