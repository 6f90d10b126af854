"""Opportunity changes from Dataverse change tracking, at integer positions the hub can store.

Change tracking (`Prefer: odata.track-changes`) answers a first request with every row and a delta
link, and a request to a delta link with the rows changed since, deleted rows as `$deletedEntity`
entries, and the next delta link. It says which rows changed, not which columns, and a delta link is
opaque; the hub stores one integer per feed. So:

- **Position**: the version number a delta link's `$deltatoken` starts with (`919042` of
  `919042!08/22/2017 08:10:44`). Every change of one answer carries the position of the delta link that
  answer returned; versions grow, so the hub's max() is the newest.
- **Within a process** the feed keeps each delta link by its position (the last `KEEP_LINKS`), and each
  row's tracked values as they were at each position, so asking again after a position (an answer the hub
  did not store) replays from that link and names the columns that changed since that position.
- **After a restart** (or for a position no kept link has, or a delta link past the environment's
  change tracking retention, 7 days by default: "Version stamp associated with the client has expired")
  the feed makes the first request again: every row, and a fresh link. A row whose own version
  (`versionnumber`, else its ETag's number) is above the position changed since it: it is reported with
  its values, as changed columns those that are not ERP-owned and set, plus each ERP-owned column whose
  value is not what q2c wrote (below); and not as won (whether it was won before is not known; the won-deal
  poll finds a deal won meanwhile). With no position at all, every row is reported that way, a won one as won.
- **What q2c wrote** comes from two places: the row's copy column (`columns.erp_owned_copy`, which the
  write-back sets in the same PATCH to the ERP-owned values it writes), so it outlives the process; and the
  values this process wrote (`wrote`), which win where both speak (a copy edited by hand cannot hide an edit
  this process saw made). An ERP-owned column neither names (no copy column configured, or a row set up
  before it was) is not claimed as changed: what changed in it while no process watched is not known. The
  copy column is selected but never reported, as a changed column or among the values.
- **Echoes**: a row last modified (`_modifiedby_value`) by the application user q2c runs as (WhoAmI) is
  q2c's own write coming back.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from q2c.connectors.dynamics365_sales.client import DataverseClient, DeltaExpired, Tracked
from q2c.connectors.dynamics365_sales.mapping import STATE_WON, canonical_id, read_erp_owned_copy
from q2c.connectors.dynamics365_sales.values import FORMATTED

KEEP_LINKS = 32
_ETAG_NUMBER = re.compile(r'^W/"(\d+)"$')


@dataclass(frozen=True)
class RowChange:
    """One opportunity row that changed after a position, with the columns that changed."""

    opportunity_id: str  # canonical id
    changed: tuple[str, ...]
    values: Mapping[str, Any]
    modified_by: str | None  # systemuserid
    modified_by_name: str | None
    won: bool
    position: int


def row_version(row: Mapping[str, Any]) -> int | None:
    """The row's version: `versionnumber` when selected and given, else the number of its weak ETag."""
    value = row.get("versionnumber")
    if isinstance(value, int | str) and str(value).isdigit():
        return int(value)
    match = _ETAG_NUMBER.match(str(row.get("@odata.etag") or ""))
    return int(match.group(1)) if match else None


class ChangeFeed:
    """The opportunities' change feed of one client, kept from poll to poll in this process."""

    def __init__(self, client: DataverseClient, columns: list[str], erp_owned: Collection[str],
                 copy_column: str | None = None) -> None:
        self.client = client
        self.copy_column = copy_column  # where q2c keeps its copy of the ERP-owned values it wrote (None: nowhere)
        self.columns = [c for c in dict.fromkeys(columns) if not c.startswith("@") and c != copy_column]
        self.erp_owned = frozenset(erp_owned)
        self._links: OrderedDict[int, str] = OrderedDict()
        self._history: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # row id -> (position, values), oldest first
        self._lock = threading.Lock()
        self._written: dict[str, dict[str, Any]] = {}  # row id -> the ERP-owned values q2c wrote back
        self.baselines = 0  # first requests made (each reads every row)

    def wrote(self, row_id: str, values: Mapping[str, Any]) -> None:
        """q2c wrote these ERP-owned values to an opportunity (the write-back after set-up)."""
        with self._lock:
            self._written.setdefault(row_id.lower(), {}).update(
                {c: v for c, v in values.items() if c in self.erp_owned})

    def changes_after(self, after: int | None) -> list[RowChange]:
        with self._lock:
            link = self._links.get(after) if after is not None else None
            if link is not None:
                try:
                    return self._follow(after, link)
                except DeltaExpired:
                    self._links.clear()
            return self._baseline(after)

    def _select(self) -> list[str]:
        return [*self.columns, *([self.copy_column] if self.copy_column else []), "versionnumber"]

    def _wrote_to(self, row_id: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """The ERP-owned values q2c wrote to the row, by column: its copy column's, then this process's own."""
        copied = read_erp_owned_copy(row.get(self.copy_column), self.erp_owned) if self.copy_column else {}
        return {**copied, **self._written.get(row_id, {})}

    def _follow(self, after: int | None, link: str) -> list[RowChange]:
        assert after is not None
        answer = self.client.track("opportunities", select=self._select(), delta_link=link)
        position = answer.version
        out: list[RowChange] = []
        for row in answer.rows:
            row_id = str(row.get("opportunityid") or "").lower()
            if not row_id:
                continue
            values = self._values(row)
            before = self._at(row_id, after)
            changed = tuple(c for c in self.columns if before is None or before.get(c) != values.get(c))
            if before is None:
                changed = tuple(c for c in changed if values.get(c) is not None)
            self._remember(row_id, position, values)
            if changed:
                out.append(self._change(row, row_id, values, changed, position, before))
        self._keep(position, answer.delta_link)
        if not out:
            self._links[after] = answer.delta_link  # nothing happened between the two: the same place
        return out

    def _baseline(self, after: int | None) -> list[RowChange]:
        answer: Tracked = self.client.track("opportunities", select=self._select())
        self.baselines += 1
        position = answer.version
        self._history.clear()
        out: list[RowChange] = []
        plain = tuple(c for c in self.columns if c not in self.erp_owned)
        for row in answer.rows:
            row_id = str(row.get("opportunityid") or "").lower()
            if not row_id:
                continue
            values = self._values(row)
            self._remember(row_id, position, values)
            version = row_version(row)
            if after is None or version is None or version > after:
                changed = tuple(c for c in plain if values.get(c) is not None) + tuple(
                    c for c, v in sorted(self._wrote_to(row_id, row).items()) if values.get(c) != v)
                # resuming, whether the deal was won before the position is not known: the won-deal poll
                # finds a deal won meanwhile; read from the start, every won deal counts as won
                change = self._change(row, row_id, values, changed, position, None)
                out.append(change if after is None else replace(change, won=False))
        self._keep(position, answer.delta_link)
        if after is not None and not out:
            self._links[after] = answer.delta_link
        return out

    def _values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {c: row.get(c) for c in self.columns}

    def _change(self, row: Mapping[str, Any], row_id: str, values: dict[str, Any], changed: tuple[str, ...],
                position: int, before: Mapping[str, Any] | None) -> RowChange:
        state = values.get("statecode")
        won = state == STATE_WON and (before is None or before.get("statecode") != STATE_WON)
        by = row.get("_modifiedby_value")
        name = row.get("_modifiedby_value" + FORMATTED)
        return RowChange(opportunity_id=canonical_id(row_id), changed=changed, values=values,
                         modified_by=str(by).lower() if by else None,
                         modified_by_name=str(name) if name else None, won=won, position=position)

    def _at(self, row_id: str, position: int) -> dict[str, Any] | None:
        """The row's values as they stood at `position` (None: not seen by then)."""
        found = None
        for seen_at, values in self._history.get(row_id, []):
            if seen_at > position:
                break
            found = values
        return found

    def _remember(self, row_id: str, position: int, values: dict[str, Any]) -> None:
        entries = self._history.setdefault(row_id, [])
        entries[:] = [e for e in entries if e[0] < position]
        entries.append((position, values))

    def _keep(self, position: int, link: str) -> None:
        self._links[position] = link
        self._links.move_to_end(position)
        while len(self._links) > KEEP_LINKS:
            self._links.popitem(last=False)
        oldest = min(self._links)
        for entries in self._history.values():  # values older than any kept position are needed only as the last
            keep_from = max((i for i, e in enumerate(entries) if e[0] <= oldest), default=0)
            del entries[:keep_from]
