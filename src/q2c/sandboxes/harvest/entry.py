"""One time entry as the account keeps it: plain fields, plus its JSON rendered once and cached.

Approval in Harvest shows only on the entry: `is_closed` (approved), `is_locked` with a
`locked_reason` (approved, invoiced, or both), `is_billed` with the `invoice`. `cached` holds the
entry's JSON text; `touch` drops it, and `cached_ref` says which version of the records the entry
embeds (its user, client, project, task, assignments) it was rendered with.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from q2c.sandboxes.harvest.wire import Json

# Harvest's listing order as a key that ascends along it: newest spent_date first, then the most
# recently created first (ids are handed out in creation order), i.e. (-day number, -id).
EntryKey = tuple[int, int]


def listing_key(spent_date: str, entry_id: int) -> EntryKey:
    """Where an entry stands in `GET /v2/time_entries`: see entry_index for the documented order."""
    return (-date.fromisoformat(spent_date).toordinal(), -entry_id)


class TimeEntry:
    __slots__ = ("billable", "billable_rate", "cached", "cached_ref", "cost_rate", "created_at",
                 "ended_time", "external_reference", "hours", "id", "invoice", "is_billed", "is_closed",
                 "is_locked", "is_running", "key", "locked_reason", "notes", "project_id", "spent_date",
                 "started_time", "task_assignment_id", "task_id", "timer_started_at", "updated",
                 "updated_at", "user_assignment_id", "user_id")

    def __init__(self, entry_id: int, spent_date: str, user_id: int, project_id: int, task_id: int,
                 user_assignment_id: int, task_assignment_id: int, hours: Decimal, notes: str | None,
                 billable: bool, billable_rate: Decimal | None, cost_rate: Decimal | None,
                 now: datetime, now_text: str) -> None:
        self.id = entry_id
        self.spent_date = spent_date
        self.key: EntryKey = listing_key(spent_date, entry_id)
        self.user_id = user_id
        self.project_id = project_id
        self.task_id = task_id
        self.user_assignment_id = user_assignment_id
        self.task_assignment_id = task_assignment_id
        self.hours = hours
        self.notes = notes
        self.billable = billable
        self.billable_rate = billable_rate
        self.cost_rate = cost_rate
        self.is_locked = False
        self.locked_reason: str | None = None
        self.is_closed = False
        self.is_billed = False
        self.invoice: Json | None = None
        self.external_reference: Json | None = None
        self.started_time: str | None = None
        self.ended_time: str | None = None
        self.is_running = False
        self.timer_started_at: str | None = None
        self.created_at = now_text
        self.updated_at = now_text
        self.updated = now
        self.cached: bytes | None = None
        self.cached_ref = -1

    def touch(self, now: datetime, now_text: str) -> None:
        """Changed now: a new `updated_at`, and the cached JSON is stale."""
        self.updated = now
        self.updated_at = now_text
        self.cached = None
