"""The console's routes: sign-in and out, health, the exception queue (with its actions), the runs, and the
Finance and Leadership pages (`finance`, `leadership`, drawn with `charts`).

Each page reads through the functions the API's routes use (`health_report.assess`, `store.exceptions`,
`engine.replay`, `store.runs`, `workflows.reports` ...), so the console and the API cannot tell two stories.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
import sqlalchemy as sa
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException

from q2c.domain.kpis import KpiInputError
from q2c.engine.replay import CorrectionPolicy, replay, replay_payload
from q2c.entrypoints import auth
from q2c.entrypoints.api_models import MAX_ID, MAX_RULE_LENGTH, MAX_SYSTEM_LENGTH
from q2c.entrypoints.console import charts
from q2c.entrypoints.console.finance import finance as finance_figures
from q2c.entrypoints.console.leadership import leadership as leadership_charts
from q2c.entrypoints.console.session import (
    COOKIE,
    COOKIE_PATH,
    CSRF_FIELD,
    LOGIN_COOKIE,
    LOGIN_PATH,
    CheckedForm,
    Form,
    OperatorSession,
    Refused,
    Session,
    Settings,
    SignInNeeded,
    ViewerSession,
    new_login_token,
    safe_next,
    same_secret,
)
from q2c.entrypoints.health_report import EndpointFigures, assess
from q2c.store import audit
from q2c.store import exceptions as exception_store
from q2c.store import runs as run_store
from q2c.store import sessions as session_store
from q2c.store.exceptions import ExceptionRow
from q2c.store.users import Role
from q2c.workflows import exception_actions as actions
from q2c.workflows.hub import Hub
from q2c.workflows.reports import ReportRefused, parse_period
from q2c.workflows.runs import KINDS

log = logging.getLogger("q2c.console")
HERE = Path(__file__).parent
TABS = (exception_store.OPEN, exception_store.RESOLVED, exception_store.IGNORED, exception_store.REPLAYED)
LIST_LIMIT = 1000
RUNS_LIMIT = 100
SEARCH_LENGTH = 200
HISTORY_LIMIT = 20
DONE = {"replayed": "Replayed: its work is queued again.", "resolved": "Resolved.", "ignored": "Ignored.",
        "skipped": "Nothing changed: the exception is no longer open."}
ENDED = ("Your session has ended (idle too long, signed out, or its token revoked or its user disabled): sign in "
         "again.")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

ExceptionId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="An exception id.")]


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["when"] = _when
    env.filters["seconds"] = _seconds
    env.filters["compact"] = _compact
    return Jinja2Templates(env=env)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _compact(value: Any) -> str:
    """JSON on one line, for a page (the template escapes it as text)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min"


def _set_cookie(response: Response, request: Request, name: str, value: str, *, path: str,
                max_age: int | None = None) -> None:
    response.set_cookie(name, value, path=path, max_age=max_age, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def _matches(row: ExceptionRow, text: str) -> bool:
    """A record id search: the exception's record, or any record it holds up, contains the text."""
    wanted = text.lower()
    return wanted in row.violation.record_id.lower() or any(wanted in s.record_id.lower() for s in row.subjects)


def _run_counts(stats: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A run's figures worth a column: its counts, then the exceptions it opened."""
    shown = [(k, v) for k, v in stats.items() if k not in ("duration_seconds", "error", "exceptions")
             and isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    opened = stats.get("exceptions")
    if isinstance(opened, Mapping) and isinstance(opened.get("opened"), int):
        shown.append(("exceptions opened", opened["opened"]))
    return shown


def console_app(engine: Engine, *, health_extra: EndpointFigures | None = None,
                overdue_after: timedelta = timedelta(seconds=60),
                corrections: Mapping[str, CorrectionPolicy] | None = None,
                idle: timedelta = session_store.IDLE_DEFAULT, hub: Hub | None = None) -> FastAPI:
    """The console over one hub database; `health_extra` and `overdue_after` as /health has them, `corrections`
    as replay has them, `idle` how long a session lives unused. `hub` (its configuration and systems) is what
    the Finance and Leadership pages read through; without it they say so (503)."""
    app = FastAPI(title="q2c console", docs_url=None, redoc_url=None, openapi_url=None)
    auth.install(app, engine)
    app.state.console = Settings(engine=engine, idle=idle)
    templates = _templates()
    css = (HERE / "static" / "console.css").read_bytes() + charts.stylesheet().encode()

    def page(request: Request, name: str, session: Session | None, code: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, {"session": session, "csrf_field": CSRF_FIELD, **context},
                                          status_code=code)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInNeeded)
        query = [f"next={quote(exc.back_to, safe='/')}"] if exc.back_to else []
        query += ["ended=1"] if exc.ended else []
        target = LOGIN_PATH + ("?" + "&".join(query) if query else "")
        response = RedirectResponse(target, status_code=303)
        if request.cookies.get(COOKIE):  # a session that no longer counts: the browser forgets it
            response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return page(request, "error.html", None, code=exc.status, message=exc.message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return page(request, "error.html", None, code=exc.status_code, message=str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "the request"
        return page(request, "error.html", None, code=400, message=f"{where}: {first.get('msg', 'not valid')}")

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        log.error("console: the database does not answer", exc_info=exc)
        return page(request, "error.html", None, code=503,
                    message="The hub's database does not answer; the service log has the details.")

    app.add_exception_handler(sa.exc.OperationalError, database_unavailable)
    app.add_exception_handler(sa.exc.InterfaceError, database_unavailable)

    @app.get("/static/console.css", include_in_schema=False)
    def stylesheet() -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    # -- signing in and out -------------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None,
                   bye: Annotated[int, Query(ge=0, le=1)] = 0,
                   ended: Annotated[int, Query(ge=0, le=1)] = 0) -> Response:
        login_token = new_login_token()
        message = "You are signed out." if bye else ENDED if ended else None
        response = page(request, "login.html", None, login_token=login_token, next=next if safe_next(next) else None,
                        message=message, problem=None)
        _set_cookie(response, request, LOGIN_COOKIE, login_token, path=LOGIN_PATH, max_age=3600)
        return response

    @app.post("/login", response_class=HTMLResponse)
    def sign_in(request: Request, form: Form) -> Response:
        if not same_secret(request.cookies.get(LOGIN_COOKIE), form.get(CSRF_FIELD)):
            raise Refused(403, "The sign-in form's CSRF token is missing or does not match: open the sign-in page "
                               "again and sign in from there.")
        wanted = form.get("next")
        target = wanted if wanted is not None and safe_next(wanted) else "/console/"
        found = auth.identify_token(engine, form.get("token", "").strip())
        if found.caller is None:
            login_token = new_login_token()
            why = (found.refused or "the token is not known").replace("bearer token", "token")
            response = page(request, "login.html", None, code=401, login_token=login_token,
                            next=target, message=None, problem=f"That token does not sign in: {why}.")
            _set_cookie(response, request, LOGIN_COOKIE, login_token, path=LOGIN_PATH, max_age=3600)
            return response
        with engine.begin() as conn:
            opened = session_store.open_session(conn, found.caller, idle=idle)
        response = RedirectResponse(target, status_code=303)
        _set_cookie(response, request, COOKIE, opened.session_id, path=COOKIE_PATH)
        response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
        return response

    @app.post("/logout")
    def sign_out(request: Request, session: ViewerSession, form: CheckedForm) -> Response:
        with engine.begin() as conn:
            session_store.close(conn, session.session_id, session.caller)
        response = RedirectResponse(LOGIN_PATH + "?bye=1", status_code=303)
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response

    # -- pages ----------------------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def health(request: Request, session: ViewerSession) -> Response:
        report = assess(engine, health_extra, overdue_after=overdue_after)
        return page(request, "health.html", session, code=503 if report.status == "down" else 200,
                    nav="health", health=report)

    @app.get("/exceptions", response_class=HTMLResponse)
    def exception_list(
        request: Request, session: ViewerSession,
        status: Annotated[str, Query(max_length=20)] = exception_store.OPEN,
        rule: Annotated[str, Query(max_length=MAX_RULE_LENGTH)] = "",
        system: Annotated[str, Query(max_length=MAX_SYSTEM_LENGTH)] = "",
        q: Annotated[str, Query(max_length=SEARCH_LENGTH)] = "",
    ) -> Response:
        if status not in TABS:
            raise Refused(400, f"status {status!r}: use one of {', '.join(TABS)}")
        with engine.connect() as conn:
            rows = exception_store.search(conn, status=status, rule=rule.strip() or None,
                                          system=system.strip() or None, limit=LIST_LIMIT)
            by_status = exception_store.counts(conn)
        if q.strip():
            rows = [r for r in rows if _matches(r, q.strip())]
        by_rule = sorted(Counter(r.violation.rule for r in rows).items(), key=lambda kv: (-kv[1], kv[0]))
        return page(request, "exceptions.html", session, nav="exceptions", rows=rows, tabs=TABS, status=status,
                    counts=by_status, by_rule=by_rule, rule=rule, system=system, q=q,
                    truncated=len(rows) >= LIST_LIMIT)

    @app.get("/exceptions/{exception_id}", response_class=HTMLResponse)
    def exception_detail(request: Request, session: ViewerSession, exception_id: ExceptionId,
                         done: Annotated[str | None, Query(max_length=20)] = None,
                         problem: Annotated[str | None, Query(max_length=20)] = None) -> Response:
        with engine.connect() as conn:
            row = exception_store.get(conn, exception_id)
            history = [] if row is None else audit.history(conn, record_id=row.violation.record_id,
                                                           limit=HISTORY_LIMIT)
        if row is None:
            raise Refused(404, f"Exception {exception_id} does not exist.")
        payload = json.dumps(replay_payload(row), indent=2, sort_keys=True, default=str)
        may_act = session.caller.role.includes(Role.OPERATOR) and row.status == exception_store.OPEN
        return page(request, "exception.html", session, nav="exceptions", row=row, payload=payload,
                    history=history, may_act=may_act, done=DONE.get(done or ""),
                    problem=problem if problem == "reason" else None, max_reason=actions.MAX_REASON)

    def _back(exception_id: int, **query: str) -> Response:
        suffix = "&".join(f"{k}={v}" for k, v in query.items())
        return RedirectResponse(f"/console/exceptions/{exception_id}" + (f"?{suffix}" if suffix else ""),
                                status_code=303)

    @app.post("/exceptions/{exception_id}/replay")
    def replay_one(exception_id: ExceptionId, session: OperatorSession, form: CheckedForm) -> Response:
        with engine.connect() as conn:
            row = exception_store.get(conn, exception_id)
        if row is None:
            raise Refused(404, f"Exception {exception_id} does not exist.")
        (result,) = replay(engine, [row], actor=session.caller.name, corrections=corrections)
        return _back(exception_id, done="skipped" if result.skipped_reason else "replayed")

    def _settle(exception_id: int, session: Session, form: dict[str, str], status: str) -> Response:
        try:
            reason = actions.checked_reason(form.get("reason"))
        except actions.ReasonRefused:
            return _back(exception_id, problem="reason")
        why_not = actions.settle(engine, exception_id, status=status, reason=reason, actor=session.caller.name)
        if why_not == "gone":
            raise Refused(404, f"Exception {exception_id} does not exist.")
        return _back(exception_id, done="skipped" if why_not else status)

    @app.post("/exceptions/{exception_id}/resolve")
    def resolve_one(exception_id: ExceptionId, session: OperatorSession, form: CheckedForm) -> Response:
        return _settle(exception_id, session, form, exception_store.RESOLVED)

    @app.post("/exceptions/{exception_id}/ignore")
    def ignore_one(exception_id: ExceptionId, session: OperatorSession, form: CheckedForm) -> Response:
        return _settle(exception_id, session, form, exception_store.IGNORED)

    @app.get("/runs", response_class=HTMLResponse)
    def runs(request: Request, session: ViewerSession,
             kind: Annotated[str, Query(max_length=run_store.MAX_KIND_LENGTH)] = "") -> Response:
        if kind and kind not in KINDS:
            raise Refused(400, f"kind {kind!r} is not a kind of run; allowed: {', '.join(KINDS)}")
        with engine.connect() as conn:
            found = run_store.list_runs(conn, kind=kind or None, limit=RUNS_LIMIT)
        return page(request, "runs.html", session, nav="runs", runs=[(r, _run_counts(r.stats)) for r in found],
                    kinds=KINDS, kind=kind)

    def wired() -> Hub:
        if hub is None:
            raise Refused(503, "This console was built without the hub (its configuration and systems), which the "
                               "Finance and Leadership pages read through: build it with `console_app(..., hub=...)`.")
        return hub

    @app.get("/finance", response_class=HTMLResponse)
    def finance(request: Request, session: ViewerSession,
                period: Annotated[str | None, Query(max_length=40)] = None) -> Response:
        try:
            asked = parse_period(period, argument="period") if period else None
        except ReportRefused as exc:
            raise Refused(400, f"period: {exc.problem}") from None
        return page(request, "finance.html", session, nav="finance", f=finance_figures(wired(), period=asked))

    @app.get("/leadership", response_class=HTMLResponse)
    def leadership(request: Request, session: ViewerSession) -> Response:
        try:
            view = leadership_charts(wired())
        except KpiInputError as exc:  # a record of the hub's the KPIs cannot read: what GET /kpis answers 409 for
            raise Refused(409, f"The KPIs cannot be computed: {exc}") from None
        return page(request, "leadership.html", session, nav="leadership", view=view)

    auth.check_every_route_has_a_role(app, open_routes=auth.CONSOLE_OPEN_ROUTES)
    return app
