"""The hub's ledger of time entries: where each approved hour stands between the tracker, the ERP and an invoice.

One record per tracker entry, aggregated by project. Its state says where the hour is:

- `pending_approval`: read from the tracker, not approved yet, not in the ERP;
- `synced`: rated and in the ERP, not billed yet;
- `over_cap`: in the ERP but beyond a not-to-exceed cap, so unbilled and held by a `time.over_cap` exception;
- `billed`: on an invoice (`payload.invoice_id`), possibly with a part the cap kept back (`payload.held_back`);
- `invalid`: broke a rule and is held by an exception that names it.

The queries here are the ones billing, revenue and the integrity checks share, so they read the same hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.billing import HeldBack, RatedTime
from q2c.domain.money import Money
from q2c.store import exceptions as exception_store
from q2c.store import records

ENTITY = "time_entry"
PENDING_APPROVAL, SYNCED, BILLED, INVALID = "pending_approval", "synced", "billed", "invalid"
OVER_CAP = "over_cap"
POSTED = (SYNCED, BILLED, OVER_CAP)  # in the ERP as q2c last wrote it
OVER_CAP_RULE = "time.over_cap"  # the exception that holds time beyond a cap; it is offered to every run


def _aggregate(project_id: str) -> str:
    return f"project:{project_id}"


def of_project(conn: Connection, project_id: str, *, states: Sequence[str] | None = None) -> list[records.Record]:
    return records.list_records(conn, entity=ENTITY, aggregate=_aggregate(project_id),
                                states=list(states) if states is not None else None)


def unbilled_rated(conn: Connection, project_id: str) -> list[RatedTime]:
    """Approved, rated, unbilled time of one project (the input of a T&M invoice run): synced entries and
    those over a cap, less any entry another open exception holds (an edit or withdrawal waits for a person)."""
    rows = [r for r in of_project(conn, project_id, states=[SYNCED, OVER_CAP]) if "rated" in r.payload]
    held = exception_store.open_subject_ids(conn, entity=ENTITY, record_ids=[r.canonical_id for r in rows],
                                            except_rules=[OVER_CAP_RULE], in_flight=True)
    return [RatedTime.model_validate(r.payload["rated"]) for r in rows if r.canonical_id not in held]


def over_cap_ids(conn: Connection, project_id: str) -> set[str]:
    """Entries a cap has kept unbilled so far."""
    return {r.canonical_id for r in of_project(conn, project_id, states=[OVER_CAP])}


def held_back(conn: Connection, project_id: str) -> dict[str, tuple[str, HeldBack]]:
    """Billed entries with a part the cap kept back: entry id -> (task code, what is held)."""
    out: dict[str, tuple[str, HeldBack]] = {}
    for r in of_project(conn, project_id, states=[BILLED]):
        held = r.payload.get("held_back")
        if held and Decimal(held) > 0 and "rated" in r.payload:
            rated = RatedTime.model_validate(r.payload["rated"])
            out[r.canonical_id] = (rated.task_code, HeldBack(
                entry_id=rated.entry_id, work_date=rated.work_date,
                amount=Money(amount=Decimal(held), currency=rated.currency)))
    return out


def record_billing(conn: Connection, entries: dict[str, records.Record], *, invoice_id: str | None,
                   billed: Sequence[str], over_cap: Sequence[str], held: dict[str, Decimal],
                   released: Sequence[str]) -> None:
    """What one invoice run did to these entries: billed on `invoice_id`, kept unbilled over a cap, a part held
    back by the cap (entry -> amount), or a held-back part released onto this invoice."""
    rows = []
    for entry_id, r in entries.items():
        payload = dict(r.payload)
        state = r.state
        if entry_id in billed and invoice_id is not None:
            state, payload["invoice_id"] = BILLED, invoice_id
        elif entry_id in over_cap:
            state = OVER_CAP
        if entry_id in held:
            payload["held_back"] = str(held[entry_id])
        elif "held_back" in payload and entry_id in released:
            payload.pop("held_back")
        rows.append(records.Record(r.entity, r.canonical_id, r.aggregate, state, r.schema_version, r.content_hash,
                                   payload))
    records.upsert_records(conn, rows)


@dataclass(frozen=True)
class PostedTime:
    """A posted entry as re-pricing reads it: its rating, the entry as q2c posted it (what the ERP holds), and
    whether it is billed (then on which invoice)."""

    rated: RatedTime
    entry: dict[str, Any]
    billed: bool
    invoice_id: str | None


def posted_time(conn: Connection, project_id: str) -> list[PostedTime]:
    """Every rated entry of the project in the ERP: unbilled (synced, over a cap) and billed."""
    return [PostedTime(RatedTime.model_validate(r.payload["rated"]), dict(r.payload.get("entry", {})),
                       r.state == BILLED, r.payload.get("invoice_id"))
            for r in of_project(conn, project_id, states=POSTED) if "rated" in r.payload]


def reprice(conn: Connection, changes: Sequence[tuple[RatedTime, RatedTime]]) -> tuple[list[str], list[str]]:
    """Swap each (old, new) rating into its entry while the entry is unbilled and still rated `old`.

    Returns (re-priced, skipped): an entry billed or rated again since the preview keeps what it has, so
    billed time never changes here and a newer rating is never overwritten."""
    current = records.get_records(conn, entity=ENTITY, canonical_ids=[old.entry_id for old, _ in changes])
    rows: list[records.Record] = []
    skipped: list[str] = []
    for old, new in changes:
        r = current.get(old.entry_id)
        if r is None or r.state not in (SYNCED, OVER_CAP) or r.payload.get("rated") != old.model_dump(mode="json"):
            skipped.append(old.entry_id)
            continue
        rows.append(records.Record(r.entity, r.canonical_id, r.aggregate, r.state, r.schema_version, r.content_hash,
                                   {**r.payload, "rated": new.model_dump(mode="json")}))
    records.upsert_records(conn, rows)
    return [r.canonical_id for r in rows], skipped
