"""The demo: the whole quote-to-cash scenario on SQLite and the built-in sandboxes.

Two deals are won in Salesforce (one clean, one whose account has no tax id) and one is still
open. q2c sets the clean one up in NetSuite and Harvest; consultants log time; a manager approves
it; q2c rates it and posts it to NetSuite; a correction flows through; a milestone is completed;
billing and revenue close run; an edit after billing is caught. Every number printed comes from
the hub's own records and the sandboxes' state.

`DemoWorld` is the same scenario as an object, used by the end-to-end, crash and outage tests.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from q2c.config import HubConfig, parse_config
from q2c.domain.revenue import Period
from q2c.domain.violations import Violation
from q2c.entrypoints.wiring import build_hub, drain
from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.harvest.app import create_sandbox as harvest_sandbox
from q2c.sandboxes.kit import Sandbox, SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox
from q2c.sandboxes.netsuite.app import create_sandbox as netsuite_sandbox
from q2c.sandboxes.registry import sandbox_spec
from q2c.sandboxes.salesforce.app import SalesforceSandbox
from q2c.sandboxes.salesforce.app import create_sandbox as salesforce_sandbox
from q2c.store import audit, links, records
from q2c.store import exceptions as exception_store
from q2c.workflows.billing_run import enqueue_billing
from q2c.workflows.close_readiness import readiness
from q2c.workflows.crm_changes import consume_crm_changes
from q2c.workflows.hub import Hub
from q2c.workflows.project_setup import poll_won_deals
from q2c.workflows.reconcile import Report, reconcile
from q2c.workflows.reconcile_heal import heal
from q2c.workflows.revenue_close import enqueue_revenue_close
from q2c.workflows.time_approved import poll_time

WEBHOOK_SECRET = "demo-webhook-secret"
INVOICE_DATE = date(2026, 11, 30)

PEOPLE = (  # first, last, email, role in the q2c resource list (None: not a known resource)
    ("Alice", "Adams", "alice@q2c-demo.example", "Consultant"),
    ("Bob", "Baker", "bob@q2c-demo.example", "Architect"),
    ("Carol", "Cole", "carol@q2c-demo.example", None),
)


def demo_settings(*, database: str, systems: dict[str, dict[str, Any]],
                  webhook_secret: str = WEBHOOK_SECRET) -> dict[str, Any]:
    """The hub config the demo uses (what a firm would write in q2c.yaml): its entities, offerings, rate
    cards and people, with `systems` (crm, tracker, erp) as the sandboxes standing in for them say."""
    return {
        "database": database,
        "systems": systems,
        "legal_entities": [{"code": "US01", "name": "US01 Consulting Inc.", "currency": "USD",
                            "timezone": "America/New_York"}],
        "service_offerings": [{"code": "IMPL", "name": "Implementation", "roles": ["Consultant", "Architect"],
                               "tasks": [{"code": "DESIGN", "name": "Design"}, {"code": "BUILD", "name": "Build"},
                                         {"code": "INTERNAL", "name": "Internal meetings", "billable": False}]}],
        "rate_cards": [{"id": "RC-USD-2026", "currency": "USD", "lines": [
            {"role": "Consultant", "rate": "150.00", "cost_rate": "70.00", "effective_from": "2026-01-01"},
            {"role": "Architect", "rate": "200.00", "cost_rate": "95.00", "effective_from": "2026-01-01"}]}],
        "resources": [{"email": e, "name": f"{f} {last}", "role": r} for f, last, e, r in PEOPLE if r],
        "delivery": {"max_attempts": 30, "backoff_base_seconds": 0.2, "backoff_cap_seconds": 2.0},
        "http": {"webhook_secret": webhook_secret},
    }


def seed_demo(salesforce: SalesforceSandbox, harvest: HarvestSandbox, netsuite: NetSuiteSandbox) -> dict[str, str]:
    """The scenario's data: accounts, deals, milestones and people; returns the ids the scenario refers to."""
    ids: dict[str, str] = {}
    org = salesforce.state
    terms = {"Payment_Terms__c": "Net 30", "CurrencyIsoCode": "USD", "BillingCountry": "US",
             "Legal_Entity__c": "US01"}
    holding = org.create("Account", {"Name": "Globex Holdings", "Tax_Id__c": "US-12-3456789",
                                     "Tax_Code__c": "US-CA-STD", **terms})
    digital = org.create("Account", {"Name": "Globex Digital", "ParentId": holding, "Tax_Id__c": "US-98-7654321",
                                     "Tax_Code__c": "US-CA-STD", **terms})
    initech = org.create("Account", {"Name": "Initech", **terms})  # no tax id: setup must stop
    opp = org.create("Opportunity", {"Name": "Globex Digital ERP rollout", "AccountId": digital,
                                     "StageName": "Closed Won", "CloseDate": "2026-11-02",
                                     "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01",
                                     "Start_Date__c": "2026-11-02", "End_Date__c": "2027-04-30"})
    org.create("OpportunityLineItem", {"OpportunityId": opp, "Description": "Implementation (T&M)",
                                       "Service_Offering__c": "IMPL", "Billing_Type__c": "Time and Materials",
                                       "Quantity": 300, "TotalPrice": 48000, "Cap_Amount__c": 50000,
                                       "CurrencyIsoCode": "USD"})
    design = org.create("OpportunityLineItem", {"OpportunityId": opp, "Description": "Solution design (milestones)",
                                                "Service_Offering__c": "IMPL", "Billing_Type__c": "Milestone",
                                                "Quantity": 1, "TotalPrice": 30000, "CurrencyIsoCode": "USD"})
    ids["milestone_signoff"] = org.create("Opportunity_Milestone__c", {
        "Name": "Design sign-off", "Opportunity__c": opp, "Line_Item_Id__c": design, "Amount__c": 10000,
        "Due_Date__c": "2026-11-20", "Status__c": "Pending", "CurrencyIsoCode": "USD"})
    org.create("Opportunity_Milestone__c", {
        "Name": "Go-live", "Opportunity__c": opp, "Line_Item_Id__c": design, "Amount__c": 20000,
        "Due_Date__c": "2027-03-31", "Status__c": "Pending", "CurrencyIsoCode": "USD"})
    bad = org.create("Opportunity", {"Name": "Initech TPS automation", "AccountId": initech,
                                     "StageName": "Closed Won", "CloseDate": "2026-11-03",
                                     "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01"})
    org.create("OpportunityLineItem", {"OpportunityId": bad, "Description": "Implementation", "Quantity": 40,
                                       "Service_Offering__c": "IMPL", "Billing_Type__c": "Time and Materials",
                                       "TotalPrice": 8000, "CurrencyIsoCode": "USD"})
    org.create("Opportunity", {"Name": "Umbrella pilot", "AccountId": holding, "StageName": "Proposal/Price Quote",
                               "CloseDate": "2026-12-15", "CurrencyIsoCode": "USD"})
    ids.update(opportunity=opp, bad_opportunity=bad)
    for first, last, email, _role in PEOPLE:
        user = harvest.state.add_user(first, last, email)
        ids[f"harvest_user:{first.lower()}"] = str(user["id"])
        if first != "Carol":
            netsuite.state.seed("employee", {"firstName": first, "lastName": last, "email": email,
                                             "entityId": f"{first} {last}"})
    return ids


@dataclass
class DemoWorld:
    """Three sandboxes on loopback, seeded with the scenario, and a hub configured against them."""

    workdir: Path
    salesforce: SalesforceSandbox = field(init=False)
    harvest: HarvestSandbox = field(init=False)
    netsuite: NetSuiteSandbox = field(init=False)
    servers: dict[str, SandboxServer] = field(init=False, default_factory=dict)
    ids: dict[str, str] = field(init=False, default_factory=dict)
    config: HubConfig = field(init=False)
    settings: dict[str, Any] = field(init=False, default_factory=dict)  # the config as a firm would write it

    def start(self, *, database: str | None = None) -> DemoWorld:
        self.salesforce = salesforce_sandbox(long_poll_seconds=0.5)
        self.harvest = harvest_sandbox()
        self.netsuite = netsuite_sandbox()
        boxes: dict[str, Sandbox] = {"crm": self.salesforce, "tracker": self.harvest, "erp": self.netsuite}
        for box in boxes.values():
            self.servers[box.name] = SandboxServer(box).start()
        systems = {role: sandbox_spec(box.name).settings(box, self.servers[box.name].url, self.workdir)
                   for role, box in boxes.items()}
        self.settings = demo_settings(database=database or f"sqlite:///{self.workdir / 'q2c.sqlite'}",
                                      systems=systems)
        self.config = parse_config(self.settings, base_dir=self.workdir)
        self._seed()
        return self

    def write_config(self, path: Path) -> Path:
        """The world's config as a YAML file, for driving it with `q2c` commands (relative paths are the
        world's folder's, so the file goes there)."""
        if path.parent.resolve() != self.workdir.resolve():
            raise ValueError(f"the config's relative paths are {self.workdir}'s: write it there, not to {path}")
        path.write_text(yaml.safe_dump(self.settings, sort_keys=False))
        return path

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def hub(self) -> Hub:
        return build_hub(self.config)

    def _seed(self) -> None:
        self.ids.update(seed_demo(self.salesforce, self.harvest, self.netsuite))

    def log_time(self, who: str, task: str, day: str, hours: str, *, notes: str = "", project_code: str = "P-") -> int:
        """A person logs time in Harvest on the demo project, or the one whose code starts with `project_code`
        (as they would in the Harvest app)."""
        state = self.harvest.state
        project = next(p for p in state.projects.values() if p["code"].startswith(project_code))
        task_id = next(t["id"] for t in state.tasks.values() if t["name"] == task)
        user_id = int(self.ids[f"harvest_user:{who}"])
        if not any(a["project"]["id"] == project["id"] and a["user"]["id"] == user_id
                   for a in state.user_assignments.values()):
            state.assign_user(project["id"], {"user_id": user_id})  # added to the project by hand in Harvest
        entry = state.create_time_entry({"project_id": project["id"], "task_id": task_id, "spent_date": day,
                                         "hours": Decimal(hours), "user_id": user_id, "notes": notes})
        return int(entry["id"])

    def log_the_week(self) -> dict[str, int]:
        e: dict[str, int] = {}
        for i, day in enumerate(("2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06", "2026-11-09")):
            e[f"alice_build_{i}"] = self.log_time("alice", "BUILD", day, "8", notes="Build sprint 1")
        for i, (day, hours) in enumerate((("2026-11-03", "6"), ("2026-11-04", "6.5"), ("2026-11-05", "5.5"))):
            e[f"bob_design_{i}"] = self.log_time("bob", "DESIGN", day, hours, notes="Solution design workshops")
        e["alice_internal"] = self.log_time("alice", "INTERNAL", "2026-11-06", "1.5", notes="Team stand-ups")
        e["carol_build"] = self.log_time("carol", "BUILD", "2026-11-04", "3", notes="Helping out")
        state = self.harvest.state
        travel = state.create_task({"name": "TRAVEL", "billable_by_default": True})
        project = next(p for p in state.projects.values() if p["code"].startswith("P-"))
        state.assign_task(project["id"], {"task_id": travel["id"]})
        e["bob_travel"] = self.log_time("bob", "TRAVEL", "2026-11-06", "4", notes="Travel to client site")
        approved = [v for k, v in e.items()]
        e["bob_unapproved"] = self.log_time("bob", "BUILD", "2026-11-09", "2", notes="Not yet approved")
        state.approve(approved)
        return e

    def correct_entry(self, entry_id: int, hours: str) -> None:
        """A timesheet is reopened, corrected and approved again."""
        state = self.harvest.state
        state.withdraw_approval([entry_id])
        state.update_time_entry(entry_id, {"hours": Decimal(hours)})
        state.approve([entry_id])

    def complete_milestone(self) -> None:
        self.salesforce.state.update("Opportunity_Milestone__c", self.ids["milestone_signoff"],
                                     {"Status__c": "Completed", "Completed_On__c": "2026-11-20"})


def run_scenario(world: DemoWorld, hub: Hub, *, console: Console | None) -> dict[str, Any]:
    """Run the demo story against a started world; returns the figures the summary prints."""
    out: dict[str, Any] = {}
    say = console.print if console is not None else (lambda *a, **k: None)
    say("[bold]1. Deals won in Salesforce[/bold]")
    deals = poll_won_deals(hub)
    drain(hub, console=console)
    say(f"   {deals.seen} won deals found, {deals.enqueued} queued for setup")
    say("[bold]   A sales rep overwrites the ERP contract id on the opportunity by hand[/bold]")
    world.salesforce.state.update("Opportunity", world.ids["opportunity"], {"ERP_Contract_Id__c": "C-TYPO"})
    changes = consume_crm_changes(hub)
    say(f"   {changes.events} change events: {changes.echoes} were q2c's own write-back (ignored), "
        f"{changes.conflicts} ownership conflict(s) raised")
    out["changes"] = changes
    say("[bold]2. Consultants log a week of time in Harvest; the manager approves it[/bold]")
    entries = world.log_the_week()
    out["entries"] = entries
    t = poll_time(hub)
    drain(hub, console=console)
    say(f"   {t.entries} entries read, {t.groups_enqueued} batch(es) delivered")
    say("[bold]3. A correction: Bob's 5.5 h on Nov 5 was really 6 h[/bold]")
    world.correct_entry(entries["bob_design_2"], "6")
    poll_time(hub)
    drain(hub, console=console)
    say("[bold]4. The design sign-off milestone is completed in Salesforce[/bold]")
    world.complete_milestone()
    say(f"[bold]5. Billing and revenue close as of {INVOICE_DATE}[/bold]")
    enqueue_billing(hub, invoice_date=INVOICE_DATE)
    drain(hub, console=console)
    enqueue_revenue_close(hub, period_end=INVOICE_DATE)
    drain(hub, console=console)
    say("[bold]6. An edit after billing: Alice changes Nov 3 from 8 h to 9 h[/bold]")
    world.correct_entry(entries["alice_build_0"], "9")
    poll_time(hub)
    drain(hub, console=console)
    say("[bold]7. Reconciliation: every record compared across Salesforce, Harvest, NetSuite and the revenue "
        "engine[/bold]")
    _say_pairs(say, reconcile(hub))
    say("[bold]   Someone deletes one of Alice's timebills in NetSuite by mistake[/bold]")
    lost = world.netsuite.state.by_external_id("timebill", f"HV-{entries['alice_build_1']}")
    if lost is not None:
        world.netsuite.state.delete(lost)
    found = reconcile(hub)
    for traced in found.drifts:
        say(f"   drift {traced.drift.pair} {traced.drift.key}: {escape(traced.trace.cause)}")
        if traced.trace.fix is not None and traced.exception_id is not None:
            say(f"   heal: {escape(heal(hub, traced.exception_id, actor='demo'))}")
    drain(hub, console=console)
    after = reconcile(hub)
    _say_pairs(say, after)
    out["reconciliation"] = after
    say(f"[bold]8. Close readiness of US01 {INVOICE_DATE:%Y-%m}[/bold]")
    ready = readiness(hub, "US01", Period.of(INVOICE_DATE))
    blocking = {name: len(found) for name, found in ready.by_check().items() if found}
    say(f"   readiness {ready.score}%; blocking: " + ", ".join(f"{k} {v}" for k, v in blocking.items()))
    out["readiness"] = ready
    return out


def _say_pairs(say: Any, report: Report) -> None:
    for p in report.pairs:
        say(f"   {p.pair}: {p.matched} matched, {p.held} held by open exceptions, {len(p.drifts)} drifts")


def summary(world: DemoWorld, hub: Hub) -> dict[str, Any]:
    """The figures of a finished run, from the hub's records and the sandboxes' state."""
    ns = world.netsuite.state
    with hub.engine.connect() as conn:
        invoices = records.list_records(conn, entity="invoice")
        time_states = records.count_by_state(conn, entity="time_entry")
        revenue = records.list_records(conn, entity="revenue_recognition")
        open_exceptions = exception_store.search(conn)
        chain = audit.verify(conn)
        timebill_links = links.count(conn, entity="time_entry", system="netsuite")
    return {
        "netsuite": {t: ns.count(t) for t in ("customer", "job", "projecttask", "salesorder", "timebill", "invoice",
                                              "journalentry")},
        "harvest_projects": sum(1 for p in world.harvest.state.projects.values() if p["code"].startswith("P-")),
        "time_states": time_states,
        "timebill_links": timebill_links,
        "invoices": {r.canonical_id: Decimal(r.payload["total"]["amount"]) for r in invoices},
        "revenue": {r.canonical_id: r.payload for r in revenue},
        "exceptions": [(e.violation.rule, _where_and_what(e.violation), e.violation.action) for e in open_exceptions],
        "audit": (chain.ok, chain.entries),
    }


def _where_and_what(v: Violation) -> str:
    field = f" field {v.field}" if v.field else ""
    return f"{v.system} {v.object} {v.record_id}{field}: {v.message}"


def print_summary(console: Console, figures: dict[str, Any], seconds: float) -> None:
    table = Table(title="What q2c did", show_header=True)
    table.add_column("what")
    table.add_column("figure", justify="right")
    ns = figures["netsuite"]
    table.add_row("NetSuite customers (with parent)", str(ns["customer"]))
    table.add_row("NetSuite contracts (sales orders)", str(ns["salesorder"]))
    table.add_row("NetSuite projects / tasks", f"{ns['job']} / {ns['projecttask']}")
    table.add_row("Harvest projects set up", str(figures["harvest_projects"]))
    table.add_row("time entries posted to NetSuite (timebills)", str(ns["timebill"]))
    for state, n in sorted(figures["time_states"].items()):
        table.add_row(f"  time entries {state.replace('_', ' ')}", str(n))
    for invoice_id, total in sorted(figures["invoices"].items()):
        table.add_row(f"invoice {invoice_id}", f"USD {total:,.2f}")
    table.add_row("journal entries posted", str(ns["journalentry"]))
    for contract_id, rec in sorted(figures["revenue"].items()):  # ids and amounts carry no markup
        table.add_row(f"revenue recognised {contract_id} ({rec.get('period', '')})",
                      f"{rec.get('currency', '')} {Decimal(rec.get('recognised', '0')):,.2f}")
    table.add_row("audit trail", f"{'intact' if figures['audit'][0] else 'BROKEN'}, {figures['audit'][1]} entries")
    console.print(table)
    problems = Table(title=f"Exceptions for people to act on ({len(figures['exceptions'])})", show_lines=True)
    problems.add_column("rule")
    problems.add_column("what is wrong", overflow="fold")
    problems.add_column("what to do", overflow="fold")
    for rule, headline, action in figures["exceptions"]:
        problems.add_row(escape(rule), escape(headline), escape(action))
    console.print(problems)
    console.print(f"demo finished in {seconds:.1f} s")


def run_demo(console: Console, *, workdir: Path | None = None) -> int:
    started = time.monotonic()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="q2c-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]q2c demo[/bold]: SQLite at {workdir / 'q2c.sqlite'}, Salesforce, Harvest and NetSuite "
                  "sandboxes on loopback")
    world = DemoWorld(workdir).start()
    try:
        hub = world.hub()
        run_scenario(world, hub, console=console)
        figures = summary(world, hub)
        print_summary(console, figures, time.monotonic() - started)
        return 0 if figures["audit"][0] else 3
    finally:
        world.stop()
