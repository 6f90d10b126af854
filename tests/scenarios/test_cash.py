"""Cash received, recorded with `q2c cash record` and posted by the month-end close to NetSuite."""

from __future__ import annotations

from decimal import Decimal

from scenario_world import ScenarioWorld


def test_an_advance_is_posted_as_cash_and_settles_the_invoice(scenario: ScenarioWorld) -> None:
    """The customer wires 5,000 on Nov 10, before any invoice. Blueprint (5,000) is completed Nov 20 and
    invoiced at the close: the November journal debits cash 5,000 and credits revenue 5,000; the receivable
    and the contract liability are both nil at the month end."""
    w = scenario
    w.q2c("sync")
    c = w.contract_id()
    recorded = w.q2c("cash", "record", c, "5000.00", "USD", "--date", "2026-11-10", "--id", "WIRE-118",
                     "--reference", "advance on the blueprint")
    assert recorded.exit_code == 0 and "WIRE-118" in recorded.stdout
    again = w.q2c("cash", "record", c, "5000.00", "USD", "--date", "2026-11-10", "--id", "WIRE-118",
                  "--reference", "advance on the blueprint")
    assert again.exit_code == 0 and "already recorded" in again.stdout
    refused = w.q2c("cash", "record", c, "5000.001", "USD", "--date", "2026-11-10", "--id", "WIRE-119")
    assert refused.exit_code == 2 and "more decimals than USD allows" in refused.stderr
    w.complete("blueprint", "2026-11-20")
    assert w.q2c("close", "--date", "2026-11-30").exit_code == 0
    ns = w.netsuite.state
    numbers = {r.id: r.values["acctnumber"] for r in ns.records["account"].values()}
    (journal,) = ns.records["journalentry"].values()
    moved: dict[str, Decimal] = {}
    for line in journal.values["line"]:
        account = line["account"]["id"] if isinstance(line["account"], dict) else line["account"]
        number = numbers[str(account)]
        moved[number] = moved.get(number, Decimal(0)) + Decimal(str(line.get("debit") or 0)) - \
            Decimal(str(line.get("credit") or 0))
    assert {k: v for k, v in moved.items() if v} == {"1000": Decimal("5000.00"), "4000": Decimal("-5000.00")}
