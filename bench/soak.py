"""Opt-in soak: `q2c serve` for an hour at 20 approved time entries a second, Harvest sandbox -> NetSuite sandbox,
its database and memory sampled every minute.

    .venv/bin/python bench/soak.py [--minutes 60] [--rate 20] [--sample-seconds 60] [--backend sqlite|postgres]
        [--keep-minutes 5] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

Quick check that it works: `--minutes 3 --sample-seconds 20`.

The sandboxes run in processes of their own (as `bench/time_sync.py` starts them); q2c runs as `q2c serve`
itself, a child process with a config written for the run: a time poll every 5 s, retention pruning every
minute with finished work items and inbox events kept `--keep-minutes`. Every second the Harvest sandbox gets
`--rate` new approved entries (`/__sandbox/generate`). Each sample prints the serve process's resident memory
(VmRSS), the database's size, the rows of the tables that pruning keeps bounded (work items, inbox events)
and of those that grow with the work by design (records, links, the audit trail: one record and link per
entry), the entries generated and synced, and the backlog.

Verdict, printed at the end beside the figures:
* memory flat: RSS over the last third of the run within 10% (or 20 MB) of RSS at the end of the first third;
* the queue and the inbox bounded: never more rows than `rate x (keep + prune interval + poll) x 2`;
* every entry generated is synced in q2c and stored once in NetSuite (none lost, none doubled);
* what the database grows by per entry synced (records, links and audit rows stay: that growth is the books).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from bench_databases import database, postgres_problem
from q2c.config import parse_config
from q2c.entrypoints.wiring import build_hub
from q2c.sandboxes.kit import SandboxServer, free_port
from q2c.sandboxes.registry import make_sandbox, sandbox_spec
from time_sync import (
    DEFAULT_PG_URL,
    VENV_BIN,
    Spec,
    fresh_netsuite,
    hub_settings,
    seed_hub_records,
    start_vendors,
)

PROJECTS, PEOPLE = 10, 20
POLL_SECONDS = 5.0
PRUNE_EVERY_SECONDS = 60.0
RSS_TOLERANCE, RSS_SLACK_MB = 0.10, 20.0


@dataclass
class Sample:
    at: float  # seconds since the load started
    rss_mb: float
    db_mb: float
    work_items: int
    events: int
    records: int
    links: int
    audit: int
    generated: int
    synced: int


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def database_mb(engine: sa.Engine, url: str) -> float:
    if url.startswith("sqlite"):
        path = Path(sa.make_url(url).database or "")
        return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists()) / 1e6
    with engine.connect() as conn:
        return float(conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()) / 1e6


def count(conn: sa.Connection, table: str, where: str = "") -> int:
    return int(conn.execute(sa.text(f"SELECT count(*) FROM {table} {where}")).scalar_one())


def sample(engine: sa.Engine, url: str, pid: int, started: float, generated: int) -> Sample:
    with engine.connect() as conn:
        figures = (count(conn, "work_items"), count(conn, "events"), count(conn, "records"), count(conn, "links"),
                   count(conn, "audit_log"),
                   count(conn, "records", "WHERE entity = 'time_entry' AND state = 'synced'"))
    return Sample(time.monotonic() - started, rss_mb(pid), database_mb(engine, url), *figures[:5], generated,
                  figures[5])


def serve_config(url: str, spec: Spec, workdir: Path, port: int, keep_minutes: float, crm: dict[str, Any]) -> Path:
    settings = hub_settings(database=url, harvest_url=spec.harvest_url, netsuite_url=spec.netsuite_url,
                            key_path=spec.key_path, references=spec.references, people=PEOPLE, workers=2)
    settings["systems"]["crm"] = crm  # a Salesforce sandbox with no deals: serve's pre-flight reaches it
    keep_days = keep_minutes / 1440
    settings.update({
        "time": {"poll_seconds": POLL_SECONDS},
        "retention": {"work_items_days": keep_days, "events_days": keep_days, "exception_payloads_days": keep_days,
                      "every_seconds": PRUNE_EVERY_SECONDS},
        "reconciliation": {"every_seconds": 0},
        "audit": {"key_file": str(workdir / "audit.key"), "anchor_dir": str(workdir / "anchors")},
        "http": {"host": "127.0.0.1", "port": port},
    })
    (workdir / "audit.key").write_text(os.urandom(32).hex() + "\n")
    path = workdir / "q2c.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def run(args: argparse.Namespace, workdir: Path) -> int:
    vendors = start_vendors("hub", workdir, entries=0, projects=PROJECTS, people=PEOPLE)
    salesforce = make_sandbox("salesforce")
    crm_server = SandboxServer(salesforce).start()
    try:
        crm = sandbox_spec("salesforce").settings(salesforce, crm_server.url, workdir)
        fresh_netsuite(vendors, people=PEOPLE)
        with database(args.backend, workdir, args.pg_url, "soak") as url:
            spec = Spec(kind="hub", backend=args.backend, database=url, harvest_url=vendors.harvest.url,
                        netsuite_url=vendors.erp.url, key_path=str(vendors.key_path), references=vendors.references,
                        entries=0, projects=PROJECTS, people=PEOPLE, workers=2, batch=8, drive="concurrent",
                        timeout_seconds=0.0)
            config = serve_config(url, spec, workdir, free_port("127.0.0.1"), args.keep_minutes, crm)
            hub = build_hub(parse_config(yaml.safe_load(config.read_text()), base_dir=workdir))
            seed_hub_records(hub, spec)
            return soak(args, vendors, hub.engine, url, config, workdir)
    finally:
        crm_server.stop()
        vendors.stop()


def soak(args: argparse.Namespace, vendors: Any, engine: sa.Engine, url: str, config: Path, workdir: Path) -> int:
    log = (workdir / "serve.log").open("wb")
    serve = subprocess.Popen([str(VENV_BIN / "q2c"), "serve", "--config", str(config)], stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    samples: list[Sample] = []
    generated = 0
    stop = threading.Event()
    try:
        time.sleep(3)
        if serve.poll() is not None:
            log.flush()
            tail = (workdir / "serve.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"q2c serve exited at start (code {serve.returncode}):\n{tail}")
        started = time.monotonic()
        end = started + args.minutes * 60
        next_sample = started + args.sample_seconds
        tick = 0
        print(f"{'minute':>7} {'RSS MB':>8} {'DB MB':>8} {'work items':>11} {'events':>7} {'records':>8} "
              f"{'links':>7} {'audit':>7} {'generated':>10} {'synced':>8} {'backlog':>8}", flush=True)
        while time.monotonic() < end:
            vendors.harvest.admin("POST", "/__sandbox/generate", {
                "count": args.rate, "people": PEOPLE, "projects": PROJECTS, "approved_share": 1.0,
                "seed": 1000 + tick, "start": "2026-01-01", "days": 300})
            generated += args.rate
            tick += 1
            if time.monotonic() >= next_sample:
                s = sample(engine, url, serve.pid, started, generated)
                samples.append(s)
                print(f"{s.at / 60:7.1f} {s.rss_mb:8.1f} {s.db_mb:8.1f} {s.work_items:11,} {s.events:7,} "
                      f"{s.records:8,} {s.links:7,} {s.audit:7,} {s.generated:10,} {s.synced:8,} "
                      f"{s.generated - s.synced:8,}", flush=True)
                next_sample += args.sample_seconds
            time.sleep(max(0.0, started + tick - time.monotonic()))
        drained_by = time.monotonic() + 120
        final = sample(engine, url, serve.pid, started, generated)
        while final.synced < generated and time.monotonic() < drained_by:
            time.sleep(2)
            final = sample(engine, url, serve.pid, started, generated)
    finally:
        stop.set()
        serve.terminate()
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
        log.close()
    stored = vendors.erp.admin("GET", vendors.counters_path)
    return verdict(args, samples, final, stored)


def verdict(args: argparse.Namespace, samples: list[Sample], final: Sample, stored: dict[str, Any]) -> int:
    third = max(1, len(samples) // 3)
    reference = samples[third - 1].rss_mb if samples else 0.0
    late = [s.rss_mb for s in samples[-third:]] or [0.0]
    flat = max(late) <= max(reference * (1 + RSS_TOLERANCE), reference + RSS_SLACK_MB)
    bound = int(args.rate * (args.keep_minutes * 60 + PRUNE_EVERY_SECONDS + POLL_SECONDS) * 2)
    # a work item carries a page's entries of one project: the bound on rows is far above what is held
    bounded = all(s.work_items <= bound and s.events <= bound for s in samples)
    whole = final.synced == final.generated == int(stored.get("timebills_from_harvest", -1)) \
        and int(stored.get("timebills_created", -1)) == final.generated
    grew = (final.db_mb - samples[0].db_mb) * 1e6 / max(1, final.synced - samples[0].synced) if samples else 0.0
    print()
    print(f"memory: RSS {reference:.1f} MB at minute {samples[third - 1].at / 60:.1f} (end of the first third), "
          f"at most {max(late):.1f} MB over the last third: {'flat' if flat else 'NOT flat'} "
          f"(within {RSS_TOLERANCE:.0%} or {RSS_SLACK_MB:.0f} MB)" if samples else "memory: no samples")
    print(f"queue and inbox: at most {max((s.work_items for s in samples), default=0):,} work items and "
          f"{max((s.events for s in samples), default=0):,} events, bound {bound:,}: "
          f"{'bounded' if bounded else 'NOT bounded'}")
    print(f"entries: {final.generated:,} generated, {final.synced:,} synced in q2c, "
          f"{stored.get('timebills_from_harvest')} stored in NetSuite, {stored.get('timebills_created')} created "
          f"there: {'none lost, none doubled' if whole else 'MISMATCH'}")
    print(f"database: {final.db_mb:.1f} MB at the end, {grew:,.0f} bytes per entry synced after the first sample "
          "(records, links and the audit trail stay: the books)")
    return 0 if flat and bounded and whole else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=20, help="approved entries a second")
    parser.add_argument("--sample-seconds", type=float, default=60.0)
    parser.add_argument("--keep-minutes", type=float, default=5.0, help="retention of finished work and events")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    args = parser.parse_args(argv)
    if args.backend == "postgres" and (problem := postgres_problem(args.pg_url)) is not None:
        print(f"PostgreSQL is not usable: {problem}")
        return 2
    with tempfile.TemporaryDirectory(prefix="q2c-soak-") as folder:
        return run(args, Path(folder))


if __name__ == "__main__":
    sys.exit(main())
