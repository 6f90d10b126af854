"""Where each poll left off (Harvest `updated_since`, Salesforce replay id...)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store.db import insert_for, now
from q2c.store.schema import cursors


def get_cursor(conn: Connection, name: str) -> str | None:
    value = conn.execute(sa.select(cursors.c.value).where(cursors.c.name == name)).scalar()
    return None if value is None else str(value)


def set_cursor(conn: Connection, name: str, value: str) -> None:
    stmt = insert_for(conn)(cursors).values(name=name, value=value, updated_at=now())
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"],
                                            set_={"value": stmt.excluded.value,
                                                  "updated_at": stmt.excluded.updated_at}))
