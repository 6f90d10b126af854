"""Harvest's list envelopes: `per_page`, page and cursor paging with `links`, and the common filters.

From Harvest's pagination documentation: `per_page` defaults to and is at most 2000 (a larger one is
a 422); the envelope carries `per_page`, `total_pages`, `total_entries`, `page`, `next_page`,
`previous_page` and `links` {first, next, previous, last}; a client follows `links.next` verbatim.
With cursor paging, `page`, `next_page` and `previous_page` are null on all but the first and the
last page, and a `cursor` in the query wins over `page`. Cursors are opaque, as Harvest's are
(theirs decode to `{"after": {"id": 3007}}`); a cursor names the last key seen, so a page does not
shift when records are added before it. The `ref=` values in links are Harvest's.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from q2c.sandboxes.harvest.errors import HarvestRefusal
from q2c.sandboxes.harvest.fields import as_bool, as_int, parse_instant
from q2c.sandboxes.harvest.wire import JSON_MEDIA, Json
from q2c.sandboxes.kit import render_json as render

MAX_PER_PAGE = 2000

Paging = Literal["page", "cursor"]
# A sort key field of a listing and its type: ("id", int), ("spent_date", str).
KeyField = tuple[str, type]


def encode_cursor(direction: str, key: Sequence[Any], fields: Sequence[KeyField]) -> str:
    """Opaque like Harvest's: base64url of {"after": {"id": 3007}}."""
    where = {name: value for (name, _), value in zip(fields, key, strict=True)}
    raw = json.dumps({direction: where}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fields: Sequence[KeyField]) -> tuple[str, tuple[Any, ...]]:
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
class Window:
    """Where this request's page starts and ends in the sorted records, and the envelope around it."""

    start: int
    end: int
    meta: dict[str, Any]


def per_page_of(query: Mapping[str, str]) -> int:
    if "per_page" not in query:
        return MAX_PER_PAGE
    per_page = as_int(query["per_page"], "per_page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise HarvestRefusal(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return per_page


def _bounds(query: Mapping[str, str], keys: Sequence[tuple[Any, ...]], fields: Sequence[KeyField],
            per_page: int) -> tuple[int, int, bool]:
    """(start, end, whether a cursor placed them)."""
    total = len(keys)
    cursor = query.get("cursor")
    if cursor:
        direction, key = decode_cursor(cursor, fields)
        if direction == "after":
            start = bisect_right(keys, key)
            return start, min(start + per_page, total), True
        end = bisect_left(keys, key)
        return max(0, end - per_page), end, True
    page = as_int(query["page"], "page") if "page" in query else 1
    if page < 1:
        raise HarvestRefusal("page must be 1 or greater")
    start = min((page - 1) * per_page, total)
    return start, min(start + per_page, total), False


class _LinkTo:
    """The listing's own URL with its filters, a position (page or cursor), per_page and Harvest's `ref`."""

    def __init__(self, request: Request, filters: Mapping[str, str], per_page: int) -> None:
        self._base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        self._filters = filters
        self._per_page = str(per_page)

    def __call__(self, position: str, value: str, ref: str) -> str:
        return f"{self._base}?{urlencode({**self._filters, position: value, 'per_page': self._per_page, 'ref': ref})}"


Neighbours = tuple[dict[str, Any], str | None, str | None]  # page numbers, next link, previous link


def _page_links(link: _LinkTo, current: int, has_next: bool, has_previous: bool) -> Neighbours:
    meta = {"page": current, "next_page": current + 1 if has_next else None,
            "previous_page": current - 1 if has_previous else None}
    return (meta, link("page", str(current + 1), "next") if has_next else None,
            link("page", str(current - 1), "previous") if has_previous else None)


def _cursor_links(link: _LinkTo, keys: Sequence[tuple[Any, ...]], fields: Sequence[KeyField], start: int, end: int,
                  total_pages: int) -> Neighbours:
    """Page numbers only on the first and the last page, as Harvest documents for cursor paging."""
    has_next, has_previous = end < len(keys), start > 0
    meta: dict[str, Any] = {"page": None, "next_page": None, "previous_page": None}
    if not has_previous:
        meta.update(page=1, next_page=2 if has_next else None)
    if not has_next:
        meta.update(page=total_pages, previous_page=total_pages - 1 if total_pages > 1 else None)
    return (meta, link("cursor", encode_cursor("after", keys[end - 1], fields), "next_cursor") if has_next else None,
            link("cursor", encode_cursor("before", keys[start], fields), "previous_cursor") if has_previous else None)


def window(request: Request, keys: Sequence[tuple[Any, ...]], fields: Sequence[KeyField], mode: Paging,
           filters: dict[str, str]) -> Window:
    """This request's page of the records whose sorted keys are `keys`, paged by `mode` (a cursor in the
    request makes it cursor paging); `filters` are repeated in every link."""
    per_page = per_page_of(request.query_params)
    start, end, by_cursor = _bounds(request.query_params, keys, fields, per_page)
    total = len(keys)
    total_pages = max(1, -(-total // per_page))
    link = _LinkTo(request, filters, per_page)
    if mode == "cursor" or by_cursor:
        meta, next_link, previous_link = _cursor_links(link, keys, fields, start, end, total_pages)
    else:
        meta, next_link, previous_link = _page_links(link, start // per_page + 1, end < total, start > 0)
    return Window(start, end, {
        "per_page": per_page, "total_pages": total_pages, "total_entries": total, **meta,
        "links": {"first": link("page", "1", "first"), "next": next_link, "previous": previous_link,
                  "last": link("page", str(total_pages), "last")},
    })


def envelope(name: str, rendered: Iterable[str | bytes], meta: Mapping[str, Any]) -> Response:
    """`{"<name>": [records...], <meta>}` from records already rendered as JSON text."""
    items = b",".join(part if isinstance(part, bytes) else part.encode() for part in rendered)
    tail = render(meta)[1:]  # drop the opening brace: the envelope continues after the array
    body = b'{"' + name.encode() + b'":[' + items + b"]," + tail.encode()
    return Response(body, media_type=JSON_MEDIA)


def filters_of(query: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The listing's filters present in the query, to be repeated in its links."""
    return {name: query[name] for name in names if name in query}


def filter_rows(query: Mapping[str, str], rows: list[Json]) -> list[Json]:
    """The filters most lists take: `is_active`, and `updated_since` (updated at or after the instant)."""
    if "is_active" in query:
        active = as_bool(query["is_active"], "is_active")
        rows = [r for r in rows if r["is_active"] is active]
    if "updated_since" in query:
        since = parse_instant(query["updated_since"], "updated_since")
        rows = [r for r in rows if parse_instant(r["updated_at"], "updated_at") >= since]
    return rows
