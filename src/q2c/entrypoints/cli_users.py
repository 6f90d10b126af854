"""`q2c users` and `q2c tokens`: who may call the HTTP API, with which role, and their bearer tokens.

users add NAME --role ROLE    a new user (viewer, operator, controller, admin); NAME is the actor the audit
                              trail records for what they do through the API
users list [--json]           every user with role, active or disabled, and how many live tokens
users disable NAME            their tokens stop working at once (`users enable NAME` undoes it)
users role NAME ROLE          a new role, from the next call on
tokens create USER [--name N] [--expires-days D]
                              a new token, printed once on stdout (only its hash is kept)
tokens list [--user U] [--json]
tokens revoke ID              the token stops working at once

These run on the host with the config, as the database's owner: they need no token, and that is how the
first admin is made (`q2c users add admin --role admin && q2c tokens create admin`). Each change is
written to the audit trail as `cli:$USER`. Exit codes: 0 done; 2 bad input (an unknown user, role or
token, a name already taken) or configuration.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import Connection

from q2c.entrypoints import cli_support
from q2c.entrypoints.cli_support import ConfigOption, _config, _engine
from q2c.store import users as user_store
from q2c.store.db import now
from q2c.store.users import ROLE_NAMES, Role, Token, User, UserError

users_app = typer.Typer(help="Who may call the HTTP API, and with which role.", no_args_is_help=True)
tokens_app = typer.Typer(help="The bearer tokens the HTTP API is called with.", no_args_is_help=True)

T = TypeVar("T")
RoleArgument = Annotated[str, typer.Argument(help=f"One of: {ROLE_NAMES} (each includes the ones before it).")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'cli')}"


@contextmanager
def _transaction(config: Path) -> Iterator[Connection]:
    """The hub database with its audit trail bound to the config's `audit` section, in one transaction."""
    from q2c.store import audit_key

    cfg = _config(config)
    engine = _engine(cfg)
    audit_key.bind(engine, cfg.audit)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _run(config: Path, change: Callable[[Connection], T]) -> T:
    """`change` in one transaction; a refused change or a missing audit key is exit 2 with its message."""
    from q2c.store.audit_key import AuditKeyMissing

    try:
        with _transaction(config) as conn:
            return change(conn)
    except UserError as exc:
        cli_support.err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    except AuditKeyMissing as exc:
        cli_support.err.print(f"[red]config error[/red] audit: {escape(str(exc))}")
        raise typer.Exit(2) from None


def _role(value: str) -> Role:
    try:
        return user_store.parse_role(value)
    except UserError as exc:
        cli_support.err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None


def _user_json(user: User, tokens: list[Token]) -> dict[str, Any]:
    at = now()
    return {"name": user.name, "role": user.role.value, "active": user.active,
            "created_at": user.created_at.isoformat(),
            "disabled_at": None if user.disabled_at is None else user.disabled_at.isoformat(),
            "live_tokens": sum(1 for t in tokens if t.user_id == user.id and t.usable(at))}


def _token_json(token: Token) -> dict[str, Any]:
    def stamp(value: Any) -> str | None:
        return None if value is None else str(value.isoformat())

    return {"id": token.id, "user": token.user_name, "name": token.name, "kind": token.kind,
            "created_at": stamp(token.created_at), "expires_at": stamp(token.expires_at),
            "last_used_at": stamp(token.last_used_at), "revoked_at": stamp(token.revoked_at)}


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="The user's name: the actor the audit trail records.")],
              role: Annotated[str, typer.Option("--role", help=f"One of: {ROLE_NAMES}.")],
              config: ConfigOption = Path("q2c.yaml")) -> None:
    """Add a user with a role (give them a token with `q2c tokens create NAME`)."""
    chosen = _role(role)
    user = _run(config, lambda conn: user_store.add_user(conn, name, chosen, actor=_actor()))
    cli_support.console.print(escape(f"user {user.name} added ({user.role.value}); make a token with "
                                     f"`q2c tokens create {user.name}`"))


@users_app.command("list")
def users_list(config: ConfigOption = Path("q2c.yaml"), as_json: JsonOption = False) -> None:
    """Every user with their role, whether active, and how many live tokens they have."""
    found = _run(config, lambda conn: (user_store.list_users(conn), user_store.list_tokens(conn)))
    rows = [_user_json(u, found[1]) for u in found[0]]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        cli_support.console.print("no users yet: `q2c users add admin --role admin && q2c tokens create admin`")
        return
    table = Table("name", "role", "active", "live tokens", "created")
    for r in rows:
        table.add_row(escape(r["name"]), r["role"], "yes" if r["active"] else f"no (since {r['disabled_at']})",
                      str(r["live_tokens"]), r["created_at"])
    cli_support.console.print(table)


@users_app.command("disable")
def users_disable(name: str, config: ConfigOption = Path("q2c.yaml")) -> None:
    """Disable a user: every token of theirs stops working at once; their name stays in the audit trail."""
    _run(config, lambda conn: user_store.set_active(conn, name, False, actor=_actor()))
    cli_support.console.print(escape(f"user {name} disabled: their tokens no longer work"))


@users_app.command("enable")
def users_enable(name: str, config: ConfigOption = Path("q2c.yaml")) -> None:
    """Enable a disabled user again (their tokens that are not revoked work again)."""
    _run(config, lambda conn: user_store.set_active(conn, name, True, actor=_actor()))
    cli_support.console.print(escape(f"user {name} enabled"))


@users_app.command("role")
def users_role(name: str, role: RoleArgument, config: ConfigOption = Path("q2c.yaml")) -> None:
    """Give a user another role; it counts from their next call."""
    chosen = _role(role)
    user = _run(config, lambda conn: user_store.set_role(conn, name, chosen, actor=_actor()))
    cli_support.console.print(escape(f"user {user.name} is now {user.role.value}"))


@tokens_app.command("create")
def tokens_create(user: Annotated[str, typer.Argument(help="The user the token acts as.")],
                  name: Annotated[str, typer.Option("--name", help="What the token is for (a laptop, a job).")] =
                  "default",
                  expires_days: Annotated[int | None, typer.Option("--expires-days", min=1, max=3650,
                                                                   help="Stop working after this many days.")] = None,
                  config: ConfigOption = Path("q2c.yaml")) -> None:
    """Make a token and print it once on stdout (only its SHA-256 is kept: it cannot be shown again)."""
    expires = None if expires_days is None else now() + timedelta(days=expires_days)
    token, secret = _run(config, lambda conn: user_store.create_token(conn, user, name=name, actor=_actor(),
                                                                       expires_at=expires))
    print(secret, flush=True)
    until = "" if token.expires_at is None else f", expires {token.expires_at.isoformat()}"
    cli_support.err.print(escape(f"token {token.id} ({token.name}) for {token.user_name}{until}: it is shown only "
                                 "this once; send it as `Authorization: Bearer <token>`"))


@tokens_app.command("list")
def tokens_list(user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
                config: ConfigOption = Path("q2c.yaml"), as_json: JsonOption = False) -> None:
    """Every token (never the token itself): its id, user, name, when made, last used, revoked or expiring."""
    def listed(conn: Connection) -> list[Token]:
        if user is not None:
            user_store.require_user(conn, user)
        return user_store.list_tokens(conn, user_name=user)

    rows = [_token_json(t) for t in _run(config, listed)]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "user", "name", "created", "last used", "state")
    for r in rows:
        state = (f"revoked {r['revoked_at']}" if r["revoked_at"] else
                 f"expires {r['expires_at']}" if r["expires_at"] else "live")
        table.add_row(str(r["id"]), escape(r["user"]), escape(r["name"]), r["created_at"], r["last_used_at"] or "never",
                      state)
    cli_support.console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(min=1, help="The token's id (`q2c tokens list`).")],
                  config: ConfigOption = Path("q2c.yaml")) -> None:
    """Revoke a token: it stops working at once."""
    token = _run(config, lambda conn: user_store.revoke_token(conn, token_id, actor=_actor()))
    cli_support.console.print(escape(f"token {token.id} ({token.name}) of {token.user_name} revoked"))
