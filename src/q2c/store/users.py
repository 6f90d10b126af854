"""The people (and programs) who may call the HTTP API, their roles, and the bearer tokens they call it with.

- `users`: one row per caller, its unique `name` being the actor the audit trail records for what it does
  through the API; a `role` (viewer < operator < controller < admin, each including the ones before it) and
  `active` (a disabled user's tokens stop working at once, and it keeps its name, so the trail's entries
  under it still name one person).
- `api_tokens`: what a caller presents (`Authorization: Bearer ...`). Only the SHA-256 of a token is kept: a
  token is 32 random bytes (`secrets.token_urlsafe`), far beyond guessing, so a slow password hash would
  protect nothing more and cost every request; the hash alone lets no one call the API. A token has a name,
  its owner, when it was made, last used (to the minute, so reads do not write on every call), revoked
  and, optionally, when it expires. `kind` tells API tokens from any later kind of credential (a browser
  session's cookie is one more `kind` with an expiry, checked by the same lookup).

User and token changes are written to the audit trail in the same transaction, naming who made them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store import audit
from q2c.store.db import as_utc, now
from q2c.store.schema import ID, TS, metadata

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(80), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("disabled_at", TS),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS),
    sa.Column("last_used_at", TS),
    sa.Column("revoked_at", TS),
)
sa.Index("ix_api_tokens_user", api_tokens.c.user_id)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$")
RESERVED_NAMES = frozenset({"q2c", "api", "cli", "system"})  # actors the hub itself writes, or their prefixes
TOKEN_PREFIX = "q2c_"  # lets secret scanners and people recognise a leaked token
TOKEN_BYTES = 32
API_TOKEN = "api"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Role(StrEnum):
    """What a caller may do; each role includes every role before it."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    CONTROLLER = "controller"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


ROLE_NAMES = ", ".join(r.value for r in Role)


class UserError(ValueError):
    """A user or token change that cannot be made; the message names the record and the field."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    active: bool
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class Token:
    id: int
    user_id: int
    user_name: str
    name: str
    kind: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def usable(self, at: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)


@dataclass(frozen=True)
class Caller:
    """Who a presented token belongs to, as the API acts for them."""

    user_id: int
    name: str
    role: Role
    token_id: int


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise UserError(f"role {value!r} is not a role; allowed: {ROLE_NAMES}") from None


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise UserError(f"user name {name!r}: use 1 to 80 letters, digits and . _ @ -, starting with a letter or "
                        "digit (it is the actor the audit trail records)")
    if name.lower() in RESERVED_NAMES:
        raise UserError(f"user name {name!r} is reserved: the hub records its own work under it")
    return name


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def _user(row: sa.Row[tuple[object, ...]]) -> User:
    m = row._mapping
    created = as_utc(m["created_at"])
    assert created is not None
    return User(id=int(m["id"]), name=str(m["name"]), role=Role(m["role"]), active=bool(m["active"]),
                created_at=created, disabled_at=as_utc(m["disabled_at"]))


def _token(row: sa.Row[tuple[object, ...]]) -> Token:
    m = row._mapping
    created = as_utc(m["created_at"])
    assert created is not None
    return Token(id=int(m["id"]), user_id=int(m["user_id"]), user_name=str(m["user_name"]), name=str(m["name"]),
                 kind=str(m["kind"]), created_at=created, expires_at=as_utc(m["expires_at"]),
                 last_used_at=as_utc(m["last_used_at"]), revoked_at=as_utc(m["revoked_at"]))


def _audit(conn: Connection, *, actor: str, action: str, entity: str, record_id: str,
           before: dict[str, object] | None = None, after: dict[str, object] | None = None) -> None:
    audit.append(conn, [audit.AuditEntry(actor=actor, system="q2c", action=action, entity=entity,
                                         record_id=record_id, correlation_id=uuid.uuid4().hex,
                                         before=before, after=after)])


def get_user(conn: Connection, name: str) -> User | None:
    row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    return None if row is None else _user(row)


def require_user(conn: Connection, name: str) -> User:
    found = get_user(conn, name)
    if found is None:
        raise UserError(f"user {name!r} does not exist (see `q2c users list`)")
    return found


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.name))]


def add_user(conn: Connection, name: str, role: Role, *, actor: str) -> User:
    check_name(name)
    if get_user(conn, name) is not None:
        raise UserError(f"user {name!r} already exists (change its role with `q2c users role`)")
    at = now()
    new_id = conn.execute(users.insert().values(name=name, role=role.value, active=True, created_at=at)
                          .returning(users.c.id)).scalar_one()
    _audit(conn, actor=actor, action="user_added", entity="user", record_id=name, after={"role": role.value})
    return User(id=int(new_id), name=name, role=role, active=True, created_at=at, disabled_at=None)


def set_role(conn: Connection, name: str, role: Role, *, actor: str) -> User:
    user = require_user(conn, name)
    conn.execute(users.update().where(users.c.id == user.id).values(role=role.value))
    _audit(conn, actor=actor, action="user_role", entity="user", record_id=name, before={"role": user.role.value},
           after={"role": role.value})
    return require_user(conn, name)


def set_active(conn: Connection, name: str, active: bool, *, actor: str) -> User:
    """Disable (every token of the user stops working at once) or enable a user again."""
    user = require_user(conn, name)
    conn.execute(users.update().where(users.c.id == user.id)
                 .values(active=active, disabled_at=None if active else now()))
    _audit(conn, actor=actor, action="user_enabled" if active else "user_disabled", entity="user", record_id=name,
           before={"active": user.active}, after={"active": active})
    return require_user(conn, name)


def active_admins(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(users)
                            .where(users.c.active.is_(True), users.c.role == Role.ADMIN.value)).scalar_one())


def create_token(conn: Connection, user_name: str, *, name: str, actor: str,
                 expires_at: datetime | None = None) -> tuple[Token, str]:
    """A new API token for the user: the token itself (shown once, never stored) and its record."""
    user = require_user(conn, user_name)
    if not user.active:
        raise UserError(f"user {user_name!r} is disabled: enable it before giving it a token")
    if not name or len(name) > 80 or not name.isprintable():
        raise UserError(f"token name {name!r}: use 1 to 80 printable characters")
    if expires_at is not None and as_utc(expires_at) is None:
        raise UserError("token expiry must be a timezone-aware time")
    secret = new_token()
    at = now()
    new_id = conn.execute(api_tokens.insert().values(
        user_id=user.id, name=name, kind=API_TOKEN, token_hash=hash_token(secret), created_at=at,
        expires_at=expires_at).returning(api_tokens.c.id)).scalar_one()
    _audit(conn, actor=actor, action="token_created", entity="api_token", record_id=str(new_id),
           after={"user": user.name, "name": name,
                  "expires_at": None if expires_at is None else expires_at.isoformat()})
    return (Token(id=int(new_id), user_id=user.id, user_name=user.name, name=name, kind=API_TOKEN, created_at=at,
                  expires_at=expires_at, last_used_at=None, revoked_at=None), secret)


def _tokens_query() -> sa.Select[tuple[object, ...]]:
    return (sa.select(api_tokens, users.c.name.label("user_name"))
            .join(users, users.c.id == api_tokens.c.user_id))


def list_tokens(conn: Connection, *, user_name: str | None = None) -> list[Token]:
    query = _tokens_query().order_by(api_tokens.c.id)
    if user_name is not None:
        query = query.where(users.c.name == user_name)
    return [_token(r) for r in conn.execute(query)]


def get_token(conn: Connection, token_id: int) -> Token | None:
    row = conn.execute(_tokens_query().where(api_tokens.c.id == token_id)).first()
    return None if row is None else _token(row)


def revoke_token(conn: Connection, token_id: int, *, actor: str) -> Token:
    """Revoke a token (it stops working at once); revoking a revoked token changes nothing."""
    token = get_token(conn, token_id)
    if token is None:
        raise UserError(f"token {token_id} does not exist (see `q2c tokens list`)")
    if token.revoked_at is not None:
        return token
    conn.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(revoked_at=now()))
    _audit(conn, actor=actor, action="token_revoked", entity="api_token", record_id=str(token_id),
           after={"user": token.user_name, "name": token.name})
    found = get_token(conn, token_id)
    assert found is not None
    return found


@dataclass(frozen=True)
class Presented:
    """What a presented token is worth: the caller, or why it is refused (for the 401's message)."""

    caller: Caller | None
    refused: str | None
    last_used_at: datetime | None


def identify(conn: Connection, token: str, *, at: datetime | None = None) -> Presented:
    """The caller a token belongs to: refused when unknown, revoked, expired or its user disabled."""
    at = at or now()
    row = conn.execute(sa.select(api_tokens, users.c.name.label("user_name"), users.c.role,
                                 users.c.active.label("user_active"))
                       .join(users, users.c.id == api_tokens.c.user_id)
                       .where(api_tokens.c.token_hash == hash_token(token))).first()
    if row is None:
        return Presented(None, "the bearer token is not known", None)
    m = row._mapping
    if m["revoked_at"] is not None:
        return Presented(None, "the bearer token has been revoked", None)
    expires = as_utc(m["expires_at"])
    if expires is not None and expires <= at:
        return Presented(None, "the bearer token has expired", None)
    if not m["user_active"]:
        return Presented(None, f"user {m['user_name']} is disabled", None)
    caller = Caller(user_id=int(m["user_id"]), name=str(m["user_name"]), role=Role(m["role"]), token_id=int(m["id"]))
    return Presented(caller, None, as_utc(m["last_used_at"]))


def touch(conn: Connection, token_id: int, *, at: datetime | None = None) -> None:
    """Record that a token was used (callers skip this while its last use is under LAST_USED_RESOLUTION old)."""
    conn.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=at or now()))
