"""Benchmark: NetSuite down for a while under load, then back: how fast the backlog drains.

    .venv/bin/python bench/outage_drain.py [--outage-seconds 600] [--modes circuit,backoff] [--backends sqlite]
        [--entries 5000] [--load-per-second 10] [--poll-seconds 60] [--workers 2]
        [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

Quick run in about two minutes: `--outage-seconds 20 --entries 2000`.

The sandboxes are the time sync benchmark's (`bench/time_sync.py`: the Harvest sandbox and
`bench/netsuite_account.py` in processes of their own, with the vendors' limits: Harvest's 100 requests per
15 s, NetSuite's 5 requests in flight at 150 ms each), seeded the same way. The hub runs here as `q2c serve`
runs time: worker threads (`Worker.run_forever`, q2c's default batch and delivery policy, the connectors'
default retries and circuit breaker) and a poller (`poll_time` every `--poll-seconds`), while a load thread
adds approved entries in Harvest every second. Each mode gets a fresh database and a fresh NetSuite account:

1. steady: the `--entries` already approved are synced while the load keeps coming; the throughput of that
   phase (entries synced per second) is the pre-outage baseline.
2. outage: NetSuite answers every call with 503 (the sandbox's `down` fault) for `--outage-seconds`, the load
   and the polls going on; just before it comes back the load stops and one last poll queues what was added,
   so the backlog is all in the queue.
3. back: NetSuite answers again; the clock runs from then until the queue is empty.

Modes: `circuit`, q2c's workers (`worker_for`: work waits on NetSuite's circuit, is probed when it cools down
and released when it closes); `backoff`, the same workers without the guards, as q2c was before: each failed
item backs off on its own (randomised, capped at `delivery.backoff_cap_seconds`, 300 s).

It prints, per mode: the steady throughput, the backlog when NetSuite comes back (work items and entries not
yet in NetSuite), the seconds from coming back to an empty queue, and the entries lost (approved in Harvest,
not in NetSuite) and doubled (more timebills, or creations, than distinct entries), both of which must be 0.
It exits non-zero when anything is lost or doubled, or when the circuit mode's drain misses the aim (60 s).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench_databases import database, postgres_problem
from q2c.config import DeliverySettings, TimePolicy
from q2c.engine.resilience import GuardRegistry
from q2c.engine.worker import Worker
from q2c.workflows.hub import Hub
from time_sync import (
    DEFAULT_PG_URL,
    VENDOR_LATENCY_MS,
    Spec,
    Vendors,
    fresh_netsuite,
    hub_settings,
    say,
    seed_hub_records,
    split,
    start_vendors,
)

AIM_DRAIN_SECONDS = 60.0
MODES = ("circuit", "backoff")


@dataclass
class Result:
    mode: str
    backend: str
    steady_entries: int
    steady_seconds: float
    backlog_items: int
    backlog_entries: int
    drain_seconds: float | None  # None: the queue was not empty within the timeout
    approved: int
    lost: int
    doubled: int
    retried: int
    dead: int


def workers_for(hub: Hub, mode: str, count: int) -> list[Worker]:
    """q2c's workers; in `backoff` mode without the guards, so a failed item only backs off."""
    from q2c.entrypoints.wiring import delivery_policy, worker_for
    from q2c.workflows.handlers import handlers, subjects

    if mode == "circuit":
        return [worker_for(hub, name=f"bench-worker-{i}") for i in range(count)]
    return [Worker(hub.engine, handlers(hub), name=f"bench-worker-{i}", policy=delivery_policy(hub.config),
                   batch=hub.config.delivery.batch, subjects=subjects()) for i in range(count)]


class Load:
    """Approved entries added in Harvest every second, on a thread of its own."""

    def __init__(self, vendors: Vendors, *, per_second: int, projects: int, people: int) -> None:
        self.vendors, self.per_second, self.projects, self.people = vendors, per_second, projects, people
        self.total = 0  # entries in the Harvest account, all approved
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seed = 1000

    def add(self, count: int) -> None:
        self._seed += 1
        made = self.vendors.harvest.admin("POST", "/__sandbox/generate", {
            "count": count, "people": self.people, "projects": self.projects, "approved_share": 1.0,
            "seed": self._seed})
        self.total = int(made["time_entries"])

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(1.0):
                self.add(self.per_second)

        self._thread = threading.Thread(target=run, name="load", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


class Poller:
    """`poll_time` every `every` seconds, as `q2c serve`'s scheduler does; `now` polls at once and waits."""

    def __init__(self, hub: Hub, every: float) -> None:
        self.hub, self.every = hub, every
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="poller", daemon=True)
        self.errors: list[str] = []

    def now(self) -> None:
        from q2c.workflows.time_approved import poll_time

        with self._lock:
            try:
                poll_time(self.hub)
            except Exception as exc:  # a failed poll is tried again next round, as the scheduler does
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.now()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)


def unfinished(hub: Hub) -> int:
    from q2c.store import queue

    with hub.engine.connect() as conn:
        return queue.unfinished(conn)


def synced(hub: Hub) -> int:
    from q2c.store import records

    with hub.engine.connect() as conn:
        return records.count_by_state(conn, entity="time_entry").get("synced", 0)


def wait_until(condition: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until `condition` held (checked every 50 ms), or None after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            return None
        time.sleep(0.05)
    return time.monotonic() - started


def netsuite_faults(vendors: Vendors, *, down: bool) -> None:
    vendors.erp.admin("PUT", "/__sandbox/faults", {"down": down, "latency_ms": VENDOR_LATENCY_MS})


def measure(mode: str, backend: str, args: argparse.Namespace, workdir: Path) -> Result:
    from q2c.config import parse_config
    from q2c.entrypoints.wiring import build_hub

    vendors = start_vendors("vendor", workdir, entries=args.entries, projects=args.projects, people=args.people)
    try:
        fresh_netsuite(vendors, people=args.people)
        with database(backend, workdir, args.pg_url, mode) as url:
            config = parse_config(hub_settings(
                database=url, harvest_url=vendors.harvest.url, netsuite_url=vendors.erp.url,
                key_path=str(vendors.key_path), references=vendors.references, people=args.people,
                workers=args.workers))
            hub = build_hub(config, guards=GuardRegistry())
            seed_hub_records(hub, Spec(
                kind="hub", backend=backend, database=url, harvest_url=vendors.harvest.url,
                netsuite_url=vendors.erp.url, key_path=str(vendors.key_path), references=vendors.references,
                entries=args.entries, projects=args.projects, people=args.people, workers=args.workers,
                batch=config.delivery.batch, drive="concurrent", timeout_seconds=args.timeout))
            return run_phases(mode, backend, hub, vendors, args)
    finally:
        vendors.stop()


def run_phases(mode: str, backend: str, hub: Hub, vendors: Vendors, args: argparse.Namespace) -> Result:
    load = Load(vendors, per_second=args.load_per_second, projects=args.projects, people=args.people)
    load.total = args.entries
    poller = Poller(hub, args.poll_seconds)
    stop = threading.Event()
    workers = workers_for(hub, mode, args.workers)
    threads = [threading.Thread(target=w.run_forever, args=(stop,), name=f"worker-{i}", daemon=True)
               for i, w in enumerate(workers)]
    try:
        began = time.monotonic()
        for thread in threads:
            thread.start()
        load.start()
        poller.start()
        poller.now()
        steady = wait_until(lambda: synced(hub) >= args.entries, args.timeout)
        if steady is None:
            raise RuntimeError(f"{mode}: the first {args.entries:,} entries did not sync within {args.timeout:.0f} s")
        steady_entries, steady_seconds = synced(hub), time.monotonic() - began

        netsuite_faults(vendors, down=True)
        say(f"  {mode}/{backend}: NetSuite down for {args.outage_seconds:.0f} s "
            f"(load {args.load_per_second}/s, a poll every {args.poll_seconds:.0f} s)")
        time.sleep(max(args.outage_seconds - 1.0, 0.0))
        load.stop()
        poller.now()  # the last poll of the outage: every entry added is queued
        time.sleep(min(1.0, args.outage_seconds))
        backlog_items = unfinished(hub)
        backlog_entries = load.total - synced(hub)

        netsuite_faults(vendors, down=False)
        drain = wait_until(lambda: unfinished(hub) == 0, args.timeout)
        poller.stop()
        poller.now()  # nothing new must turn up: the load has stopped
        if drain is not None and unfinished(hub):
            drain = wait_until(lambda: unfinished(hub) == 0, args.timeout)
    finally:
        load.stop()
        poller.stop()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    account = vendors.erp.admin("GET", vendors.counters_path)
    distinct = int(account["timebill_external_ids"])
    doubled = max(int(account["timebills"]) - distinct, int(account["timebills_created"]) - distinct, 0)
    return Result(mode=mode, backend=backend, steady_entries=steady_entries, steady_seconds=steady_seconds,
                  backlog_items=backlog_items, backlog_entries=backlog_entries, drain_seconds=drain,
                  approved=load.total, lost=load.total - int(account["timebills_from_harvest"]), doubled=doubled,
                  retried=sum(w.stats.retried for w in workers), dead=sum(w.stats.dead for w in workers))


def report(r: Result) -> bool:
    rate = r.steady_entries / r.steady_seconds if r.steady_seconds > 0 else 0.0
    drained = "NOT drained" if r.drain_seconds is None else f"{r.drain_seconds:7.1f} s"
    ok = r.lost == 0 and r.doubled == 0 and r.drain_seconds is not None and r.dead == 0
    aim = ""
    if r.mode == "circuit":
        met = r.drain_seconds is not None and r.drain_seconds <= AIM_DRAIN_SECONDS
        ok = ok and met
        aim = f"  aim <= {AIM_DRAIN_SECONDS:.0f} s: {'met' if met else 'NOT met'}"
    say(f"{r.mode:<8} {r.backend:<8} steady {rate:8,.0f} entries/s ({r.steady_entries:,} in {r.steady_seconds:.1f} s)"
        f"  backlog when back: {r.backlog_items:,} work items, {r.backlog_entries:,} entries"
        f"  drained in {drained}  lost {r.lost}  doubled {r.doubled}  "
        f"[{r.approved:,} approved, {r.retried:,} retries, {r.dead} dead]{aim}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outage-seconds", type=float, default=600.0, help="how long NetSuite is down")
    parser.add_argument("--modes", default=",".join(MODES), help="circuit (q2c), backoff (before), or both")
    parser.add_argument("--backends", default="sqlite", help="sqlite, postgres or both")
    parser.add_argument("--entries", type=int, default=5000, help="approved entries synced before the outage")
    parser.add_argument("--load-per-second", type=int, default=10, help="approved entries added each second")
    parser.add_argument("--poll-seconds", type=float, default=TimePolicy().poll_seconds,
                        help="seconds between time polls (q2c's time.poll_seconds)")
    parser.add_argument("--workers", type=int, default=DeliverySettings().workers, help="worker threads")
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL admin URL (a database is made per run)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a phase may take")
    args = parser.parse_args(argv)
    logging.getLogger("q2c").setLevel(logging.ERROR)  # the retries the outage causes are the point, not news
    if args.outage_seconds <= 0 or args.entries < 1 or args.load_per_second < 1 or args.poll_seconds <= 0:
        raise SystemExit("--outage-seconds, --poll-seconds must be > 0; --entries, --load-per-second at least 1")
    modes = split(args.modes, MODES, "modes")
    backends = split(args.backends, ("sqlite", "postgres"), "backends")
    if "postgres" in backends and (problem := postgres_problem(args.pg_url)) is not None:
        say(f"postgres: skipped, PostgreSQL is not reachable at {args.pg_url} ({problem})")
        backends.remove("postgres")
    say(f"q2c outage drain benchmark | NetSuite down {args.outage_seconds:.0f} s under a load of "
        f"{args.load_per_second} approved entries/s, {args.entries:,} entries synced first | {args.workers} worker "
        f"threads, a poll every {args.poll_seconds:.0f} s, vendor limits (NetSuite 5 in flight at "
        f"{VENDOR_LATENCY_MS} ms) | aim: drained <= {AIM_DRAIN_SECONDS:.0f} s after NetSuite is back, 0 lost, "
        f"0 doubled")
    ok = True
    workdir = Path(tempfile.mkdtemp(prefix="q2c-bench-outage-"))
    try:
        for backend in backends:
            for mode in modes:
                ok = report(measure(mode, backend, args, workdir)) and ok
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
