"""`q2c sandbox up` as a person uses it: a process that runs the three sandboxes and writes a ready config.

Everything after start-up goes through what `sandboxes.json` says and the vendors' own protocols:
simple-salesforce creates the customer and the won deal, httpx creates the Harvest people per the
Harvest v2 API, `q2c sync --config DIR/q2c.yaml` runs as its own process from another folder, and
the NetSuite sales order is read back over the NetSuite REST API with an M2M token.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import requests
import yaml
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.settings import NetSuiteSettings
from q2c.engine.resilience import GuardRegistry

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "q2c.entrypoints.cli"]


class LoopbackAdapter(HTTPAdapter):
    """simple-salesforce always speaks https; this hands its requests to the sandbox's plain-HTTP port."""

    def __init__(self, instance_url: str) -> None:
        super().__init__()
        self.netloc = urlsplit(instance_url).netloc

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        parts = urlsplit(request.url)
        request.url = urlunsplit(("http", self.netloc, parts.path, parts.query, parts.fragment))
        return super().send(request, *args, **kwargs)


def wait_for(path: Path, proc: subprocess.Popen[bytes], seconds: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        if path.exists():
            try:
                loaded: dict[str, Any] = json.loads(path.read_text())
                return loaded
            except ValueError:
                pass  # being written
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "sandbox up exited"
        assert time.monotonic() < deadline, "q2c sandbox up did not write sandboxes.json"
        time.sleep(0.1)


def test_sandbox_up_then_a_deal_through_the_vendor_apis_and_q2c_sync(tmp_path: Path) -> None:
    folder = tmp_path / "try-q2c"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*CLI, "sandbox", "up", "--dir", str(folder), "--seed", "empty"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        vendors = wait_for(folder / "sandboxes.json", proc)
        assert set(vendors) == {"salesforce", "harvest", "netsuite"}
        assert set(vendors["salesforce"]) == {"instance_url", "client_id", "client_secret"}
        assert set(vendors["harvest"]) == {"base_url", "account_id", "access_token"}
        assert set(vendors["netsuite"]) == {"base_url", "account_id", "token_url", "client_id", "certificate_id",
                                            "private_key_path"}
        written = (folder / "q2c.yaml").read_text()
        assert "{" not in written.split("\n", 3)[3], "q2c.yaml is block-style YAML"
        raw = yaml.safe_load(written)
        assert raw["database"] == "sqlite:///q2c.sqlite" and raw["systems"]["erp"]["private_key_path"] == \
            "netsuite-m2m.pem"
        assert raw["systems"]["erp"]["references"]["subsidiaries"] == {"US01": "2", "UK01": "3"}

        # the sales rep: a customer and a won deal, through the official-style client
        sf_info = vendors["salesforce"]
        session = requests.Session()
        session.mount("https://", LoopbackAdapter(sf_info["instance_url"]))
        sf = Salesforce(consumer_key=sf_info["client_id"], consumer_secret=sf_info["client_secret"],
                        domain="q2c-sandbox.my", session=session)
        account = sf.Account.create({"Name": "Hooli", "Tax_Id__c": "US-45-1234567", "Tax_Code__c": "US-CA-STD",
                                     "Payment_Terms__c": "Net 30", "CurrencyIsoCode": "USD", "BillingCountry": "US",
                                     "Legal_Entity__c": "US01"})["id"]
        opportunity = sf.Opportunity.create({"Name": "Hooli data platform", "AccountId": account,
                                             "StageName": "Closed Won", "CloseDate": "2026-11-02",
                                             "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01",
                                             "Start_Date__c": "2026-11-02", "End_Date__c": "2027-03-31"})["id"]
        sf.OpportunityLineItem.create({"OpportunityId": opportunity, "Description": "Implementation (T&M)",
                                       "Service_Offering__c": "IMPL", "Billing_Type__c": "Time and Materials",
                                       "Quantity": 120, "TotalPrice": 18000, "CurrencyIsoCode": "USD"})

        # the Harvest admin: the people who will log time, per the Harvest v2 API
        hv_info = vendors["harvest"]
        harvest = httpx.Client(base_url=f"{hv_info['base_url']}/v2", timeout=10, headers={
            "Authorization": f"Bearer {hv_info['access_token']}", "Harvest-Account-Id": hv_info["account_id"],
            "User-Agent": "q2c tests (ops@q2c.example)"})
        people = {}
        for first, last, email in (("Alice", "Adams", "alice@q2c-demo.example"),
                                   ("Bob", "Baker", "bob@q2c-demo.example")):
            created = harvest.post("/users", json={"first_name": first, "last_name": last, "email": email})
            assert created.status_code == 201, created.text
            people[created.json()["id"]] = email

        # q2c, as its own process, from another working directory
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        synced = subprocess.run([*CLI, "sync", "--config", str(folder / "q2c.yaml")], cwd=elsewhere, env=env,
                                capture_output=True, timeout=120)
        out = synced.stdout.decode()
        assert synced.returncode == 0, out + synced.stderr.decode()
        assert "deals: 1 won since last poll" in out and "no open exceptions" in out, out  # CDC may queue it first
        assert (folder / "q2c.sqlite").exists() and not (elsewhere / "q2c.sqlite").exists()

        # the deal is set up: a NetSuite sales order, a Harvest project with the people, ids back in Salesforce
        contract, project_code = f"C-{opportunity[-12:]}", f"P-{opportunity[-12:]}"
        ns_info = vendors["netsuite"]
        with NetSuiteClient(NetSuiteSettings(account_id=ns_info["account_id"], client_id=ns_info["client_id"],
                                           certificate_id=ns_info["certificate_id"],
                                           private_key_path=Path(ns_info["private_key_path"]),
                                           rest_base_url=ns_info["base_url"]), GuardRegistry()) as netsuite:
            order = netsuite.get_by_external_id("salesorder", contract)
        assert order is not None, f"no NetSuite sales order with externalId {contract}"
        assert order["externalId"] == contract
        projects = harvest.get("/projects").json()["projects"]
        (project,) = [p for p in projects if p["code"] == project_code]
        assigned = harvest.get(f"/projects/{project['id']}/user_assignments").json()["user_assignments"]
        assert {a["user"]["id"] for a in assigned} == set(people)
        assert sf.Opportunity.get(opportunity)["ERP_Contract_Id__c"] == contract
        harvest.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, stderr.decode()
    assert json.loads(stdout) == vendors  # it printed what it wrote
    assert "sandboxes stopped" in stderr.decode()
