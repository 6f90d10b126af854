"""Timesheet approvals (Approvals API, a premium feature): setups per member and their timesheets.

From the v9 reference (engineering.toggl.com/docs/api/approvals, also served as
developers.track.toggl.com/docs/api/approvals): `GET/POST
/workspaces/{wid}/timesheet_setups` (`member_ids`, `approver_id`, `periodicity`, `start_date`; the
GET answers `{data: [...]}`, the POST an array), `GET /workspaces/{wid}/timesheets` filtered by
`member_ids`, `approver_ids`, `timesheet_setup_ids`, `statuses`, `before`/`after` (on the period's
start), paged by `page` and `per_page` (default 20, and 20 again when asked for more than 1000),
`PUT /workspaces/{wid}/timesheets/{setup_id}/{start_date}` with `status` and `rejection_comment`,
and 402 "Approvals are a premium feature" without the feature. The reference gives the timesheets
answer as an array of `{data, page, per_page, total_count}` objects; the sandbox answers exactly
that. The status values (`pending`, `submitted`, `approved`, `rejected`), the periodicities
(`weekly`, `monthly`) and an approved period being locked are from recall. `GET
/workspaces/{wid}/timesheets/{setup_id}/{start_date}` ("Get the time entries from within a timesheet
timeframe") is in the reference's endpoint list. A period's days are the member's days: the member's
profile timezone decides which period an entry's start falls in (the sandbox's reading of Toggl's
"data is set into the appropriate timezone according to the setting in user profile").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from q2c.sandboxes.toggl.store import Store
from q2c.sandboxes.toggl.wire import Json, TogglRefusal, as_date, as_int, stamp

STATUSES = ("pending", "submitted", "approved", "rejected")
PERIODICITIES = ("weekly", "monthly")


def require_feature(store: Store) -> None:
    if not store.premium:
        raise TogglRefusal(402, "Approvals are a premium feature")


def _name(store: Store, user_id: int | None) -> str | None:
    return store.users[user_id]["fullname"] if user_id in store.users else None


def create_setups(store: Store, body: Mapping[str, Any], by_user: int) -> list[Json]:
    require_feature(store)
    if not store.members[by_user]["admin"]:
        raise TogglRefusal(400, "User is not an admin in the workspace")
    approver = as_int(body.get("approver_id"), "approver_id")
    members = body.get("member_ids")
    if not isinstance(members, list) or not members:
        raise TogglRefusal(400, "Invalid user ID")
    periodicity = body.get("periodicity", "weekly")
    if periodicity not in PERIODICITIES:
        raise TogglRefusal(400, "Invalid periodicity")
    start = as_date(body.get("start_date"), "start_date")
    for user_id in [approver, *(as_int(m, "member_ids") for m in members)]:
        if user_id not in store.members:
            raise TogglRefusal(400, "User not in workspace")
    created = []
    for member in (as_int(m, "member_ids") for m in members):
        if member == approver:
            raise TogglRefusal(400, "Approver cannot be member")
        if any(s["member_id"] == member for s in store.setups.values()):
            raise TogglRefusal(400, "Member already has a timesheet setup")
        setup_id = store.new_id("setup")
        store.setups[setup_id] = {
            "id": setup_id, "workspace_id": store.workspace_id, "member_id": member,
            "member_name": _name(store, member), "approver_id": approver, "approver_name": _name(store, approver),
            "approvers": [{"user_id": approver, "name": _name(store, approver)}], "periodicity": periodicity,
            "reminder_day": body.get("reminder_day"), "reminder_time": body.get("reminder_time"),
            "start_date": start.isoformat(), "end_date": None, "errors": [], "permissions": None}
        created.append(store.setups[setup_id])
    return created


def list_setups(store: Store, query: Mapping[str, str]) -> Json:
    require_feature(store)
    rows = sorted(store.setups.values(), key=lambda s: s["id"])
    if query.get("member_ids"):
        wanted = _ids(query["member_ids"], "member_ids")
        rows = [s for s in rows if s["member_id"] in wanted]
    if query.get("approver_ids"):
        wanted = _ids(query["approver_ids"], "approver_ids")
        rows = [s for s in rows if s["approver_id"] in wanted]
    return {"data": rows}


def periods(setup: Mapping[str, Any], until: date) -> Iterator[tuple[date, date]]:
    """The setup's periods from its start to the one holding `until`: weeks from the start's weekday,
    or calendar months (the first one from the start date)."""
    start = date.fromisoformat(setup["start_date"])
    while start <= until:
        if setup["periodicity"] == "weekly":
            end = start + timedelta(days=6)
        else:
            following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
            end = following - timedelta(days=1)
        yield start, end
        start = end + timedelta(days=1)


def render(store: Store, setup: Json, start: date, end: date) -> Json:
    state = store.decisions.get((setup["id"], start.isoformat()), {})
    status = state.get("status", "pending")
    decider = state.get("approved_or_rejected_id")
    return {
        "timesheet_setup_id": setup["id"], "workspace_id": store.workspace_id, "member_id": setup["member_id"],
        "member_name": setup["member_name"], "approver_id": setup["approver_id"],
        "approver_name": setup["approver_name"], "approvers": setup["approvers"], "periodicity": setup["periodicity"],
        "start_date": start.isoformat(), "end_date": end.isoformat(), "period_start": start.isoformat(),
        "period_end": end.isoformat(), "status": status, "submitted_at": state.get("submitted_at"),
        "approved_or_rejected_at": state.get("approved_or_rejected_at"), "approved_or_rejected_id": decider,
        "approved_or_rejected_name": _name(store, decider), "rejection_comment": state.get("rejection_comment"),
        "period_locked": status == "approved", "period_editable": status != "approved",
        "reviews": state.get("reviews", []), "working_hours_in_minutes": 2400,
        "reminder_day": setup["reminder_day"], "reminder_time": setup["reminder_time"], "reminder_sent_at": None,
        "permissions": None, "errors": []}


def list_timesheets(store: Store, query: Mapping[str, str]) -> list[Json]:
    require_feature(store)
    today = store.now().date()
    rows = [render(store, s, start, end) for s in store.setups.values() for start, end in periods(s, today)]
    for key, field in (("member_ids", "member_id"), ("approver_ids", "approver_id"),
                       ("timesheet_setup_ids", "timesheet_setup_id")):
        if query.get(key):
            wanted = _ids(query[key], key)
            rows = [r for r in rows if r[field] in wanted]
    if query.get("statuses"):
        statuses = [s.strip() for s in query["statuses"].split(",")]
        if any(s not in STATUSES for s in statuses):
            raise TogglRefusal(400, "Invalid status")
        rows = [r for r in rows if r["status"] in statuses]
    if query.get("after"):
        after = as_date(query["after"], "after").isoformat()
        rows = [r for r in rows if r["start_date"] > after]
    if query.get("before"):
        before = as_date(query["before"], "before").isoformat()
        rows = [r for r in rows if r["start_date"] < before]
    rows.sort(key=lambda r: (r["start_date"], r["member_id"]))
    page = as_int(query.get("page", "1"), "page")
    per_page = as_int(query.get("per_page", "20"), "per_page")
    per_page = 20 if per_page > 1000 or per_page < 1 else per_page
    return [{"data": rows[(page - 1) * per_page: page * per_page], "page": page, "per_page": per_page,
             "total_count": len(rows)}]


def setup_for(store: Store, setup_id: int) -> Json:
    setup = store.setups.get(setup_id)
    if setup is None:
        raise TogglRefusal(400, "Invalid setup ID")
    return setup


def period_of(store: Store, setup: Json, start: date) -> tuple[date, date]:
    for first, last in periods(setup, max(start, store.now().date())):
        if first == start:
            return first, last
    raise TogglRefusal(400, "Invalid date")


def decide(store: Store, setup_id: int, start: date, status: str, by_user: int, comment: str | None = None) -> Json:
    """Set a timesheet's status: `submitted` by its member, the others by an approver or an admin."""
    require_feature(store)
    setup = setup_for(store, setup_id)
    first, last = period_of(store, setup, start)
    if status not in STATUSES:
        raise TogglRefusal(400, "Invalid status")
    may_review = by_user in {a["user_id"] for a in setup["approvers"]} or store.members[by_user]["admin"]
    if (status == "submitted" and by_user != setup["member_id"] and not may_review) or (
            status != "submitted" and not may_review):
        raise TogglRefusal(403, "User does not have access to this resource")
    now = stamp(store.now())
    state = store.decisions.setdefault((setup_id, first.isoformat()), {})
    state["status"] = status
    if status == "submitted":
        state["submitted_at"] = now
    elif status in ("approved", "rejected"):
        state.update(approved_or_rejected_at=now, approved_or_rejected_id=by_user,
                     rejection_comment=comment if status == "rejected" else None,
                     reviews=[{"user_id": by_user, "name": _name(store, by_user), "approved": status == "approved",
                               "rejection_comment": comment if status == "rejected" else None}])
    else:
        for key in ("submitted_at", "approved_or_rejected_at", "approved_or_rejected_id", "rejection_comment"):
            state.pop(key, None)
        state["reviews"] = []
    return render(store, setup, first, last)


def covering(store: Store, member_id: int, day: date) -> tuple[Json, date] | None:
    """The setup and period start of the member's timesheet holding `day`."""
    for setup in store.setups.values():
        if setup["member_id"] == member_id:
            for first, last in periods(setup, day):
                if first <= day <= last:
                    return setup, first
    return None


def _ids(raw: str, name: str) -> list[int]:
    return [as_int(part.strip(), name) for part in raw.split(",") if part.strip()]


def member_day(store: Store, member_id: int, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(store.users[member_id]["timezone"])).date()


def status_on(store: Store, member_id: int, moment: datetime) -> str | None:
    """The status of the member's timesheet holding `moment` (None: the member has no timesheet setup)."""
    found = covering(store, member_id, member_day(store, member_id, moment))
    if found is None:
        return None
    setup, first = found
    return str(store.decisions.get((setup["id"], first.isoformat()), {}).get("status", "pending"))


def locked_for(store: Store, member_id: int, moment: datetime) -> bool:
    return member_id in store.users and status_on(store, member_id, moment) == "approved"


def period_bounds(store: Store, setup: Mapping[str, Any], start: date) -> tuple[date, date]:
    first, last = period_of(store, dict(setup), start)
    return first, last
