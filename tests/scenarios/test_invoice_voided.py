"""Invoices coming back from NetSuite through the real path: paid and voided in the ERP, read back with
`q2c invoices refresh` (SuiteQL on lastmodifieddate), and the void taken out of billing and revenue.

The deal is in `scenario_world` (T&M: Alice 150/h, Bob 200/h, cap USD 12,000; milestones Blueprint 5,000 and
Go-live 10,000). By hand:
  November: Alice BUILD Nov 3 and Nov 4, 8 h x 150 = 1,200 each; Bob DESIGN Nov 4 6 h x 200 = 1,200.
  Blueprint completed Nov 20. `q2c close --date 2026-11-30`: INV-<C>-1-20261130 3,600 and the Blueprint
  invoice 5,000; revenue November 3,600 (T&M as invoiced) + 5,000 (Blueprint, 5,000 / 15,000 of the 15,000
  allocated) = 8,600.
  The customer pays the Blueprint invoice (a customer payment applied to it: Paid In Full). The customer disputes
  Bob's hours, and finance voids the T&M invoice in NetSuite: its lines and total go to 0.
  `q2c invoices refresh`: the Blueprint invoice is paid; the T&M invoice is voided, q2c books its reversal
  VOID-INV-<C>-1-20261130, -3,600, on the invoice's date Nov 30, and its three entries are unbilled.
  Bob's timesheet is corrected to 4 h: 4 x 200 = 800, a plain edit of unbilled time.
  `q2c close --date 2026-12-31`: the time is billed again, INV-<C>-1-20261231 = 1,200 + 1,200 + 800 = 3,200.
  Revenue December: the reversal (dated before December, reported after November was recognised) -3,600 + the
  new invoice 3,200 = -400; JE-REV-<C>-2026-12 debits revenue 400.
  In all: recognised 8,600 - 400 = 8,200 = what NetSuite bills now: 0 (voided) + 5,000 + 3,200.
"""

from __future__ import annotations

import json
from decimal import Decimal

from scenario_world import ScenarioWorld


def test_an_invoice_voided_in_netsuite_is_unbilled_and_reduces_revenue_at_the_next_close(
        scenario: ScenarioWorld) -> None:
    w = scenario
    assert w.q2c("sync").exit_code == 0
    c = w.contract_id()
    tm, blueprint = f"INV-{c}-1-20261130", f"INV-SF-{w.ids['milestone:blueprint']}"
    alice = [w.log_time("alice", "BUILD", f"2026-11-0{d}", "8") for d in (3, 4)]
    bob = w.log_time("bob", "DESIGN", "2026-11-04", "6")
    w.approve(*alice, bob)
    assert w.q2c("sync").exit_code == 0
    w.complete("blueprint", "2026-11-20")
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    assert w.netsuite_invoices() == {tm: Decimal("3600.00"), blueprint: Decimal("5000.00")}
    assert w.recognised(c, "2026-11") == Decimal("8600.00")

    w.pay_invoice(blueprint)
    w.void_invoice(tm)
    assert w.netsuite_status("invoice", blueprint) == "Paid In Full"
    assert w.netsuite_status("invoice", tm) == "Voided" and w.netsuite_invoices()[tm] == Decimal("0.00")
    refreshed = w.q2c("invoices", "refresh")
    assert refreshed.exit_code == 0, refreshed.output
    assert "2 brought in step" in refreshed.stdout
    listed = {i["id"]: (i["standing"], i["total"]) for i in json.loads(w.q2c("invoices", "list", "--json").stdout)}
    assert listed == {tm: ("voided", "3600.00"), f"VOID-{tm}": ("posted", "-3600.00"),
                      blueprint: ("paid", "5000.00")}
    again = w.q2c("invoices", "refresh")
    assert again.exit_code == 0 and "0 brought in step" in again.stdout
    history = json.loads(w.q2c("invoices", "show", tm, "--json").stdout)["history"]
    (void,) = [h for h in history if h["action"] == "invoice_status" and h["after"]["status"] == "voided"]
    assert void["after"]["reversal"] == f"VOID-{tm}" and len(void["after"]["unbilled_entries"]) == 3

    w.correct_entry(bob, "4")
    assert w.q2c("sync").exit_code == 0 and w.open_rules() == []
    december = w.q2c("close", "--date", "2026-12-31")
    assert december.exit_code == 0, december.output
    assert "checks: nothing lost, billing adds up, the GL equals the revenue engine" in december.stdout
    assert w.netsuite_invoices() == {tm: Decimal("0.00"), blueprint: Decimal("5000.00"),
                                     f"INV-{c}-1-20261231": Decimal("3200.00")}
    assert w.recognised(c, "2026-12") == Decimal("-400.00")
    assert w.netsuite_revenue() == {f"JE-REV-{c}-2026-11": Decimal("8600.00"),
                                    f"JE-REV-{c}-2026-12": Decimal("-400.00")}
    assert sum(w.netsuite_revenue().values()) == sum(w.netsuite_invoices().values()) == Decimal("8200.00")
    assert w.q2c("audit", "verify").exit_code == 0
