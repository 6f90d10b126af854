"""Three q2c processes, one vendor account, one budget: on PostgreSQL the limits hold across processes.

NetSuite limits the requests an account has in flight, for every integration together (Oracle NetSuite
Help, "Web Services and RESTlet Concurrency Governance"; over the limit REST answers 429, RESTlets 400
SSS_REQUEST_LIMIT_EXCEEDED). Harvest limits requests per 15 s (Harvest API v2 overview,
help.getharvest.com/api-v2/introduction/overview/general/, "Rate Limiting"; over it, 429 + Retry-After).

Each test starts three real OS processes running this file as a script: each builds the hub through the
normal wiring (`load_config`, `build_hub`) from one q2c.yaml and offers two bursts at once, 8 NetSuite
customer upserts through the ERP port and 4 Harvest `GET /users/me`. The sandboxes run in the test's
process and count what arrives: the most in flight and the refusals. With the hub on PostgreSQL the
processes share one budget, so nothing is refused; on SQLite (one process per database, documented)
each process keeps its own, and the same burst is refused in part (the control that shows the counts
can tell the difference). Each test takes a few seconds: three interpreter start-ups, the bursts, and
(without sharing) the retries after refusals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from q2c.sandboxes.harvest.app import HarvestSandbox
    from q2c.sandboxes.netsuite.app import NetSuiteSandbox

PROCESSES = 3
NETSUITE_LIMIT = 5
NETSUITE_BURST = 8  # requests each process offers at once
HARVEST_BUDGET = 6  # requests per window, scaled down from Harvest's 100 per 15 s
HARVEST_WINDOW = 0.5
HARVEST_BURST = 4


def hub_yaml(folder: Path, *, database: str, netsuite: NetSuiteSandbox, netsuite_url: str, harvest: HarvestSandbox,
             harvest_url: str) -> Path:
    from q2c.sandboxes.registry import sandbox_spec

    # a refused request is tried again after 0.1-0.3 s (NetSuite sends no Retry-After; q2c's default is 0.5-1.5 s)
    erp = {"type": "netsuite", **netsuite.connector_settings(netsuite_url, concurrency_limit=NETSUITE_LIMIT,
                                                             throttle_wait_seconds=0.2)}
    settings = {
        "database": database,
        "systems": {
            "crm": {"type": "salesforce", "login_url": "http://127.0.0.1:9", "client_id": "unused",
                    "client_secret": "unused"},  # never called here
            "tracker": sandbox_spec("harvest").settings(harvest, harvest_url, folder),
            "erp": erp,
        },
        "legal_entities": [{"code": "US01", "name": "US01 Consulting Inc.", "currency": "USD",
                            "timezone": "America/New_York"}],
        "service_offerings": [{"code": "IMPL", "name": "Implementation", "roles": ["Consultant"],
                               "tasks": [{"code": "BUILD", "name": "Build"}]}],
        "rate_cards": [{"id": "RC-USD", "currency": "USD", "lines": [
            {"role": "Consultant", "rate": "150.00", "cost_rate": "70.00", "effective_from": "2026-01-01"}]}],
    }
    path = folder / "q2c.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def run_processes(config: Path) -> list[dict[str, Any]]:
    """Start the processes, let each build its hub, then release their bursts together."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    children = [subprocess.Popen([sys.executable, __file__, str(config), str(n)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for n in range(PROCESSES)]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            problem = child.stderr.read() if child.stderr and not line else ""
            assert line.strip() == "ready", f"a child did not start: {line!r} {problem}"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()


@pytest.fixture
def netsuite() -> NetSuiteSandbox:
    from q2c.sandboxes.kit import Faults
    from q2c.sandboxes.netsuite.app import NetSuiteSandbox
    from q2c.sandboxes.registry import make_sandbox

    box = make_sandbox("netsuite", faults=Faults(latency_ms=150), vendor_limits=True)
    assert isinstance(box, NetSuiteSandbox) and box.limits.concurrency == NETSUITE_LIMIT
    return box


@pytest.fixture
def harvest() -> HarvestSandbox:
    from q2c.sandboxes.harvest.app import HarvestSandbox
    from q2c.sandboxes.kit import Faults, VendorLimits
    from q2c.sandboxes.registry import make_sandbox

    box = make_sandbox("harvest", faults=Faults(latency_ms=50))
    assert isinstance(box, HarvestSandbox)
    box.set_limits(VendorLimits(requests_per_window=HARVEST_BUDGET, window_seconds=HARVEST_WINDOW))
    return box


def burst(tmp_path: Path, database: str, netsuite: NetSuiteSandbox, harvest: HarvestSandbox) -> list[dict[str, Any]]:
    from q2c.sandboxes.kit import SandboxServer

    with SandboxServer(netsuite) as ns, SandboxServer(harvest) as hv:
        config = hub_yaml(tmp_path, database=database, netsuite=netsuite, netsuite_url=ns.url, harvest=harvest,
                          harvest_url=hv.url)
        return run_processes(config)


@pytest.mark.postgres
def test_three_processes_on_postgresql_spend_one_budget_per_vendor_account(
        tmp_path: Path, pg_url: str, netsuite: NetSuiteSandbox, harvest: HarvestSandbox) -> None:
    results = burst(tmp_path, pg_url, netsuite, harvest)
    assert all(r["netsuite"]["shared"] and r["harvest"]["shared"] for r in results)
    # NetSuite: 3 x 8 upserts offered at once against a limit of 5, used to the full and never passed
    state = netsuite.state
    assert state.max_in_flight == NETSUITE_LIMIT
    assert sum(state.over_limit.values()) == 0 and netsuite.stats.throttled == 0
    assert sum(r["netsuite"]["rate_limited"] for r in results) == 0
    assert state.count("customer") == PROCESSES * NETSUITE_BURST
    # Harvest: 3 x 4 requests at once against 6 per 0.5 s: the processes waited for each other's window
    assert harvest.stats.throttled == 0 and sum(r["harvest"]["rate_limited"] for r in results) == 0
    assert harvest.stats.by_path.get("GET /v2/users/me") == PROCESSES * HARVEST_BURST
    assert sum(r["harvest"]["waited_seconds"] for r in results) > HARVEST_WINDOW


def test_without_a_shared_database_the_same_processes_overrun_both_limits(
        tmp_path: Path, netsuite: NetSuiteSandbox, harvest: HarvestSandbox) -> None:
    """SQLite is one process's database: each process keeps its own budget (the documented limitation)."""
    results = burst(tmp_path, f"sqlite:///{tmp_path / 'q2c.sqlite'}", netsuite, harvest)
    assert not any(r["netsuite"]["shared"] or r["harvest"]["shared"] for r in results)
    refused = sum(netsuite.state.over_limit.values())
    assert refused > 0 and sum(r["netsuite"]["rate_limited"] for r in results) == refused  # absorbed, at a cost
    assert netsuite.state.count("customer") == PROCESSES * NETSUITE_BURST
    assert harvest.stats.throttled > 0
    assert sum(r["harvest"]["rate_limited"] for r in results) == harvest.stats.throttled


# --- the child process ------------------------------------------------------------------------------------


def child(config_path: Path, number: int) -> dict[str, Any]:
    """Build the hub as `q2c worker` does, wait for the word, then offer both bursts all at once."""
    from q2c.config import load_config
    from q2c.domain.model import BillingTerms, Customer
    from q2c.engine.resilience import GuardRegistry, RateLimit
    from q2c.entrypoints.wiring import build_hub

    config = load_config(config_path)
    guards = GuardRegistry()
    # the connector's window is Harvest's 15 s; a guard made first sets the scaled-down one
    account = config.systems.tracker.account_id  # type: ignore[attr-defined]
    guards.get("harvest", f"account:{account}", limit=RateLimit(requests=HARVEST_BUDGET, window_seconds=HARVEST_WINDOW))
    hub = build_hub(config, guards=guards)

    def upsert(i: int) -> None:
        start.wait()
        hub.erp.upsert_customer(Customer(id=f"SF-P{number}-{i}", name=f"Customer {number}-{i}", legal_entity="US01",
                                         billing_terms=BillingTerms(payment_terms="Net 30", currency="USD")))

    def read(i: int) -> None:
        start.wait()
        hub.tracker.client.me()  # type: ignore[attr-defined]

    threads = [threading.Thread(target=upsert, args=(i,)) for i in range(NETSUITE_BURST)]
    threads += [threading.Thread(target=read, args=(i,)) for i in range(HARVEST_BURST)]
    start = threading.Barrier(len(threads))
    print("ready", flush=True)
    sys.stdin.readline()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {g.system: {"shared": g.limiter.shared, "rate_limited": g.stats.rate_limited,
                       "requests": g.stats.requests, "waited_seconds": g.limiter.waited_seconds}
            for g in hub.guards.all() if g.system in ("netsuite", "harvest")}


if __name__ == "__main__":
    print(json.dumps(child(Path(sys.argv[1]), int(sys.argv[2]))), flush=True)
