"""Change tracking: `Prefer: odata.track-changes` answers the rows with an `@odata.deltaLink`; the delta
link answers the rows changed since (current values), then `$deletedEntity` entries, and a fresh delta link.

The delta token is `<row version>!<UTC time>` (as Dataverse's look); one older than the organisation's
change-tracking retention answers "Version stamp associated with the client has expired". With
`Prefer: odata.maxpagesize` the answer is paged through `@odata.nextLink` (a tracking paging cookie that
continues after the last row version seen) and only the last page carries the delta link, whose version is
the organisation's version when the first page was read: a row changed while the pages are read comes again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlencode

from q2c.sandboxes.dynamics365_sales.errors import EXPIRED_VERSION_STAMP, DataverseError, bad_request
from q2c.sandboxes.dynamics365_sales.options import MAX_PAGE_SIZE, Preferences, QueryOptions
from q2c.sandboxes.dynamics365_sales.org import DataverseOrg
from q2c.sandboxes.dynamics365_sales.query import QUERY_SAFE, Renderer, context_select
from q2c.sandboxes.dynamics365_sales.tables import Table
from q2c.sandboxes.dynamics365_sales.wire import ApiRequest, ApiResponse

_STAMP = "%m/%d/%Y %H:%M:%S"
_COOKIE = re.compile(r'phase="(rows|deleted)" last="(\d+)" start="(\d+)" issued="(\d+)"')


def make_token(version: int, at: datetime) -> str:
    return f"{version}!{at.astimezone(UTC).strftime(_STAMP)}"


def read_token(token: str) -> tuple[int, datetime]:
    version, _, stamp = token.partition("!")
    try:
        return int(version), datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        raise bad_request(f"The delta token '{token}' is not valid.") from None


def _cookie(page: int, phase: str, last: int, start: int, issued: datetime) -> str:
    inner = (f'<cookie page="{page}" phase="{phase}" last="{last}" start="{start}" '
             f'issued="{int(issued.timestamp())}" />')
    paging = quote(quote(inner, safe=""), safe="")
    return f'<cookie pagenumber="{page + 1}" pagingcookie="{paging}" istracking="True" />'


def track_changes(org: DataverseOrg, table: Table, req: ApiRequest, options: QueryOptions,
                  prefs: Preferences) -> ApiResponse:
    for name, present in (("filter", options.filter is not None), ("orderby", bool(options.orderby)),
                          ("expand", bool(options.expand)), ("top", options.top is not None)):
        if present:
            raise bad_request(f'The "${name}" query parameter isn\'t supported when Change Tracking is enabled.')
    if not table.change_tracking:
        raise bad_request(f"Change tracking is not enabled for the entity {table.logical}.")
    size = min(prefs.max_page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    renderer = Renderer(org, prefs)
    with org.lock:
        now = org.clock()
        since = None
        if options.deltatoken is not None:
            since, issued_at = read_token(options.deltatoken)
            if now - issued_at > timedelta(days=org.change_tracking_days) or since > org.version:
                raise DataverseError(400, EXPIRED_VERSION_STAMP, "Version stamp associated with the client has "
                                     "expired. Please perform a full sync.")
        phase, last, start, issued = "rows", since or 0, org.version, now
        page_number = 1
        if options.skiptoken:
            state = _COOKIE.search(unquote(unquote(options.skiptoken)))
            number = re.search(r'pagenumber="(\d+)"', options.skiptoken)
            if state is None or number is None:
                raise bad_request(f"The $skiptoken '{options.skiptoken}' is not a paging cookie this service issued.")
            phase, last, start = state.group(1), int(state.group(2)), int(state.group(3))
            issued, page_number = datetime.fromtimestamp(int(state.group(4)), UTC), int(number.group(1))
        rows = org.table_rows(table.logical)
        value: list[dict[str, Any]] = []
        more = False
        if phase == "rows":
            changed = sorted((r for r in rows if int(r["versionnumber"]) > last), key=lambda r: int(r["versionnumber"]))
            chunk, more = changed[:size], len(changed) > size
            value = [renderer.row(table, r, options) for r in chunk]
            if chunk:
                last = int(chunk[-1]["versionnumber"])
            if not more and since is not None:
                phase, last = "deleted", since
        if phase == "deleted" and since is not None:
            alive = {str(r[table.primary_id]) for r in rows}
            stones = [s for s in org.tombstones if s.table == table.logical and s.version > last
                      and s.id not in alive]
            room = size - len(value)
            for stone in stones[:room]:
                value.append({"@odata.context": f"{req.api}/$metadata#{table.entity_set}/$deletedEntity",
                              "id": stone.id, "reason": "deleted"})
                last = stone.version
            more = len(stones) > room
    context = f"{req.api}/$metadata#{table.entity_set}{context_select(options)}" + ("/$delta" if since else "")
    body: dict[str, Any] = {"@odata.context": context, "value": value}
    kept = {k: v for k, v in req.params.items() if k.lower() in ("$select", "$deltatoken")}
    if more:
        kept["$skiptoken"] = _cookie(page_number, phase, last, start, issued)
        body["@odata.nextLink"] = f"{req.api}/{table.entity_set}?{urlencode(kept, quote_via=quote, safe=QUERY_SAFE)}"
    else:
        kept.pop("$deltatoken", None)
        kept["$deltatoken"] = make_token(start, issued)
        body["@odata.deltaLink"] = f"{req.api}/{table.entity_set}?{urlencode(kept, quote_via=quote, safe='$,')}"
    applied = ",".join(p for p in (prefs.applied(), "" if "track-changes" in prefs.applied() else
                                   "odata.track-changes") if p)
    return ApiResponse.of_json(200, body, {"Preference-Applied": applied})
