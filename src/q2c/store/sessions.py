"""The web console's sign-in sessions, kept on the server.

A person signs in with one of their API tokens; the session is a row here that points at that token, so
everything that refuses the token (revoked, expired, its user disabled) refuses the session at its next
request, by the same checks `users.identify` makes. The browser holds only the session's id, a random
32-byte value; like a token, only its SHA-256 is kept, so someone who reads the table cannot act as anyone.

- `created_at`, `last_seen_at` (written at most once a minute, so reading pages stays reading) and
  `expires_at`: an idle session ends `idle` after it was last seen (8 h unless the console says otherwise).
- `csrf_token`: the per-session value every form of the console carries; a form without it is refused.
  It is no credential on its own (it works only beside the session's cookie), so it is kept as it is.

Signing out deletes the row; expired rows are deleted whenever someone signs in. Signing in and out are
written to the audit trail under the person's name, in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store import audit
from q2c.store.db import as_utc, now
from q2c.store.schema import ID, TS, metadata
from q2c.store.users import Caller, Role, api_tokens, users

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("session_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("token_id", ID, sa.ForeignKey("api_tokens.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_seen_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
)
sa.Index("ix_console_sessions_token", console_sessions.c.token_id)

IDLE_DEFAULT = timedelta(hours=8)
SEEN_RESOLUTION = timedelta(minutes=1)
SESSION_BYTES = 32


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    """A new session: the id for the browser's cookie (never stored) and the form token."""

    session_id: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Found:
    """What a presented session id is worth: the caller and the form token, or why it is refused."""

    caller: Caller | None
    csrf_token: str | None
    refused: str | None
    row_id: int | None = None
    last_seen_at: datetime | None = None


def _audit(conn: Connection, caller: Caller, action: str, row_id: int, after: dict[str, object]) -> None:
    audit.append(conn, [audit.AuditEntry(actor=caller.name, system="q2c", action=action, entity="console_session",
                                         record_id=str(row_id), correlation_id=uuid.uuid4().hex, after=after)])


def open_session(conn: Connection, caller: Caller, *, idle: timedelta = IDLE_DEFAULT,
                 at: datetime | None = None) -> Opened:
    """A session for `caller`, who presented their token `caller.token_id` (already checked by `users.identify`)."""
    at = at or now()
    conn.execute(console_sessions.delete().where(console_sessions.c.expires_at <= at))
    session_id = secrets.token_urlsafe(SESSION_BYTES)
    csrf = secrets.token_urlsafe(SESSION_BYTES)
    expires = at + idle
    row_id = conn.execute(console_sessions.insert().values(
        session_hash=_hash(session_id), token_id=caller.token_id, csrf_token=csrf, created_at=at, last_seen_at=at,
        expires_at=expires).returning(console_sessions.c.id)).scalar_one()
    _audit(conn, caller, "signed_in", int(row_id), {"token": caller.token_id, "idle_seconds": idle.total_seconds()})
    return Opened(session_id, csrf, expires)


def find(conn: Connection, session_id: str, *, at: datetime | None = None) -> Found:
    """The caller behind a session id: refused when unknown or idle too long, or when its token would be (revoked,
    expired, its user disabled)."""
    at = at or now()
    row = conn.execute(
        sa.select(console_sessions.c.id, console_sessions.c.csrf_token, console_sessions.c.expires_at,
                  console_sessions.c.last_seen_at, api_tokens.c.id.label("token_id"), api_tokens.c.revoked_at,
                  api_tokens.c.expires_at.label("token_expires_at"), api_tokens.c.user_id, users.c.name,
                  users.c.role, users.c.active)
        .join(api_tokens, api_tokens.c.id == console_sessions.c.token_id)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(console_sessions.c.session_hash == _hash(session_id))).first()
    if row is None:
        return Found(None, None, "the session is not known (signed out, or never signed in)")
    m = row._mapping
    expires = as_utc(m["expires_at"])
    if expires is None or expires <= at:
        return Found(None, None, "the session has ended: it was idle too long")
    if m["revoked_at"] is not None:
        return Found(None, None, "the token this session was signed in with has been revoked")
    token_expires = as_utc(m["token_expires_at"])
    if token_expires is not None and token_expires <= at:
        return Found(None, None, "the token this session was signed in with has expired")
    if not m["active"]:
        return Found(None, None, f"user {m['name']} is disabled")
    caller = Caller(user_id=int(m["user_id"]), name=str(m["name"]), role=Role(m["role"]), token_id=int(m["token_id"]))
    return Found(caller, str(m["csrf_token"]), None, row_id=int(m["id"]), last_seen_at=as_utc(m["last_seen_at"]))


def touch(conn: Connection, row_id: int, *, idle: timedelta = IDLE_DEFAULT, at: datetime | None = None) -> None:
    """The session was used: it stays open for another `idle` (callers skip this within SEEN_RESOLUTION)."""
    at = at or now()
    conn.execute(console_sessions.update().where(console_sessions.c.id == row_id)
                 .values(last_seen_at=at, expires_at=at + idle))


def close(conn: Connection, session_id: str, caller: Caller) -> bool:
    """`caller` signs out: the session's row is deleted; whether there was one."""
    row_id = conn.execute(console_sessions.delete().where(console_sessions.c.session_hash == _hash(session_id))
                          .returning(console_sessions.c.id)).scalar()
    if row_id is None:
        return False
    _audit(conn, caller, "signed_out", int(row_id), {"token": caller.token_id})
    return True
