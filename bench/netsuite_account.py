"""The NetSuite sandbox in a process of its own, for the time sync benchmark.

    .venv/bin/python bench/netsuite_account.py --port P --key-out KEY --refs-out REFS [--vendor-limits]
                                               [--latency-ms 150]

It is the sandbox `q2c sandbox netsuite` runs (same factory, same faults and limits), with two
differences the benchmark needs: the account's setup ids are written to REFS (the hub's
`systems.erp.references`), and `GET /__sandbox/netsuite/account` reports the account's own
counters (timebills stored, created, updated, requests refused over the concurrency limit), which
live in the sandbox's state and are not on the kit's `/__sandbox/stats`. Access logs are off, so
the sandbox spends its CPU on the vendor's work rather than on logging it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import uvicorn

from q2c.sandboxes.kit import Faults
from q2c.sandboxes.netsuite.app import NetSuiteSandbox
from q2c.sandboxes.registry import make_sandbox

COUNTERS_PATH = "/__sandbox/netsuite/account"


def account_counters(box: NetSuiteSandbox) -> dict[str, Any]:
    """What the benchmark checks after a run: each time entry stored once, and what was refused."""
    state = box.state
    timebill_external_ids = state.external["timebill"]
    return {
        "timebills": state.count("timebill"),
        "timebill_external_ids": len(timebill_external_ids),
        "timebills_from_harvest": sum(1 for e in timebill_external_ids if e.startswith("HV-")),
        "timebills_created": state.created("timebill"),
        "timebills_updated": state.updated("timebill"),
        "over_limit": dict(state.over_limit),
        "max_in_flight": state.max_in_flight,
        "restlet_calls": state.restlet_calls,
        "token_grants": state.token_grants,
        "jobs": state.count("job"),
        "projecttasks": state.count("projecttask"),
        "employees": state.count("employee"),
    }


def build(*, vendor_limits: bool, latency_ms: int) -> NetSuiteSandbox:
    box = make_sandbox("netsuite", faults=Faults(latency_ms=latency_ms), vendor_limits=vendor_limits)
    if not isinstance(box, NetSuiteSandbox):
        raise TypeError(f"expected the NetSuite sandbox, got {type(box).__name__}")

    @box.app.get(COUNTERS_PATH, include_in_schema=False)
    async def counters() -> dict[str, Any]:
        return account_counters(box)

    return box


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key-out", type=Path, required=True, help="where to write the M2M private key")
    parser.add_argument("--refs-out", type=Path, required=True, help="where to write the account's setup ids")
    parser.add_argument("--vendor-limits", action="store_true", help="NetSuite's concurrency limit of 5")
    parser.add_argument("--latency-ms", type=int, default=0, help="added latency per request")
    args = parser.parse_args(argv)
    box = build(vendor_limits=args.vendor_limits, latency_ms=args.latency_ms)
    if box.private_key_pem is None:
        print("the sandbox made no key pair", file=sys.stderr)
        return 2
    args.key_out.write_text(box.private_key_pem)
    args.refs_out.write_text(json.dumps(box.account_references()))
    uvicorn.run(box.app, host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
