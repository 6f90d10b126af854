"""Review before release through the real path: the sandboxes over HTTP, the hub's database and only `q2c`
commands, with the firm's policy `billing.release: review`.

The deal is in `scenario_world` (T&M: Alice 150/h, Bob 200/h; cap USD 12,000). By hand:
  Alice BUILD Nov 3 8 h x 150 = 1,200; Bob DESIGN Nov 4 6 h x 200 = 1,200.
  `q2c close --date 2026-11-30`: a draft INV-<C>-1-20261130 for 2,400, nothing in NetSuite; T&M is recognised as
  invoiced and a draft is not invoiced: revenue November 0.
  The reviewer rejects it: Bob worked 4 h. Both entries are unbilled. Bob's timesheet is reopened in Harvest and
  corrected to 4 h: 4 x 200 = 800, delivered as a plain edit (unbilled time), no exception.
  `q2c close` again: draft INV-<C>-1-20261130-2 (the rejected id is never given again) = 1,200 + 800 = 2,000.
  Approved: NetSuite holds exactly that invoice, 2,000. `q2c close` again: revenue November 2,000, and the journal
  entry JE-REV-<C>-2026-11 credits revenue 2,000.
"""

from __future__ import annotations

import json
from decimal import Decimal

from scenario_world import ScenarioWorld


def test_a_draft_invoice_is_rejected_corrected_and_released(scenario: ScenarioWorld) -> None:
    w = scenario
    w.review_invoices()
    assert w.q2c("sync").exit_code == 0
    c = w.contract_id()
    draft, second = f"INV-{c}-1-20261130", f"INV-{c}-1-20261130-2"
    alice = w.log_time("alice", "BUILD", "2026-11-03", "8")
    bob = w.log_time("bob", "DESIGN", "2026-11-04", "6")
    w.approve(alice, bob)
    assert w.q2c("sync").exit_code == 0

    closed = w.q2c("close", "--date", "2026-11-30")
    assert closed.exit_code == 0, closed.output
    assert w.netsuite_invoices() == {}
    assert w.recognised(c, "2026-11") == Decimal("0.00")
    listed = w.q2c("invoices", "list", "--status", "in_review", "--json")
    assert [(i["id"], i["total"], i["standing"]) for i in json.loads(listed.stdout)] == [
        (draft, "2400.00", "in_review")]
    table = w.q2c("invoices", "list")
    assert table.exit_code == 0 and draft in table.stdout and "in review" in table.stdout
    shown = w.q2c("invoices", "show", draft)
    assert shown.exit_code == 0 and "in review" in shown.stdout and "USD 2,400.00" in shown.stdout

    rejected = w.q2c("invoices", "reject", draft, "--reason", "Bob worked 4 h on Nov 4, not 6", "--actor", "maria")
    assert rejected.exit_code == 0 and "2 time entries unbilled" in rejected.stdout
    refused = w.q2c("invoices", "approve", draft, "--actor", "maria")
    assert refused.exit_code == 2 and "field status is 'rejected'" in refused.stderr
    no_reason = w.q2c("invoices", "reject", draft, "--reason", " ", "--actor", "maria")
    assert no_reason.exit_code == 2

    w.correct_entry(bob, "4")
    assert w.q2c("sync").exit_code == 0 and w.open_rules() == []
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    listed = json.loads(w.q2c("invoices", "list", "--json").stdout)
    assert [(i["id"], i["total"], i["standing"]) for i in listed] == [(draft, "2400.00", "rejected"),
                                                                       (second, "2000.00", "in_review")]

    approved = w.q2c("invoices", "approve", second, "--actor", "maria")
    assert approved.exit_code == 0, approved.output
    assert "released to the ERP" in approved.stdout
    assert w.netsuite_invoices() == {second: Decimal("2000.00")}
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    assert w.recognised(c, "2026-11") == Decimal("2000.00")
    assert w.netsuite_revenue() == {f"JE-REV-{c}-2026-11": Decimal("2000.00")}

    history = json.loads(w.q2c("invoices", "show", draft, "--json").stdout)["history"]
    (reject,) = [h for h in history if h["action"] == "reject"]
    assert reject["actor"] == "cli:maria" and reject["after"]["reason"] == "Bob worked 4 h on Nov 4, not 6"
    released = json.loads(w.q2c("invoices", "show", second, "--json").stdout)
    assert released["standing"] == "posted" and [h["action"] for h in released["history"]][:3] == [
        "invoice", "approve", "release"]
    assert w.q2c("audit", "verify").exit_code == 0
