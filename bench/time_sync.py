"""Benchmark: approved time entries from the Harvest sandbox to the NetSuite sandbox through q2c's full path.

    .venv/bin/python bench/time_sync.py [--entries 100000] [--backends sqlite,postgres] [--modes hub,vendor]
        [--drives sequential,concurrent] [--workers 2] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--py-spy DIR]

Smoke run in a few seconds: `--entries 2000 --modes hub --backends sqlite`.

The sandboxes run in processes of their own (`q2c sandbox harvest`, and `bench/netsuite_account.py`,
which is `q2c sandbox netsuite` plus a route with the account's counters), so each hub run is
measured on its own: every measurement is a fresh child process with a fresh database, and its
peak RSS is that child's. A hub run is what `q2c serve` does for time: a poll pass (`poll_time`:
fetch pages, map, enqueue per-project groups) and worker threads (`Worker.run_forever`, batches of
40 work items: validate, rate, bulk-upsert timebills, record) either one after the other
("sequential") or at the same time ("concurrent"). The clock runs from just before the first
Harvest request until the last work item's outcome is committed, i.e. the last entry is recorded
as synced. Setup (migrations, the hub's project and contract records, NetSuite's employees, jobs
and tasks) is outside the clock.

Modes:
- hub: sandboxes without latency or limits: the ceiling of the hub itself. Beside it the floor:
  the same entries fetched from the Harvest sandbox, parsed and inserted straight into a plain
  table of the same kind of database (executemany on SQLite, COPY on PostgreSQL).
- vendor: Harvest's 100 requests per 15 s and NetSuite's 5 requests in flight with 150 ms each:
  entries/s as a share of the most those limits allow, the throttle answers met, and proof that
  each was absorbed (every entry exactly once in NetSuite, every entry synced in the hub).
  Before each vendor run the Harvest sandbox's request window is cleared (PUT /__sandbox/limits),
  so a run does not inherit the previous run's spent budget.

The hub is configured as a firm would configure it for a real account (NetSuite concurrency 5,
Harvest 100 requests per 15 s, 2 worker threads, q2c's default batch of work items) in both
modes; only the sandboxes change. Claims take at most one work item per project (ordering per
aggregate), so with the generator's 10 projects a batch holds at most 10 items.

With `--erp business_central` the ERP is the Business Central sandbox instead (`bench/erp_account.py`, over
HTTPS, with the environment's counters), seeded the same way through the connector (customer, projects
and their job tasks through the Erp port; employees through the sandbox's admin API). Its vendor mode
keeps Business Central's documented limits (6,000 requests per 5 minutes per user, 5 requests processed
at once and 95 queued, 100 operations per `$batch`) with a modelled 150 ms a request.

With `--py-spy DIR` each hub run is sampled by py-spy (raw collapsed stacks of the thread holding
the GIL, `--nonblocking`) into DIR; those runs' figures are printed but marked as profiled.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench_databases import database, postgres_problem
from erp_account import COUNTERS_PATH as BC_COUNTERS
from erp_account import SETTINGS_FILE as BC_SETTINGS_FILE
from q2c.config import DeliverySettings
from q2c.connectors.business_central import BusinessCentralClient, BusinessCentralErp, BusinessCentralSettings
from q2c.connectors.business_central.settings import MAX_BATCH as BC_BATCH
from q2c.connectors.harvest.client import MAX_PER_PAGE as HARVEST_PAGE
from q2c.connectors.netsuite.client import RESTLET_CHUNK, NetSuiteClient
from q2c.connectors.netsuite.erp import NetSuiteErp
from q2c.connectors.netsuite.mapping import AccountReferences
from q2c.connectors.netsuite.settings import NetSuiteSettings
from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Contract,
    ContractPhase,
    Customer,
    Project,
    RateCard,
    Task,
)
from q2c.domain.money import Money
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.harvest.app import HARVEST_LIMITS
from q2c.sandboxes.kit import free_port
from q2c.workflows.hub import Hub

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

HARVEST_ACCOUNT = "100001"
HARVEST_TOKEN = "q2c-sandbox-token"
NETSUITE_ACCOUNT = "1234567_SB1"
NETSUITE_CLIENT_ID = "q2c-sandbox-client"
NETSUITE_CERTIFICATE = "q2c-cert-1"
NETSUITE_CONCURRENCY = 5  # the account's limit; also what the hub is configured with in both modes
VENDOR_LATENCY_MS = 150
ERPS = ("netsuite", "business_central")
ERP_LABEL = {"netsuite": "NetSuite", "business_central": "Business Central"}
# Business Central's documented limits ("Operational limits for Business Central online", "Work with API limits")
BC_REQUESTS, BC_WINDOW_SECONDS, BC_CONCURRENCY = 6000, 300.0, 5

CUSTOMER_ID = "SYN-CUSTOMER"
LEGAL_ENTITY = "US01"
CURRENCY = "USD"
TASK_CODE = "Delivery"  # the Harvest task the generator logs time to; a Harvest task name is the task code
ROLE = "Consultant"
RATE_CARD_ID = "RC-USD-BENCH"

AIM_HUB_RATE = 10_000.0
AIM_HUB_RSS_MB = 500.0
AIM_VENDOR_SHARE = 0.90


def harvest_bound() -> float:
    """Entries/s Harvest's limit allows: 100 requests per 15 s, 2000 entries a page."""
    requests = HARVEST_LIMITS.requests_per_window or 0
    return requests / HARVEST_LIMITS.window_seconds * HARVEST_PAGE


def netsuite_bound() -> float:
    """Entries/s NetSuite's limit allows: 5 RESTlet calls in flight, 200 records each, 150 ms a call."""
    return NETSUITE_CONCURRENCY * RESTLET_CHUNK / (VENDOR_LATENCY_MS / 1000)


def business_central_bound(entries: int) -> float:
    """Entries/s Business Central's limits allow a run of `entries`: at best one `$batch` of 100 per 100
    entries, 5 processed at once at 150 ms each; the 6,000 requests of a 5-minute window are a burst, and
    only the requests beyond them wait for the window (20 a second)."""
    requests = -(-entries // BC_BATCH)
    seconds = max(requests / BC_CONCURRENCY * VENDOR_LATENCY_MS / 1000,
                  max(0, requests - BC_REQUESTS) / (BC_REQUESTS / BC_WINDOW_SECONDS))
    return entries / seconds


def erp_bound(erp: str, entries: int) -> float:
    return netsuite_bound() if erp == "netsuite" else business_central_bound(entries)


# --- what the hub knows and NetSuite holds ------------------------------------------------------------


def resource_email(n: int) -> str:
    """The e-mail the Harvest generator gives person n (and so the q2c resource id)."""
    return f"person{n:04d}@synthetic.example"


def hub_settings(*, database: str, harvest_url: str, netsuite_url: str, key_path: str,
                 references: dict[str, Any], people: int, workers: int,
                 erp_block: dict[str, Any] | None = None) -> dict[str, Any]:
    """The q2c.yaml of the benchmark, pointed at the sandboxes. Salesforce is configured but never called.
    `erp_block` (Business Central's, from its sandbox spec) replaces the NetSuite block."""
    settings = {
        "database": database,
        "systems": {
            "crm": {"type": "salesforce", "login_url": "http://127.0.0.1:9", "client_id": "unused",
                    "client_secret": "unused"},
            "tracker": {"type": "harvest", "base_url": f"{harvest_url}/v2", "account_id": HARVEST_ACCOUNT,
                        "access_token": HARVEST_TOKEN},
            "erp": {"type": "netsuite", "account_id": NETSUITE_ACCOUNT, "client_id": NETSUITE_CLIENT_ID,
                    "certificate_id": NETSUITE_CERTIFICATE, "private_key_path": key_path,
                    "rest_base_url": netsuite_url, "restlet_url": netsuite_url,
                    "concurrency_limit": NETSUITE_CONCURRENCY, "references": references},
        },
        "legal_entities": [{"code": LEGAL_ENTITY, "name": "US01 Consulting Inc.", "currency": CURRENCY,
                            "timezone": "America/New_York"}],
        "service_offerings": [{"code": "SYN", "name": "Synthetic delivery", "roles": [ROLE],
                               "tasks": [{"code": TASK_CODE, "name": TASK_CODE}]}],
        "rate_cards": [{"id": RATE_CARD_ID, "currency": CURRENCY, "lines": [
            {"role": ROLE, "rate": "150.00", "cost_rate": "60.00", "effective_from": "2020-01-01"}]}],
        "resources": [{"email": resource_email(n), "name": f"Person {n:04d}", "role": ROLE}
                      for n in range(1, people + 1)],
        "delivery": {"workers": workers},
    }
    if erp_block is not None:
        settings["systems"]["erp"] = erp_block  # type: ignore[index]
    return settings


def bench_rate_card() -> RateCard:
    from q2c.config import RateCardSetting

    return RateCardSetting.model_validate(
        {"id": RATE_CARD_ID, "currency": CURRENCY, "lines": [
            {"role": ROLE, "rate": "150.00", "cost_rate": "60.00", "effective_from": "2020-01-01"}]}).to_rate_card()


def customer() -> Customer:
    return Customer(id=CUSTOMER_ID, name="Synthetic Client", legal_entity=LEGAL_ENTITY,
                    billing_terms=BillingTerms(payment_terms="Net 30", currency=CURRENCY))


def engagement(code: str, rate_card: RateCard) -> tuple[Contract, Project]:
    """The contract and project a won deal would have produced for Harvest project `code` (SYN-0001..)."""
    contract_id = f"C-{code}"
    phase_id = f"{contract_id}-1"
    contract = Contract(
        id=contract_id, customer_id=CUSTOMER_ID, opportunity_id=f"SF-{code}", name=f"Synthetic engagement {code}",
        legal_entity=LEGAL_ENTITY, currency=CURRENCY, start_date=date(2024, 1, 1),
        phases=(ContractPhase(id=phase_id, name="SYN (time_and_materials)",
                              billing_type=BillingType.TIME_AND_MATERIALS,
                              amount=Money.of(Decimal("10000000.00"), CURRENCY), service_offering="SYN"),),
        rate_card=rate_card, billing_terms=BillingTerms(payment_terms="Net 30", currency=CURRENCY))
    project = Project(id=code, contract_id=contract_id, customer_id=CUSTOMER_ID, name=f"Synthetic project {code}",
                      tasks=(Task(id=f"{code}-{TASK_CODE}", project_id=code, code=TASK_CODE, name=TASK_CODE,
                                  phase_id=phase_id),))
    return contract, project


def project_codes(projects: int) -> list[str]:
    return [f"SYN-{n:04d}" for n in range(1, projects + 1)]


# --- the measurement, in a child process ----------------------------------------------------------------


@dataclass
class Spec:
    """One measurement, handed to the child process as JSON."""

    kind: str  # "hub" or "floor"
    backend: str  # "sqlite" or "postgres"
    database: str  # SQLAlchemy URL for the hub; for the floor, the same URL for a plain table
    harvest_url: str
    netsuite_url: str
    key_path: str
    references: dict[str, Any]
    entries: int
    projects: int
    people: int
    workers: int
    batch: int
    drive: str  # "sequential" or "concurrent"
    timeout_seconds: float
    erp: str = "netsuite"
    erp_block: dict[str, Any] | None = None  # Business Central's systems.erp block


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time this process has used (all threads, user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float | None:
    """CPU time all cores have spent busy since boot, from /proc/stat (None where there is none)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time of another process, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed_hub_records(hub: Hub, spec: Spec) -> None:
    """The project and contract records deal setup would have stored, written directly."""
    from q2c.engine.hashing import content_hash
    from q2c.store import records

    card = hub.config.rate_card_for(CURRENCY)
    if card is None:
        raise RuntimeError(f"the benchmark config has no {CURRENCY} rate card")
    rows: list[records.Record] = []
    for code in project_codes(spec.projects):
        contract, project = engagement(code, card)
        for entity, model, state in (("contract", contract, "active"), ("project", project, "open")):
            payload = model.model_dump(mode="json")
            rows.append(records.Record(entity, model.id, f"contract:{contract.id}", state, model.schema_version,
                                       content_hash(payload), payload))
    with hub.engine.begin() as conn:
        records.upsert_records(conn, rows)


def run_hub(spec: Spec) -> dict[str, Any]:
    """Poll and deliver every entry like `q2c serve` does; the clock stops at the last recorded outcome."""
    from q2c.config import parse_config
    from q2c.engine.worker import Worker
    from q2c.entrypoints.wiring import build_hub, delivery_policy
    from q2c.store import exceptions as exception_store
    from q2c.store import links, queue, records
    from q2c.workflows.handlers import handlers
    from q2c.workflows.time_approved import PollStats, poll_time

    config = parse_config(hub_settings(
        database=spec.database, harvest_url=spec.harvest_url, netsuite_url=spec.netsuite_url,
        key_path=spec.key_path, references=spec.references, people=spec.people, workers=spec.workers,
        erp_block=spec.erp_block))
    guards = GuardRegistry()
    hub = build_hub(config, guards=guards)
    seed_hub_records(hub, spec)

    finished: list[float] = []
    spent = {"batch": 0.0, "deliver": 0.0, "erp": 0.0}
    lock = threading.Lock()

    def note(phase: str, seconds: float) -> None:
        with lock:
            spent[phase] += seconds

    class TimedWorker(Worker):
        """The hub's worker, noting when each batch's outcome was committed and how long the batch took."""

        def run_once(self) -> int:
            begun = time.monotonic()
            claimed = super().run_once()
            if claimed:
                at = time.monotonic()
                with lock:
                    finished.append(at)
                    spent["batch"] += at - begun
            return claimed

    def timed(phase: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            begun = time.monotonic()
            try:
                return call(*args, **kwargs)
            finally:
                note(phase, time.monotonic() - begun)
        return run

    # Where a batch's time goes: the handler (reading, checking, rating, and the ERP call within it),
    # the ERP call alone, and the rest of the batch (claiming, recording the outcome, committing).
    setattr(hub.erp, "upsert_timebills", timed("erp", hub.erp.upsert_timebills))  # noqa: B010
    handler_table = {kind: timed("deliver", handler) for kind, handler in handlers(hub).items()}

    stop = threading.Event()
    workers = [TimedWorker(hub.engine, handler_table, name=f"bench-worker-{i}", policy=delivery_policy(config),
                           batch=spec.batch) for i in range(spec.workers)]
    poll_result: list[PollStats] = []
    poll_error: list[BaseException] = []
    poll_seconds: list[float] = []

    def poll() -> None:
        begun = time.monotonic()
        try:
            poll_result.append(poll_time(hub))
        except BaseException as exc:
            poll_error.append(exc)
        poll_seconds.append(time.monotonic() - begun)

    def start_workers() -> list[threading.Thread]:
        pool = [threading.Thread(target=w.run_forever, args=(stop,), name=f"worker-{i}", daemon=True)
                for i, w in enumerate(workers)]
        for t in pool:
            t.start()
        return pool

    cpu_before, machine_before = cpu_seconds(), machine_busy_seconds()
    started = time.monotonic()
    if spec.drive == "sequential":
        poll()
        pool = start_workers()
    else:
        pool = start_workers()
        poller = threading.Thread(target=poll, name="scheduler", daemon=True)
        poller.start()
    deadline = started + spec.timeout_seconds
    timed_out = False
    while True:
        if poll_seconds:
            with hub.engine.connect() as conn:
                if not queue.unfinished(conn):
                    break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.05)
    stop.set()
    for t in pool:
        t.join(timeout=60)
    seconds = (max(finished) if finished and not timed_out else time.monotonic()) - started
    cpu = cpu_seconds() - cpu_before
    machine_after = machine_busy_seconds()
    machine = None if machine_before is None or machine_after is None else machine_after - machine_before
    with hub.engine.connect() as conn:
        states = records.count_by_state(conn, entity="time_entry")
        linked = links.count(conn, entity="time_entry", system=spec.erp)
        open_exceptions = exception_store.counts(conn).get(exception_store.OPEN, 0)
        work = queue.counts(conn)
    stats = poll_result[0] if poll_result else PollStats()
    guard_stats = {f"{g.system}:{g.endpoint}": asdict(g.stats) for g in guards.all()}
    return {
        "seconds": seconds, "peak_rss_mb": peak_rss_mb(), "timed_out": timed_out,
        "poll_error": repr(poll_error[0]) if poll_error else None,
        "poll_seconds": poll_seconds[0] if poll_seconds else None,
        "pages": stats.pages, "read": stats.entries, "groups": stats.groups_enqueued, "rejects": stats.rejects,
        "synced": states.get("synced", 0), "states": states, "linked": linked, "open_exceptions": open_exceptions,
        "work_items": work, "batches": len(finished), "guards": guard_stats, "cpu_seconds": cpu,
        "machine_busy_seconds": machine,
        "deliver_seconds": spent["deliver"] - spent["erp"], "erp_seconds": spent["erp"],
        "record_seconds": spent["batch"] - spent["deliver"],
    }


def run_floor(spec: Spec) -> dict[str, Any]:
    """The same entries fetched, parsed and inserted into a plain table: nothing else."""
    columns = ("id", "spent_date", "user_id", "project_id", "project_code", "task", "hours", "notes", "is_closed",
               "updated_at")
    headers = {"Authorization": f"Bearer {HARVEST_TOKEN}", "Harvest-Account-Id": HARVEST_ACCOUNT,
               "User-Agent": "q2c-bench (ops@example.com)", "Accept": "application/json"}

    def rows_of(page: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(e["id"], e["spent_date"], e["user"]["id"], e["project"]["id"], e["project"]["code"],
                 e["task"]["name"], str(e["hours"]), e["notes"] or "", e["is_closed"], e["updated_at"])
                for e in page["time_entries"]]

    def pages(http: httpx.Client) -> Iterator[dict[str, Any]]:
        url: str | None = "/time_entries"
        params: dict[str, Any] | None = {"per_page": HARVEST_PAGE}
        while url is not None:
            response = http.get(url, params=params)
            response.raise_for_status()
            body: dict[str, Any] = json.loads(response.content, parse_float=Decimal)
            yield body
            url, params = body["links"]["next"], None

    http = httpx.Client(base_url=f"{spec.harvest_url}/v2", headers=headers, timeout=60)
    if spec.backend == "sqlite":
        import sqlite3

        path = spec.database.removeprefix("sqlite:///")
        db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
            db.execute(f"PRAGMA {pragma}")
        db.execute("CREATE TABLE time_entries (id INTEGER PRIMARY KEY, spent_date TEXT NOT NULL, user_id INTEGER, "
                   "project_id INTEGER, project_code TEXT, task TEXT, hours TEXT NOT NULL, notes TEXT, "
                   "is_closed INTEGER, updated_at TEXT)")
        insert = f"INSERT INTO time_entries ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        started = time.monotonic()
        for page in pages(http):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(insert, rows_of(page))
            db.execute("COMMIT")
        seconds = time.monotonic() - started
        stored = int(db.execute("SELECT count(*) FROM time_entries").fetchone()[0])
        db.close()
    else:
        import psycopg

        url = spec.database.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as pg:
            pg.execute("CREATE TABLE time_entries (id BIGINT PRIMARY KEY, spent_date DATE NOT NULL, "
                       "user_id BIGINT, project_id BIGINT, project_code TEXT, task TEXT, hours NUMERIC NOT NULL, "
                       "notes TEXT, is_closed BOOLEAN, updated_at TIMESTAMPTZ)")
            pg.commit()
            started = time.monotonic()
            for page in pages(http):
                with pg.cursor() as cur, cur.copy(f"COPY time_entries ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows_of(page):
                        copy.write_row(row)
                pg.commit()
            seconds = time.monotonic() - started
            counted = pg.execute("SELECT count(*) FROM time_entries").fetchone()
            stored = int(counted[0]) if counted else 0
    http.close()
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "stored": stored}


def measure_here(spec_path: Path, result_path: Path) -> int:
    spec = Spec(**json.loads(spec_path.read_text()))
    result = run_hub(spec) if spec.kind == "hub" else run_floor(spec)
    result_path.write_text(json.dumps(result, default=str))
    return 0


# --- the parent: sandboxes, databases, children -----------------------------------------------------------


class SandboxProcess:
    """One vendor sandbox in its own process on loopback."""

    def __init__(self, name: str, command: Sequence[str], *, port: int, log: Path, ca_file: Path | None = None
                 ) -> None:
        """`ca_file`: the sandbox serves HTTPS with a certificate signed by the CA it writes there."""
        self.name = name
        self.url = f"{'https' if ca_file else 'http'}://127.0.0.1:{port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(list(command), stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.http = httpx.Client(base_url=self.url, timeout=120)
        deadline = time.monotonic() + 60
        trusted = ca_file is None
        while True:
            if not trusted and ca_file is not None and ca_file.exists():
                self.http.close()
                self.http = httpx.Client(base_url=self.url, timeout=120,
                                         verify=ssl.create_default_context(cafile=str(ca_file)))
                trusted = True
            if self.process.poll() is not None:
                raise RuntimeError(f"the {name} sandbox exited at start (code {self.process.returncode}); see {log}")
            try:
                if self.http.get("/__sandbox/stats").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {name} sandbox did not answer on {self.url} within 60 s; see {log}")
            time.sleep(0.1)

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@dataclass
class Vendors:
    """The Harvest and ERP sandboxes of one mode, with the entries generated."""

    mode: str
    harvest: SandboxProcess
    erp: SandboxProcess
    key_path: Path
    references: dict[str, Any]
    codes: list[str] = field(default_factory=list)
    erp_name: str = "netsuite"
    erp_block: dict[str, Any] | None = None  # Business Central's systems.erp block

    @property
    def counters_path(self) -> str:
        return "/__sandbox/netsuite/account" if self.erp_name == "netsuite" else BC_COUNTERS

    def stop(self) -> None:
        for box in (self.harvest, self.erp):
            box.stop()


def start_erp(erp: str, mode: str, workdir: Path) -> Vendors:
    """The ERP's sandbox process (the Harvest one is added by the caller)."""
    port, vendor = free_port("127.0.0.1"), mode == "vendor"
    limits = ["--vendor-limits", "--latency-ms", str(VENDOR_LATENCY_MS)] if vendor else []
    if erp == "business_central":
        folder = workdir / f"business-central-{mode}"
        command = [sys.executable, str(HERE / "erp_account.py"), "--port", str(port), "--folder", str(folder), *limits]
        box = SandboxProcess(erp, command, port=port, log=workdir / f"{erp}-{mode}.log",
                             ca_file=folder / "business-central-ca.pem")
        block: dict[str, Any] = json.loads((folder / BC_SETTINGS_FILE).read_text())
        return Vendors(mode, box, box, folder, {}, erp_name=erp, erp_block=block)
    key_path, refs_path = workdir / f"netsuite-{mode}.pem", workdir / f"netsuite-{mode}-refs.json"
    netsuite_cmd = [sys.executable, str(HERE / "netsuite_account.py"), "--port", str(port),
                    "--key-out", str(key_path), "--refs-out", str(refs_path), *limits]
    netsuite = SandboxProcess("netsuite", netsuite_cmd, port=port, log=workdir / f"netsuite-{mode}.log")
    return Vendors(mode, netsuite, netsuite, key_path, json.loads(refs_path.read_text()))


def start_vendors(mode: str, workdir: Path, *, entries: int, projects: int, people: int,
                  erp: str = "netsuite") -> Vendors:
    vendor = mode == "vendor"
    hv_port = free_port("127.0.0.1")
    harvest_cmd = [str(VENV_BIN / "q2c"), "sandbox", "harvest", "--port", str(hv_port)]
    if vendor:
        harvest_cmd.append("--vendor-limits")
    harvest = SandboxProcess("harvest", harvest_cmd, port=hv_port, log=workdir / f"harvest-{mode}.log")
    try:
        vendors = start_erp(erp, mode, workdir)
    except BaseException:
        harvest.stop()
        raise
    vendors.harvest = harvest
    try:
        made = harvest.admin("POST", "/__sandbox/generate", {
            "count": entries, "people": people, "projects": projects, "approved_share": 1.0, "seed": 7})
        vendors.codes = list(made["project_codes"])
        # The sandbox builds its sorted view of the entries on the first listing; build it now,
        # outside every clock, so the first measurement does not pay for it.
        harvest.http.get("/v2/time_entries", params={"per_page": 1}, headers={
            "Authorization": f"Bearer {HARVEST_TOKEN}", "Harvest-Account-Id": HARVEST_ACCOUNT,
            "User-Agent": "q2c-bench (ops@example.com)"}).raise_for_status()
    except BaseException:
        vendors.stop()
        raise
    return vendors


def fresh_business_central(vendors: Vendors, *, people: int) -> None:
    """Reset the environment and seed what deal setup and HR would have put there: the customer, the projects
    and their job tasks through the connector's Erp port, the employees through the sandbox's admin API."""
    vendors.erp.admin("POST", "/__sandbox/reset")
    assert vendors.erp_block is not None
    settings = BusinessCentralSettings.model_validate(vendors.erp_block)
    card = bench_rate_card()
    client = BusinessCentralClient(settings, GuardRegistry())
    try:
        erp = BusinessCentralErp(client)
        erp.upsert_customer(customer())

        def job(code: str) -> str:
            contract, project = engagement(code, card)
            return erp.upsert_project(project, contract)

        with ThreadPoolExecutor(max_workers=BC_CONCURRENCY) as pool:
            list(pool.map(job, vendors.codes))
    finally:
        client.close()
    company = settings.companies[LEGAL_ENTITY]
    for n in range(1, people + 1):
        vendors.erp.admin("POST", f"/__sandbox/business_central/companies/{company}/employees", {
            "number": f"E{n:04d}", "givenName": "Person", "surname": f"{n:04d}", "email": resource_email(n),
            "status": "Active"})


def fresh_erp(vendors: Vendors, *, people: int) -> None:
    if vendors.erp_name == "business_central":
        fresh_business_central(vendors, people=people)
    else:
        fresh_netsuite(vendors, people=people)


def fresh_netsuite(vendors: Vendors, *, people: int) -> None:
    """Reset the account and seed what deal setup and HR would have put there: customer, jobs, tasks, people."""
    vendors.erp.admin("POST", "/__sandbox/reset")
    refs = AccountReferences(**vendors.references)
    config = NetSuiteSettings(account_id=NETSUITE_ACCOUNT, client_id=NETSUITE_CLIENT_ID,
                            certificate_id=NETSUITE_CERTIFICATE, private_key_path=vendors.key_path,
                            rest_base_url=vendors.erp.url, restlet_url=vendors.erp.url,
                            concurrency_limit=NETSUITE_CONCURRENCY, references=refs)
    card = bench_rate_card()
    with NetSuiteClient(config, GuardRegistry()) as client:
        erp = NetSuiteErp(client)
        erp.upsert_customer(customer())

        def job(code: str) -> str:
            contract, project = engagement(code, card)
            return erp.upsert_project(project, contract)

        def employee(n: int) -> str:
            return client.upsert("employee", f"EMP-{n:04d}", {
                "firstName": "Person", "lastName": f"{n:04d}", "entityId": f"Person {n:04d}",
                "email": resource_email(n), "subsidiary": {"id": refs.subsidiaries[LEGAL_ENTITY]}})

        with ThreadPoolExecutor(max_workers=NETSUITE_CONCURRENCY) as pool:
            list(pool.map(job, vendors.codes))
            list(pool.map(employee, range(1, people + 1)))


def measure_in_child(backend: str, workdir: Path, pg_url: str, label: str, spec_for: Callable[[str], Spec], *,
                     profile_to: Path | None) -> dict[str, Any]:
    """Run one measurement in a fresh database and a fresh child process."""
    with database(backend, workdir, pg_url, label) as url:
        return run_child(spec_for(url), workdir, profile_to=profile_to)


def run_child(spec: Spec, workdir: Path, *, profile_to: Path | None) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    spec_path, result_path = workdir / f"spec-{tag}.json", workdir / f"result-{tag}.json"
    spec_path.write_text(json.dumps(asdict(spec)))
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", str(spec_path), "--result",
               str(result_path)]
    if profile_to is not None:
        command = [str(VENV_BIN / "py-spy"), "record", "--format", "raw", "--rate", "250", "--nonblocking", "--gil",
                   "--output", str(profile_to), "--", *command]
    done = subprocess.run(command, stdout=subprocess.DEVNULL if profile_to else None, check=False,
                          timeout=spec.timeout_seconds + 300)
    if done.returncode != 0 or not result_path.exists():
        raise RuntimeError(f"the measurement child failed with exit code {done.returncode}")
    result: dict[str, Any] = json.loads(result_path.read_text())
    return result


# --- reporting ---------------------------------------------------------------------------------------


def seconds_or_dash(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def say(text: str) -> None:
    print(text, flush=True)


def header(args: argparse.Namespace, backends: list[str], modes: list[str], drives: list[str]) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"q2c time sync benchmark | {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()} | entries={args.entries:,} projects={args.projects} "
            f"people={args.people} worker threads={args.workers} batch={args.batch} drives={','.join(drives)} "
            f"backends={','.join(backends)} modes={','.join(modes)} (sequential: a poll pass, then the workers; "
            f"concurrent: the workers run during the poll pass) | aims: hub ceiling on SQLite >= "
            f"{AIM_HUB_RATE:,.0f} entries/s with peak RSS < {AIM_HUB_RSS_MB:.0f} MB; vendor ceiling >= "
            f"{AIM_VENDOR_SHARE:.0%} of the bound"
            + (f" | ERP: {ERP_LABEL[args.erp]}" if args.erp != "netsuite" else ""))


def verdict(result: dict[str, Any], entries: int, account: dict[str, Any] | None, erp: str = "netsuite") -> list[str]:
    """What is wrong with a hub run's end state (empty when every entry is synced exactly once)."""
    wrong: list[str] = []
    if result.get("timed_out"):
        wrong.append("timed out")
    if result.get("poll_error"):
        wrong.append(f"poll failed: {result['poll_error']}")
    if result["synced"] != entries:
        wrong.append(f"hub synced {result['synced']:,} of {entries:,} (states {result['states']})")
    if result["linked"] != entries:
        wrong.append(f"hub links {result['linked']:,}")
    if result["open_exceptions"]:
        wrong.append(f"{result['open_exceptions']} open exceptions")
    if account is not None:
        label = ERP_LABEL[erp]
        if account["timebills"] != entries or account["timebills_from_harvest"] != entries:
            wrong.append(f"{label} holds {account['timebills']:,} timebills")
        if account.get("timebill_external_ids", entries) != entries:
            wrong.append(f"{label} holds {account['timebill_external_ids']:,} distinct external ids")
        if account["timebills_created"] != entries:
            wrong.append(f"{label} created {account['timebills_created']:,} timebills")
    return wrong


def over_limit_total(before: dict[str, Any], after: dict[str, Any]) -> int:
    keys = set(before["over_limit"]) | set(after["over_limit"])
    return sum(int(after["over_limit"].get(k, 0)) - int(before["over_limit"].get(k, 0)) for k in keys)


def hub_throttles(result: dict[str, Any], system: str) -> int:
    return sum(int(s["rate_limited"]) for key, s in result["guards"].items() if key.startswith(f"{system}:"))


def measure_hub(vendors: Vendors, backend: str, drive: str, args: argparse.Namespace, workdir: Path,
                profile_dir: Path | None) -> bool:
    fresh_erp(vendors, people=args.people)
    if vendors.mode == "vendor":
        vendors.harvest.admin("PUT", "/__sandbox/limits", {
            "requests_per_window": HARVEST_LIMITS.requests_per_window,
            "window_seconds": HARVEST_LIMITS.window_seconds})
    harvest_before = vendors.harvest.admin("GET", "/__sandbox/stats")
    erp_stats_before = vendors.erp.admin("GET", "/__sandbox/stats")
    account_before = vendors.erp.admin("GET", vendors.counters_path)
    sandbox_cpu_before = [process_cpu_seconds(box.process.pid) for box in (vendors.harvest, vendors.erp)]
    profile_to = (profile_dir / f"{vendors.mode}-{backend}-{drive}.txt") if profile_dir else None
    try:
        result = measure_in_child(backend, workdir, args.pg_url, f"{vendors.mode}-{drive}", lambda url: Spec(
            kind="hub", backend=backend, database=url, harvest_url=vendors.harvest.url,
            netsuite_url=vendors.erp.url, key_path=str(vendors.key_path), references=vendors.references,
            entries=args.entries, projects=args.projects, people=args.people, workers=args.workers,
            batch=args.batch, drive=drive, timeout_seconds=args.timeout, erp=vendors.erp_name,
            erp_block=vendors.erp_block), profile_to=profile_to)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        say(f"{vendors.mode + '-ceiling':<14} {backend:<8} {drive:<10} FAILED: {exc}")
        return False
    sandbox_cpu = [None if a is None or b is None else a - b for a, b in zip(
        [process_cpu_seconds(box.process.pid) for box in (vendors.harvest, vendors.erp)], sandbox_cpu_before,
        strict=True)]
    harvest_after = vendors.harvest.admin("GET", "/__sandbox/stats")
    account = vendors.erp.admin("GET", vendors.counters_path)
    erp_stats = vendors.erp.admin("GET", "/__sandbox/stats")
    n: int = args.entries
    rate = result["synced"] / result["seconds"] if result["seconds"] > 0 else 0.0  # what was delivered, not asked
    erp, label = vendors.erp_name, ERP_LABEL[vendors.erp_name]
    wrong = verdict(result, n, account, erp)
    known = [result["cpu_seconds"], *sandbox_cpu]
    rest = (None if result["machine_busy_seconds"] is None or None in known
            else max(0.0, result["machine_busy_seconds"] - sum(v for v in known if v is not None)))
    pg_note = " (PostgreSQL server and anything else)" if backend == "postgres" else ""
    profiled = " (profiled with py-spy)" if profile_to else ""
    base = (f"{vendors.mode + '-ceiling':<14} {backend:<8} {drive:<10} {result['synced']:>9,} entries in "
            f"{result['seconds']:7.2f} s "
            f"= {rate:>8,.0f} entries/s  peak RSS {result['peak_rss_mb']:6.1f} MB  "
            f"[{result['pages']} pages, {result['groups']} work items, {result['batches']} worker batches"
            + (f", poll {result['poll_seconds']:.2f} s" if drive == "sequential" and result["poll_seconds"] else "")
            + f"; worker time: read+check+rate {result['deliver_seconds']:.2f} s, {label} calls "
            f"{result['erp_seconds']:.2f} s, claim+record {result['record_seconds']:.2f} s; CPU: hub "
            f"{result['cpu_seconds']:.2f} s, Harvest sandbox {seconds_or_dash(sandbox_cpu[0])}, {label} sandbox "
            f"{seconds_or_dash(sandbox_cpu[1])}, rest of the machine{pg_note} {seconds_or_dash(rest)}]")
    if vendors.mode == "hub":
        aim_ok = rate >= AIM_HUB_RATE and result["peak_rss_mb"] < AIM_HUB_RSS_MB
        scope = "" if backend == "sqlite" else " (the aim is set for SQLite)"
        say(f"{base}  aim >= {AIM_HUB_RATE:,.0f}/s and < {AIM_HUB_RSS_MB:.0f} MB{scope}: {mark(aim_ok)}"
            + (f"  FAILED: {'; '.join(wrong)}" if wrong else "") + profiled)
    elif erp == "business_central":
        bound = min(harvest_bound(), business_central_bound(n))
        share = rate / bound
        throttled_hv = int(harvest_after["throttled"]) - int(harvest_before["throttled"])
        throttled_bc = int(erp_stats["throttled"]) - int(erp_stats_before["throttled"])
        refused = int(account["refused_over_concurrency"]) - int(account_before["refused_over_concurrency"])
        absorbed = ("all absorbed" if not wrong else "NOT all absorbed")
        say(f"{base}  = {share:.1%} of the bound {bound:,.0f}/s (Harvest {harvest_bound():,.0f}/s, Business Central "
            f"{business_central_bound(n):,.0f}/s: {n / BC_BATCH:,.0f} $batch requests of {BC_BATCH}, "
            f"{BC_CONCURRENCY} at once at {VENDOR_LATENCY_MS} ms, {BC_REQUESTS:,} requests per "
            f"{BC_WINDOW_SECONDS / 60:.0f} min); throttle answers met: Harvest 429 x{throttled_hv}, Business "
            f"Central 429 x{throttled_bc} over the window, x{refused} over the queue (the hub saw Harvest "
            f"{hub_throttles(result, 'harvest')}, Business Central {hub_throttles(result, 'business_central')}), "
            f"{absorbed}: Business Central time entries {account['timebills']:,} (distinct "
            f"{account['timebill_external_ids']:,}) created {account['timebills_created']:,}, hub synced "
            f"{result['synced']:,}  aim >= {AIM_VENDOR_SHARE:.0%}: {mark(share >= AIM_VENDOR_SHARE)}"
            + (f"  FAILED: {'; '.join(wrong)}" if wrong else "") + profiled)
    else:
        bound = min(harvest_bound(), netsuite_bound())
        share = rate / bound
        throttled_hv = int(harvest_after["throttled"]) - int(harvest_before["throttled"])
        over = over_limit_total(account_before, account)
        absorbed = ("all absorbed" if not wrong else "NOT all absorbed")
        say(f"{base}  = {share:.1%} of the bound {bound:,.0f}/s (Harvest {harvest_bound():,.0f}/s, NetSuite "
            f"{netsuite_bound():,.0f}/s); throttle answers met: Harvest 429 x{throttled_hv}, NetSuite over-limit "
            f"x{over} (the hub saw Harvest {hub_throttles(result, 'harvest')}, NetSuite "
            f"{hub_throttles(result, 'netsuite')}), {absorbed}: NetSuite timebills {account['timebills']:,} "
            f"created {account['timebills_created']:,} updated {account['timebills_updated']:,}, hub synced "
            f"{result['synced']:,}, NetSuite max in flight {account['max_in_flight']}  "
            f"aim >= {AIM_VENDOR_SHARE:.0%}: {mark(share >= AIM_VENDOR_SHARE)}"
            + (f"  FAILED: {'; '.join(wrong)}" if wrong else "") + profiled)
    return not wrong


def measure_floor(vendors: Vendors, backend: str, args: argparse.Namespace, workdir: Path) -> bool:
    try:
        result = measure_in_child(backend, workdir, args.pg_url, "floor", lambda url: Spec(
            kind="floor", backend=backend, database=url, harvest_url=vendors.harvest.url,
            netsuite_url=vendors.erp.url, key_path=str(vendors.key_path), references=vendors.references,
            entries=args.entries, projects=args.projects, people=args.people, workers=args.workers,
            batch=args.batch, drive="sequential", timeout_seconds=args.timeout), profile_to=None)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        say(f"{'floor':<14} {backend:<8} FAILED: {exc}")
        return False
    n: int = args.entries
    rate = n / result["seconds"] if result["seconds"] > 0 else 0.0
    how = "executemany" if backend == "sqlite" else "COPY"
    ok = int(result["stored"]) == n
    say(f"{'floor':<14} {backend:<8} {'fetch+' + how:<10} {n:>9,} entries in {result['seconds']:7.2f} s "
        f"= {rate:>8,.0f} entries/s  peak RSS {result['peak_rss_mb']:6.1f} MB  [fetched from the Harvest sandbox, "
        f"parsed, inserted into a plain table]" + ("" if ok else f"  FAILED: stored {result['stored']:,}"))
    return ok


def split(value: str, allowed: Sequence[str], what: str) -> list[str]:
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in chosen if v not in allowed]
    if bad or not chosen:
        raise SystemExit(f"--{what}: {', '.join(bad) or 'nothing given'} not allowed; choose from {', '.join(allowed)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000, help="approved time entries to sync")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--modes", default="hub,vendor", help="hub (no latency, no limits), vendor, or both")
    parser.add_argument("--drives", default="sequential,concurrent",
                        help="sequential: poll, then workers; concurrent: workers while polling")
    parser.add_argument("--workers", type=int, default=2, help="worker threads (q2c's delivery.workers default)")
    parser.add_argument("--batch", type=int, default=DeliverySettings().batch,
                        help="work items a worker claims at once (q2c's default)")
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--erp", default="netsuite", choices=ERPS, help="the ERP sandbox time is delivered to")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL admin URL (a database is made per run)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a measurement may take")
    parser.add_argument("--py-spy", type=Path, default=None, dest="py_spy",
                        help="sample each hub run with py-spy into this folder")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure is not None:
        return measure_here(args.measure, args.result)
    if args.entries < 1 or args.projects < 1 or args.people < 1 or args.workers < 1 or args.batch < 1:
        raise SystemExit("--entries, --projects, --people, --workers and --batch must be at least 1")
    backends = split(args.backends, ("sqlite", "postgres"), "backends")
    modes = split(args.modes, ("hub", "vendor"), "modes")
    drives = split(args.drives, ("sequential", "concurrent"), "drives")
    say(header(args, backends, modes, drives))
    if "postgres" in backends:
        problem = postgres_problem(args.pg_url)
        if problem is not None:
            say(f"postgres: skipped, PostgreSQL is not reachable at {args.pg_url} ({problem})")
            backends.remove("postgres")
    if args.py_spy is not None:
        if not (VENV_BIN / "py-spy").exists():
            raise SystemExit(f"--py-spy: {VENV_BIN / 'py-spy'} is missing; install it with "
                             f"{VENV_BIN / 'pip'} install py-spy")
        args.py_spy.mkdir(parents=True, exist_ok=True)
    ok = True
    workdir = Path(tempfile.mkdtemp(prefix="q2c-bench-time-"))
    try:
        for mode in modes:
            vendors = start_vendors(mode, workdir, entries=args.entries, projects=args.projects, people=args.people,
                                    erp=args.erp)
            try:
                for backend in backends:
                    for drive in drives:
                        ok = measure_hub(vendors, backend, drive, args, workdir, args.py_spy) and ok
                    if mode == "hub":
                        ok = measure_floor(vendors, backend, args, workdir) and ok
            finally:
                vendors.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
