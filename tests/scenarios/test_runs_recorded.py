"""`q2c sync` and `q2c close` against the Salesforce, Harvest and NetSuite sandboxes, each part recorded as a
run with its figures, read back with `q2c runs` and `q2c kpis`.

The deal is in `scenario_world` (T&M: Alice 150/h, Bob 200/h). By hand:
  first `q2c sync`: the CRM's change feed reports the win and queues its setup; the won-deal query then sees
  it again, a duplicate (sync.deals: 1 item queued); no time yet (sync.time: 0 entries); then its 1
  contract compared with the CRM's deal (sync.contract_changes).
  Alice BUILD Nov 3 and Nov 4 8 h each, Bob DESIGN Nov 5 6 h, Dan BUILD Nov 10 5 h, all approved; `q2c sync`:
  sync.time reads 4 entries on 1 page in 1 batch, no reject, and opens 1 time.resource_unknown (Dan is on no
  rate card); exit 1.
  `q2c close --date 2026-11-30`: billing for 1 contract writes 1 invoice, 2 x 8 x 150 + 6 x 200 = USD 3,600.00;
  the revenue close posts 1 contract's revenue; exit 1 (Dan's exception is still open).
  KPIs today: 1 setup, 3 billed entries, 1 revenue event without an exception.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from scenario_world import ScenarioWorld


def runs(w: ScenarioWorld, *args: str) -> list[dict[str, Any]]:
    listed = w.q2c("runs", "list", "--json", "--limit", "100", *args)
    assert listed.exit_code == 0, listed.output
    # oldest first; the reconciliations the declared invariants run after each command are checked apart
    return [r for r in reversed(json.loads(listed.stdout)) if r["kind"] != "reconcile"]


def figures(run: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: run["stats"][n] for n in names}


def test_sync_and_close_are_recorded_as_runs_with_their_counts(scenario: ScenarioWorld) -> None:
    w = scenario
    assert w.q2c("sync").exit_code == 0
    deals, timing, changes = runs(w)
    assert [r["kind"] for r in (deals, timing, changes)] == ["sync.deals", "sync.time", "sync.contract_changes"]
    assert all(r["status"] == "ok" for r in (deals, timing, changes))
    assert figures(deals, "won_from_changes", "seen", "enqueued", "duplicates", "queued", "exceptions") == {
        "won_from_changes": 1, "seen": 1, "enqueued": 0, "duplicates": 1, "queued": 1,
        "exceptions": {"opened": 0, "by_rule": {}}}
    assert figures(timing, "entries", "batches") == {"entries": 0, "batches": 0}
    assert figures(changes, "contracts", "queued") == {"contracts": 1, "queued": 1}
    (checked,) = json.loads(w.q2c("runs", "list", "--json", "--kind", "reconcile").stdout)
    assert checked["status"] == "clean" and checked["stats"]["drifts"] == 0

    entries = [w.log_time("alice", "BUILD", f"2026-11-0{d}", "8") for d in (3, 4)]
    entries += [w.log_time("bob", "DESIGN", "2026-11-05", "6"), w.log_time("dan", "BUILD", "2026-11-10", "5")]
    w.approve(*entries)
    assert w.q2c("sync").exit_code == 1
    (timing,) = runs(w, "--kind", "sync.time")[1:]
    assert figures(timing, "entries", "pages", "batches", "rejects", "exceptions") == {
        "entries": 4, "pages": 1, "batches": 1, "rejects": 0,
        "exceptions": {"opened": 1, "by_rule": {"time.resource_unknown": 1}}}

    assert w.q2c("close", "--date", "2026-11-30").exit_code == 1
    billing, closing = runs(w)[-2:]
    assert (billing["kind"], closing["kind"]) == ("billing", "revenue_close")
    assert figures(billing, "contracts", "invoices", "invoice_totals", "invoice_date") == {
        "contracts": 1, "invoices": 1, "invoice_totals": {"USD": "3600.00"}, "invoice_date": "2026-11-30"}
    assert figures(closing, "contracts", "closed", "exceptions") == {
        "contracts": 1, "closed": 1, "exceptions": {"opened": 0, "by_rule": {}}}

    shown = w.q2c("runs", "show", str(billing["id"]))
    assert shown.exit_code == 0 and "invoice_totals: USD 3600.00" in shown.stdout

    today = datetime.now(UTC).date().isoformat()
    kpis = w.q2c("kpis", "--since", today, "--json")
    assert kpis.exit_code == 0, kpis.output
    data = json.loads(kpis.stdout)
    (setup,) = data["project_setup_cycle_time"]
    assert setup["day"] == today and setup["count"] == 1 and setup["max_seconds"] >= 0
    assert data["approved_to_bill_lag"][0]["entries"] == 3
    assert data["revenue_event_exception_rate"][0] == {"day": today, "events": 1, "with_exceptions": 0,
                                                       "exceptions": 0, "rate": 0.0}
