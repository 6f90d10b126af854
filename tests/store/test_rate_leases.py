"""The lease rows behind shared vendor limits, on PostgreSQL (the only database they are kept in).

A claim takes a free row with `FOR UPDATE SKIP LOCKED` (PostgreSQL documentation, SELECT, "The Locking
Clause"); a row is free when its lease is released or has expired, so a holder that died gives its
slot back by itself. Times are the server's `clock_timestamp()`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Connection

from q2c.store import rate_leases
from q2c.store.db import create_db_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def conn(pg_url: str) -> Iterator[Connection]:
    engine = create_db_engine(pg_url)
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")
    engine.dispose()


@pytest.fixture
def budget(conn: Connection) -> str:
    name = f"netsuite:{uuid.uuid4().hex[:8]}:account/in-flight"
    rate_leases.ensure_slots(conn, name, 3)
    return name


def take(conn: Connection, budget: str, holder: str, *, slots: int = 3, hold: float = 30.0) -> int | None:
    return rate_leases.claim(conn, budget, slots=slots, holder=holder, hold_seconds=hold, pause=budget + "!")


def test_claims_take_distinct_slots_up_to_the_limit(conn: Connection, budget: str) -> None:
    assert [take(conn, budget, f"p{n}") for n in range(4)] == [0, 1, 2, None]
    standing = rate_leases.standing(conn, budget, slots=3, pause=budget + "!")
    assert standing.held == 3 and standing.paused_for == 0 and standing.cooling_for is None


def test_a_release_frees_the_slot_and_only_its_holder_can_release(conn: Connection, budget: str) -> None:
    slot = take(conn, budget, "a")
    assert slot == 0
    assert not rate_leases.release(conn, budget, slot, holder="b", cooldown_seconds=0)
    assert rate_leases.release(conn, budget, slot, holder="a", cooldown_seconds=0)
    assert take(conn, budget, "c") == 0


def test_an_expired_lease_is_taken_over(conn: Connection, budget: str) -> None:
    for n in range(3):
        take(conn, budget, f"crashed-{n}", hold=0.2)  # a process that was killed: nobody renews these
    assert take(conn, budget, "alive") is None
    time.sleep(0.25)
    assert take(conn, budget, "alive") == 0
    # the dead holder's late release does not free the slot the live one holds now
    assert not rate_leases.release(conn, budget, 0, holder="crashed-0", cooldown_seconds=0)
    assert rate_leases.slots_of(conn, budget)[0].holder == "alive"


def test_renewal_keeps_a_long_request_s_lease(conn: Connection, budget: str) -> None:
    take(conn, budget, "slow", slots=1, hold=0.2)
    for _ in range(3):
        time.sleep(0.1)
        assert rate_leases.renew(conn, ["slow", "gone"], hold_seconds=0.2) == 1
    assert take(conn, budget, "other", slots=1) is None


def test_a_spent_request_cools_down_before_it_can_go_again(conn: Connection, budget: str) -> None:
    slot = take(conn, budget, "a", slots=1)
    assert slot is not None and rate_leases.release(conn, budget, slot, holder="a", cooldown_seconds=0.3)
    assert take(conn, budget, "b", slots=1) is None
    standing = rate_leases.standing(conn, budget, slots=1, pause=budget + "!")
    assert standing.held == 0 and standing.cooling_for is not None and 0.2 < standing.cooling_for <= 0.3
    time.sleep(standing.cooling_for + 0.01)
    assert take(conn, budget, "b", slots=1) == 0


def test_a_pause_stops_every_claim_and_only_lengthens(conn: Connection, budget: str) -> None:
    pause = budget + "!"
    rate_leases.pause(conn, pause, 0.3)
    rate_leases.pause(conn, pause, 0.05)  # a shorter pause does not cut the longer one short
    assert take(conn, budget, "a") is None
    left = rate_leases.standing(conn, budget, slots=3, pause=pause).paused_for
    assert 0.2 < left <= 0.3 and abs(rate_leases.pause_left(conn, pause) - left) < 0.05
    time.sleep(left + 0.01)
    assert take(conn, budget, "a") == 0 and rate_leases.pause_left(conn, pause) == 0


def test_a_smaller_limit_uses_only_the_first_slots(conn: Connection, budget: str) -> None:
    """Two configs of one account with different limits: together they never pass the larger one."""
    assert [take(conn, budget, f"small-{n}", slots=2) for n in range(3)] == [0, 1, None]
    assert take(conn, budget, "large", slots=3) == 2
    rate_leases.ensure_slots(conn, budget, 5)  # a larger limit configured later adds rows
    assert [s.slot for s in rate_leases.slots_of(conn, budget)] == [0, 1, 2, 3, 4]


def test_reap_frees_the_rows_of_a_process_whose_session_ended(pg_url: str, conn: Connection, budget: str) -> None:
    engine = create_db_engine(pg_url)
    alive, dying = engine.connect(), engine.connect()
    try:
        assert rate_leases.take_presence(alive, 101) and rate_leases.take_presence(dying, 202)
        assert not rate_leases.take_presence(conn, 101)  # held by another session
        assert rate_leases.claim(conn, budget, slots=3, holder="alive", hold_seconds=30, pause="-", presence=101) == 0
        assert rate_leases.claim(conn, budget, slots=3, holder="dying", hold_seconds=30, pause="-", presence=202) == 1
        assert rate_leases.reap(conn, budget, cooldown_seconds=0) == 0  # both processes live
        dying.invalidate()  # the process is gone, and its session with it
        # the server ends the session's backend (and its advisory lock) on its own time: a busy machine takes longer
        deadline = time.monotonic() + 10
        while (reaped := rate_leases.reap(conn, budget, cooldown_seconds=0.3)) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reaped == 1
        slots = {s.slot: s for s in rate_leases.slots_of(conn, budget)}
        assert slots[0].holder == "alive" and slots[1].holder is None and slots[1].presence is None
        # a dead process's request may have reached the vendor: its row cools down like a released one
        assert slots[1].expires_in is not None and 0.2 < slots[1].expires_in <= 0.3
    finally:
        alive.close()
        dying.close()
        engine.dispose()
