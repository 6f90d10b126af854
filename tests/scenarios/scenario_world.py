"""The sandboxes seeded with one deal whose life the scenarios follow, and the `q2c` command line to drive it.

Acme Industrial wins "Acme cloud migration" (Nov 2, 2026 to Jan 31, 2027): a T&M line (IMPL, USD 20,000
estimate, 100 h, not-to-exceed cap USD 12,000) and a milestone line (IMPL, USD 15,000: Blueprint 5,000,
Go-live 10,000). Alice (Consultant, 150/h) and Bob (Architect, 200/h) are on the rate card and in NetSuite;
Dan logs time in Harvest but is on neither. The T&M phase's tasks are DESIGN/BUILD/INTERNAL, the milestone
phase's DESIGN-2/BUILD-2/INTERNAL-2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from typer.testing import CliRunner, Result

from q2c.config import parse_config
from q2c.entrypoints import cli, cli_support
from q2c.entrypoints.demo import PEOPLE, DemoWorld
from q2c.store import exceptions as exception_store
from q2c.store import records

LINES = ("T&M", "milestones")


@dataclass
class ScenarioWorld(DemoWorld):
    config_path: Path = field(init=False)

    def start(self, *, database: str | None = None) -> ScenarioWorld:
        super().start(database=database)
        self.config_path = self.write_config(self.workdir / "q2c.yaml")
        return self

    def _seed(self) -> None:
        org = self.salesforce.state
        account = org.create("Account", {"Name": "Acme Industrial", "Tax_Id__c": "US-55-1234567",
                                         "Tax_Code__c": "US-CA-STD", "Payment_Terms__c": "Net 30",
                                         "CurrencyIsoCode": "USD", "BillingCountry": "US", "Legal_Entity__c": "US01"})
        opp = org.create("Opportunity", {"Name": "Acme cloud migration", "AccountId": account,
                                         "StageName": "Closed Won", "CloseDate": "2026-11-02", "CurrencyIsoCode": "USD",
                                         "Legal_Entity__c": "US01", "Start_Date__c": "2026-11-02",
                                         "End_Date__c": "2027-01-31"})
        self.ids["opportunity"] = opp
        self.ids["line:T&M"] = org.create("OpportunityLineItem", {
            "OpportunityId": opp, "Description": "Cloud migration (T&M)", "Service_Offering__c": "IMPL",
            "Billing_Type__c": "Time and Materials", "Quantity": 100, "TotalPrice": 20000, "Cap_Amount__c": 12000,
            "CurrencyIsoCode": "USD"})
        line = org.create("OpportunityLineItem", {
            "OpportunityId": opp, "Description": "Migration milestones", "Service_Offering__c": "IMPL",
            "Billing_Type__c": "Milestone", "Quantity": 1, "TotalPrice": 15000, "CurrencyIsoCode": "USD"})
        self.ids["line:milestones"] = line
        for key, name, amount, due in (("blueprint", "Blueprint", 5000, "2026-11-20"),
                                       ("go_live", "Go-live", 10000, "2027-01-15")):
            self.ids[f"milestone:{key}"] = org.create("Opportunity_Milestone__c", {
                "Name": name, "Opportunity__c": opp, "Line_Item_Id__c": line, "Amount__c": amount, "Due_Date__c": due,
                "Status__c": "Pending", "CurrencyIsoCode": "USD"})
        for first, last, email, role in (*PEOPLE[:2], ("Dan", "Drake", "dan@q2c-demo.example", None)):
            user = self.harvest.state.add_user(first, last, email)
            self.ids[f"person:{first.lower()}"] = str(user["id"])
            if role is not None:
                self.netsuite.state.seed("employee", {"firstName": first, "lastName": last, "email": email,
                                                      "entityId": f"{first} {last}"})

    def add_deal(self, name: str, lines: list[dict[str, Any]], *, account: str | None = None,
                 end: str | None = "2027-01-31", **fields: Any) -> str:
        """Another won deal for the account; `lines` are OpportunityLineItem fields, a "milestones" key in one
        holds its Opportunity_Milestone__c records (Name, Amount__c)."""
        org = self.salesforce.state
        account_id = account or next(a["Id"] for a in org.records("Account") if a["Name"] == "Acme Industrial")
        opp = org.create("Opportunity", {"Name": name, "AccountId": account_id, "StageName": "Closed Won",
                                         "CloseDate": "2026-11-02", "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01",
                                         "Start_Date__c": "2026-11-02", **({"End_Date__c": end} if end else {}),
                                         **fields})
        for line in lines:
            milestones = line.pop("milestones", [])
            line_id = org.create("OpportunityLineItem", {"OpportunityId": opp, "CurrencyIsoCode": "USD", **line})
            for m in milestones:
                org.create("Opportunity_Milestone__c", {"Opportunity__c": opp, "Line_Item_Id__c": line_id,
                                                        "Status__c": "Pending", "CurrencyIsoCode": "USD", **m})
        return str(opp)

    @staticmethod
    def project_code(opportunity_id: str) -> str:
        return f"P-{opportunity_id[-12:]}"

    # --- what people do in the vendors' systems -----------------------------------------------------------
    def approve(self, *entry_ids: int) -> None:
        self.harvest.state.approve(list(entry_ids))

    def review_invoices(self) -> None:
        """The firm's policy: invoices wait in q2c as drafts until someone approves them (`billing.release`)."""
        self.settings["billing"] = {"release": "review"}
        self.config = parse_config(self.settings, base_dir=self.workdir)
        self.write_config(self.config_path)

    def void_invoice(self, external_id: str) -> None:
        """An accountant voids an invoice in NetSuite (the Void button: REST has no void)."""
        answer = httpx.post(self.servers["netsuite"].url + "/__sandbox/netsuite/void",
                            json={"type": "invoice", "externalId": external_id})
        assert answer.status_code == 200, answer.text

    def pay_invoice(self, external_id: str) -> None:
        """The customer pays an invoice in full: a customer payment applied to it in NetSuite."""
        ns = self.netsuite.state
        internal = ns.internal_id("invoice", external_id)
        assert internal is not None, f"NetSuite has no invoice {external_id}"
        ns.pay_invoice(internal)

    def complete(self, milestone: str, on: str) -> None:
        self.salesforce.state.update("Opportunity_Milestone__c", self.ids[f"milestone:{milestone}"],
                                     {"Status__c": "Completed", "Completed_On__c": on})

    # --- q2c, as an integration engineer or a controller runs it -------------------------------------------
    def q2c(self, *args: str) -> Result:
        cli.console = cli_support.console = Console(width=400, color_system=None)
        cli.err = cli_support.err = Console(width=400, color_system=None, stderr=True)
        return CliRunner().invoke(cli.app, [*args, "-c", str(self.config_path)], env={"Q2C_CONFIG": None})

    def open_exceptions(self) -> list[dict[str, Any]]:
        result = self.q2c("exceptions", "list", "--json")
        assert result.exit_code == 0, result.output
        return list(json.loads(result.stdout))

    def open_rules(self) -> list[str]:
        return sorted(e["rule"] for e in self.open_exceptions())

    # --- what the systems hold ---------------------------------------------------------------------------
    def netsuite_invoices(self) -> dict[str, Decimal]:
        """NetSuite invoices by q2c's id (externalId): the sum of their lines."""
        return {r.values["externalid"]: sum((Decimal(str(line["amount"])) for line in r.values["item"]), Decimal(0))
                for r in self.netsuite.state.records["invoice"].values()}

    def netsuite_credit_memos(self) -> dict[str, Decimal]:
        """NetSuite credit memos by q2c's id: the sum of their lines (positive: a credit memo is the credit)."""
        return {r.values["externalid"]: sum((Decimal(str(line["amount"])) for line in r.values["item"]), Decimal(0))
                for r in self.netsuite.state.records["creditmemo"].values()}

    def netsuite_status(self, record_type: str, external_id: str) -> str:
        """What NetSuite shows as the transaction's status (Open, Paid In Full, Voided, Fully Applied)."""
        record = self.netsuite.state.by_external_id(record_type, external_id)
        assert record is not None, f"NetSuite has no {record_type} {external_id}"
        return self.netsuite.state.status_name(record)

    def netsuite_invoice_dates(self) -> dict[str, str]:
        return {r.values["externalid"]: str(r.values["trandate"])
                for r in self.netsuite.state.records["invoice"].values()}

    def netsuite_revenue(self) -> dict[str, Decimal]:
        """Revenue by journal entry (credits less debits on account 4000), as NetSuite holds it."""
        ns = self.netsuite.state
        revenue_account = next(r.id for r in ns.records["account"].values() if r.values["acctnumber"] == "4000")
        out: dict[str, Decimal] = {}
        for r in ns.records["journalentry"].values():
            total = Decimal(0)
            for line in r.values["line"]:
                account = line["account"]
                if str(account["id"] if isinstance(account, dict) else account) == revenue_account:
                    total += Decimal(str(line.get("credit") or 0)) - Decimal(str(line.get("debit") or 0))
            out[r.values["externalid"]] = total
        return out

    def recognised(self, contract_id: str, period: str) -> Decimal:
        with self.hub().engine.connect() as conn:
            rec = records.get_record(conn, entity="revenue_recognition", canonical_id=f"{contract_id}:{period}")
        assert rec is not None, f"no revenue posted for {contract_id} {period}"
        return Decimal(rec.payload["recognised"])

    def contract_id(self) -> str:
        with self.hub().engine.connect() as conn:
            (contract,) = records.list_records(conn, entity="contract")
        return contract.canonical_id

    def exception(self, rule: str) -> exception_store.ExceptionRow:
        with self.hub().engine.connect() as conn:
            (row,) = exception_store.search(conn, rule=rule)
        return row
