"""Three months of one deal through the real path: the Salesforce, Harvest and NetSuite sandboxes over HTTP,
the hub's database, and only `q2c` commands (sync, close, period close, exceptions replay).

The deal is in `scenario_world` (T&M, cap USD 12,000, Alice 150/h, Bob 200/h; milestones Blueprint 5,000 and
Go-live 10,000). Every figure below is computed by hand.

November
  Alice BUILD Nov 3, 4, 5, 6: 4 x 8 h x 150 = 4,800. Bob DESIGN Nov 4, 5: 2 x 6 h x 200 = 2,400.
  Bob DESIGN-2 Nov 6 10 h: milestone-phase work, in NetSuite as non-billable time, not invoiced by the hour.
  Dan BUILD Nov 10 5 h: Dan is on no rate card -> `time.resource_unknown`, nothing posted. The controller
  replays it with the resource corrected to Alice: 5 h x 150 = 750. The next sync sees Dan again in Harvest
  and raises nothing: the correction is kept as an override.
  Blueprint completed Nov 20.
  Close Nov 30: T&M invoice 4,800 + 2,400 + 750 = 7,950; milestone invoice 5,000.
  Revenue: T&M as invoiced 7,950 + Blueprint 5,000 / 15,000 of the 15,000 allocated = 5,000 -> 12,950;
  journal entry JE-REV-<C>-2026-11 credits revenue 12,950.
  The controller closes November (q2c period close US01 2026-11).
Late facts
  Alice's Nov 27 4 h (600) is approved after the close. `q2c close --date 2026-11-30` again: the invoice is
  dated 2026-12-01, the first open day (the closed month's invoice stays 7,950, the timebill keeps Nov 27);
  November's revenue is refused (`revenue.period_closed`), nothing posted into November.
December
  Alice Dec 1, 2, 3 8 h (1,200 each), Bob Dec 2 8 h (1,600). Room under the cap: 12,000 - 7,950 - 600 =
  3,450. Work order: Alice Dec 1 1,200 (1,200), Alice Dec 2 1,200 (2,400), Bob Dec 2 1,600 crosses: billed,
  then a cap line -550, so the invoice stops at 3,450; Alice Dec 3 1,200 is wholly over the cap.
  `time.over_cap` names Bob's Dec 2 (550 held back) and Alice's Dec 3 (1,200): 1,750.
  Close Dec 31: T&M invoice 3,450. Revenue Dec: the late invoice 600 + 3,450 = 4,050 (the cap line reduces
  revenue); November's refused close is resolved by December's.
January
  Alice Jan 5 8 h (1,200): wholly over the cap -> over-cap 2,950 on three entries. Go-live completed Jan 15.
  Close Jan 31: milestone invoice 10,000; no T&M invoice; revenue 10,000 / 15,000 -> 10,000.
In all: billed 7,950 + 5,000 + 600 + 3,450 + 10,000 = 27,000 = recognised 12,950 + 4,050 + 10,000, and NetSuite's
revenue journal lines add up to the same.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from scenario_world import ScenarioWorld

from q2c.store import overrides


def test_three_months_of_a_deal_through_the_real_path(scenario: ScenarioWorld, tmp_path: Path) -> None:
    w = scenario
    assert w.q2c("sync").exit_code == 0
    c = w.contract_id()
    ns = w.netsuite.state
    assert ns.count("salesorder") == 1 and ns.count("projecttask") == 6

    # --- November ---------------------------------------------------------------------------------------
    alice = [w.log_time("alice", "BUILD", f"2026-11-0{d}", "8") for d in (3, 4, 5, 6)]
    bob = [w.log_time("bob", "DESIGN", f"2026-11-0{d}", "6") for d in (4, 5)]
    fee_time = w.log_time("bob", "DESIGN-2", "2026-11-06", "10")
    dan = w.log_time("dan", "BUILD", "2026-11-10", "5")
    w.approve(*alice, *bob, fee_time, dan)
    synced = w.q2c("sync")
    assert synced.exit_code == 1 and "time.resource_unknown" in synced.stdout  # 1: something needs attention
    assert w.open_rules() == ["time.resource_unknown"]
    assert ns.count("timebill") == 7
    assert [t.values["isbillable"] for t in ns.records["timebill"].values() if t.values["hours"] == Decimal("10.00")] \
        == [False]

    (held,) = w.open_exceptions()
    shown = w.q2c("exceptions", "show", str(held["id"]))
    payload = json.loads(shown.stdout[shown.stdout.index("{"):])
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({"entries": [{**e, "resource_id": "alice@q2c-demo.example"}
                                             for e in payload["entries"]]}))
    replayed = w.q2c("exceptions", "replay", str(held["id"]), "--payload", str(fixed))
    assert replayed.exit_code == 0, replayed.output
    assert ns.count("timebill") == 8 and w.open_rules() == []
    assert w.q2c("sync").exit_code == 0 and w.open_rules() == []  # Harvest still says Dan: no false edit
    with w.hub().engine.connect() as conn:
        assert overrides.count(conn, entity="time_entry") == 1

    w.complete("blueprint", "2026-11-20")
    closed = w.q2c("close", "--date", "2026-11-30")
    assert closed.exit_code == 0, closed.output
    assert "checks: nothing lost, billing adds up, the GL equals the revenue engine" in closed.stdout
    assert w.netsuite_invoices() == {f"INV-{c}-1-20261130": Decimal("7950.00"),
                                     f"INV-SF-{w.ids['milestone:blueprint']}": Decimal("5000.00")}
    assert w.recognised(c, "2026-11") == Decimal("12950.00")
    assert w.netsuite_revenue() == {f"JE-REV-{c}-2026-11": Decimal("12950.00")}
    assert w.q2c("period", "close", "US01", "2026-11").exit_code == 0

    # --- a late fact after the close ----------------------------------------------------------------------
    late = w.log_time("alice", "BUILD", "2026-11-27", "4")
    w.approve(late)
    assert w.q2c("sync").exit_code == 0
    rerun = w.q2c("close", "--date", "2026-11-30")
    assert rerun.exit_code == 1 and "revenue.period_closed" in rerun.stdout
    invoices = w.netsuite_invoices()
    assert invoices[f"INV-{c}-1-20261201"] == Decimal("600.00")
    assert invoices[f"INV-{c}-1-20261130"] == Decimal("7950.00")
    assert w.netsuite_invoice_dates()[f"INV-{c}-1-20261201"] == "2026-12-01"
    assert w.netsuite_revenue() == {f"JE-REV-{c}-2026-11": Decimal("12950.00")}

    # --- December ---------------------------------------------------------------------------------------
    dec = [w.log_time("alice", "BUILD", "2026-12-01", "8"), w.log_time("alice", "BUILD", "2026-12-02", "8"),
           w.log_time("bob", "DESIGN", "2026-12-02", "8"), w.log_time("alice", "BUILD", "2026-12-03", "8")]
    w.approve(*dec)
    assert w.q2c("sync").exit_code == 1  # the refused November close is still open
    december = w.q2c("close", "--date", "2026-12-31")
    assert december.exit_code == 1 and "time.over_cap" in december.stdout
    assert w.netsuite_invoices()[f"INV-{c}-1-20261231"] == Decimal("3450.00")
    assert w.recognised(c, "2026-12") == Decimal("4050.00")
    over = w.exception("time.over_cap")
    assert "USD 1,750.00" in over.violation.message
    assert sorted(s.record_id for s in over.open_subjects) == sorted(f"HV-{i}" for i in (dec[2], dec[3]))
    assert w.open_rules() == ["time.over_cap"]

    # --- January ----------------------------------------------------------------------------------------
    jan = w.log_time("alice", "BUILD", "2027-01-05", "8")
    w.approve(jan)
    w.q2c("sync")
    w.complete("go_live", "2027-01-15")
    january = w.q2c("close", "--date", "2027-01-31")
    assert january.exit_code == 1 and "checks: nothing lost" in january.stdout
    invoices = w.netsuite_invoices()
    assert f"INV-{c}-1-20270131" not in invoices
    assert w.recognised(c, "2027-01") == Decimal("10000.00")
    assert "USD 2,950.00" in w.exception("time.over_cap").violation.message
    assert sum(invoices.values()) == Decimal("27000.00")
    assert sum(w.netsuite_revenue().values()) == Decimal("27000.00")
    assert w.netsuite_revenue() == {f"JE-REV-{c}-2026-11": Decimal("12950.00"),
                                    f"JE-REV-{c}-2026-12": Decimal("4050.00"),
                                    f"JE-REV-{c}-2027-01": Decimal("10000.00")}
    assert w.q2c("audit", "verify").exit_code == 0
