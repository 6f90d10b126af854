"""The Business Central sandbox in a process of its own, for the time sync benchmark (`--erp business_central`).

    .venv/bin/python bench/erp_account.py --port P --folder DIR [--vendor-limits] [--latency-ms 150]

It is the sandbox `q2c sandbox business_central` runs (same factory, faults and limits), over HTTPS on
loopback with its throwaway CA, with what the benchmark needs besides: the hub's `systems.erp` block
(the registry's `SandboxSpec.settings()`, with the CA file written into DIR and named by its full path)
is written to DIR/erp-settings.json, and `GET /__sandbox/business_central/account` reports the
environment's own counters through the sandbox's scenario hooks (time entries held and ever created,
by externalId), with the requests refused over the concurrency limit (5 processed, 95 queued). Access
logs are off, so the sandbox spends its CPU on the vendor's work rather than on logging it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import uvicorn

from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import Faults
from q2c.sandboxes.registry import make_sandbox, sandbox_spec

COUNTERS_PATH = "/__sandbox/business_central/account"
SETTINGS_FILE = "erp-settings.json"


def account_counters(box: BusinessCentralSandbox) -> dict[str, Any]:
    """What the benchmark checks after a run: each time entry stored once, and what was refused."""
    spec = sandbox_spec("business_central")
    if spec.scenario is None:
        raise RuntimeError("the Business Central sandbox has no scenario hooks")
    scenario = spec.scenario()
    ids = scenario.timebill_ids(box)
    return {
        "timebills": len(ids), "timebill_external_ids": len(set(ids)),
        "timebills_from_harvest": sum(1 for e in set(ids) if e.startswith("HV-")),
        "timebills_created": scenario.created(box, "timebill"),
        "refused_over_concurrency": box.connections.refused,
        "projects": scenario.count(box, "project"), "tasks": scenario.count(box, "task"),
        "employees": sum(len(box.records(code, "employees")) for code in box.company_ids()),
    }


def build(*, vendor_limits: bool, latency_ms: int) -> BusinessCentralSandbox:
    box = make_sandbox("business_central", faults=Faults(latency_ms=latency_ms), vendor_limits=vendor_limits)
    if not isinstance(box, BusinessCentralSandbox):
        raise TypeError(f"expected the Business Central sandbox, got {type(box).__name__}")

    @box.app.get(COUNTERS_PATH, include_in_schema=False)
    async def counters() -> dict[str, Any]:
        return account_counters(box)

    return box


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True, help="where the settings, CA and key files go")
    parser.add_argument("--vendor-limits", action="store_true",
                        help="Business Central's limits: 6,000 requests / 5 min, 5 processed at once, 95 queued")
    parser.add_argument("--latency-ms", type=int, default=0, help="added latency per request")
    args = parser.parse_args(argv)
    box = build(vendor_limits=args.vendor_limits, latency_ms=args.latency_ms)
    if box.tls is None:
        print("the sandbox has no certificate", file=sys.stderr)
        return 2
    folder: Path = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    url = f"https://{args.host}:{args.port}"
    block = sandbox_spec("business_central").settings(box, url, folder)
    block["ca_bundle"] = str((folder / str(block["ca_bundle"])).resolve())
    cert, key = folder / "erp-cert.pem", folder / "erp-key.pem"
    cert.write_text(box.tls.cert_pem + box.tls.ca_pem)
    key.write_text(box.tls.key_pem)
    key.chmod(0o600)
    (folder / SETTINGS_FILE).write_text(json.dumps(block))
    uvicorn.run(box.app, host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="off",
                ssl_certfile=str(cert), ssl_keyfile=str(key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
