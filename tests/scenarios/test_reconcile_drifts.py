"""Reconciliation through the real path: Salesforce, Harvest and NetSuite sandboxes over HTTP, the hub's
database and only `q2c` commands. Drifts are planted as people make them in the vendors' own systems.

The deal is in `scenario_world` (T&M: Alice 150/h, Bob 200/h). By hand:
  Alice BUILD Nov 3 and Nov 4, 8 h x 150 = 1,200 each; Bob DESIGN Nov 5 6 h x 200 = 1,200: 22 h, 3,600.
  `q2c close --date 2026-11-30`: INV-<C>-1-20261130 3,600, revenue November 3,600: every pair matches.
  Then, in the vendors' systems: a Harvest administrator deletes Bob's billed entry; someone edits Alice's
  Nov 3 timebill to 7 h in NetSuite (7 x 150 = 1,050); the customer pays the invoice in NetSuite.
  `q2c reconcile`: three drifts. Time: Harvest 16 h (Alice 8 + 8), 2,400; NetSuite 7 + 8 + 6 = 21 h,
  1,050 + 1,200 + 1,200 = 3,450. Invoices: status posted in q2c, paid in NetSuite.
  Heals: the timebill is written back as 8 h, the status read from NetSuite; Bob's deletion belongs to Harvest
  (and the invoice that billed it), so q2c names who must act. The close of November is refused while that
  drift stands, and goes through forced, with the reason audited.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import httpx
from scenario_world import ScenarioWorld

from q2c.sandboxes.netsuite.app import RECORD_PATH


def test_drifts_planted_in_the_vendors_systems_are_found_traced_and_healed(scenario: ScenarioWorld) -> None:
    w = scenario
    assert w.q2c("sync").exit_code == 0
    c = w.contract_id()
    invoice = f"INV-{c}-1-20261130"
    alice = [w.log_time("alice", "BUILD", f"2026-11-0{d}", "8") for d in (3, 4)]
    bob = w.log_time("bob", "DESIGN", "2026-11-05", "6")
    w.approve(*alice, bob)
    assert w.q2c("sync").exit_code == 0
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    first = w.q2c("reconcile")
    assert first.exit_code == 0, first.output
    assert "every pair matches" in first.stdout
    assert "WIP as of" not in first.stdout  # everything approved is billed
    wrong = w.q2c("reconcile", "--pair", "cash")
    assert wrong.exit_code == 2 and "unknown reconciliation pair cash" in wrong.stderr
    assert w.q2c("reconcile", "show", "999").exit_code == 2
    assert w.q2c("reconcile", "heal", "999").exit_code == 2
    assert w.q2c("period", "status", "XX99", "2026-11").exit_code == 2
    assert w.q2c("period", "status", "US01", "2026-13").exit_code == 2

    w.harvest.state.delete_time_entry(bob)
    ns = w.netsuite.state
    token = next(iter(ns.tokens))
    timebill = ns.internal_id("timebill", f"HV-{alice[0]}")
    edited = httpx.patch(f"{w.servers['netsuite'].url}{RECORD_PATH}/timebill/{timebill}", content=b'{"hours": 7}',
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert edited.status_code == 204, edited.text
    w.pay_invoice(invoice)

    found = w.q2c("reconcile", "--json")
    assert found.exit_code == 1, found.output
    report = json.loads(found.stdout)
    time_pair = report["pairs"]["time"]
    assert time_pair["totals"]["Harvest"] == {"hours": "16.00", "amount USD": "2400.00"}
    assert time_pair["totals"]["NetSuite"] == {"hours": "21.00", "amount USD": "3450.00"}
    drifts = {(d["pair"], d["record_id"]): d for d in report["drifts"]}
    assert set(drifts) == {("time", f"HV-{bob}"), ("time", f"HV-{alice[0]}"), ("invoices", invoice)}
    deleted, hours, status = drifts[("time", f"HV-{bob}")], drifts[("time", f"HV-{alice[0]}")], \
        drifts[("invoices", invoice)]
    assert deleted["kind"] == "missing_left" and "deleted in Harvest" in deleted["cause"]
    assert invoice in deleted["cause"] and deleted["fix"] is None and deleted["owner"] == "harvest"
    assert [(x["field"], x["left"], x["right"]) for x in hours["differences"]] == [
        ("hours", "8.00", "7"), ("amount", "1200.00", "1050.00")]
    assert "changed in NetSuite" in hours["cause"] and hours["fix"] == "resend_timebill"
    assert [(x["field"], x["left"], x["right"]) for x in status["differences"]] == [("status", "posted", "paid")]

    rows = list(csv.reader(io.StringIO(w.q2c("reconcile", "show", str(report["run_id"]), "--csv").stdout)))
    assert ["time", f"HV-{alice[0]}", "different", "hours", "8.00", "7"] == rows[[r[2] for r in rows].index(
        f"HV-{alice[0]}")][1:7]

    healed = w.q2c("reconcile", "heal", str(hours["exception_id"]), "--actor", "maria")
    assert healed.exit_code == 0, healed.output
    assert ns.get("timebill", timebill or "").values["hours"] == Decimal("8.00")  # type: ignore[union-attr]
    assert w.q2c("reconcile", "heal", str(status["exception_id"]), "--actor", "maria").exit_code == 0
    refused = w.q2c("reconcile", "heal", str(deleted["exception_id"]), "--actor", "maria")
    assert refused.exit_code == 2 and "harvest" in refused.stderr.lower()

    again = json.loads(w.q2c("reconcile", "--json").stdout)
    assert [(d["pair"], d["record_id"]) for d in again["drifts"]] == [("time", f"HV-{bob}")]
    assert again["pairs"]["invoices"]["matched"] == 1

    status_out = w.q2c("period", "status", "US01", "2026-11", "--json")
    assert status_out.exit_code == 1
    readiness = json.loads(status_out.stdout)
    assert readiness["checks"]["reconciliation_drifts"]["count"] == 1 and readiness["score"] < 100
    assert w.q2c("period", "close", "US01", "2026-11").exit_code == 1
    assert w.q2c("period", "close", "US01", "2026-11", "--force").exit_code == 2
    forced = w.q2c("period", "close", "US01", "2026-11", "--force", "--reason", "Bob's deletion goes to Harvest")
    assert forced.exit_code == 0 and "forced over 1 blockers" in forced.stdout
    assert w.q2c("audit", "verify").exit_code == 0
