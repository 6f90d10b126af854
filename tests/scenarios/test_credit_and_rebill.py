"""A credit note and a re-bill after an edit to billed time, through the real path: Harvest, NetSuite, the hub's
database and only `q2c` commands.

The deal is in `scenario_world` (T&M: Alice 150/h, Bob 200/h, cap USD 12,000). By hand:
  November: Alice BUILD Nov 3 and Nov 4, 8 h x 150 = 1,200 each; Bob DESIGN Nov 5 6 h x 200 = 1,200.
  `q2c close --date 2026-11-30`: INV-<C>-1-20261130 3,600; revenue November 3,600. November is closed.
  Alice's Nov 4 timesheet is reopened and corrected to 6 h after billing: `time.edited_after_billing`.
  `q2c invoices rebill <exception> --date 2026-12-03`: credit note CN-1-INV-<C>-1-20261130 takes back exactly
  Alice's Nov 4 line, 8 h x 150 = 1,200 (a NetSuite credit memo of 1,200 applied to the invoice, which then owes
  3,600 - 1,200 = 2,400); the corrected 6 h x 150 = 900 is billed on INV-<C>-1-20261203. The exception closes.
  `q2c close --date 2026-12-31`: T&M as invoiced, revenue December -1,200 + 900 = -300 (JE-REV-<C>-2026-12
  debits revenue 300). In all recognised 3,600 - 300 = 3,300 = invoiced 3,600 + 900 - credited 1,200.
"""

from __future__ import annotations

from decimal import Decimal

from scenario_world import ScenarioWorld


def test_an_edit_to_billed_time_is_credited_and_billed_again(scenario: ScenarioWorld) -> None:
    w = scenario
    assert w.q2c("sync").exit_code == 0
    c = w.contract_id()
    invoice, credit, rebilled = f"INV-{c}-1-20261130", f"CN-1-INV-{c}-1-20261130", f"INV-{c}-1-20261203"
    alice = [w.log_time("alice", "BUILD", f"2026-11-0{d}", "8") for d in (3, 4)]
    bob = w.log_time("bob", "DESIGN", "2026-11-05", "6")
    w.approve(*alice, bob)
    assert w.q2c("sync").exit_code == 0
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    assert w.netsuite_invoices() == {invoice: Decimal("3600.00")}
    assert w.recognised(c, "2026-11") == Decimal("3600.00")
    assert w.q2c("period", "close", "US01", "2026-11").exit_code == 0

    w.correct_entry(alice[1], "6")
    edited = w.q2c("sync")
    assert edited.exit_code == 1 and w.open_rules() == ["time.edited_after_billing"]
    exception = w.exception("time.edited_after_billing")

    early = w.q2c("invoices", "rebill", str(exception.id), "--date", "2026-11-20", "--actor", "maria")
    assert early.exit_code == 2 and "field date" in early.stderr
    done = w.q2c("invoices", "rebill", str(exception.id), "--date", "2026-12-03", "--actor", "maria")
    assert done.exit_code == 0, done.output
    assert f"credited {credit}; billed {rebilled}" in done.stdout
    assert w.netsuite_credit_memos() == {credit: Decimal("1200.00")}
    assert w.netsuite_status("creditmemo", credit) == "Fully Applied"
    assert w.netsuite_invoices() == {invoice: Decimal("3600.00"), rebilled: Decimal("900.00")}
    assert w.open_rules() == []
    timebills = {t.values["externalid"]: t.values["hours"] for t in w.netsuite.state.records["timebill"].values()}
    assert timebills[f"HV-{alice[1]}"] == Decimal("6.00")
    again = w.q2c("invoices", "rebill", str(exception.id), "--date", "2026-12-03", "--actor", "maria")
    assert again.exit_code == 0 and f"credited {credit}; billed {rebilled}" in again.stdout  # done once

    december = w.q2c("close", "--date", "2026-12-31")
    assert december.exit_code == 0, december.output
    assert w.recognised(c, "2026-12") == Decimal("-300.00")
    assert w.netsuite_revenue() == {f"JE-REV-{c}-2026-11": Decimal("3600.00"),
                                    f"JE-REV-{c}-2026-12": Decimal("-300.00")}
    assert sum(w.netsuite_invoices().values()) - sum(w.netsuite_credit_memos().values()) == Decimal("3300.00")
    assert w.q2c("audit", "verify").exit_code == 0
