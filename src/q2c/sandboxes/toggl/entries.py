"""Time entries as Toggl Track v9 writes and shows them (engineering.toggl.com/docs/api/time_entries).

Shape (the v9 reference's time entry model, and answers shown by third-party clients): `id,
workspace_id, project_id, task_id, billable, start, stop, duration, description, tags, tag_ids,
duronly, at, server_deleted_at, user_id`, with the legacy aliases `uid, wid` and `pid`/`tid` when set.
`duration` is in seconds; a running entry has `stop` null and a negative duration (documented). `start`
and `stop` come back in the requesting user's profile timezone (API overview); `at` in UTC. Creating
needs `created_with`, `workspace_id` and `start`; a stop or a duration finishes it; `user_id` lets an
admin create time for someone else (documented: "if omitted will use the requester user ID").
From recall: a user has at most one running entry (starting another stops it); a private project
takes time only from its members and the admins. The sandbox's own rule, standing in for
Toggl's locked periods (`period_locked` on an approved timesheet): an entry in an approved period
cannot be created, changed or deleted until the timesheet is reopened.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from q2c.sandboxes.toggl.store import Entry, Store
from q2c.sandboxes.toggl.timesheets import locked_for
from q2c.sandboxes.toggl.wire import (
    Json,
    TogglRefusal,
    as_bool,
    as_instant,
    as_int,
    local,
    optional_int,
    stamp,
    stamp_at,
)

LOCKED = "Time entry is in an approved timesheet period, which is locked"  # the sandbox's own wording


def rendered(store: Store, entry: Entry, viewer: int) -> Json:
    """The entry as `viewer` sees it: times in their profile timezone."""
    zone = store.users[viewer]["timezone"]
    body: Json = {
        "id": entry.id, "workspace_id": store.workspace_id, "project_id": entry.project_id,
        "task_id": entry.task_id, "billable": entry.billable, "start": local(entry.start, zone),
        "stop": local(entry.stop, zone) if entry.stop else None, "duration": entry.duration,
        "description": entry.description, "tags": list(entry.tags), "tag_ids": [], "duronly": True,
        "at": stamp_at(entry.at), "server_deleted_at": stamp(entry.deleted_at) if entry.deleted_at else None,
        "user_id": entry.user_id, "uid": entry.user_id, "wid": store.workspace_id}
    if entry.project_id is not None:
        body["pid"] = entry.project_id
    if entry.task_id is not None:
        body["tid"] = entry.task_id
    return body


def _refuse_locked(store: Store, user_id: int, start: datetime) -> None:
    if locked_for(store, user_id, start):
        raise TogglRefusal(400, LOCKED)


def entry_of(store: Store, entry_id: int) -> Entry:
    entry = store.entries.get(entry_id)
    if entry is None or entry.deleted_at is not None:
        raise TogglRefusal(404, "Time entry not found")
    return entry


def _refs(store: Store, body: Mapping[str, Any], user_id: int, current: Entry | None) -> tuple[int | None, int | None]:
    project_id = current.project_id if current else None
    task_id = current.task_id if current else None
    for key in ("project_id", "pid"):
        if key in body:
            project_id = optional_int(body, key)
    for key in ("task_id", "tid"):
        if key in body:
            task_id = optional_int(body, key)
    if project_id is not None:
        project = store.projects.get(project_id)
        if project is None:
            raise TogglRefusal(400, "Invalid project_id")
        members = {pu["user_id"] for pu in store.project_users.values() if pu["project_id"] == project_id}
        if project["is_private"] and user_id not in members and not store.members[user_id]["admin"]:
            raise TogglRefusal(403, "User cannot access the selected project")
    if task_id is not None:
        task = store.tasks.get(task_id)
        if task is None or task["project_id"] != project_id:
            raise TogglRefusal(400, "Invalid task_id")
    return project_id, task_id


def _timing(body: Mapping[str, Any], current: Entry | None) -> tuple[datetime, datetime | None, int]:
    start = as_instant(body["start"], "start") if "start" in body else (current.start if current else None)
    if start is None:
        raise TogglRefusal(400, "Start is required")
    stop = current.stop if current else None
    duration = current.duration if current else None
    if "stop" in body:
        stop = None if body["stop"] is None else as_instant(body["stop"], "stop")
        duration = None
    if "duration" in body and body["duration"] is not None:
        duration = as_int(body["duration"], "duration")
        if "stop" not in body:
            stop = None
    if stop is not None:
        if stop < start:
            raise TogglRefusal(400, "Stop time must be after start time")
        return start, stop, int((stop - start).total_seconds())
    if duration is None or duration < 0:
        return start, None, -int(start.timestamp())
    return start, start + timedelta(seconds=duration), duration


def _user(store: Store, body: Mapping[str, Any], by_user: int) -> int:
    user_id = optional_int(body, "user_id") or by_user
    if user_id != by_user and not store.members[by_user]["admin"]:
        raise TogglRefusal(403, "Only workspace admins may add time for other users")
    if user_id not in store.members:
        raise TogglRefusal(400, "User not in workspace")
    return user_id


def _stop_running(store: Store, user_id: int, at: datetime) -> None:
    for other in store.entries.values():
        if other.user_id == user_id and other.running and other.deleted_at is None:
            other.stop = max(at, other.start)
            other.duration = int((other.stop - other.start).total_seconds())
            other.at = at


def create(store: Store, body: Mapping[str, Any], by_user: int) -> Entry:
    if not isinstance(body.get("created_with"), str) or not body["created_with"].strip():
        raise TogglRefusal(400, "created_with needs to be provided an a valid string")
    if as_int(body.get("workspace_id", store.workspace_id), "workspace_id") != store.workspace_id:
        raise TogglRefusal(400, "Workspace ID in the body does not match the one in the path")
    user_id = _user(store, body, by_user)
    project_id, task_id = _refs(store, body, user_id, None)
    start, stop, duration = _timing(body, None)
    _refuse_locked(store, user_id, start)
    now = store.now()
    if stop is None:
        _stop_running(store, user_id, now)
    entry = Entry(id=store.new_id("time_entry"), user_id=user_id, project_id=project_id, task_id=task_id,
                  billable=as_bool(body.get("billable", False), "billable"),
                  description=_description(body.get("description")), tags=_tags(body.get("tags")),
                  start=start, stop=stop, duration=duration, at=now, created_with=body["created_with"].strip())
    store.entries[entry.id] = entry
    return entry


def update(store: Store, entry_id: int, body: Mapping[str, Any], by_user: int) -> Entry:
    entry = entry_of(store, entry_id)
    if entry.user_id != by_user and not store.members[by_user]["admin"]:
        raise TogglRefusal(403, "User does not have access to this resource.")
    _refuse_locked(store, entry.user_id, entry.start)
    project_id, task_id = _refs(store, body, entry.user_id, entry)
    start, stop, duration = _timing(body, entry)
    _refuse_locked(store, entry.user_id, start)
    entry.project_id, entry.task_id = project_id, task_id
    entry.start, entry.stop, entry.duration = start, stop, duration
    if "billable" in body:
        entry.billable = as_bool(body["billable"], "billable")
    if "description" in body:
        entry.description = _description(body["description"])
    if "tags" in body:
        entry.tags = _tags(body["tags"])
    entry.at = store.now()
    return entry


def stop(store: Store, entry_id: int, by_user: int) -> Entry:
    entry = entry_of(store, entry_id)
    if not entry.running:
        raise TogglRefusal(409, "Time entry already stopped")
    return update(store, entry_id, {"stop": stamp(max(store.now(), entry.start))}, by_user)


def delete(store: Store, entry_id: int, by_user: int) -> None:
    entry = entry_of(store, entry_id)
    if entry.user_id != by_user and not store.members[by_user]["admin"]:
        raise TogglRefusal(403, "User does not have access to this resource.")
    _refuse_locked(store, entry.user_id, entry.start)
    entry.deleted_at = entry.at = store.now()


def mine(store: Store, user_id: int, query: Mapping[str, str]) -> list[Json]:
    """`GET /me/time_entries`: `since` (modified since, deleted included) or a `start_date`/`end_date` window."""
    if "since" in query and "before" in query:
        raise TogglRefusal(400, "'since' and 'before' can not be present simultaneously")
    rows = [e for e in store.entries.values() if e.user_id == user_id]
    if "since" in query:
        since = as_int(query["since"], "since")
        rows = [e for e in rows if e.at.timestamp() >= since]
    else:
        rows = [e for e in rows if e.deleted_at is None]
        if "start_date" in query:
            rows = [e for e in rows if e.start >= as_instant(_day(query["start_date"]), "start_date")]
        if "end_date" in query:
            rows = [e for e in rows if e.start < as_instant(_day(query["end_date"]), "end_date")]
    return [rendered(store, e, user_id) for e in sorted(rows, key=lambda e: e.start, reverse=True)]


def _day(value: str) -> str:
    return f"{value}T00:00:00+00:00" if len(value) == 10 else value


def _description(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TogglRefusal(400, "Invalid 'description' value")
    return value


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise TogglRefusal(400, "Invalid 'tags' value")
    return [t.strip() for t in value if t.strip()]
