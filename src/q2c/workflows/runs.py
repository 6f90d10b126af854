"""Runs: every sync, billing run and revenue close recorded in `runs`, with its figures.

`recorded_run(hub, kind)` wraps the work: the run is `running` from the start (a process killed mid-run
leaves it so), and on exit it is `ok`, or `failed` with the message of the exception that escaped. Its
figures are the counts the caller put in the dict it yields, plus what the hub's own records say the run's
work did: how many work items it queued, the exceptions opened for that work (by rule), and for billing the
invoices written with their total per currency, for the revenue close the contracts whose revenue was
posted. A run's work is the work of its kinds queued while it ran, told apart from other work by
correlation id (see `store/history.py`).

Under `q2c serve` the workers deliver a poll's work after the poll's run has finished, so a scheduled run
counts the exceptions its poll raised itself (an unreadable entry, an ownership conflict) and those of the
work delivered before it ended; `q2c sync` and `q2c close` deliver everything inside the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from q2c.store import history, runs
from q2c.store.db import now
from q2c.workflows import billing_run, contract_changes, crm_changes, project_setup, revenue_close, time_approved
from q2c.workflows.hub import Hub

log = logging.getLogger("q2c.runs")

SYNC_DEALS, SYNC_TIME, SYNC_CONTRACT_CHANGES = "sync.deals", "sync.time", "sync.contract_changes"
BILLING, REVENUE_CLOSE, RECONCILE, OUTAGE = "billing", "revenue_close", "reconcile", "outage"
KINDS = (SYNC_DEALS, SYNC_TIME, SYNC_CONTRACT_CHANGES, BILLING, REVENUE_CLOSE, RECONCILE, OUTAGE)
MAX_ERROR_LENGTH = 2000

# The kinds of work each kind of run queues (and whose exceptions it counts); a kind not named here counts
# every exception opened while it ran.
WORK_KINDS: Mapping[str, tuple[str, ...]] = {
    SYNC_DEALS: (project_setup.KIND, crm_changes.FEED_KIND, contract_changes.KIND),  # feed events check terms
    SYNC_TIME: (time_approved.KIND, time_approved.REMAP_KIND, time_approved.ACCOUNT_KIND),
    SYNC_CONTRACT_CHANGES: (contract_changes.KIND,),
    BILLING: (billing_run.KIND,),
    REVENUE_CLOSE: (revenue_close.KIND,),
}


def change_figures(stats: crm_changes.ChangeStats) -> dict[str, int]:
    return {"crm_events": stats.events, "echoes": stats.echoes, "conflicts": stats.conflicts,
            "won_from_changes": stats.won, "feed_gaps": stats.gaps, "terms_checked": stats.terms_checked}


def deal_figures(stats: project_setup.DealPollStats) -> dict[str, int]:
    return {"seen": stats.seen, "enqueued": stats.enqueued, "duplicates": stats.duplicates}


def time_figures(stats: time_approved.PollStats) -> dict[str, int]:
    return {"entries": stats.entries, "pages": stats.pages, "batches": stats.groups_enqueued,
            "rejects": stats.rejects, "duplicates": stats.duplicates}


def _invoices(conn: Connection, work: set[str], after: history.Mark, until: datetime) -> dict[str, Any]:
    """The invoices the billing work wrote, from its audit entries, with their total per currency."""
    written = {e.record_id: e.after or {} for e in history.audit_entries(conn, action="invoice", after=after,
                                                                         until=until, correlation_ids=work)}
    totals: dict[str, Decimal] = {}
    for entry in written.values():
        currency = str(entry.get("currency", ""))
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(str(entry.get("total", "0")))
    return {"invoices": len(written), "invoice_totals": {c: str(t) for c, t in sorted(totals.items())}}


def _closed(conn: Connection, work: set[str], after: history.Mark, until: datetime) -> dict[str, Any]:
    """The contracts whose revenue the close work posted."""
    posted = {e.record_id for e in history.audit_entries(conn, action="revenue", after=after, until=until,
                                                         correlation_ids=work)}
    return {"closed": len(posted)}


WorkFigures = Callable[[Connection, set[str], history.Mark, datetime], dict[str, Any]]
FIGURES: Mapping[str, WorkFigures] = {BILLING: _invoices, REVENUE_CLOSE: _closed}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _idle(stats: Mapping[str, Any]) -> bool:
    """Nothing happened: every count the caller gave is 0, nothing was queued, no exception opened."""
    counts = [v for v in stats.values() if isinstance(v, int) and not isinstance(v, bool)]
    return all(v == 0 for v in counts)


def _message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= MAX_ERROR_LENGTH else text[:MAX_ERROR_LENGTH - 1] + "…"


def _finish(hub: Hub, run_id: int, kind: str, started: datetime, start: history.Mark, given: dict[str, Any],
            error: BaseException | None, record_idle: bool) -> None:
    finished = now()
    kinds = WORK_KINDS.get(kind)
    with hub.engine.begin() as conn:
        work = history.run_correlations(conn, kinds=kinds, after=start, until=finished) if kinds else set()
        opened = history.exceptions_opened(conn, after=start, until=finished, work_kinds=kinds)
        stats: dict[str, Any] = {**_jsonable(given), "queued": len(work)}
        figures = FIGURES.get(kind)
        if figures is not None:
            stats.update(figures(conn, work, start, finished))
        if error is None and not record_idle and not opened and _idle(stats):
            runs.discard_run(conn, run_id)
            return
        stats["exceptions"] = {"opened": sum(opened.values()), "by_rule": opened}
        stats["duration_seconds"] = round((finished - started).total_seconds(), 3)
        if error is not None:
            stats["error"] = _message(error)
        runs.finish_run(conn, run_id, status=runs.OK if error is None else runs.FAILED, stats=stats,
                        finished_at=finished)


@contextmanager
def recorded_run(hub: Hub, kind: str, *, record_idle: bool = True) -> Iterator[dict[str, Any]]:
    """Record the work inside as one run of `kind`; put its counts in the dict yielded.

    With `record_idle=False` (the scheduler's polls) a run that found nothing, queued nothing and opened no
    exception is not kept, so the runs that did something are not buried under empty polls."""
    started = now()
    with hub.engine.begin() as conn:
        start = history.mark(conn)
        run_id = runs.start_run(conn, kind=kind, started_at=started)
    given: dict[str, Any] = {}
    try:
        yield given
    except BaseException as exc:
        try:
            _finish(hub, run_id, kind, started, start, given, exc, record_idle)
        except Exception:  # the work's own failure is what the caller must see
            log.exception("could not record the end of run %s (%s)", run_id, kind)
        raise
    _finish(hub, run_id, kind, started, start, given, None, record_idle)


def run_steps(hub: Hub, kind: str, steps: Sequence[Callable[[Hub], Mapping[str, Any]]], *,
              record_idle: bool = True) -> dict[str, Any]:
    """One run of several steps, each giving its counts; a step that fails does not stop the others (the
    CRM's change feed may fail while its won-deal query works), and the run fails with the first failure."""
    with recorded_run(hub, kind, record_idle=record_idle) as stats:
        failure: Exception | None = None
        for step in steps:
            try:
                stats.update(step(hub))
            except Exception as exc:
                failure = failure or exc
                if failure is not exc:
                    log.warning("%s: %s failed too: %s", kind, getattr(step, "__name__", "a step"), exc)
        if failure is not None:
            raise failure
        return dict(stats)


def _crm_changes(hub: Hub) -> dict[str, int]:
    return change_figures(crm_changes.consume_crm_changes(hub))


def _won_deals(hub: Hub) -> dict[str, int]:
    return deal_figures(project_setup.poll_won_deals(hub))


def _contract_changes_when_due(hub: Hub) -> dict[str, int]:
    return {"contracts": contract_changes.poll_contract_changes_when_due(hub)}


def _time(hub: Hub) -> dict[str, int]:
    return time_figures(time_approved.poll_time(hub))


def scheduled_polls() -> list[tuple[str, list[Callable[[Hub], Mapping[str, Any]]]]]:
    """The scheduler's recorded polls, in the order it runs them: each kind of run with its steps."""
    return [(SYNC_DEALS, [_crm_changes, _won_deals]), (SYNC_CONTRACT_CHANGES, [_contract_changes_when_due]),
            (SYNC_TIME, [_time])]
