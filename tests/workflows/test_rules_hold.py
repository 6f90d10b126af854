"""Random lives of a deal: whatever sequence of approvals, edits, withdrawals, corrections, replays, closes
and late facts happens, the controller's rules hold after every step.

1. nothing is lost: every entry the tracker shows approved is posted or named by an open exception;
2. the GL equals the engine: revenue in the posted journal entries is the revenue recognised to date;
3. billing adds up: per T&M phase, billed + unbilled + held back by the cap = approved billable time x rate.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from fakes import deal, fake_world, usd
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from q2c.domain.model import TimeEntryStatus
from q2c.domain.revenue import Period
from q2c.engine.replay import replay
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store
from q2c.store import records
from q2c.store.time_entries import ENTITY, INVALID, POSTED
from q2c.workflows.billing_run import enqueue_billing
from q2c.workflows.handlers import corrections
from q2c.workflows.integrity import all_violations
from q2c.workflows.periods import set_period_state
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.revenue_close import account_map, enqueue_revenue_close, posted_revenue
from q2c.workflows.time_approved import poll_time

P, C = "P-006A", "C-006A"
PEOPLE = ["alice@example.com", "bob@example.com", "dan@example.com"]  # Dan is on no rate card
TASKS = ["BUILD", "DESIGN", "INTERNAL", "DESIGN-2", "TRAVEL"]  # TRAVEL is no task of the project
HOURS = ["1", "2.5", "4", "8", "30"]  # 30 h in one entry is absurd


class DealLife(RuleBasedStateMachine):
    @initialize()
    def set_up(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.world = fake_world(Path(self.tmp.name), opportunity=deal(cap="3000.00"))  # a cap soon reached
        poll_won_deals(self.world.hub)
        drain(self.world.hub)
        self.month = Period(2026, 11)
        self.closed: list[Period] = []
        self.synced_since_change = True

    def teardown(self) -> None:
        self.world.hub.engine.dispose()
        self.tmp.cleanup()

    # --- what people do ------------------------------------------------------------------------------
    @rule(person=st.sampled_from(PEOPLE), task=st.sampled_from(TASKS), day=st.integers(1, 28),
          hours=st.sampled_from(HOURS), approve=st.booleans(), late=st.booleans())
    def log_time(self, person: str, task: str, day: int, hours: str, approve: bool, late: bool) -> None:
        period = self.closed[-1] if late and self.closed else self.month
        entry = self.world.tracker.log(P, task, person, date(period.year, period.month, day), hours)
        if approve:
            self.world.tracker.approve(entry)
        self.synced_since_change = False

    @rule(person=st.sampled_from(PEOPLE[:2]), first=st.integers(1, 24))
    def log_a_week(self, person: str, first: int) -> None:
        """Five approved days of 8 h on BUILD: enough to reach the cap now and then."""
        tracker = self.world.tracker
        tracker.approve(*(tracker.log(P, "BUILD", person, date(self.month.year, self.month.month, day), "8")
                          for day in range(first, first + 5)))
        self.synced_since_change = False

    @precondition(lambda self: self._entries(TimeEntryStatus.SUBMITTED))
    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        self.world.tracker.approve(data.draw(st.sampled_from(self._entries(TimeEntryStatus.SUBMITTED))))
        self.synced_since_change = False

    @precondition(lambda self: self._entries(TimeEntryStatus.APPROVED))
    @rule(data=st.data(), hours=st.sampled_from(HOURS))
    def edit(self, data: st.DataObject, hours: str) -> None:
        """Reopened, changed and approved again in the tracker."""
        entry = data.draw(st.sampled_from(self._entries(TimeEntryStatus.APPROVED)))
        self.world.tracker.change(entry, hours=Decimal(hours))
        self.synced_since_change = False

    @precondition(lambda self: self._entries(TimeEntryStatus.APPROVED))
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from(self._entries(TimeEntryStatus.APPROVED)))
        self.world.tracker.change(entry, status=TimeEntryStatus.SUBMITTED)
        self.synced_since_change = False

    @rule()
    def sync(self) -> None:
        poll_time(self.world.hub)
        drain(self.world.hub)
        self.synced_since_change = True

    @rule()
    def correct_an_unknown_resource(self) -> None:
        """The controller says Dan's time was Alice's, from the exception queue."""
        for row in self._open("time.resource_unknown")[:1]:
            entries = [{**e, "resource_id": "alice@example.com"} for e in row.payload["entries"]]
            replay(self.world.hub.engine, [row], actor="controller", corrected_payload={"entries": entries},
                   corrections=corrections())
            drain(self.world.hub)

    @rule()
    def replay_everything_open(self) -> None:
        rows = self._open()
        if rows:
            replay(self.world.hub.engine, rows, actor="controller")
            drain(self.world.hub)

    @rule(which=st.sampled_from(["SF-M1", "SF-M2"]), day=st.integers(1, 28))
    def complete_milestone(self, which: str, day: int) -> None:
        self.world.crm.complete_milestone("SF-006A", which, date(self.month.year, self.month.month, day))

    @rule(close_period=st.booleans(), rerun_closed=st.booleans(), sync_first=st.booleans())
    def month_end(self, close_period: bool, rerun_closed: bool, sync_first: bool) -> None:
        """Billing and revenue close at the month end; maybe the controller closes the month; next month."""
        hub = self.world.hub
        if sync_first:
            self.sync()
        ends = [self.month.end] + ([self.closed[-1].end] if rerun_closed and self.closed else [])
        for on in ends:
            enqueue_billing(hub, invoice_date=on)
            drain(hub)
            enqueue_revenue_close(hub, period_end=on)
            drain(hub)
        with hub.engine.connect() as conn:
            event(f"month end: {len(records.list_records(conn, entity='invoice'))} invoices so far")
            if records.list_records(conn, entity=ENTITY, states=["over_cap"]):
                event("month end: time over the cap")
        if close_period:
            set_period_state(hub, legal_entity="US01", period=self.month, closed=True, actor="controller")
            self.closed.append(self.month)
        self.month = self.month.next()

    # --- the rules ---------------------------------------------------------------------------------------
    @invariant()
    def nothing_is_lost_and_billing_adds_up(self) -> None:
        with self.world.hub.engine.connect() as conn:
            assert all_violations(conn) == []

    @invariant()
    def every_approved_entry_is_posted_or_named(self) -> None:
        if not self.synced_since_change:
            return  # the hub has not been told yet
        with self.world.hub.engine.connect() as conn:
            held = {r.canonical_id: r for r in records.list_records(conn, entity=ENTITY)}
            named = exception_store.open_subject_ids(conn, entity=ENTITY)
        for entry in self.world.tracker.entries.values():
            if entry.status is not TimeEntryStatus.APPROVED:
                continue
            record = held.get(entry.id)
            assert record is not None, f"approved {entry.id} never reached the hub"
            assert record.state in (*POSTED, INVALID), f"approved {entry.id} is {record.state}"
            if record.state == INVALID:
                assert entry.id in named, f"{entry.id} is held and no open exception names it"

    @invariant()
    def the_gl_equals_the_engine(self) -> None:
        with self.world.hub.engine.connect() as conn:
            posted = records.list_records(conn, entity="revenue_recognition")
            if not posted:
                return
            latest = max(posted, key=lambda r: r.payload["period"])
            assert posted_revenue(conn, C, "USD", account_map(self.world.hub)) == usd(latest.payload["cumulative"])

    # --- helpers -----------------------------------------------------------------------------------------
    def _entries(self, status: TimeEntryStatus) -> list[str]:
        return sorted(e.id for e in self.world.tracker.entries.values() if e.status is status)

    def _open(self, rule: str | None = None) -> list[exception_store.ExceptionRow]:
        with self.world.hub.engine.connect() as conn:
            return exception_store.search(conn, rule=rule)


# Q2C_LIFE_EXAMPLES=500 for a longer soak (README); the default keeps `make test` fast.
DealLife.TestCase.settings = settings(max_examples=int(os.environ.get("Q2C_LIFE_EXAMPLES", "12")),
                                      stateful_step_count=30, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
test_the_rules_hold_whatever_happens = DealLife.TestCase

