"""The hub's copy of reference data: the rate cards in force, the resources and the FX rates.

Rate cards: one record per card id (`rate_card`), state `in_force` while the system of record (the
config) has the card and `retired` after it dropped it; the payload is the canonical card. The copy
is what the hub's own checks read (`workflows.integrity`: unbilled time carries the rate in force),
so they judge by the card the time was rated with, not by the copy a contract kept from its setup.
Replacing a card is compare-and-set on its content hash, so two processes publishing the same change
record it once.

Resources: one record per person (`resource`, id the lower-cased email), the config's resource matched with
the ERP's employee and the tracker's user of that email as the last reference sync read them; state
`listed` while any of the three has them, `gone` after all dropped them (kept, with what was last known).
Replaced compare-and-set like the cards, so each change is audited once.

FX rates: one record per pair and day (`fx_rate`, id `EUR/GBP/2026-11-02`), the rate as published
or crossed, with the file it came from. Kept, so a daily file that only holds today still builds a
history the revenue close can translate old facts with. Rates read from the ERP are kept the same way
(source: the ERP's exchange rates), one compare-and-set per rate (`replace_fx_rate`), so two processes
refreshing at once store and audit each change once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.domain.model import RateCard
from q2c.store import records
from q2c.store.db import insert_for, now
from q2c.store.schema import records as records_table

RATE_CARD = "rate_card"
FX_RATE = "fx_rate"
IN_FORCE, RETIRED = "in_force", "retired"
_RATE_CARDS = "reference:rate_cards"


def rate_card(conn: Connection, card_id: str) -> RateCard | None:
    """The hub's copy of the card last in force under this id (a retired card is still the last one)."""
    found = records.get_record(conn, entity=RATE_CARD, canonical_id=card_id)
    return None if found is None else RateCard.model_validate(found.payload)


def rate_cards(conn: Connection) -> dict[str, records.Record]:
    return {r.canonical_id: r for r in records.list_records(conn, entity=RATE_CARD)}


def card_record(card: RateCard, *, digest: str, state: str = IN_FORCE) -> records.Record:
    return records.Record(RATE_CARD, card.id, _RATE_CARDS, state, card.schema_version, digest,
                          card.model_dump(mode="json"))


def replace_if_changed(conn: Connection, row: records.Record) -> tuple[bool, records.Record | None]:
    """Store `row` unless the hub holds it already: (whether this call changed it, what was there before).

    Compare-and-set on content hash and state: when another process made the same change first, this one
    changes nothing and says so, so the change is audited once."""
    before = records.get_record(conn, entity=row.entity, canonical_id=row.canonical_id)
    values = {"aggregate": row.aggregate, "state": row.state, "schema_version": row.schema_version,
              "content_hash": row.content_hash, "payload": row.payload, "updated_at": now()}
    if before is None:
        stmt = insert_for(conn)(records_table).values(entity=row.entity, canonical_id=row.canonical_id, **values)
        inserted = conn.execute(stmt.on_conflict_do_nothing(index_elements=["entity", "canonical_id"])
                                .returning(records_table.c.canonical_id)).first()
        return inserted is not None, None  # RETURNING, not rowcount: drivers disagree on the latter here
    if before.content_hash == row.content_hash and before.state == row.state:
        return False, before
    updated = conn.execute(records_table.update().where(
        records_table.c.entity == row.entity, records_table.c.canonical_id == row.canonical_id,
        records_table.c.content_hash == before.content_hash, records_table.c.state == before.state)
        .values(**values).returning(records_table.c.canonical_id)).first()
    return updated is not None, before


@dataclass(frozen=True)
class StoredFxRate:
    from_currency: str
    to_currency: str
    on: date
    rate: Decimal
    source: str

    @property
    def key(self) -> str:
        return fx_key(self.from_currency, self.to_currency, self.on)


def fx_key(from_currency: str, to_currency: str, on: date) -> str:
    return f"{from_currency}/{to_currency}/{on.isoformat()}"


def fx_rates(conn: Connection) -> list[StoredFxRate]:
    """Every FX rate the hub keeps, by pair then day."""
    rows = records.list_records(conn, entity=FX_RATE)
    found = [StoredFxRate(r.payload["from"], r.payload["to"], date.fromisoformat(r.payload["on"]),
                          Decimal(r.payload["rate"]), str(r.payload.get("source", ""))) for r in rows]
    return sorted(found, key=lambda r: (r.from_currency, r.to_currency, r.on))


def fx_payload(rate: StoredFxRate) -> dict[str, str]:
    return {"from": rate.from_currency, "to": rate.to_currency, "on": rate.on.isoformat(), "rate": str(rate.rate),
            "source": rate.source}


def put_fx_rates(conn: Connection, rates: Sequence[StoredFxRate], *, digests: Sequence[str]) -> None:
    """Store (or replace) these rates; `digests` are the content hashes of their `fx_payload`, in order."""
    records.upsert_records(conn, [records.Record(FX_RATE, r.key, f"fx:{r.from_currency}/{r.to_currency}", IN_FORCE, 1,
                                                 digest, fx_payload(r))
                                  for r, digest in zip(rates, digests, strict=True)])


def count_fx_rates(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(records_table)
                            .where(records_table.c.entity == FX_RATE)).scalar_one())


def replace_fx_rate(conn: Connection, rate: StoredFxRate, *, digest: str) -> tuple[bool, StoredFxRate | None]:
    """Store one rate unless the hub holds it already: (whether this call changed it, the rate kept before).

    `digest` is the content hash of its `fx_payload`; compare-and-set on it (`replace_if_changed`)."""
    row = records.Record(FX_RATE, rate.key, f"fx:{rate.from_currency}/{rate.to_currency}", IN_FORCE, 1, digest,
                         fx_payload(rate))
    changed, before = replace_if_changed(conn, row)
    if before is None:
        return changed, None
    p = before.payload
    return changed, StoredFxRate(p["from"], p["to"], date.fromisoformat(p["on"]), Decimal(p["rate"]),
                                 str(p.get("source", "")))


RESOURCE = "resource"
LISTED, GONE = "listed", "gone"
_RESOURCES = "reference:resources"


def resources(conn: Connection) -> dict[str, records.Record]:
    """Every person the hub keeps, listed or gone, by lower-cased email."""
    return {r.canonical_id: r for r in records.list_records(conn, entity=RESOURCE)}


def resource_record(email: str, payload: dict[str, Any], *, digest: str, state: str = LISTED) -> records.Record:
    return records.Record(RESOURCE, email, _RESOURCES, state, 1, digest, payload)
