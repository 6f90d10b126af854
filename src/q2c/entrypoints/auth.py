"""Who is calling the HTTP API, and whether their role lets them: bearer tokens checked against `store.users`.

Every route states the role it needs with `requires(Role.X)`, as a dependency (`dependencies=[...]`) or as
the parameter that hands the route its caller, whose name is the actor the audit trail records. The token
is read with FastAPI's own `HTTPBearer`, which also puts the HTTP bearer scheme on each protected route in
the OpenAPI. No token, or one that is unknown, revoked or expired, or whose user is disabled, is 401 with
`WWW-Authenticate: Bearer`; a role too low is 403 naming the role needed; both in the one error shape.

The web console (`console`, mounted at /console) states its roles the same way, with a check that reads its
session cookie instead of the bearer header (`RoleGate` is what both kinds of check are), and is held to
`CONSOLE_OPEN_ROUTES` by the same check.

`OPEN_ROUTES` are the routes that take no token, each with why; `check_every_route_has_a_role` refuses to
build an app with any other route that states no role, so a new route cannot be left open by mistake.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from q2c.entrypoints.api_errors import ApiError
from q2c.store import users as user_store
from q2c.store.db import now
from q2c.store.users import Caller, Role

BEARER_SCHEME = "bearerToken"
CHALLENGE = {"WWW-Authenticate": "Bearer"}
FIRST_ADMIN = "q2c users add admin --role admin && q2c tokens create admin"

OPEN_ROUTES: dict[str, str] = {
    "/health": "load balancers and uptime checks call it without credentials; it names no record",
    "/metrics": "scrapers call it without credentials; it carries counts, never a record",
    "/webhooks/salesforce/opportunity-won": "a machine caller proving itself with the shared secret's HMAC "
                                            "signature over the body",
    "/docs": "the API's description, as /openapi.json is; it holds no data",
    "/redoc": "the same description, read by ReDoc",
    "/webhooks/erp": "the ERP's change notices (Business Central webhooks): a machine caller proving itself with "
                     "the subscription's clientState; a notice only makes q2c poll, it carries nothing q2c acts on",
}

# The web console is an app of its own mounted at /console (its pages answer in HTML, not the API's JSON), so its
# routes are not the API's; these are the ones of it that need no session, by their path below /console.
CONSOLE_OPEN_ROUTES: dict[str, str] = {
    "/login": "the sign-in page and form: a person proves themselves there with an API token",
    "/static/console.css": "the console's style sheet; it holds no data",
}

bearer = HTTPBearer(scheme_name=BEARER_SCHEME, auto_error=False,
                    description="An API token made with `q2c tokens create USER` (it is shown once).")


def install(app: FastAPI, engine: Engine) -> None:
    """The app checks tokens against this database."""
    app.state.auth_engine = engine


def identify_token(engine: Engine, token: str) -> user_store.Presented:
    """What a presented token is worth, checked as every API request checks it (and its last use recorded)."""
    return _identify(engine, token)


def _identify(engine: Engine, token: str) -> user_store.Presented:
    at = now()
    with engine.connect() as conn:
        found = user_store.identify(conn, token, at=at)
    if found.caller is not None and (found.last_used_at is None
                                     or at - found.last_used_at >= user_store.LAST_USED_RESOLUTION):
        with engine.begin() as conn:  # a write only once a minute per token: reads stay reads
            user_store.touch(conn, found.caller.token_id, at=at)
    return found


async def authenticate(request: Request,
                       credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The caller behind the request's bearer token; 401 when there is none that counts."""
    if credentials is None:
        raise ApiError(401, "this route needs a bearer token: send `Authorization: Bearer <token>` (make one with "
                            "`q2c tokens create USER`)", headers=CHALLENGE)
    engine: Engine = request.app.state.auth_engine
    found = await run_in_threadpool(_identify, engine, credentials.credentials)
    if found.caller is None:
        raise ApiError(401, f"{found.refused}: send a valid `Authorization: Bearer <token>`",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return found.caller


class RoleGate:
    """What a route states its role with: the route table and its documentation read `role` from it."""

    def __init__(self, role: Role) -> None:
        self.role = role


class RoleCheck(RoleGate):
    """The dependency an API route states its role with; it hands the route its caller."""

    def __call__(self, caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if not caller.role.includes(self.role):
            raise ApiError(403, f"this needs the {self.role.value} role (or one above it); {caller.name} is "
                                f"{caller.role.value}", code="forbidden")
        return caller

    def __repr__(self) -> str:
        return f"requires({self.role.value})"


_CHECKS = {role: RoleCheck(role) for role in Role}  # one instance per role: FastAPI caches it per request


def requires(role: Role) -> Any:
    """`Depends` on the caller, refused unless their role includes `role`."""
    return Depends(_CHECKS[role])


ViewerCaller = Annotated[Caller, requires(Role.VIEWER)]
OperatorCaller = Annotated[Caller, requires(Role.OPERATOR)]
ControllerCaller = Annotated[Caller, requires(Role.CONTROLLER)]
AdminCaller = Annotated[Caller, requires(Role.ADMIN)]


def _checks(dependant: Dependant) -> Iterator[RoleGate]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, RoleGate):
            yield sub.call
        yield from _checks(sub)


def role_of(dependant: Dependant) -> Role | None:
    """The role a route needs (the highest it states), or None for an open route."""
    found = [c.role for c in _checks(dependant)]
    return max(found, key=lambda r: r.rank) if found else None


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, Dependant]]:
    """(method, path, dependant) of every API route, those of included routers too (which FastAPI keeps apart
    from `app.routes` since 0.16x: `iter_route_contexts` walks them)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        routes: list[Any] = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    for route in routes:
        dependant = getattr(route, "dependant", None)
        if isinstance(dependant, Dependant):
            for method in sorted(getattr(route, "methods", None) or ()):
                yield method, str(route.path), dependant


def route_roles(app: FastAPI) -> dict[tuple[str, str], Role | None]:
    """(method, path) -> the role it needs, for every route of the app."""
    return {(method, path): role_of(dependant) for method, path, dependant in api_routes(app)}


def check_every_route_has_a_role(app: FastAPI, open_routes: Mapping[str, str] = OPEN_ROUTES) -> None:
    """Refuse an app with a route that states no role and is not one of `open_routes` (the API's OPEN_ROUTES, or
    the console's CONSOLE_OPEN_ROUTES)."""
    for (method, path), role in route_roles(app).items():
        if role is None and path not in open_routes:
            raise RuntimeError(f"route {method} {path} states no role: give it `requires(Role...)` "
                               "(or, if it must be open, list it in auth.OPEN_ROUTES with why)")


def document_roles(schema: dict[str, Any], app: FastAPI) -> None:
    """Each protected operation's 401 and 403 in the one error shape, and the role it needs in its description."""
    roles = route_roles(app)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            role = roles.get((method.upper(), path))
            if role is None:
                continue
            operation["security"] = [{BEARER_SCHEME: []}]
            needs = f"Needs the **{role.value}** role (or one above it)."
            operation["description"] = f"{operation['description']}\n\n{needs}" if operation.get("description") \
                else needs
            error = {"$ref": "#/components/schemas/ErrorResponse"}
            responses = operation.setdefault("responses", {})
            responses["401"] = {"description": "No bearer token, or one that is unknown, revoked or expired, or "
                                               "whose user is disabled.",
                                "headers": {"WWW-Authenticate": {"schema": {"type": "string"},
                                                                 "description": "Bearer"}},
                                "content": {"application/json": {"schema": error}}}
            responses["403"] = {"description": f"The caller's role is below {role.value}.",
                                "content": {"application/json": {"schema": error}}}
