"""Over random accounts and random changes between random listings, the time entry walk never skips an entry
that exists and matches both before and after it, never delivers one twice, and an entry changed meanwhile is
read at its last state by this walk or by the next poll (whose cursor the time workflow keeps at most the
latest `updated_at` read, and behind the pass start).

Harvest behaviour relied on: time entries newest first, paged by number, bounded by `from`/`to` and
`updated_since` (API v2, List all time entries, https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/).
About 2 s: each example is a fresh account and a few dozen requests over loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from harvest_fixtures import Clock, make_client, seed_delivery
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from q2c.connectors.harvest.client import HarvestClient
from q2c.connectors.harvest.time_walk import TimeEntryWalk
from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.kit import SandboxServer

START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
FIRST_DAY = datetime(2026, 2, 1).date()


@pytest.fixture
def admin(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def day(n: int) -> str:
    return (FIRST_DAY + timedelta(days=n)).isoformat()


def walk(harvest: HarvestClient, since: datetime | None, per_page: int) -> list[dict[str, Any]]:
    return [e for batch in TimeEntryWalk(harvest, updated_since=since, per_page=per_page) for e in batch]


def stamp(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["updated_at"])


@pytest.fixture
def harvest(server: SandboxServer) -> Iterator[HarvestClient]:
    """With Harvest's budget of 100 requests per 15 s the client would wait out most of this test."""
    with make_client(server, requests_per_15s=1000) as client:
        yield client


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_interleaving_of_changes_makes_the_walk_skip_or_repeat(
        data: st.DataObject, harvest: HarvestClient, sandbox: HarvestSandbox, admin: httpx.Client,
        clock: Clock) -> None:
    admin.post("/__sandbox/reset").raise_for_status()
    clock.now = START
    state = sandbox.state
    delivery = seed_delivery(state)
    people = [delivery.ada_id, delivery.grace_id]
    days = data.draw(st.integers(1, 3), label="days")
    per_page = data.draw(st.integers(5, 7), label="per_page")

    def log(spent: int, who: int) -> int:
        return int(state.create_time_entry({"project_id": delivery.project_id, "task_id": delivery.design_task_id,
                                            "user_id": who, "spent_date": day(spent), "hours": Decimal(1)})["id"])

    logged = [log(data.draw(st.integers(0, days - 1)), data.draw(st.sampled_from(people)))
              for _ in range(data.draw(st.integers(3, 24), label="entries"))]
    clock.advance(minutes=5)
    logged += [log(data.draw(st.integers(0, days - 1)), data.draw(st.sampled_from(people)))
               for _ in range(data.draw(st.integers(0, 6), label="later entries"))]
    since = data.draw(st.sampled_from([None, clock.now]), label="since")
    clock.advance(minutes=5)

    newest = state.time_entry_ids()[:12]  # in listing order: what a walk reads first, so changes there shift it

    def change() -> dict[str, Any]:
        target = data.draw(st.sampled_from(newest) | st.sampled_from(logged))
        made: dict[str, Any] = data.draw(st.sampled_from([
            {"delete": target}, {"delete": target}, {"approve": [target]}, {"withdraw_approval": [target]},
            {"update": {"id": target, "hours": 2}},
            {"update": {"id": target, "spent_date": day(data.draw(st.integers(-1, days)))}},
            {"create": {"project_id": delivery.project_id, "task_id": delivery.design_task_id,
                        "user_id": data.draw(st.sampled_from(people)),
                        "spent_date": day(data.draw(st.integers(-1, days))), "hours": 3}}]))
        return made

    def burst() -> list[dict[str, Any]]:
        """Entries a walk has just read go at once: more than pages overlap by, the case page numbers miss."""
        first = data.draw(st.integers(0, len(newest) - 1))
        return [{"delete": i} for i in newest[first:first + data.draw(st.integers(2, 4))]]

    for _ in range(data.draw(st.integers(0, 5), label="batches of changes")):
        batch = data.draw(st.sampled_from([burst, lambda: [change() for _ in range(data.draw(st.integers(1, 3)))]]))()
        listings = data.draw(st.integers(1, 6))
        admin.post("/__sandbox/between_pages", json={"after": listings, "changes": batch}).raise_for_status()

    def matching() -> dict[int, dict[str, Any]]:
        current = {i: state.time_entry(i) for i in state.time_entry_ids()}
        return {i: e for i, e in current.items() if since is None or stamp(e) >= since}

    before = matching()
    pass_start = clock.now - timedelta(seconds=1)
    first = walk(harvest, since, per_page)
    after = matching()

    read = [e["id"] for e in first]
    assert len(read) == len(set(read)), "an entry was delivered twice in one walk"
    unchanged = {i for i in before.keys() & after.keys() if before[i]["updated_at"] == after[i]["updated_at"]}
    assert unchanged <= set(read), f"skipped {sorted(unchanged - set(read))}"

    changed = {i for i in before.keys() & after.keys()} - unchanged
    cursor = min(max((stamp(e) for e in first), default=pass_start), pass_start - timedelta(minutes=5))
    second = {e["id"]: e for e in walk(harvest, cursor, per_page)}
    by_id = {e["id"]: e for e in first}
    for entry_id in changed:
        last = after[entry_id]["updated_at"]
        assert (by_id.get(entry_id, {}).get("updated_at") == last
                or second.get(entry_id, {}).get("updated_at") == last), f"entry {entry_id} lost at its new state"
