"""`limit`/`offset` paging as the record collections and SuiteQL use it.

A page holds at most 1,000 rows; the answer says `count`, `hasMore`, `offset`, `totalResults`, and
links (`previous`, `first`, `next`, `last`, `self`) that a client may follow unchanged.

A result holds at most 100,000 rows, on at most 1,000 pages, so a smaller `limit` reaches fewer
("Collection Paging", section_156414087576; "Executing SuiteQL Queries Through REST Web Services",
section_157909186990: "a maximum of 100,000 results"). How an answer past that reads is not
documented; here the result simply ends there (`hasMore` false, `totalResults` the capped count),
the case a client cannot tell from a real end unless it counts what it read [inferred].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from q2c.sandboxes.netsuite.errors import fault

MAX_LIMIT = 1000
MAX_RESULTS = 100_000  # rows a result holds at most
MAX_PAGES = 1000  # pages a result holds at most, whatever the limit


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int

    def body(self, root: str, rows: Sequence[Any]) -> dict[str, Any]:
        """The page's envelope around `rows[offset:offset + limit]` (rows: the whole result)."""
        items = list(rows[self.offset:self.offset + self.limit])
        return {"links": self.links(root, len(rows)), "count": len(items),
                "hasMore": self.offset + self.limit < len(rows), "offset": self.offset, "totalResults": len(rows),
                "items": items}

    def links(self, root: str, total: int) -> list[dict[str, str]]:
        def at(rel: str, offset: int) -> dict[str, str]:
            return {"rel": rel, "href": f"{root}?limit={self.limit}&offset={offset}"}

        links = [at("previous", max(self.offset - self.limit, 0))] if self.offset > 0 else []
        links.append(at("first", 0))
        if self.offset + self.limit < total:
            links.append(at("next", self.offset + self.limit))
        links.append(at("last", max(((total - 1) // self.limit) * self.limit, 0)))
        links.append(at("self", self.offset))
        return links


def capped(rows: Sequence[Any], page: Page, *, max_results: int = MAX_RESULTS, max_pages: int = MAX_PAGES
           ) -> Sequence[Any]:
    """The part of a result NetSuite returns at all: its first `max_results` rows, and no more than
    `max_pages` pages of this page's `limit`."""
    return rows[:min(max_results, max_pages * page.limit)]


def page_of(query: Mapping[str, str]) -> Page:
    """The page a request asks for; out-of-range values are refused naming the query parameter."""
    values: dict[str, int] = {}
    for name, default in (("limit", MAX_LIMIT), ("offset", 0)):
        try:
            values[name] = int(query.get(name, default))
        except ValueError:
            raise fault(400, f"The value of {name} must be an integer.", "INVALID_PARAMETER",
                        query_param=name) from None
    if not 1 <= values["limit"] <= MAX_LIMIT:
        raise fault(400, f"The limit must be between 1 and {MAX_LIMIT}.", "INVALID_PARAMETER", query_param="limit")
    if values["offset"] < 0:
        raise fault(400, "The offset must not be negative.", "INVALID_PARAMETER", query_param="offset")
    return Page(values["limit"], values["offset"])
