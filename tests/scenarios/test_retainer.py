"""A four-month support retainer through the real path: the Salesforce, Harvest and NetSuite sandboxes over HTTP,
the hub's database, and only `q2c` commands (sync, close). Every figure below is computed by hand.

Northwind Traders wins "Northwind support retainer": the deal runs 2026-11-01 to 2027-06-30, and its one line is a
Retainer (offering IMPL) with ServiceDate 2026-11-01, Term_Months__c 4, Quantity 160 (hours prepaid over the term)
at UnitPrice 150 (so TotalPrice 24,000), Overage_Rate__c 180 and Rollover_Months__c 1. The settings name the three
custom fields.

The terms, as planned at set-up
  Term: November 2026 to February 2027 (4 calendar months from the service date; the deal's later end date
  does not stretch it). Fee a month: 24,000 / 4 = 6,000.00 (the last month would take any remainder: none).
  Prepaid hours a month: 160 / 4 = 40; prepaid price per hour 6,000 / 40 = 150. Unused hours stay usable for
  one more month, then expire. Each month is billed in arrears on the first run on or after its last day.
November (close 2026-11-30)
  Alice Nov 3, 4, 10 8 h, Bob Nov 5 6 h: 30 h used of 40 -> 10 h roll over (usable until 2026-12-31).
  Invoice INV-<phase>-20261130: the month's fee 6,000.00. Revenue: 24,000 x 1/4 = 6,000.00.
December (close 2026-12-31)
  Alice's Nov 27 4 h is approved after the November close: it is drawn in December. Bob Dec 2 5 h.
  9 h used: drawn first from November's 10 h (they expire soonest), so 1 h of November expires on Dec 31:
  breakage 1 x 150 = 150.00, already in the straight line (no revenue of its own). December's 40 h roll over
  (until 2027-01-31). Invoice 6,000.00. Revenue: 24,000 x 2/4 - 6,000 = 6,000.00.
January (close 2027-01-31)
  Alice Jan 4-8 5 x 8 h = 40 h, Bob Jan 11-15 5 x 8 h = 40 h, Alice Jan 18 6 h: 86 h used, 40 + 40 = 80 h
  available (December's first). Overage 86 - 80 = 6 h x 180 = 1,080.00, on its own line naming Alice's Jan 18
  entry (the one that crosses). Invoice 6,000.00 + 1,080.00 = 7,080.00. Revenue: the fee's straight line
  6,000.00 plus the overage as invoiced 1,080.00 = 7,080.00.
February, the last month (close 2027-02-28)
  Alice Feb 2 8 h, Bob Feb 3 8 h, Alice Feb 4 9 h: 25 h of 40; the last month expires what is left, 15 h:
  breakage 15 x 150 = 2,250.00. Invoice 6,000.00. Revenue 6,000.00: the fee is fully recognised, 24,000.00.
  A second close on the same date bills nothing twice.
March (close 2027-03-31)
  The retainer's term is over: no invoice, revenue 0.00, although the deal runs to June.
In all: billed 6,000 + 6,000 + 7,080 + 6,000 = 25,080.00 = recognised, and NetSuite's revenue journal lines add up
to the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from scenario_world import ScenarioWorld

from q2c.config import parse_config
from q2c.domain.model import Invoice
from q2c.entrypoints.demo import PEOPLE
from q2c.store import audit, records, time_entries

RETAINER_FIELDS = {"line_term_months_field": "Term_Months__c", "line_overage_rate_field": "Overage_Rate__c",
                   "line_rollover_months_field": "Rollover_Months__c"}


class RetainerWorld(ScenarioWorld):
    """The sandboxes with only the retainer deal, and the settings naming the retainer's line fields."""

    def start(self, *, database: str | None = None) -> RetainerWorld:
        super().start(database=database)
        self.settings["systems"]["crm"].update(RETAINER_FIELDS)
        self.config = parse_config(self.settings, base_dir=self.workdir)
        self.config_path = self.write_config(self.workdir / "q2c.yaml")
        return self

    def _seed(self) -> None:
        org = self.salesforce.state
        account = org.create("Account", {"Name": "Northwind Traders", "Tax_Id__c": "US-77-7654321",
                                         "Tax_Code__c": "US-CA-STD", "Payment_Terms__c": "Net 30",
                                         "CurrencyIsoCode": "USD", "BillingCountry": "US", "Legal_Entity__c": "US01"})
        opp = org.create("Opportunity", {"Name": "Northwind support retainer", "AccountId": account,
                                         "StageName": "Closed Won", "CloseDate": "2026-10-28",
                                         "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01",
                                         "Start_Date__c": "2026-11-01", "End_Date__c": "2027-06-30"})
        self.ids["opportunity"] = opp
        self.ids["line:retainer"] = org.create("OpportunityLineItem", {
            "OpportunityId": opp, "Description": "Support retainer", "Service_Offering__c": "IMPL",
            "Billing_Type__c": "Retainer", "Quantity": 160, "UnitPrice": 150,
            "ServiceDate": "2026-11-01", "Term_Months__c": 4, "Overage_Rate__c": 180, "Rollover_Months__c": 1,
            "CurrencyIsoCode": "USD"})
        for first, last, email, _role in PEOPLE[:2]:
            user = self.harvest.state.add_user(first, last, email)
            self.ids[f"person:{first.lower()}"] = str(user["id"])
            self.netsuite.state.seed("employee", {"firstName": first, "lastName": last, "email": email,
                                                  "entityId": f"{first} {last}"})

    def work(self, *entries: tuple[str, str, str, str]) -> list[int]:
        """Log (who, task, day, hours) in Harvest, approve it, and sync."""
        ids = [self.log_time(who, task, day, hours) for who, task, day, hours in entries]
        self.approve(*ids)
        synced = self.q2c("sync")
        assert synced.exit_code == 0, synced.output
        return ids

    def close(self, day: str) -> None:
        closed = self.q2c("close", "--date", day)
        assert closed.exit_code == 0, closed.output
        assert "checks: nothing lost, billing adds up, the GL equals the revenue engine" in closed.stdout

    def invoice_lines(self, invoice_id: str) -> list[dict[str, Any]]:
        (invoice,) = [r for r in self.netsuite.state.records["invoice"].values()
                      if r.values["externalid"] == invoice_id]
        return list(invoice.values["item"])


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[RetainerWorld]:
    w = RetainerWorld(tmp_path).start(database=db_url)
    yield w
    w.stop()


def test_a_retainer_with_overage_rollover_and_breakage_over_four_months(world: RetainerWorld) -> None:
    w = world
    assert w.q2c("sync").exit_code == 0
    c = w.contract_id()
    phase = f"{c}-1"

    # --- November -----------------------------------------------------------------------------------------
    w.work(("alice", "BUILD", "2026-11-03", "8"), ("alice", "BUILD", "2026-11-04", "8"),
           ("bob", "DESIGN", "2026-11-05", "6"), ("alice", "BUILD", "2026-11-10", "8"))
    w.close("2026-11-30")
    assert w.netsuite_invoices() == {f"INV-{phase}-20261130": Decimal("6000.00")}
    (fee,) = w.invoice_lines(f"INV-{phase}-20261130")
    assert "month 1 of 4 2026-11-01..2026-11-30: prepaid 40 h; 0 h carried in, 30 h used, 10 h rolled over, " \
           "0 h expired" in fee["description"]
    assert w.recognised(c, "2026-11") == Decimal("6000.00")

    # --- December: a late November entry is drawn in December, and 1 h of November expires ---------------------
    w.work(("alice", "BUILD", "2026-11-27", "4"), ("bob", "DESIGN", "2026-12-02", "5"))
    w.close("2026-12-31")
    assert w.netsuite_invoices()[f"INV-{phase}-20261231"] == Decimal("6000.00")
    (fee,) = w.invoice_lines(f"INV-{phase}-20261231")
    assert "10 h carried in, 9 h used, 40 h rolled over, 1 h expired" in fee["description"]
    assert w.recognised(c, "2026-12") == Decimal("6000.00")

    # --- January: 86 h against 80 available, 6 h of overage --------------------------------------------------
    w.work(*(("alice", "BUILD", f"2027-01-0{d}", "8") for d in (4, 5, 6, 7, 8)))
    w.work(*(("bob", "DESIGN", f"2027-01-{d}", "8") for d in (11, 12, 13, 14, 15)))
    (crossing,) = w.work(("alice", "BUILD", "2027-01-18", "6"))
    w.close("2027-01-31")
    assert w.netsuite_invoices()[f"INV-{phase}-20270131"] == Decimal("7080.00")
    fee, overage = w.invoice_lines(f"INV-{phase}-20270131")
    assert "40 h carried in, 86 h used, 0 h rolled over, 0 h expired" in fee["description"]
    assert (Decimal(str(overage["quantity"])), Decimal(str(overage["rate"])), Decimal(str(overage["amount"]))) \
        == (Decimal(6), Decimal("180.00"), Decimal("1080.00"))
    assert overage["custcol_q2c_phase_id"] == f"{phase}:overage"
    with w.hub().engine.connect() as conn:
        rec = records.get_record(conn, entity="invoice", canonical_id=f"INV-{phase}-20270131")
    assert rec is not None
    fee_line, overage_line = Invoice.model_validate(rec.payload).lines
    assert overage_line.time_entry_ids == (f"HV-{crossing}",) and len(fee_line.time_entry_ids) == 10
    assert (fee_line.instalment_id, overage_line.instalment_id) == (f"{phase}-3", f"{phase}-3-overage")
    assert w.recognised(c, "2027-01") == Decimal("7080.00")

    # --- February, the last month: 15 h expire --------------------------------------------------------------
    w.work(("alice", "BUILD", "2027-02-02", "8"), ("bob", "DESIGN", "2027-02-03", "8"),
           ("alice", "BUILD", "2027-02-04", "9"))
    w.close("2027-02-28")
    (fee,) = w.invoice_lines(f"INV-{phase}-20270228")
    assert "month 4 of 4" in fee["description"] and "25 h used, 0 h rolled over, 15 h expired" in fee["description"]
    assert w.recognised(c, "2027-02") == Decimal("6000.00")
    invoices = w.netsuite_invoices()
    w.close("2027-02-28")
    assert w.netsuite_invoices() == invoices  # nothing billed twice
    with w.hub().engine.connect() as conn:
        why = " ".join(str(e["after"].get("why", "")) for e in audit.history(conn, limit=500)
                       if e["action"] == "invoice")
        project = w.project_code(w.ids["opportunity"])
        unbilled = time_entries.of_project(conn, project, states=[time_entries.SYNCED])
    assert "1 h expired (breakage USD 150.00)" in why and "15 h expired (breakage USD 2,250.00)" in why
    assert unbilled == []  # every hour logged on the retainer is on one of its invoices

    # --- March: the retainer's term is over, the deal's is not ----------------------------------------------
    w.close("2027-03-31")
    assert w.netsuite_invoices() == invoices
    assert w.recognised(c, "2027-03") == Decimal("0.00")

    assert invoices == {f"INV-{phase}-20261130": Decimal("6000.00"), f"INV-{phase}-20261231": Decimal("6000.00"),
                        f"INV-{phase}-20270131": Decimal("7080.00"), f"INV-{phase}-20270228": Decimal("6000.00")}
    assert sum(invoices.values()) == Decimal("25080.00")
    assert w.netsuite_revenue() == {f"JE-REV-{c}-{month}": Decimal(amount) for month, amount in (
        ("2026-11", "6000.00"), ("2026-12", "6000.00"), ("2027-01", "7080.00"), ("2027-02", "6000.00"))}
    assert w.q2c("audit", "verify").exit_code == 0
