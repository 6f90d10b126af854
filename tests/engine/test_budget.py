"""The rate limiter over the in-process lease book (SQLite, one process): concurrency slots, the request
window counted from the answer, the Retry-After pause, bounded waits, no busy polling, and the registry
keying budgets by vendor account.

The limits modelled are NetSuite's account-wide concurrency limit (Oracle NetSuite Help, "Web Services
and RESTlet Concurrency Governance") and Harvest's 100 requests per 15 s (Harvest API v2 overview,
help.getharvest.com/api-v2/introduction/overview/general/, "Rate Limiting"), scaled down in time.
"""

from __future__ import annotations

import threading
import time

import pytest

from q2c.engine.budget import Busy, Lease, MemoryLeases, RateLimit, RateLimiter
from q2c.engine.errors import RateLimited
from q2c.engine.resilience import GuardRegistry


def in_flight_peak(limiter: RateLimiter, *, threads: int, hold: float) -> int:
    """Offer `threads` requests at once, each in flight for `hold` seconds; the most seen in flight."""
    lock = threading.Lock()
    now, peak = [0], [0]
    start = threading.Barrier(threads)

    def send() -> None:
        start.wait()
        limiter.acquire()
        try:
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            time.sleep(hold)
            with lock:
                now[0] -= 1
        finally:
            limiter.release()

    pool = [threading.Thread(target=send) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=10)
    return peak[0]


def test_never_more_in_flight_than_the_concurrency_limit() -> None:
    limiter = RateLimiter(RateLimit(concurrency=3), budget="netsuite:1:account")
    assert in_flight_peak(limiter, threads=10, hold=0.05) == 3


def test_a_release_lets_the_next_request_go_at_once() -> None:
    limiter = RateLimiter(RateLimit(concurrency=1), budget="netsuite:1:account")
    limiter.POLL_FIRST = limiter.POLL_MOST = 2.0  # a waiter woken by polling would take 2 s
    limiter.acquire()
    got: list[float] = []

    def second() -> None:
        limiter.acquire()
        got.append(time.monotonic())
        limiter.release()

    waiter = threading.Thread(target=second)
    waiter.start()
    time.sleep(0.1)
    assert not got  # still waiting for the slot
    released = time.monotonic()
    limiter.release()
    waiter.join(timeout=5)
    assert got and got[0] - released < 0.5  # woken by the release, not by a later poll


def test_the_window_counts_from_the_answer_not_from_the_send() -> None:
    limiter = RateLimiter(RateLimit(requests=3, window_seconds=0.3), budget="harvest:1:account")
    sent: list[float] = []
    answered: list[float] = []
    for _ in range(3):
        limiter.acquire()
        sent.append(time.monotonic())
        time.sleep(0.05)  # the request is in flight: its part of the window starts when it is answered
        limiter.release()
        answered.append(time.monotonic())
    limiter.acquire()  # the fourth waits until the first answer, not the first send, is 0.3 s old
    fourth = time.monotonic()
    limiter.release()
    assert fourth - answered[0] >= 0.3 and fourth - sent[0] >= 0.34
    assert fourth - answered[0] < 0.45


def test_a_pause_holds_every_sender_of_the_budget() -> None:
    for limit in (RateLimit(concurrency=2), RateLimit(requests=10, window_seconds=1), RateLimit()):
        limiter = RateLimiter(limit, budget="salesforce:rest")
        limiter.pause(0.15)
        begun = time.monotonic()
        limiter.acquire()
        limiter.release()
        assert time.monotonic() - begun >= 0.15, limit
        assert limiter.waited_seconds >= 0.15


def test_a_wait_past_the_bound_fails_as_rate_limited_at_once() -> None:
    limiter = RateLimiter(RateLimit(concurrency=1), budget="netsuite:1:account", system="netsuite",
                          max_wait_seconds=0.5)
    limiter.pause(30)
    begun = time.monotonic()
    with pytest.raises(RateLimited, match=r"netsuite: netsuite:1:account: no request may go for 30\.0 s") as raised:
        limiter.acquire()
    assert time.monotonic() - begun < 0.1  # a known long wait is not sat out
    assert raised.value.retry_after is not None and raised.value.retry_after > 29


def test_a_slot_held_too_long_ends_the_wait_at_its_bound() -> None:
    limiter = RateLimiter(RateLimit(concurrency=1), budget="netsuite:1:account", system="netsuite",
                          max_wait_seconds=0.15)
    limiter.acquire()
    failed: list[BaseException] = []

    def second() -> None:
        try:
            limiter.acquire()
        except RateLimited as exc:
            failed.append(exc)

    waiter = threading.Thread(target=second)
    begun = time.monotonic()
    waiter.start()
    waiter.join(timeout=5)
    limiter.release()
    assert failed and 0.14 <= time.monotonic() - begun < 1.0
    # nobody can say when a held slot comes back: the work is retried after the bound, a finite time
    assert isinstance(failed[0], RateLimited) and failed[0].retry_after == 0.15


def test_a_failed_acquire_gives_back_the_slot_it_took() -> None:
    limiter = RateLimiter(RateLimit(concurrency=1, requests=1, window_seconds=10), budget="x:1:y",
                          max_wait_seconds=0.1)
    limiter.acquire()
    limiter.release()  # the window's one request is now spent for 10 s
    with pytest.raises(RateLimited):
        limiter.acquire()  # took the concurrency slot, then found the window spent
    other = RateLimiter(RateLimit(concurrency=1), budget="x:1:y", book=limiter.book, max_wait_seconds=0.1)
    other.acquire()  # the concurrency slot was given back
    other.release()


def test_release_without_acquire_is_a_programming_error() -> None:
    limiter = RateLimiter(RateLimit(concurrency=1), budget="netsuite:1:account")
    with pytest.raises(RuntimeError, match="release\\(\\) without acquire\\(\\)"):
        limiter.release()


class CountingBook(MemoryLeases):
    """The in-process book, counting how often it is asked for a slot."""

    def __init__(self) -> None:
        super().__init__()
        self.claims = 0
        self._count = threading.Lock()

    def claim(self, budget: str, slots: int, *, pause: str, spend_seconds: float = 0.0) -> Lease | Busy:
        with self._count:
            self.claims += 1
        return super().claim(budget, slots, pause=pause, spend_seconds=spend_seconds)


def test_waiting_polls_with_backoff_and_one_thread_at_a_time() -> None:
    book = CountingBook()
    limiter = RateLimiter(RateLimit(concurrency=1), budget="netsuite:1:account", book=book)
    limiter.acquire()
    waiters = [threading.Thread(target=lambda: (limiter.acquire(), limiter.release())) for _ in range(5)]
    for t in waiters:
        t.start()
    time.sleep(0.5)
    asked = book.claims
    limiter.release()
    for t in waiters:
        t.join(timeout=5)
    # one poller, 2 ms doubling to 50 ms: about 15 asks in half a second, not thousands, not 5 x 15
    assert 3 <= asked <= 25


def test_one_budget_per_vendor_account_across_registries_sharing_a_book() -> None:
    book = MemoryLeases()
    book.shared = True  # two registries on one book stand for two processes on one database
    first, second = GuardRegistry(), GuardRegistry()
    first.share(book, {"netsuite": "1234567_SB1"})
    second.share(book, {"netsuite": "1234567_sb1", "harvest": "100001"})
    a = first.get("netsuite", "account", limit=RateLimit(concurrency=1))
    b = second.get("netsuite", "account", limit=RateLimit(concurrency=1))
    assert a.limiter.budget == b.limiter.budget == "netsuite:1234567_sb1:account"
    assert a.limiter.shared and b.limiter.shared
    a.limiter.acquire()
    b.limiter.max_wait_seconds = 0.1
    with pytest.raises(RateLimited):
        b.limiter.acquire()  # the other "process" holds the account's one slot
    a.limiter.release()
    b.limiter.acquire()
    b.limiter.release()
    # a system whose account is not known keeps its budget in the process
    sf = first.get("salesforce", "rest")
    assert not sf.limiter.shared and sf.limiter.budget == "salesforce:rest"


def test_guards_made_before_sharing_move_to_the_shared_book() -> None:
    book = MemoryLeases()
    registry = GuardRegistry()
    guard = registry.get("harvest", "account:100001", limit=RateLimit(requests=6, window_seconds=1.0))
    assert guard.limiter.budget == "harvest:account:100001" and guard.limiter.book is not book
    registry.share(book, {"harvest": "100001"})
    assert guard.limiter.book is book and guard.limiter.budget == "harvest:100001:account:100001"
    assert (guard.limiter.limit.requests, guard.limiter.limit.window_seconds) == (6, 1.0)
    assert registry.get("harvest", "account:100001") is guard


def test_a_thread_releases_what_it_acquired() -> None:
    limiter = RateLimiter(RateLimit(concurrency=2), budget="netsuite:1:account")
    limiter.acquire()
    limiter.acquire()  # nested: this thread holds both slots
    other_failed: list[bool] = []

    def other() -> None:
        with pytest.raises(RuntimeError):
            limiter.release()  # another thread cannot release this thread's slots
        other_failed.append(True)

    t = threading.Thread(target=other)
    t.start()
    t.join(timeout=5)
    limiter.release()
    limiter.release()
    assert other_failed == [True]
