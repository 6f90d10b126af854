"""The NetSuite sandbox as the kit runs it: the account, its M2M mapping, and one concurrency limit.

NetSuite limits how many requests an account has in flight, across REST web services and
RESTlets together, not how many arrive per second. Over the limit REST answers 429 and RESTlets
400 `SSS_REQUEST_LIMIT_EXCEEDED`. The count here wraps the kit's own middleware, so latency the kit
injects is spent inside it, as time on NetSuite's side is; the kit's injected throttle answers
take each surface's shape as well.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from q2c.sandboxes.kit import Faults, Sandbox, VendorLimits
from q2c.sandboxes.netsuite.auth import M2MMapping
from q2c.sandboxes.netsuite.errors import over_limit
from q2c.sandboxes.netsuite.restlet import RESTLET_PATH
from q2c.sandboxes.netsuite.state import NetSuiteState
from q2c.sandboxes.netsuite.tba import TbaIntegration

# Which surface the current request came in on, so a throttle answer takes that surface's shape.
_surface: ContextVar[str] = ContextVar("netsuite_surface", default="rest")


@dataclass(frozen=True)
class Account:
    """What the routes serve: the account's records and the integration mapped to it."""

    state: NetSuiteState
    mapping: M2MMapping
    token_lifetime: int
    tba: TbaIntegration


def _throttle_answer(retry_after: float) -> Response:
    return over_limit(_surface.get())


class NetSuiteSandbox(Sandbox):
    """The kit's sandbox with the account state and the key pair the demo configures q2c with."""

    def __init__(self, app: FastAPI, state: NetSuiteState, *, faults: Faults | None, concurrency_limit: int,
                 client_id: str, certificate_id: str, private_key_pem: str | None, tba: TbaIntegration) -> None:
        self.state = state
        self.client_id = client_id
        self.certificate_id = certificate_id
        self.private_key_pem = private_key_pem
        self.tba = tba
        super().__init__("netsuite", app, faults=faults, limits=VendorLimits(concurrency=concurrency_limit),
                         throttle=_throttle_answer, reset=state.reset)
        _limit_concurrency(self)

    def account_references(self) -> dict[str, Any]:
        """This account's set-up ids in the shape of the connector's `references` setting (entities US01, UK01)."""
        ids = self.state.reference_ids()
        items = ids["serviceitem"]
        return {"subsidiaries": {"US01": ids["subsidiary"]["US01 Consulting Inc."],
                                 "UK01": ids["subsidiary"]["UK01 Consulting Ltd"]},
                "currencies": ids["currency"], "terms": ids["term"],
                "billing_type_items": {"time_and_materials": items["Professional Services"],
                                       "fixed_fee": items["Fixed Fee Services"], "retainer": items["Retainer"],
                                       "milestone": items["Milestone Billing"]},
                "default_service_item": items["Professional Services"], "tax_items": ids["salestaxitem"],
                # the classification records are named by the demo firm's codes (class IMPL, location US01)
                "classes": ids["classification"], "departments": ids["department"], "locations": ids["location"]}

    def connector_settings(self, base_url: str, *, auth: str = "m2m", **overrides: Any) -> dict[str, Any]:
        """The settings of a NetSuite client pointed at this sandbox served at `base_url` (plain data),
        signing in with M2M (the default) or, with `auth="tba"`, token-based authentication."""
        settings: dict[str, Any] = {
            "account_id": self.state.account_id, "rest_base_url": base_url, "restlet_url": base_url,
            "references": self.account_references(), "concurrency_limit": self.limits.concurrency or 5,
        }
        if auth == "tba":
            settings.update(auth="tba", consumer_key=self.tba.consumer_key, consumer_secret=self.tba.consumer_secret,
                            token_id=self.tba.token_id, token_secret=self.tba.token_secret)
        else:
            if self.private_key_pem is None and "private_key_pem" not in overrides:
                raise ValueError("this sandbox was given a public key: pass private_key_pem= with its private half")
            settings.update(client_id=self.client_id, certificate_id=self.certificate_id,
                            private_key_pem=self.private_key_pem)
        settings.update(overrides)
        return settings


def _limit_concurrency(sandbox: NetSuiteSandbox) -> None:
    """Registered after the kit's middleware, so it wraps it."""
    state = sandbox.state

    async def account_concurrency(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path.startswith("/__sandbox/"):
            return await call_next(request)
        surface = "restlet" if request.url.path == RESTLET_PATH else "rest"
        marker = _surface.set(surface)
        try:
            limit = sandbox.limits.concurrency
            if limit is not None and state.in_flight >= limit:
                state.over_limit[surface] += 1
                return over_limit(surface)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                return await call_next(request)
            finally:
                state.in_flight -= 1
        finally:
            _surface.reset(marker)

    sandbox.app.middleware("http")(account_concurrency)
