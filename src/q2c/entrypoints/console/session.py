"""Who is using the console: the session cookie, the role each page needs, and the CSRF token every form carries.

- Signing in: a person pastes one of their API tokens; it is checked exactly as an API request's bearer token
  is (`auth.identify_token`), and a session row (`store.sessions`) is opened that points at it. The token
  itself is never put in the cookie: the cookie holds only the session's random id.
- The cookie `q2c_console` is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page or
  link sends it) and `Secure` when the request came over https (behind a proxy: run uvicorn with
  `--proxy-headers` so it sees the proxy's `X-Forwarded-Proto`), with `Path=/console`.
- Every request looks the session up again, with its token and user, so a revoked token or a disabled user
  ends the session's access at once; a session idle longer than its idle time has ended.
- Every POST form carries the session's CSRF token in the field `csrf`; a form without it, or with another,
  is refused with 403 before anything is read or changed. The sign-in form, which has no session yet, is
  held to a token of its own set in a short-lived cookie beside the form (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from q2c.entrypoints.api_body import read_bounded
from q2c.entrypoints.auth import RoleGate
from q2c.store import sessions as session_store
from q2c.store.db import now
from q2c.store.users import Caller, Role

COOKIE = "q2c_console"
LOGIN_COOKIE = "q2c_console_login"
COOKIE_PATH = "/console"
LOGIN_PATH = "/console/login"
CSRF_FIELD = "csrf"
FORM_LIMIT = 16_384  # bytes: the console's forms hold a token, a reason and the CSRF token
MAX_FORM_FIELDS = 20


class SignInNeeded(Exception):
    """No session that counts: the browser is sent to the sign-in page, told why."""

    def __init__(self, why: str, *, back_to: str | None = None, ended: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.back_to = back_to
        self.ended = ended


class Refused(Exception):
    """A request the console refuses; answered with a page that says why, with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Settings:
    """What the console's pages need to know of the app: the database, and how long an idle session lives."""

    engine: Engine
    idle: timedelta


@dataclass(frozen=True)
class Session:
    caller: Caller
    csrf_token: str
    session_id: str


def settings_of(request: Request) -> Settings:
    found = request.app.state.console
    assert isinstance(found, Settings)
    return found


def _lookup(settings: Settings, session_id: str) -> session_store.Found:
    at = now()
    with settings.engine.connect() as conn:
        found = session_store.find(conn, session_id, at=at)
    if found.row_id is not None and (found.last_seen_at is None
                                     or at - found.last_seen_at >= session_store.SEEN_RESOLUTION):
        with settings.engine.begin() as conn:  # at most once a minute: reading pages stays reading
            session_store.touch(conn, found.row_id, idle=settings.idle, at=at)
    return found


def _back_to(request: Request) -> str | None:
    if request.method != "GET":
        return None
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return path if safe_next(path) else None


async def current_session(request: Request) -> Session:
    """The request's session; SignInNeeded when it has none that counts."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        raise SignInNeeded("Sign in to use the console.", back_to=_back_to(request))
    found = await run_in_threadpool(_lookup, settings_of(request), session_id)
    if found.caller is None or found.csrf_token is None:
        raise SignInNeeded(f"Sign in again: {found.refused}.", back_to=_back_to(request), ended=True)
    return Session(found.caller, found.csrf_token, session_id)


class SessionRole(RoleGate):
    """The dependency a console page states its role with; it hands the page its session."""

    def __call__(self, session: Annotated[Session, Depends(current_session)]) -> Session:
        if not session.caller.role.includes(self.role):
            raise Refused(403, f"This needs the {self.role.value} role (or one above it); {session.caller.name} "
                               f"is {session.caller.role.value}.")
        return session

    def __repr__(self) -> str:
        return f"session_requires({self.role.value})"


_GATES = {role: SessionRole(role) for role in Role}  # one instance per role: FastAPI caches it per request
ViewerSession = Annotated[Session, Depends(_GATES[Role.VIEWER])]
OperatorSession = Annotated[Session, Depends(_GATES[Role.OPERATOR])]


async def posted_form(request: Request) -> dict[str, str]:
    """The fields of a posted form (`application/x-www-form-urlencoded`, read under FORM_LIMIT bytes); the first
    value of each."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise Refused(415, "The console takes its forms as application/x-www-form-urlencoded.")
    body = await read_bounded(request, FORM_LIMIT)
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "The form could not be read: it is not UTF-8 form data, or it has too many fields.") \
            from None
    return {name: values[0] for name, values in fields.items()}


Form = Annotated[dict[str, str], Depends(posted_form)]


def same_secret(expected: str | None, presented: str | None) -> bool:
    return (expected is not None and presented is not None
            and hmac.compare_digest(expected.encode(), presented.encode()))


def checked_form(session: Annotated[Session, Depends(current_session)], form: Form) -> dict[str, str]:
    """The form, once its CSRF token is the session's; 403 when it is missing or another."""
    if not same_secret(session.csrf_token, form.get(CSRF_FIELD)):
        raise Refused(403, "The form's CSRF token is missing or does not match this session: reload the page and "
                           "try again.")
    return form


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def safe_next(target: str | None) -> bool:
    """Whether a page to return to after signing in is one of the console's own (no other host, no scheme)."""
    return (target is not None and target.startswith("/console/") and "//" not in target and "\\" not in target
            and target.isprintable() and len(target) <= 500)
