"""The Reports API v3 detailed search: `POST /reports/api/v3/workspace/{wid}/search/time_entries`.

From the reference (engineering.toggl.com/docs/track/reports/detailed_reports, and the overview at
engineering.toggl.com/docs/reports_start): a JSON body of filters (`start_date`/`end_date` as YYYY-MM-DD, `user_ids`,
`project_ids`, `task_ids`, `time_entry_ids`, `billable`, `description`), `grouped` (default false),
`order_by` (`date`, `user`, `duration`, `description`, `last_update`; default date), `order_dir`
(ASC or DESC), `page_size` (default 50), `hide_amounts`, `enrich_response`; an empty body is 400
"At least one parameter must be set". The answer is an array of rows (`user_id`, `username`,
`project_id`, `task_id`, `billable`, `description`, `tag_ids`, `billable_amount_in_cents`,
`hourly_rate_in_cents`, `currency`, `row_number` and `time_entries` of `{id, seconds, start, stop,
at, at_tz}`; enriched rows add `email`, `project_name`, `client_name`, `task_name`, `tag_names`).
A further page is announced by `X-Next-ID` (the id of its first item) and `X-Next-Row-Number` (its
row number), sent back as `first_id` and `first_row_number`; `X-Range-Start`/`X-Range-End` give
the dates used.

Beyond the reference: a Toggl engineer wrote (toggl/toggl_api_docs issue #182, about the detailed
report) that the dates are read "according to each user's local timezone", so an entry counts on
its owner's day; Toggl's mobile team noted the interval "can be at most one year" (toggl/mobileapp
#970). Times are shown in the requesting user's timezone (API overview). From recall: a non-admin
sees only their own time; `end_date` is inclusive; a running entry appears with `stop` null; the
default order is by date, newest first. The sandbox's own choices: with no dates it reports the last
seven days; paging follows `first_row_number` (`first_id` is accepted and not checked); filters
given as null or as an empty list are no filter (toggl-api-wrapper sends every id filter as [] against the
real API, so [] cannot mean "nothing"; the reference's way to pick records without one is [null]).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from q2c.sandboxes.toggl.store import Entry, Store
from q2c.sandboxes.toggl.wire import Json, TogglRefusal, as_bool, as_date, as_int, stamp

ORDERS = ("date", "user", "duration", "description", "last_update")
MAX_RANGE_DAYS = 366


class Report:
    """One search: the rows of one page, and the headers that go with it."""

    def __init__(self, rows: list[Json], headers: dict[str, str]) -> None:
        self.rows = rows
        self.headers = headers


def _window(store: Store, body: Mapping[str, Any], zone: ZoneInfo) -> tuple[date, date]:
    given_start = as_date(body["start_date"], "start_date") if body.get("start_date") else None
    given_end = as_date(body["end_date"], "end_date") if body.get("end_date") else None
    if given_start is None:
        end = given_end or store.now().astimezone(zone).date()
        start = end - timedelta(days=6)
    else:
        start, end = given_start, given_end or given_start + timedelta(days=6)
    if end < start:
        raise TogglRefusal(400, "end_date should be greater than start_date")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise TogglRefusal(400, f"Maximum allowed date range is {MAX_RANGE_DAYS} days")
    return start, end


def _id_filter(body: Mapping[str, Any], name: str) -> list[int | None] | None:
    value = body.get(name)
    if value is None or value == []:  # null or empty: no filter ([null] is the one that picks "none")
        return None
    if not isinstance(value, list):
        raise TogglRefusal(400, f"Invalid '{name}' value")
    return [None if v is None else as_int(v, name) for v in value]


def _owner_day(store: Store, entry: Entry) -> date:
    return entry.start.astimezone(ZoneInfo(store.users[entry.user_id]["timezone"])).date()


def _visible(store: Store, viewer: int, body: Mapping[str, Any], start: date, end: date) -> list[Entry]:
    rows = [e for e in store.entries.values() if e.deleted_at is None and start <= _owner_day(store, e) <= end]
    if not store.members[viewer]["admin"]:
        rows = [e for e in rows if e.user_id == viewer]
    for name, attribute in (("user_ids", "user_id"), ("project_ids", "project_id"), ("task_ids", "task_id"),
                            ("time_entry_ids", "id")):
        wanted = _id_filter(body, name)
        if wanted is not None:
            rows = [e for e in rows if getattr(e, attribute) in wanted]
    if body.get("billable") is not None:
        billable = as_bool(body["billable"], "billable")
        rows = [e for e in rows if e.billable is billable]
    if body.get("description"):
        text = str(body["description"]).casefold()
        rows = [e for e in rows if text in (e.description or "").casefold()]
    return rows


def _rate_cents(store: Store, entry: Entry) -> int | None:
    rate = next((pu["rate"] for pu in store.project_users.values()
                 if pu["project_id"] == entry.project_id and pu["user_id"] == entry.user_id and pu["rate"]), None)
    if rate is None and entry.project_id in store.projects:
        rate = store.projects[entry.project_id]["rate"]
    if rate is None:
        rate = store.members[entry.user_id]["rate"]
    return None if rate is None else int((Decimal(str(rate)) * 100).quantize(Decimal(1), ROUND_HALF_UP))


def _row(store: Store, group: list[Entry], zone: ZoneInfo, *, hide_amounts: bool, enrich: bool) -> Json:
    first = group[0]
    rate = None if hide_amounts or not first.billable else _rate_cents(store, first)
    seconds = sum(max(e.duration, 0) for e in group)
    user = store.users[first.user_id]
    row: Json = {
        "user_id": first.user_id, "username": user["fullname"], "project_id": first.project_id,
        "task_id": first.task_id, "billable": first.billable, "description": first.description or "",
        "tag_ids": [], "billable_amount_in_cents": None if rate is None else int(
            (Decimal(rate) * seconds / 3600).quantize(Decimal(1), ROUND_HALF_UP)),
        "hourly_rate_in_cents": rate, "currency": _currency(store, first),
        "time_entries": [{"id": e.id, "seconds": e.duration, "start": _local(e.start, zone),
                          "stop": _local(e.stop, zone) if e.stop else None, "at": stamp(e.at),
                          "at_tz": _local(e.at, zone)} for e in group],
        "row_number": 0}
    if enrich:
        project = store.projects.get(first.project_id or 0)
        client = store.clients.get((project or {}).get("client_id") or 0)
        task = store.tasks.get(first.task_id or 0)
        row.update(email=user["email"], project_name=project["name"] if project else None,
                   client_name=client["name"] if client else None, task_name=task["name"] if task else None,
                   tag_names=list(first.tags), project_color=project["color"] if project else None)
    return row


def _currency(store: Store, entry: Entry) -> str:
    project = store.projects.get(entry.project_id or 0)
    return str((project or {}).get("currency") or store.default_currency)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds")


def _groups(entries: list[Entry], grouped: bool) -> list[list[Entry]]:
    if not grouped:
        return [[e] for e in entries]
    keyed: dict[tuple[Any, ...], list[Entry]] = {}
    for e in sorted(entries, key=lambda e: (e.start, e.id)):
        keyed.setdefault((e.user_id, e.project_id, e.task_id, e.description, e.billable, tuple(e.tags)), []).append(e)
    return list(keyed.values())


def _order(store: Store, order_by: str) -> Callable[[list[Entry]], tuple[Any, ...]]:
    keys: dict[str, Callable[[list[Entry]], Any]] = {
        "date": lambda g: g[0].start, "last_update": lambda g: max(e.at for e in g),
        "user": lambda g: store.users[g[0].user_id]["fullname"].casefold(),
        "duration": lambda g: sum(e.duration for e in g), "description": lambda g: (g[0].description or "").casefold()}
    return lambda g: (keys[order_by](g), g[0].id)


def search(store: Store, viewer: int, body: Mapping[str, Any]) -> Report:
    if not body:
        raise TogglRefusal(400, "At least one parameter must be set")
    zone = ZoneInfo(store.users[viewer]["timezone"])
    start, end = _window(store, body, zone)
    order_by = body.get("order_by") or "date"
    if order_by not in ORDERS:
        raise TogglRefusal(400, f"Invalid 'order_by' value, allowed values are: '{', '.join(ORDERS)}'")
    order_dir = str(body.get("order_dir") or "DESC").upper()
    if order_dir not in ("ASC", "DESC"):
        raise TogglRefusal(400, "Invalid 'order_dir' value, allowed values are: 'ASC, DESC'")
    page_size = as_int(body.get("page_size") or 50, "page_size")
    first_row = as_int(body.get("first_row_number") or 1, "first_row_number")
    if page_size < 1 or first_row < 1:
        raise TogglRefusal(400, "Invalid 'page_size' value" if page_size < 1 else "Invalid 'first_row_number' value")
    groups = _groups(_visible(store, viewer, body, start, end), body.get("grouped") is True)
    groups.sort(key=_order(store, order_by), reverse=order_dir == "DESC")
    page = groups[first_row - 1: first_row - 1 + page_size]
    rows = []
    for number, group in enumerate(page, start=first_row):
        row = _row(store, group, zone, hide_amounts=body.get("hide_amounts") is True,
                   enrich=body.get("enrich_response") is True)
        row["row_number"] = number
        rows.append(row)
    headers = {"X-Range-Start": start.isoformat(), "X-Range-End": end.isoformat()}
    following = first_row - 1 + page_size
    if following < len(groups):
        headers["X-Next-ID"] = str(groups[following][0].id)
        headers["X-Next-Row-Number"] = str(following + 1)
    return Report(rows, headers)
