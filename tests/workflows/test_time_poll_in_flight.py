"""A time poll does not queue again what an unfinished delivery already carries as it is: during an outage the
polls go on (each reads its overlap again), and without this the backlog, and the drain after the outage, grew
with the number of polls instead of the entries. An entry changed meanwhile is queued again (its new content),
and once delivered everything is in the ERP once, as it stands in the tracker."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from fakes import FakeWorld, fake_world

from q2c.entrypoints.wiring import drain
from q2c.store import queue, records
from q2c.workflows.time_approved import KIND, PollStats, poll_time

P = "P-006A"


# The tracker stamps its entries from 2026-11-01 00:00 on; a poll that started then keeps its cursor five
# minutes before it (the overlap), so every poll here reads every entry again, as polls within an overlap do.
STARTED = datetime(2026, 11, 1, tzinfo=UTC)


def poll(w: FakeWorld) -> PollStats:
    return poll_time(w.hub, started_at=STARTED)


def _waiting(w: object) -> int:
    with w.hub.engine.connect() as conn:  # type: ignore[attr-defined]
        return queue.unfinished(conn, kinds=[KIND])


def test_polls_during_an_outage_queue_each_entry_once_and_a_change_again(tmp_path: Path, db_url: str) -> None:
    """Alice's 8 h and Bob's 6 h are approved and polled; NetSuite is down, so nothing is delivered. Alice's
    next day (7 h) is approved and polled: the poll reads all three again (its overlap), and queues only the
    new one. A poll with nothing new queues nothing. Bob's entry is corrected to 6.5 h in Harvest: the next
    poll queues it alone. Delivered: Alice 8 h and 7 h, Bob 6.5 h, one timebill each."""
    w = fake_world(tmp_path, database=db_url)
    w.set_up()
    alice = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    bob = w.tracker.log(P, "BUILD", "bob@example.com", date(2026, 11, 3), "6")
    w.tracker.approve(alice, bob)
    assert poll(w).groups_enqueued == 1
    alice_2 = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 4), "7")
    w.tracker.approve(alice_2)
    second = poll(w)
    assert second.entries == 3 and second.groups_enqueued == 1
    assert poll(w).groups_enqueued == 0
    w.tracker.change(bob, hours=Decimal("6.5"))
    assert poll(w).groups_enqueued == 1
    with w.hub.engine.connect() as conn:
        payloads = queue.unfinished_payloads(conn, kind=KIND, aggregates=[f"project:{P}"])
    assert sorted([e["id"] for e in p["entries"]] for p in payloads) == sorted([[alice, bob], [alice_2], [bob]])
    drain(w.hub)
    assert _waiting(w) == 0
    bills = w.erp.records["timebill"]
    assert {k: v.entry.hours for k, v in bills.items()} == {alice: Decimal("8"), alice_2: Decimal("7"),
                                                            bob: Decimal("6.5")}
    with w.hub.engine.connect() as conn:
        held = records.get_records(conn, entity="time_entry", canonical_ids=[alice, alice_2, bob])
    assert {k: r.state for k, r in held.items()} == {alice: "synced", alice_2: "synced", bob: "synced"}
    assert poll(w).groups_enqueued == 0  # read again, as delivered: nothing queued
