"""API callers for tests: a user with a role and a bearer token, in the hub database the app is built over.

The rows are written straight into the tables, not through `store.users`, which also writes each change to the
audit trail: tests that count the trail's entries see only what the calls under test wrote.
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.store.db import now
from q2c.store.users import API_TOKEN, Role, api_tokens, hash_token, new_token, users

_serial = itertools.count(1)


def make_caller(engine: Engine, role: Role = Role.ADMIN, name: str | None = None) -> tuple[str, str]:
    """An active user (named `name`, or after its role; made unless it exists) and a new token of theirs."""
    name = name or f"{role.value}-{next(_serial)}"
    token = new_token()
    with engine.begin() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
        if user_id is None:
            user_id = conn.execute(users.insert().values(name=name, role=role.value, active=True, created_at=now())
                                   .returning(users.c.id)).scalar_one()
        conn.execute(api_tokens.insert().values(user_id=user_id, name="test", kind=API_TOKEN,
                                                token_hash=hash_token(token), created_at=now()))
    return name, token


def bearer(engine: Engine, role: Role = Role.ADMIN, name: str | None = None) -> dict[str, str]:
    """The headers of a caller with `role`: `{"Authorization": "Bearer ..."}`."""
    _, token = make_caller(engine, role, name)
    return {"Authorization": f"Bearer {token}"}
