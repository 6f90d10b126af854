"""A mid-month rate change on the real path: the Salesforce, Harvest and NetSuite sandboxes over HTTP, the hub's
database (SQLite and PostgreSQL), and only `q2c` commands (sync, close, reference show/reprice, audit verify).

The deal is in `scenario_world` (T&M phase <C>-1, cap USD 12,000; card RC-USD-2026: Alice Consultant 150/h cost
70, Bob Architect 200/h cost 95). Every figure below is computed by hand.

Before the change
  Alice BUILD Nov 3 8 h (1,200.00), Nov 4 8 h (1,200.00), Nov 17 8 h (1,200.00); Bob DESIGN Nov 4 6 h (6 x 200 =
  1,200.00). `q2c close --date 2026-11-17` bills them: INV-<C>-1-20261117 = 4 x 1,200.00 = 4,800.00.
  Then Alice Nov 12 6 h (900.00, approved late), Nov 18 8 h (1,200.00), Nov 19 4 h (600.00) and Bob Nov 18
  5 h (1,000.00) are posted, unbilled, at 150 and 200.
The change
  The config adds `Consultant 165.00, cost 75.00, from 2026-11-16` to RC-USD-2026.
  `q2c reference reprice --preview`: Alice Nov 18, 8 h, 150.00 -> 165.00, 1,200.00 -> 1,320.00, +120.00; Alice
  Nov 19, 4 h, 600.00 -> 660.00, +60.00; totals 12 h, 1,800.00 -> 1,980.00, +180.00. Alice Nov 17 (after the
  change, but billed on INV-<C>-1-20261117) stays 1,200.00: unchanged, with the reason. Alice Nov 12 (before the
  change) and Bob Nov 18 (Architect) are unchanged. Nothing changes in NetSuite or the hub.
  `--apply`: NetSuite's timebills of Nov 18 and 19 carry 165.00 (costs 8 x 75 = 600.00 and 4 x 75 = 300.00 in the
  hub), Nov 17's keeps 150.00; the audit trail holds 1,800.00 before, 1,980.00 after. A second `--apply` finds
  nothing to re-price.
After
  Alice Nov 23 2 h is rated at the card in force: 2 x 165 = 330.00.
  `q2c close --date 2026-11-30`: INV-<C>-1-20261130 = 900.00 + 1,320.00 + 660.00 + 1,000.00 + 330.00 = 4,210.00;
  the first invoice stays 4,800.00. Revenue for November (T&M as invoiced) = 4,800.00 + 4,210.00 = 9,010.00.
"""

from __future__ import annotations

import json
from decimal import Decimal

from fastapi.testclient import TestClient
from scenario_world import ScenarioWorld

from q2c.config import parse_config
from q2c.entrypoints.api_reference import reference_router
from q2c.entrypoints.http_api import create_app
from q2c.store import audit, records
from support.api_auth import bearer

RAISE = {"role": "Consultant", "rate": "165.00", "cost_rate": "75.00", "effective_from": "2026-11-16"}


def change_rates(w: ScenarioWorld) -> None:
    """The integration engineer adds the dated line to the config file."""
    w.settings["rate_cards"][0]["lines"].append(dict(RAISE))
    w.write_config(w.config_path)
    w.config = parse_config(w.settings, base_dir=w.workdir)


def timebill_rates(w: ScenarioWorld) -> dict[str, Decimal]:
    return {str(r.values["externalid"]): Decimal(str(r.values["rate"]))
            for r in w.netsuite.state.records["timebill"].values()}


def hub_amounts(w: ScenarioWorld) -> dict[str, tuple[str, str, str]]:
    """Each entry's rated rate, amount and cost, and where it stands, as the hub holds it."""
    with w.hub().engine.connect() as conn:
        rows = records.list_records(conn, entity="time_entry")
    return {r.canonical_id: (r.payload["rated"]["amount"]["amount"], r.payload["rated"]["cost"]["amount"], r.state)
            for r in rows if "rated" in r.payload}


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def test_a_mid_month_rate_change_reprices_only_unbilled_time_from_its_date(scenario: ScenarioWorld) -> None:
    w = scenario
    assert w.q2c("sync").exit_code == 0
    c = w.contract_id()
    first = [w.log_time("alice", "BUILD", "2026-11-03", "8"), w.log_time("alice", "BUILD", "2026-11-04", "8"),
             w.log_time("bob", "DESIGN", "2026-11-04", "6"), w.log_time("alice", "BUILD", "2026-11-17", "8")]
    w.approve(*first)
    assert w.q2c("sync").exit_code == 0
    closed = w.q2c("close", "--date", "2026-11-17")
    assert closed.exit_code == 0, closed.output
    assert w.netsuite_invoices() == {f"INV-{c}-1-20261117": Decimal("4800.00")}

    nov12, nov18, nov19, bob18 = (w.log_time("alice", "BUILD", "2026-11-12", "6"),
                                  w.log_time("alice", "BUILD", "2026-11-18", "8"),
                                  w.log_time("alice", "BUILD", "2026-11-19", "4"),
                                  w.log_time("bob", "DESIGN", "2026-11-18", "5"))
    w.approve(nov12, nov18, nov19, bob18)
    assert w.q2c("sync").exit_code == 0
    alice17 = f"HV-{first[3]}"
    ids = {name: f"HV-{n}" for name, n in (("nov12", nov12), ("nov18", nov18), ("nov19", nov19), ("bob18", bob18))}
    assert timebill_rates(w)[ids["nov18"]] == Decimal("150.00")

    change_rates(w)
    shown = w.q2c("reference", "show")
    assert shown.exit_code == 0, shown.output
    assert "RC-USD-2026 (USD)" in shown.stdout and "165.00" in shown.stdout and "2026-11-16" in shown.stdout
    assert "alice@q2c-demo.example" in shown.stdout and "Consultant" in shown.stdout

    preview = w.q2c("reference", "reprice", "--preview", "--json")
    assert preview.exit_code == 0, preview.output
    report = json.loads(preview.stdout)
    assert report["applied"] is False and report["totals"] == [money("180.00")]
    (project,) = report["projects"]
    assert (project["status"], project["contract_id"], project["rate_card_id"], project["unchanged"]) == (
        "to_reprice", c, "RC-USD-2026", 2)
    assert [(e["entry_id"], e["hours"], e["old_rate"], e["new_rate"], e["old_amount"], e["new_amount"],
             e["difference"], e["rate_from"]) for e in project["entries"]] == [
        (ids["nov18"], "8.00", money("150.00"), money("165.00"), money("1200.00"), money("1320.00"), money("120.00"),
         "2026-11-16"),
        (ids["nov19"], "4.00", money("150.00"), money("165.00"), money("600.00"), money("660.00"), money("60.00"),
         "2026-11-16")]
    (billed,) = project["billed"]
    assert (billed["entry_id"], billed["old_amount"], billed["new_amount"], billed["invoice_id"]) == (
        alice17, money("1200.00"), money("1320.00"), f"INV-{c}-1-20261117")
    assert (project["hours"], project["old_total"], project["new_total"], project["difference"]) == (
        "12.00", money("1800.00"), money("1980.00"), money("180.00"))
    table = w.q2c("reference", "reprice", "--preview")
    assert f"billed on INV-{c}-1-20261117: unchanged" in table.stdout and "+120.00" in table.stdout
    assert "+180.00" in table.stdout
    assert timebill_rates(w)[ids["nov18"]] == Decimal("150.00")  # a preview changes nothing
    assert hub_amounts(w)[ids["nov18"]] == ("1200.00", "560.00", "synced")

    applied = w.q2c("reference", "reprice", "--apply")
    assert applied.exit_code == 0, applied.output
    assert "re-pricing applied" in applied.stdout and "applied" in applied.stdout
    rates = timebill_rates(w)
    assert (rates[ids["nov18"]], rates[ids["nov19"]], rates[alice17], rates[ids["nov12"]], rates[ids["bob18"]]) == (
        Decimal("165.00"), Decimal("165.00"), Decimal("150.00"), Decimal("150.00"), Decimal("200.00"))
    held = hub_amounts(w)
    assert held[ids["nov18"]] == ("1320.00", "600.00", "synced") and held[ids["nov19"]] == ("660.00", "300.00",
                                                                                           "synced")
    assert held[alice17] == ("1200.00", "560.00", "billed") and held[ids["nov12"]] == ("900.00", "420.00", "synced")
    with w.hub().engine.connect() as conn:
        (trail,) = [a for a in audit.history(conn, record_id=f"P-{c.removeprefix('C-')}") if a["action"] == "reprice"]
    assert (trail["before"]["total"], trail["after"]["total"], trail["after"]["difference"]) == (
        "1800.00", "1980.00", "180.00")

    again = w.q2c("reference", "reprice", "--apply", "--json")
    assert again.exit_code == 0, again.output
    assert [p["status"] for p in json.loads(again.stdout)["projects"]] == ["nothing_to_reprice"]
    assert timebill_rates(w) == rates

    nov23 = w.log_time("alice", "BUILD", "2026-11-23", "2")
    w.approve(nov23)
    assert w.q2c("sync").exit_code == 0
    assert hub_amounts(w)[f"HV-{nov23}"] == ("330.00", "150.00", "synced")
    month_end = w.q2c("close", "--date", "2026-11-30")
    assert month_end.exit_code == 0, month_end.output
    assert "checks: nothing lost, billing adds up, the GL equals the revenue engine" in month_end.stdout
    assert w.netsuite_invoices() == {f"INV-{c}-1-20261117": Decimal("4800.00"),
                                     f"INV-{c}-1-20261130": Decimal("4210.00")}
    assert w.recognised(c, "2026-11") == Decimal("9010.00")
    assert w.open_rules() == []
    assert w.q2c("audit", "verify").exit_code == 0


def test_reference_data_over_http(scenario: ScenarioWorld) -> None:
    """GET /reference is what `show` prints; POST /reference/reprice previews and applies. Alice BUILD Nov 18
    4 h is posted at 150 (600.00); with 165 from Nov 16 it is re-priced to 4 x 165 = 660.00, +60.00."""
    w = scenario
    assert w.q2c("sync").exit_code == 0
    entry = w.log_time("alice", "BUILD", "2026-11-18", "4")
    w.approve(entry)
    assert w.q2c("sync").exit_code == 0
    change_rates(w)
    hub = w.hub()
    api = TestClient(create_app(hub.engine, webhook_secret="s", routers=[reference_router(hub)]),
                     headers=bearer(hub.engine))
    shown = api.get("/reference").json()
    (card,) = shown["rate_cards"]
    assert card["id"] == "RC-USD-2026" and [ln["rate"] for ln in card["lines"]] == [
        money("200.00"), money("150.00"), money("165.00")]
    assert [r["role"] for r in shown["resources"]] == ["Consultant", "Architect"] and shown["fx_pairs"] == []
    preview = api.post("/reference/reprice", json={"apply": False})
    assert preview.status_code == 200 and preview.json()["totals"] == [money("60.00")]
    done = api.post("/reference/reprice", json={"apply": True}).json()
    assert done["applied"] is True and [p["status"] for p in done["projects"]] == ["applied"] and done["pending"] == 0
    assert timebill_rates(w)[f"HV-{entry}"] == Decimal("165.00")
    bad = api.post("/reference/reprice", json={"apply": True, "dry": 1})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "dry"
