"""Shared vendor limits through PostgreSQL: two lease books on two engines stand for two q2c processes.

What must hold across processes is NetSuite's account-wide concurrency limit (Oracle NetSuite Help,
"Web Services and RESTlet Concurrency Governance": one limit for every integration of the account)
and Harvest's request budget (Harvest API v2 overview, help.getharvest.com/api-v2/introduction/overview/
general/, "Rate Limiting": 100 requests per 15 s, 429 with Retry-After beyond), here scaled down in time.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.engine.budget import RateLimit, RateLimiter
from q2c.engine.errors import RateLimited, TransientError
from q2c.engine.shared_budget import DatabaseLeases
from q2c.store import rate_leases
from q2c.store.db import create_db_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def engines(pg_url: str) -> Iterator[tuple[Engine, Engine]]:
    first, second = create_db_engine(pg_url), create_db_engine(pg_url)
    yield first, second
    first.dispose()
    second.dispose()


@pytest.fixture
def account() -> str:
    return f"netsuite:{uuid.uuid4().hex[:8]}:account"


def limiters(engines: tuple[Engine, Engine], budget: str, limit: RateLimit, *, hold_seconds: float = 30.0,
             max_wait_seconds: float = 5.0) -> tuple[RateLimiter, RateLimiter]:
    return tuple(RateLimiter(limit, budget=budget, book=DatabaseLeases(e, hold_seconds=hold_seconds),  # type: ignore[return-value]
                             system="netsuite", max_wait_seconds=max_wait_seconds) for e in engines)


def test_two_processes_share_one_concurrency_limit(engines: tuple[Engine, Engine], account: str) -> None:
    a, b = limiters(engines, account, RateLimit(concurrency=3))
    lock = threading.Lock()
    now, peak = [0], [0]
    start = threading.Barrier(8)

    def send(limiter: RateLimiter) -> None:
        start.wait()
        limiter.acquire()
        try:
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            time.sleep(0.1)
            with lock:
                now[0] -= 1
        finally:
            limiter.release()

    pool = [threading.Thread(target=send, args=(a if n % 2 else b,)) for n in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=10)
    assert peak[0] == 3


def test_a_release_in_one_process_frees_the_slot_for_the_other(engines: tuple[Engine, Engine],
                                                               account: str) -> None:
    a, b = limiters(engines, account, RateLimit(concurrency=1))
    a.acquire()
    got: list[float] = []
    waiter = threading.Thread(target=lambda: (b.acquire(), got.append(time.monotonic()), b.release()))
    waiter.start()
    time.sleep(0.2)
    assert not got
    released = time.monotonic()
    a.release()
    waiter.join(timeout=5)
    assert got and got[0] - released < 0.3  # seen at the next poll (they are at most 50 ms apart)


CHILD = """
import sys, time
from q2c.engine.budget import RateLimit, RateLimiter
from q2c.engine.shared_budget import DatabaseLeases
from q2c.store.db import create_db_engine
limiter = RateLimiter(RateLimit(concurrency=1), budget=sys.argv[2], book=DatabaseLeases(create_db_engine(sys.argv[1])))
limiter.acquire()
print("holding", flush=True)
time.sleep(60)
"""


def test_a_sigkilled_process_s_slot_comes_back_at_once(pg_url: str, engines: tuple[Engine, Engine],
                                                       account: str) -> None:
    """Its session ends with it, and with the session its presence lock: no waiting for the 10 s expiry."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, pg_url, account], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        (b,) = limiters((engines[1],), account, RateLimit(concurrency=1), max_wait_seconds=0.3)
        with pytest.raises(RateLimited):
            b.acquire()  # the live process holds the account's one slot
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        b.max_wait_seconds = 5.0
        begun = time.monotonic()
        b.acquire()
        waited = time.monotonic() - begun
        b.release()
    finally:
        if child.poll() is None:
            child.kill()
    assert waited < 2.0  # the dead process's lease still had about 10 s to run


def test_a_broken_presence_is_replaced_and_the_leases_renamed(pg_url: str, engines: tuple[Engine, Engine],
                                                              account: str) -> None:
    a, b = limiters(engines, account, RateLimit(concurrency=1), max_wait_seconds=0.3)
    a.acquire()
    book = a.book
    assert isinstance(book, DatabaseLeases)
    old = book.presence.key()
    with engines[0].connect() as conn:  # the server drops the presence session (a network break, an admin)
        conn.execute(sa.text("select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' "
                             "and classid = :c and objid = :k"), {"c": rate_leases.PRESENCE_LOCKS, "k": old})
        conn.commit()
    book._renew()  # the keeper's next round: a new presence, named on the rows this process holds
    assert book.presence.key() != old
    with pytest.raises(RateLimited):
        b.acquire()  # the slot is not taken for abandoned
    a.release()
    b.acquire()
    b.release()


def test_without_a_presence_the_lease_s_expiry_is_the_backstop(engines: tuple[Engine, Engine],
                                                              account: str) -> None:
    budget = f"{account}/in-flight"
    with engines[0].connect() as conn:
        live = conn.execution_options(isolation_level="AUTOCOMMIT")
        rate_leases.ensure_slots(live, budget, 1)
        # a held row nobody renews and no presence vouches for
        claimed = time.monotonic()
        assert rate_leases.claim(live, budget, slots=1, holder="lost:4242:1", hold_seconds=0.3,
                                 pause=account) == 0
    (b,) = limiters((engines[1],), account, RateLimit(concurrency=1))
    begun = time.monotonic()
    b.acquire()
    free = time.monotonic()
    b.release()
    # not before the lease ran out (counted from the claim, so a slow machine between the claim and the
    # acquire cannot make it look early), and soon after it did
    assert free - claimed > 0.2 and free - begun < 1.0


def test_a_long_request_keeps_its_slot_by_renewal(engines: tuple[Engine, Engine], account: str) -> None:
    a, b = limiters(engines, account, RateLimit(concurrency=1), hold_seconds=0.2, max_wait_seconds=0.5)
    a.acquire()  # held for longer than twice its lease: the renewer keeps it
    with pytest.raises(RateLimited):
        b.acquire()
    assert isinstance(a.book, DatabaseLeases) and a.book.lost == 0
    a.release()
    b.acquire()
    b.release()


def test_the_request_window_counts_across_processes(engines: tuple[Engine, Engine], account: str) -> None:
    a, b = limiters(engines, account, RateLimit(requests=4, window_seconds=0.3))
    answered: list[float] = []
    for limiter in (a, b, a, b):
        limiter.acquire()
        limiter.release()
        answered.append(time.monotonic())
    b.acquire()  # the fifth within 0.3 s waits until the first answer is 0.3 s old
    sent = time.monotonic()
    b.release()
    assert 0.29 <= sent - answered[0] <= 0.8


def test_a_pause_one_process_was_told_holds_the_other(engines: tuple[Engine, Engine], account: str) -> None:
    for limit in (RateLimit(concurrency=2), RateLimit()):
        a, b = limiters(engines, f"{account}:{limit.concurrency}", limit)
        a.pause(0.3)  # a 429 with Retry-After: 0.3 answered to the first process
        begun = time.monotonic()
        b.acquire()
        waited = time.monotonic() - begun
        b.release()
        assert 0.25 <= waited <= 1.0, limit


def test_an_unreachable_database_is_a_transient_error_naming_the_budget(account: str) -> None:
    engine = create_db_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        limiter = RateLimiter(RateLimit(concurrency=5), budget=account, book=DatabaseLeases(engine),
                              system="netsuite")
        with pytest.raises(TransientError, match=rf"netsuite: {account}: the shared rate budget cannot be "
                                                 "reached: could not claim a slot"):
            limiter.acquire()
    finally:
        engine.dispose()


def test_shared_budgets_need_postgresql(tmp_path: object) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/hub.sqlite")
    with pytest.raises(ValueError, match="shared rate budgets need PostgreSQL, not sqlite"):
        DatabaseLeases(engine)
    engine.dispose()
