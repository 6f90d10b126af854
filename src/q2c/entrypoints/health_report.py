"""What /health reports: ok, degraded or down, and the reasons, so that a person and a load balancer
can both act on it.

- down (503): the hub cannot do its work at all: the database does not answer.
- degraded (200): the hub works, but something needs attention: a vendor endpoint's circuit is open
  or half-open, work items stopped dead on an exception that is still open, retries are overdue (due,
  but no worker took them: are the workers running?), or exceptions are open.
- ok (200): none of these.

A dead work item whose exception was since replayed or resolved needs nobody, so only the dead items
whose exception is still open count: a hub that recovered reports ok again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.engine import Engine

from q2c.entrypoints.api_models import EndpointHealth, Health
from q2c.store import exceptions as exception_store
from q2c.store import queue

log = logging.getLogger("q2c.api")

EndpointFigures = Callable[[], Mapping[str, Any]]  # {"endpoints": [{"system", "endpoint", "circuit", ...}]}
_ENDPOINTS = TypeAdapter(list[EndpointHealth])


@dataclass(frozen=True)
class HubFigures:
    queue: dict[str, int]
    exceptions: dict[str, int]
    dead_awaiting_replay: int
    overdue_retries: int


def read_figures(engine: Engine, *, overdue_after: timedelta) -> HubFigures:
    """The hub's own figures; raises SQLAlchemyError when the database does not answer."""
    with engine.connect() as conn:
        return HubFigures(queue=queue.counts(conn), exceptions=exception_store.counts(conn),
                          dead_awaiting_replay=queue.dead_awaiting_replay(conn),
                          overdue_retries=queue.overdue_retries(conn, older_than=overdue_after))


def _amount(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular} is" if n == 1 else f"{n} {plural} are"


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g} s"


def endpoint_reasons(endpoints: list[EndpointHealth]) -> list[str]:
    reasons = []
    for e in endpoints:
        if e.circuit == "open":
            failures = f"{e.transient_failures} transient failure{'' if e.transient_failures == 1 else 's'}"
            reasons.append(f"{e.system} endpoint {e.endpoint}: circuit open, calls fail fast until it cools down "
                           f"({failures} since the service started)")
        elif e.circuit == "half_open":
            reasons.append(f"{e.system} endpoint {e.endpoint}: circuit half-open, the next call probes whether it "
                           "has recovered")
    return reasons


def figure_reasons(figures: HubFigures, *, overdue_after: timedelta) -> list[str]:
    reasons = []
    if figures.dead_awaiting_replay:
        reasons.append(_amount(figures.dead_awaiting_replay, "work item", "work items")
                       + " dead: stopped on an open exception (fix it, then replay)")
    if figures.overdue_retries:
        reasons.append(_amount(figures.overdue_retries, "retry", "retries")
                       + f" overdue: due more than {_seconds(overdue_after)} ago and not taken by any worker "
                         "(are the workers running?)")
    open_exceptions = figures.exceptions.get(exception_store.OPEN, 0)
    if open_exceptions:
        reasons.append(_amount(open_exceptions, "exception", "exceptions") + " open in the exception queue")
    return reasons


def read_endpoints(source: EndpointFigures | None) -> tuple[list[EndpointHealth], list[str]]:
    """The endpoints the service reports, or none and a reason when it could not say."""
    if source is None:
        return [], []
    try:
        return _ENDPOINTS.validate_python(source().get("endpoints", [])), []
    except Exception as exc:
        log.error("the endpoint figures for /health could not be read", exc_info=exc)
        return [], [f"the vendor endpoints' figures could not be read ({type(exc).__name__}; details are in the "
                    "service log)"]


def assess(engine: Engine, source: EndpointFigures | None, *, overdue_after: timedelta) -> Health:
    endpoints, reasons = read_endpoints(source)
    try:
        figures = read_figures(engine, overdue_after=overdue_after)
    except sa.exc.SQLAlchemyError as exc:
        log.error("/health: the database does not answer", exc_info=exc)
        down = [f"the database does not answer ({type(exc).__name__}; details are in the service log)"]
        return Health(status="down", reasons=down + endpoint_reasons(endpoints) + reasons, queue=None,
                      exceptions=None, endpoints=endpoints)
    reasons = endpoint_reasons(endpoints) + reasons + figure_reasons(figures, overdue_after=overdue_after)
    return Health(status="degraded" if reasons else "ok", reasons=reasons, queue=figures.queue,
                  exceptions=figures.exceptions, endpoints=endpoints)
