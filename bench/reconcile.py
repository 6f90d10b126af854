"""Benchmark: the time pair's reconciliation over a million entries, beside a naive per-row comparison.

    .venv/bin/python bench/reconcile.py [--entries 1000000] [--drifts 1000] [--seed 606]
        [--backends sqlite,postgres] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--distinct-values] [--profile DIR]

Smoke run in a few seconds: `--entries 20000 --drifts 100`.

The inputs are N time entries as the two systems' reads hand them to q2c: the tracker's approved
entries as plain values (id, project, task, date, hours, status) in pages of 2,000 with q2c's rating
of each (entry id -> rate, currency, as the time pair reads it from q2c's records), and the ERP's
timebills as `ErpTimebill` objects in pages of 1,000, listed (and made) in a shuffled order, not the
tracker's. Each system's pages are handed over one at a time and let go once read, as the ports' page
iterators hand them; the rating stays, as in `time_pair`. Projects carry USD, EUR or GBP. Drifts are
planted at random keys (fixed seed), spread over four kinds: missing in the ERP, missing in the
tracker, hours changed in the ERP (hours and amount differ), rate changed in the ERP (rate and amount
differ). By default equal values (dates, hours, rates) share one object, as they do in a generator;
`--distinct-values` gives every row its own, as a parser reading each record does: about 240 bytes more
a row a side, which shows what the inputs weigh when read for real.

Inside the measured time, in this order (each step timed):
- build the sides from the inputs as `time_pair` does, row by row (key -> (project, task, work_date,
  hours, rate, amount, currency), amount = `timebill_amount`: hours x rate in the currency's minor
  units), but without its tracing context (below);
- `compare` with the time pair's fields and measures (hours, amount per currency), held = the empty set;
- storing the run: each drift as `reconcile` turns it into a `DriftRow` (differences, both records as
  JSON), then `drift_store.record_run` with every drift and the pair's summary, committed, on a hub
  database made by `create_db_engine` + `migrate` before the clock starts.
Outside it: generating the inputs; reading them from the systems (HTTP, mapping); the tracing of each
drift (it reads q2c's records per drift) and the exceptions `reconcile` opens for them; and the
per-entry context `time_pair` keeps for tracing (the port objects and a dict per tracker entry).
The held lookup `time_pair` makes (`time_held`: the open exceptions' time entries, then the in-flight projects) is
timed on its own line after the rest, on the same database (no exceptions, no work in flight), and
left out of the total and of the peak RSS set against the goal.

The baseline, measured the same way in the same run: the same inputs built into one dict per record
(field -> value), then for each key of either side the other side is looked up and compared field by
field, with the same totals, stored the same way. Each measurement runs in a child process of its own
(with its own copy of the inputs and a fresh database), so its peak RSS (ru_maxrss) is its own: the
inputs plus whatever the path adds; "growth" is the peak less the RSS once the inputs are made, and
each step shows the peak once it is done.

After each run every planted drift must be found with its kind and exactly its differing fields, no
other drift reported, the stored drifts read back equal to those found, and both paths' totals
equal: FOUND x/x and FALSE 0 are printed, and the exit code is non-zero when not. The goals (total
<= 5 s on SQLite, peak RSS <= 1 GB) are printed with PASS or FAIL but never change the exit code.
With `--profile DIR` the measured part of each q2c run is profiled with cProfile (its times are then
inflated and marked) and the top functions printed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from bench_databases import database, postgres_problem
from q2c.domain.reconciliation import DIFFERENT, MISSING_LEFT, MISSING_RIGHT, Measure, PairResult, Side, compare
from q2c.store import drifts as drift_store
from q2c.store.db import create_db_engine, migrate
from q2c.workflows.ports import ErpTimebill
from q2c.workflows.reconcile import pair_summary, value_json, values_json
from q2c.workflows.reconcile_pairs import TIME_FIELDS, in_flight_aggregates, time_held, timebill_amount

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TRACKER, ERP = "Harvest", "NetSuite"
TRACKER_PAGE, ERP_PAGE = 2_000, 1_000
APPROVED = "approved"
PROJECTS = 300
CURRENCIES = ("USD", "EUR", "GBP")
TASKS = ("Delivery", "Design", "Build", "Test", "Project management")
RATES = tuple(Decimal(r) for r in ("150.00", "175.00", "200.00", "240.00"))
HOURS = tuple(Decimal(q) / 4 for q in range(1, 41))  # 0.25 to 10.00
FIRST_DAY = date(2025, 1, 1)
DAYS = 365
HOURS_CHANGE, RATE_CHANGE = Decimal("0.25"), Decimal("10.00")
KINDS = ("missing_erp", "missing_tracker", "hours", "rate")
EXPECTED = {"missing_erp": (MISSING_RIGHT, frozenset[str]()), "missing_tracker": (MISSING_LEFT, frozenset[str]()),
            "hours": (DIFFERENT, frozenset({"hours", "amount"})), "rate": (DIFFERENT, frozenset({"rate", "amount"}))}
MEASURES = [Measure("hours"), Measure("amount", "currency")]

GOAL_SECONDS = 5.0
GOAL_RSS_MB = 1024.0

TrackerRow = tuple[str, str, str, date, Decimal, str]  # id, project, task, work date, hours, status
Row = tuple[object, ...]
Found = dict[str, tuple[str, frozenset[str]]]  # key -> kind, the fields that differ
T = TypeVar("T")


# --- the inputs ------------------------------------------------------------------------------------------


@dataclass
class Inputs:
    tracker_pages: list[list[TrackerRow]]
    rated: dict[str, tuple[Decimal, str]]  # q2c's rating of each posted entry: rate, currency
    erp_pages: list[list[ErpTimebill]]
    currency_of: dict[str, str]  # project -> its contract's currency
    planted: dict[str, str]  # key -> planted kind (see KINDS)


def entry_id(n: int) -> str:
    return f"HV-{3_000_000_000 + n}"


def generate(n: int, drifts: int, seed: int, *, distinct: bool) -> Inputs:
    """N entries of which `drifts` are planted drifts, spread over the four kinds.

    Each system's objects are made in its own listing order, as its reader would make them page by page:
    the tracker's in entry order, the ERP's in a shuffled one."""
    rng = random.Random(seed)
    projects = [f"SYN-{p:04d}" for p in range(1, PROJECTS + 1)]
    currency_of = {p: CURRENCIES[i % len(CURRENCIES)] for i, p in enumerate(projects)}
    days = [FIRST_DAY + timedelta(days=d) for d in range(DAYS)]
    project_of = array("H", rng.choices(range(PROJECTS), k=n))
    task_of = array("B", rng.choices(range(len(TASKS)), k=n))
    day_of = array("H", rng.choices(range(DAYS), k=n))
    hours_of = array("B", rng.choices(range(len(HOURS)), k=n))
    rate_of = array("B", rng.choices(range(len(RATES)), k=n))
    planted = {entry_id(k): KINDS[i % len(KINDS)] for i, k in enumerate(rng.sample(range(n), drifts))}

    def own(value: Decimal) -> Decimal:
        return Decimal(str(value)) if distinct else value

    def day(d: date) -> date:
        return date.fromordinal(d.toordinal()) if distinct else d

    tracker: list[TrackerRow] = []
    rated: dict[str, tuple[Decimal, str]] = {}
    for k in range(n):
        key = entry_id(k)
        if planted.get(key) == "missing_tracker":
            continue
        project = projects[project_of[k]]
        tracker.append((key, project, TASKS[task_of[k]], day(days[day_of[k]]), own(HOURS[hours_of[k]]), APPROVED))
        rated[key] = (own(RATES[rate_of[k]]), currency_of[project])
    order = array("l", range(n))
    rng.shuffle(order)  # the ERP lists its timebills in an order of its own
    erp: list[ErpTimebill] = []
    for k in order:
        key = entry_id(k)
        kind = planted.get(key)
        if kind == "missing_erp":
            continue
        hours, rate = HOURS[hours_of[k]], RATES[rate_of[k]]
        erp.append(ErpTimebill(
            entry_id=key, system_id=str(10_000_000 + k), project_id=projects[project_of[k]],
            task_code=TASKS[task_of[k]], work_date=day(days[day_of[k]]),
            hours=own(hours + HOURS_CHANGE if kind == "hours" else hours),
            rate=own(rate + RATE_CHANGE if kind == "rate" else rate), billable=True, billed=False))
    return Inputs([tracker[i:i + TRACKER_PAGE] for i in range(0, len(tracker), TRACKER_PAGE)], rated,
                  [erp[i:i + ERP_PAGE] for i in range(0, len(erp), ERP_PAGE)], currency_of, planted)


def drain(pages: list[list[T]]) -> Iterator[list[T]]:
    """The pages one at a time, each let go once read, as a port's page iterator hands them over."""
    pages.reverse()
    while pages:
        yield pages.pop()


# --- q2c's path: the sides as time_pair builds them, compare, store ------------------------------------------


@dataclass
class Clock:
    """Seconds per step, and the peak RSS once each step is done."""

    seconds: dict[str, float] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        begun = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - begun
            self.peaks[name] = peak_rss_mb()


@dataclass
class Outcome:
    found: Found
    totals: dict[str, dict[str, str]]
    run_id: int
    sides: tuple[dict[str, Row], dict[str, Row]] | None = None  # q2c's sides, for the held lookup


def tracker_side(inputs: Inputs) -> dict[str, Row]:
    """As `time_pair` builds its left side from the tracker's pages and q2c's rating."""
    currency_of, rated = inputs.currency_of, inputs.rated
    left: dict[str, Row] = {}
    for page in drain(inputs.tracker_pages):
        for key, project_id, task_code, work_date, hours, status in page:
            if status != APPROVED:
                continue
            rate, currency = rated.get(key, (None, currency_of.get(project_id)))
            left[key] = (project_id, task_code, work_date, hours, rate, timebill_amount(hours, rate, currency),
                         currency)
    return left


def erp_side(inputs: Inputs) -> dict[str, Row]:
    """As `time_pair` builds its right side from the ERP's timebill pages."""
    currency_of = inputs.currency_of
    right: dict[str, Row] = {}
    for bills in drain(inputs.erp_pages):
        for t in bills:
            currency = currency_of.get(t.project_id or "")
            right[t.entry_id] = (t.project_id, t.task_code, t.work_date, t.hours, t.rate,
                                 timebill_amount(t.hours, t.rate, currency), currency)
    return right


def held_lookup(engine: Engine, left: dict[str, Row], right: dict[str, Row]) -> set[str]:
    """The records `time_pair` holds: named by an open exception, or on a project with work in flight."""
    with engine.connect() as conn:
        return time_held(conn, left, right, busy=in_flight_aggregates(conn))


def drift_rows(result: PairResult) -> list[drift_store.DriftRow]:
    """Each drift as `reconcile` stores it; the cause is not traced here."""
    return [drift_store.DriftRow(
        result.pair, d.key, d.kind, [{"field": x.field, "left": value_json(x.left), "right": value_json(x.right)}
                                     for x in d.differences],
        values_json(d.left), values_json(d.right), "not traced (benchmark)", "q2c", None) for d in result.drifts]


def store(engine: Engine, started: datetime, stats: dict[str, Any], found: list[drift_store.DriftRow]) -> int:
    with engine.begin() as conn:
        return drift_store.record_run(conn, started_at=started, status="drift" if found else "clean", stats=stats,
                                      found=found)


def run_stats(summary: dict[str, Any], found: int) -> dict[str, Any]:
    return {"pairs": {"time": summary}, "compared": summary["compared"],
            "matched": summary["matched"] + summary["held"], "drifts": found}


def q2c_path(inputs: Inputs, engine: Engine, clock: Clock) -> Outcome:
    started = datetime.now(UTC)
    with clock.step("build tracker side"):
        left = tracker_side(inputs)
    with clock.step("build ERP side"):
        right = erp_side(inputs)
    with clock.step("compare"):
        result = compare("time", TIME_FIELDS, Side(TRACKER, left), Side(ERP, right), measures=MEASURES,
                         held=frozenset())
    with clock.step("store run and drifts"):
        found = drift_rows(result)
        run_id = store(engine, started, run_stats(pair_summary(result), len(found)), found)
    return Outcome({d.key: (d.kind, frozenset(x.field for x in d.differences)) for d in result.drifts},
                   {side: {k: str(v) for k, v in sums.items()} for side, sums in result.totals.items()}, run_id,
                   (left, right))


# --- the baseline: a dict per record, compared field by field -----------------------------------------------


def naive_path(inputs: Inputs, engine: Engine, clock: Clock) -> Outcome:
    started = datetime.now(UTC)
    with clock.step("build tracker side"):
        left: dict[str, dict[str, object]] = {}
        for page in drain(inputs.tracker_pages):
            for key, project_id, task_code, work_date, hours, status in page:
                if status != APPROVED:
                    continue
                rating = inputs.rated.get(key)
                rate = rating[0] if rating is not None else None
                currency = rating[1] if rating is not None else inputs.currency_of.get(project_id)
                left[key] = {"project": project_id, "task": task_code, "work_date": work_date, "hours": hours,
                             "rate": rate, "amount": timebill_amount(hours, rate, currency), "currency": currency}
    with clock.step("build ERP side"):
        right: dict[str, dict[str, object]] = {}
        for bills in drain(inputs.erp_pages):
            for t in bills:
                currency = inputs.currency_of.get(t.project_id or "")
                right[t.entry_id] = {
                    "project": t.project_id, "task": t.task_code, "work_date": t.work_date, "hours": t.hours,
                    "rate": t.rate, "amount": timebill_amount(t.hours, t.rate, currency), "currency": currency}
    with clock.step("compare"):
        drifts: list[tuple[str, str, dict[str, object] | None, dict[str, object] | None, list[dict[str, Any]]]] = []
        keys = left.keys() | right.keys()
        for key in keys:
            a, b = left.get(key), right.get(key)
            if b is None:
                drifts.append((key, MISSING_RIGHT, a, None, []))
            elif a is None:
                drifts.append((key, MISSING_LEFT, None, b, []))
            else:
                differences = [{"field": f, "left": a[f], "right": b[f]} for f in TIME_FIELDS if a[f] != b[f]]
                if differences:
                    drifts.append((key, DIFFERENT, a, b, differences))
        drifts.sort(key=lambda d: d[0])
        totals: dict[str, dict[str, Decimal]] = {}
        for name, rows in ((TRACKER, left), (ERP, right)):
            sums: dict[str, Decimal] = {"hours": Decimal(0)}
            for r in rows.values():
                spent, amount = r["hours"], r["amount"]
                if isinstance(spent, Decimal):
                    sums["hours"] += spent
                if isinstance(amount, Decimal):
                    label = f"amount {r['currency']}"
                    sums[label] = sums.get(label, Decimal(0)) + amount
            totals[name] = sums
    with clock.step("store run and drifts"):
        found = [drift_store.DriftRow(
            "time", key, kind, [{"field": x["field"], "left": value_json(x["left"]), "right": value_json(x["right"])}
                                for x in differences],
            values_json(a), values_json(b), "not traced (benchmark)", "q2c", None)
            for key, kind, a, b, differences in drifts]
        compared = len(keys)
        summary = {"left": TRACKER, "right": ERP, "compared": compared, "matched": compared - len(drifts), "held": 0,
                   "missing_left": sum(1 for d in drifts if d[1] == MISSING_LEFT),
                   "missing_right": sum(1 for d in drifts if d[1] == MISSING_RIGHT),
                   "different": sum(1 for d in drifts if d[1] == DIFFERENT),
                   "totals": {side: {k: str(v) for k, v in s.items()} for side, s in totals.items()}}
        run_id = store(engine, started, run_stats(summary, len(found)), found)
    return Outcome({key: (kind, frozenset(str(x["field"]) for x in differences))
                    for key, kind, _, _, differences in drifts},
                   {side: {k: str(v) for k, v in s.items()} for side, s in totals.items()}, run_id)


# --- one measurement, in a child process -------------------------------------------------------------------


@dataclass
class Spec:
    kind: str  # "q2c" or "naive"
    backend: str
    database: str
    entries: int
    drifts: int
    seed: int
    distinct: bool
    profile: str | None = None  # a .pstats path: profile the measured part


@dataclass
class Result:
    steps: dict[str, float] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)  # step -> peak RSS once it is done
    total: float = 0.0
    held_seconds: float | None = None  # the held lookup, after the rest (q2c's path only)
    held_peak_rss_mb: float | None = None
    generate_seconds: float = 0.0
    rss_start_mb: float = 0.0
    rss_inputs_mb: float = 0.0
    peak_rss_mb: float = 0.0
    found: int = 0
    false: int = 0
    wrong: list[str] = field(default_factory=list)
    stored: int = 0
    totals: dict[str, dict[str, str]] = field(default_factory=dict)
    profile_top: str = ""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_now_mb() -> float:
    """The resident set now, from /proc (the peak where there is no /proc)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return peak_rss_mb()


def check(planted: dict[str, str], found: Found) -> tuple[int, int, list[str]]:
    """How many planted drifts were found as planted, how many found drifts were never planted, and what is
    wrong with the rest (first few)."""
    hits, wrong = 0, list[str]()
    for key, kind in planted.items():
        expected = EXPECTED[kind]
        got = found.get(key)
        if got == expected:
            hits += 1
        elif len(wrong) < 5:
            wrong.append(f"{key} planted {kind} {sorted(expected[1])}: found {got}")
    false = [k for k in found if k not in planted]
    wrong += [f"{k} found {found[k]}, never planted" for k in false[:5]]
    return hits, len(false), wrong


def measure(spec: Spec) -> Result:
    out = Result(rss_start_mb=rss_now_mb())
    begun = time.perf_counter()
    inputs = generate(spec.entries, spec.drifts, spec.seed, distinct=spec.distinct)
    out.generate_seconds = time.perf_counter() - begun
    engine = create_db_engine(spec.database)
    migrate(engine)
    gc.collect()
    out.rss_inputs_mb = rss_now_mb()
    path = q2c_path if spec.kind == "q2c" else naive_path
    clock = Clock()
    profiler = cProfile.Profile() if spec.profile else None
    if profiler is not None:
        profiler.enable()
    outcome = path(inputs, engine, clock)
    if profiler is not None:
        profiler.disable()
    out.peak_rss_mb = peak_rss_mb()
    out.steps, out.peaks, out.total = clock.seconds, clock.peaks, sum(clock.seconds.values())
    if outcome.sides is not None:
        begun = time.perf_counter()
        held_lookup(engine, *outcome.sides)
        out.held_seconds, out.held_peak_rss_mb = time.perf_counter() - begun, peak_rss_mb()
    found = outcome.found
    out.totals = outcome.totals
    out.found, out.false, out.wrong = check(inputs.planted, found)
    with engine.connect() as conn:
        stored = {d.record_id: (d.kind, frozenset(str(x["field"]) for x in d.differences))
                  for d in drift_store.of_run(conn, outcome.run_id)}
    out.stored = len(stored)
    if stored != found:
        out.wrong.append(f"the run stored {len(stored):,} drifts, not the {len(found):,} found")
    engine.dispose()
    if profiler is not None and spec.profile:
        profiler.dump_stats(spec.profile)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
        out.profile_top = text.getvalue()
    return out


def run_child(spec: Spec, workdir: Path) -> Result:
    tag = uuid.uuid4().hex[:8]
    spec_path, result_path = workdir / f"spec-{tag}.json", workdir / f"result-{tag}.json"
    spec_path.write_text(json.dumps(asdict(spec)))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", str(spec_path),
                           "--result", str(result_path)], check=False)
    if done.returncode != 0 or not result_path.exists():
        raise RuntimeError(f"the {spec.kind} measurement on {spec.backend} failed with exit code {done.returncode}")
    return Result(**json.loads(result_path.read_text()))


def measure_here(spec_path: Path, result_path: Path) -> int:
    result = measure(Spec(**json.loads(spec_path.read_text())))
    result_path.write_text(json.dumps(asdict(result)))
    return 0


# --- reporting ---------------------------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def cpu_name() -> str:
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                return row.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(label: str, r: Result, entries: int, planted: int, *, profiled: bool) -> None:
    mark = " (profiled: times inflated)" if profiled else ""
    for name, seconds in r.steps.items():
        peak = f"   peak RSS then {r.peaks[name]:7.1f} MB" if name in r.peaks else ""
        say(f"  {label:<7} {name:<34} {seconds:8.3f} s{peak}")
    say(f"  {label:<7} {'total':<34} {r.total:8.3f} s = {entries / r.total:>12,.0f} entries/s{mark}")
    say(f"  {label:<7} {'peak RSS':<34} {r.peak_rss_mb:8.1f} MB (at start {r.rss_start_mb:.1f} MB, with the inputs "
        f"{r.rss_inputs_mb:.1f} MB, growth by the path {r.peak_rss_mb - r.rss_inputs_mb:.1f} MB)")
    if r.held_seconds is not None and r.held_peak_rss_mb is not None:
        say(f"  {label:<7} {'held lookup, as time_pair makes it':<34} {r.held_seconds:8.3f} s   peak RSS then "
            f"{r.held_peak_rss_mb:7.1f} MB   (outside the total: time_held)")
    say(f"  {label:<7} drifts planted {planted:,}: FOUND {r.found:,}/{planted:,}, FALSE {r.false:,}, stored "
        f"{r.stored:,}" + (f"  WRONG: {'; '.join(r.wrong)}" if r.wrong else ""))


def measure_backend(backend: str, args: argparse.Namespace, workdir: Path) -> bool:
    results: dict[str, Result] = {}
    for kind in ("q2c", "naive"):
        profile = str(args.profile / f"{kind}-{backend}.pstats") if args.profile and kind == "q2c" else None
        with database(backend, workdir, args.pg_url) as url:
            results[kind] = run_child(Spec(kind, backend, url, args.entries, args.drifts, args.seed,
                                           args.distinct_values, profile), workdir)
    q2c, naive = results["q2c"], results["naive"]
    say(f"{backend}: inputs generated in {q2c.generate_seconds:.1f} s (outside the measured time)")
    report("q2c", q2c, args.entries, args.drifts, profiled=args.profile is not None)
    report("naive", naive, args.entries, args.drifts, profiled=False)
    shared = [k for k in q2c.steps if k in naive.steps]
    say("  speed-up (naive / q2c): " + ", ".join(f"{k} x{naive.steps[k] / q2c.steps[k]:.1f}" for k in shared
                                                   if q2c.steps[k] > 0)
        + f"; total x{naive.total / q2c.total:.1f}")
    totals_agree = q2c.totals == naive.totals
    say(f"  totals (q2c): {json.dumps(q2c.totals)}; the baseline's {'agree' if totals_agree else 'DIFFER'}")
    if backend == "sqlite":
        say(f"  goal: total <= {GOAL_SECONDS:.0f} s: {q2c.total:.2f} s {verdict(q2c.total <= GOAL_SECONDS)}; "
            f"peak RSS <= {GOAL_RSS_MB / 1024:.0f} GB: {q2c.peak_rss_mb:,.0f} MB "
            f"{verdict(q2c.peak_rss_mb <= GOAL_RSS_MB)}")
    if q2c.profile_top:
        say(q2c.profile_top)
    return all(r.found == args.drifts and r.false == 0 and not r.wrong for r in (q2c, naive)) and totals_agree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000, help="time entries present in either system")
    parser.add_argument("--drifts", type=int, default=1_000, help="drifts to plant (over the four kinds)")
    parser.add_argument("--seed", type=int, default=606)
    parser.add_argument("--backends", default="sqlite", help="sqlite, postgres or both (comma-separated)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL admin URL (a database is made per run)")
    parser.add_argument("--distinct-values", action="store_true", dest="distinct_values",
                        help="every row its own value objects, as a parser makes them")
    parser.add_argument("--profile", type=Path, default=None, help="profile the q2c runs with cProfile into DIR")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure is not None:
        return measure_here(args.measure, args.result)
    if args.entries < 1 or not 0 <= args.drifts <= args.entries:
        raise SystemExit("--entries must be at least 1 and --drifts between 0 and --entries")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in ("sqlite", "postgres")]
    if unknown or not backends:
        raise SystemExit(f"--backends: {', '.join(unknown) or 'nothing given'} not allowed; choose sqlite, postgres")
    say(f"q2c reconciliation benchmark (time pair) | {os.cpu_count()} cores ({cpu_name()}), Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()} | entries={args.entries:,} "
        f"drifts={args.drifts:,} seed={args.seed} values={'distinct' if args.distinct_values else 'shared'} | "
        f"goal on SQLite: build sides + compare + store <= {GOAL_SECONDS:.0f} s, peak RSS <= "
        f"{GOAL_RSS_MB / 1024:.0f} GB")
    if "postgres" in backends:
        problem = postgres_problem(args.pg_url)
        if problem is not None:
            say(f"postgres: skipped, PostgreSQL is not reachable at {args.pg_url} ({problem})")
            backends.remove("postgres")
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    ok = True
    workdir = Path(tempfile.mkdtemp(prefix="q2c-bench-reconcile-"))
    try:
        for backend in backends:
            try:
                ok = measure_backend(backend, args, workdir) and ok
            except RuntimeError as exc:
                say(f"{backend}: FAILED: {exc}")
                ok = False
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
