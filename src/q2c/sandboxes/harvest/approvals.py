"""What a person does to time in the Harvest web UI: approve it, withdraw the approval, invoice it.

Harvest v2 has no approval endpoints; approval shows only on the entries, as `is_closed`,
`is_locked` and `locked_reason`. An approved entry is closed and locked; an invoiced one is billed,
carries its invoice and stays locked even when its approval is withdrawn, which Harvest then refuses.
The reasons' wording is Harvest's as seen on entries (from recall).
"""

from __future__ import annotations

from collections.abc import Iterable

from q2c.sandboxes.harvest.entry import TimeEntry
from q2c.sandboxes.harvest.errors import HarvestRefusal
from q2c.sandboxes.harvest.stamps import FIRST_IDS, Stamps
from q2c.sandboxes.harvest.time_entries import TimeSheet
from q2c.sandboxes.harvest.wire import Json

APPROVED_REASON = "Item Approved and Locked for this Time Period"
INVOICED_REASON = "Item Invoiced and Approved and Locked for this Time Period"
INVOICED_UNAPPROVED_REASON = "Item Invoiced and Locked for this Time Period"


def approve(sheet: TimeSheet, stamps: Stamps, ids: Iterable[int] | None = None, *,
            all_submitted: bool = False) -> list[int]:
    """Approve entries (a manager approving timesheets): closed and locked for the period.
    Returns the ids that were not approved before."""
    targets = list(sheet.entries.values()) if all_submitted else [sheet.entry(i) for i in (ids or ())]
    now, now_text = stamps.now()
    done = []
    for entry in targets:
        if entry.is_closed:
            continue
        entry.is_closed = True
        entry.is_locked = True
        entry.locked_reason = INVOICED_REASON if entry.is_billed else APPROVED_REASON
        entry.touch(now, now_text)
        done.append(entry.id)
    if done:
        sheet.version += 1
    return done


def withdraw_approval(sheet: TimeSheet, stamps: Stamps, ids: Iterable[int]) -> list[int]:
    """Unapprove (reopen) entries; none is reopened if any of them is invoiced. Returns those reopened."""
    targets = [sheet.entry(i) for i in ids]
    for entry in targets:
        if entry.is_billed:
            raise HarvestRefusal(f"Time entry {entry.id} is invoiced and can't be reopened")
    now, now_text = stamps.now()
    done = []
    for entry in targets:
        if not entry.is_closed:
            continue
        entry.is_closed = False
        entry.is_locked = False
        entry.locked_reason = None
        entry.touch(now, now_text)
        done.append(entry.id)
    if done:
        sheet.version += 1
    return done


def mark_invoiced(sheet: TimeSheet, stamps: Stamps, ids: Iterable[int], *, number: str | None = None) -> Json:
    """Put entries on one new Harvest invoice: billed, and locked with the invoiced reason."""
    targets: list[TimeEntry] = [sheet.entry(i) for i in ids]
    invoice_id = stamps.new_id("invoice")
    invoice = {"id": invoice_id, "number": number or str(invoice_id - FIRST_IDS["invoice"] + 1)}  # 1, 2, ...
    now, now_text = stamps.now()
    for entry in targets:
        entry.is_billed = True
        entry.invoice = dict(invoice)
        entry.is_locked = True
        entry.locked_reason = INVOICED_REASON if entry.is_closed else INVOICED_UNAPPROVED_REASON
        entry.touch(now, now_text)
    if targets:
        sheet.version += 1
    return {"invoice": invoice, "time_entry_ids": [e.id for e in targets]}
