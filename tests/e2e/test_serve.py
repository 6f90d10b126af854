"""`q2c serve` as a long-lived service: HTTP API, signed webhook intake, workers and the scheduler."""

from __future__ import annotations

import copy
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from q2c.entrypoints.demo import WEBHOOK_SECRET, DemoWorld
from q2c.entrypoints.http_api import sign

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_sets_up_a_deal_from_a_signed_webhook_and_syncs_time(world: DemoWorld, tmp_path: Path) -> None:
    port = _free_port()
    raw = copy.deepcopy(world.settings)
    raw["http"] = {"host": "127.0.0.1", "port": port, "webhook_max_bytes": 100_000,
                   "webhook_secret": raw["http"]["webhook_secret"]}
    raw["time"] = {"poll_seconds": 0.5}
    key = world.workdir / "audit.key"  # `serve` keys its audit trail with a secret kept outside the database
    key.write_text(secrets.token_hex(32))
    key.chmod(0o600)
    raw["audit"] = {"key_file": str(key), "anchor_dir": str(world.workdir / "anchors")}
    config = world.workdir / "q2c.yaml"  # its relative paths (the key file) are the world's folder's
    config.write_text(yaml.safe_dump(raw))
    def q2c(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "q2c.entrypoints.cli", *args, "--config", str(config)],
                              capture_output=True, text=True, check=True)
        return done.stdout

    q2c("users", "add", "ops", "--role", "viewer")  # the API answers only callers with a token
    token = q2c("tokens", "create", "ops").strip()
    auth = {"Authorization": f"Bearer {token}"}
    proc = subprocess.Popen([sys.executable, "-m", "q2c.entrypoints.cli", "serve", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "serve exited"
            assert time.monotonic() < deadline, "q2c serve did not come up"
            time.sleep(0.2)

        body = json.dumps({"opportunityId": world.ids["opportunity"], "isWon": True}).encode()
        stamp = str(int(time.time()))
        headers = {"X-Q2C-Timestamp": stamp, "X-Q2C-Signature": sign(WEBHOOK_SECRET, stamp, body),
                   "Content-Type": "application/json"}
        assert httpx.post(f"{base}/webhooks/salesforce/opportunity-won", content=body, headers=headers).status_code \
            == 202
        forged = {**headers, "X-Q2C-Signature": "sha256=" + "0" * 64}
        assert httpx.post(f"{base}/webhooks/salesforce/opportunity-won", content=body, headers=forged).status_code \
            == 401

        ns = world.netsuite.state
        deadline = time.monotonic() + 60

        def set_up() -> bool:  # the write-back to Salesforce is the last step of the setup
            opp = world.salesforce.state.record("Opportunity", world.ids["opportunity"])
            return bool(opp and opp.get("ERP_Project_Id__c"))

        while not set_up():
            assert time.monotonic() < deadline, "the won deal was not set up by the running service"
            time.sleep(0.2)
        assert ns.count("salesorder") == 1
        ids = [world.log_time("alice", "BUILD", f"2026-11-{d:02d}", "7.5") for d in (10, 11)]
        world.harvest.state.approve(ids)
        while ns.count("timebill") < 2:  # the scheduler polls Harvest by itself
            assert time.monotonic() < deadline, "approved time was not picked up by the scheduler"
            time.sleep(0.2)
        health = httpx.get(f"{base}/health").json()
        assert health["status"] == "degraded"  # the demo's deal without a tax id waits in the exception queue
        # and the reference refresh holds the Harvest administrator and Carol: in Harvest, not in NetSuite, no role
        assert health["reasons"] == ["1 work item is dead: stopped on an open exception (fix it, then replay)",
                                     "5 exceptions are open in the exception queue"]
        assert {e["system"] for e in health["endpoints"]} == {"salesforce", "harvest", "netsuite"}
        assert all(e["circuit"] == "closed" for e in health["endpoints"])
        assert httpx.get(f"{base}/exceptions").status_code == 401  # no token
        assert sorted((e["rule"], e["record_id"]) for e in httpx.get(f"{base}/exceptions", headers=auth).json()
                      if e["rule"] != "customer.tax_id_missing") == [
            (rule, who) for rule in ("reference.resource_no_role", "reference.resource_not_in_erp")
            for who in ("admin@sandbox.example", "carol@q2c-demo.example")]
        listed = httpx.get(f"{base}/exceptions", headers=auth).json()
        assert [e["rule"] for e in listed].count("customer.tax_id_missing") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    logged = proc.stderr.read().decode() if proc.stderr else ""
    assert "q2c users add admin --role admin && q2c tokens create admin" in logged  # no admin yet: said at start
