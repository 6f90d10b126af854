"""The demo's story on the other systems q2c connects, alone and mixed: Dynamics 365 Sales as the CRM,
Business Central as the ERP. The story is the same (`q2c.entrypoints.demo.run_scenario`, told through each
sandbox's scenario hooks), so its figures are the default demo's, computed by hand:

    T&M invoice: Alice 5 x 8 h x 150.00 = 6,000.00 + Bob (6 + 6.5 + 6) h x 200.00 = 3,700.00  -> 9,700.00
      (Bob's Nov 5 corrected from 5.5 h to 6 h before billing; Alice's internal 1.5 h is not billable; Carol
      is no resource and the travel entry's task is not the project's: both held by exceptions)
    milestone invoice: design sign-off, completed 2026-11-20                                    -> 10,000.00
    revenue for 2026-11: T&M as invoiced 9,700.00 + the completed milestone 10,000.00           -> 19,700.00

and the same five exceptions a person must act on (the deal whose account has no tax id, the contract id a
salesperson overwrote, Carol's entry, the travel entry, Alice's edit after billing). Someone deletes one of
Alice's time records in the ERP; reconciliation finds it, heals it, and then every pair matches.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from q2c.entrypoints.demo import DemoWorld, run_scenario, summary
from q2c.store import records

COMBINATIONS = {
    "dynamics365_sales+netsuite": {"crm": "dynamics365_sales", "tracker": "harvest", "erp": "netsuite"},
    "salesforce+business_central": {"crm": "salesforce", "tracker": "harvest", "erp": "business_central"},
    "dynamics365_sales+business_central": {"crm": "dynamics365_sales", "tracker": "harvest",
                                           "erp": "business_central"},
}
MICROSOFT = COMBINATIONS["dynamics365_sales+business_central"]


@pytest.fixture(params=list(COMBINATIONS))
def world(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Iterator[DemoWorld]:
    w = DemoWorld(tmp_path, systems=COMBINATIONS[request.param]).start(database=db_url)
    yield w
    w.stop()


def test_the_demo_story_gives_the_same_figures_on_every_system(world: DemoWorld) -> None:
    hub = world.hub()
    out = run_scenario(world, hub, console=None)
    figures = summary(world, hub)

    assert out["changes"].conflicts == 1  # the salesperson's overwrite of the ERP-owned contract id
    assert figures["erp"]["customer"] == 2 and figures["erp"]["contract"] == 1
    assert figures["erp"]["project"] == 1 and figures["erp"]["task"] == 6
    assert figures["tracker_projects"] == 1
    assert figures["time_states"] == {"billed": 8, "synced": 1, "invalid": 2, "pending_approval": 1}
    assert sorted(figures["invoices"].values()) == [Decimal("9700.00"), Decimal("10000.00")]
    (revenue,) = figures["revenue"].values()
    assert Decimal(revenue["recognised"]) == Decimal("19700.00")
    assert figures["erp"]["journal_entry"] >= 1
    # the deleted time record was written again: 9 in the ERP, 10 ever created
    assert len(world.scenario["erp"].timebill_ids(world.erp)) == figures["erp"]["timebill"] == 9
    assert world.scenario["erp"].created(world.erp, "timebill") == 10
    assert sorted(rule for rule, _, _ in figures["exceptions"]) == [
        "customer.tax_id_missing", "ownership.conflict", "time.edited_after_billing", "time.resource_unknown",
        "time.task_unknown"]
    final = out["reconciliation"]
    assert {p.pair: (p.matched, p.held, len(p.drifts)) for p in final.pairs} == {
        "bookings": (1, 1, 0), "time": (8, 3, 0), "invoices": (2, 0, 0), "revenue": (1, 0, 0)}
    assert figures["audit"][0]
    with hub.engine.connect() as conn:  # every billed entry is on the T&M invoice, exactly once
        billed = [r for r in records.list_records(conn, entity="time_entry") if r.state == "billed"]
    assert len(billed) == 8


def test_on_the_microsoft_stack_an_id_too_long_for_business_central_is_carried_by_an_id_line(
        tmp_path: Path) -> None:
    """Dynamics 365 Sales + Business Central. A milestone invoice is named after its milestone,
    `INV-D365-<GUID>`: 45 characters, and Business Central's `externalDocumentNumber` (Code[35]) holds 35.
    Its number there is the id's digest (`Q2C` + 32 hex digits, 35 characters), its first line a comment
    `q2c id: INV-D365-<GUID>`; the invoice posts at 10,000.00 (the comment line posts nothing) and q2c reads
    its own id back, so reconciliation matches both invoices."""
    world = DemoWorld(tmp_path, systems=MICROSOFT).start()
    try:
        hub = world.hub()
        out = run_scenario(world, hub, console=None)
        figures = summary(world, hub)
        env = world.erp
        books = [(code, env.records(code, "salesInvoices")) for code in env.company_ids()]  # type: ignore[attr-defined]
        invoices = [(code, row) for code, rows in books for row in rows]
        long_ids = [i for i in figures["invoices"] if len(i) > 35]
        assert len(long_ids) == 1 and long_ids[0].startswith("INV-D365-")
        digested = [(c, r) for c, r in invoices if len(str(r["externalDocumentNumber"])) == 35]
        assert len(digested) == 1
        code, row = digested[0]
        assert str(row["externalDocumentNumber"]).startswith("Q2C") and row["status"] == "Open"
        lines = [ln for ln in env.records(code, "salesInvoiceLines")  # type: ignore[attr-defined]
                 if ln["documentId"] == row["id"]]
        assert [ln["lineType"] for ln in lines] == ["Comment", "Account"]
        assert lines[0]["description"] == f"q2c id: {long_ids[0]}"
        assert Decimal(str(row["totalAmountExcludingTax"])) == Decimal("10000.00")
    finally:
        world.stop()
    assert figures["invoices"][long_ids[0]] == Decimal("10000.00")
    final = out["reconciliation"]
    assert {p.pair: (p.matched, p.held, len(p.drifts)) for p in final.pairs}["invoices"] == (2, 0, 0)
