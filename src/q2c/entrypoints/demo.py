"""The demo: the whole quote-to-cash scenario on SQLite and the built-in sandboxes.

Two deals are won in the CRM (one clean, one whose account has no tax id) and one is still
open. q2c sets the clean one up in the ERP and the time tracker; consultants log time; a manager approves
it; q2c rates it and posts it to the ERP; a correction flows through; a milestone is completed;
billing and revenue close run; an edit after billing is caught. Every number printed comes from
the hub's own records and the sandboxes' state. The systems are Salesforce, Harvest and NetSuite unless
`--systems` names others: each sandbox brings its own scenario hooks (`q2c.sandboxes.registry.CrmScenario`,
`TrackerScenario`, `ErpScenario`), so the story is told once.

`DemoWorld` is the same scenario as an object, used by the end-to-end, crash and outage tests.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from q2c.config import HubConfig, parse_config
from q2c.domain.revenue import Period
from q2c.domain.violations import Violation
from q2c.entrypoints.wiring import build_hub, drain
from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.kit import Sandbox, SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox
from q2c.sandboxes.registry import ErpCount, UnknownSandbox, make_sandbox, sandbox_for, sandbox_spec
from q2c.sandboxes.salesforce.app import SalesforceSandbox
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
_Box = TypeVar("_Box", bound=Sandbox)
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


ROLES = ("crm", "tracker", "erp")
DEFAULT_SYSTEMS: Mapping[str, str] = {"crm": "salesforce", "tracker": "harvest", "erp": "netsuite"}


class NoScenario(ValueError):
    """A chosen sandbox cannot play the demo's story (it has no scenario hooks)."""


def scenarios(systems: Mapping[str, str]) -> dict[str, Any]:
    """Each role's story hooks (`q2c.sandboxes.registry.CrmScenario`, ...), from the sandboxes chosen."""
    found: dict[str, Any] = {}
    for role in ROLES:
        spec = sandbox_for(role, systems[role])
        if spec.scenario is None:
            raise NoScenario(f"the {spec.label} sandbox has no demo scenario, so the demo cannot run on it")
        found[role] = spec.scenario()
    return found


def seed_demo(boxes: Mapping[str, Sandbox]) -> dict[str, str]:
    """The scenario's data in the CRM, tracker and ERP sandboxes by role: accounts, deals, milestones and people;
    returns the ids the scenario refers to (the systems' own)."""
    crm, tracker, erp = (scenarios({r: b.name for r, b in boxes.items()})[r] for r in ROLES)
    box = boxes["crm"]
    ids: dict[str, str] = {}
    terms = {"payment_terms": "Net 30", "currency": "USD", "country": "US", "legal_entity": "US01"}
    holding = crm.account(box, name="Globex Holdings", parent=None, tax_id="US-12-3456789", tax_code="US-CA-STD",
                          **terms)
    digital = crm.account(box, name="Globex Digital", parent=holding, tax_id="US-98-7654321", tax_code="US-CA-STD",
                          **terms)
    initech = crm.account(box, name="Initech", parent=None, tax_id=None, tax_code=None, **terms)  # setup must stop
    opp = crm.deal(box, name="Globex Digital ERP rollout", account=digital, won=True, close_date="2026-11-02",
                   currency="USD", legal_entity="US01", start="2026-11-02", end="2027-04-30")
    crm.line(box, opp, description="Implementation (T&M)", offering="IMPL", billing="time_and_materials",
             quantity=Decimal(300), amount=Decimal(48000), cap=Decimal(50000), currency="USD")
    design = crm.line(box, opp, description="Solution design (milestones)", offering="IMPL", billing="milestone",
                      quantity=Decimal(1), amount=Decimal(30000), currency="USD")
    ids["milestone_signoff"] = crm.milestone(box, opp, design, name="Design sign-off", amount=Decimal(10000),
                                             due="2026-11-20", currency="USD")
    crm.milestone(box, opp, design, name="Go-live", amount=Decimal(20000), due="2027-03-31", currency="USD")
    bad = crm.deal(box, name="Initech TPS automation", account=initech, won=True, close_date="2026-11-03",
                   currency="USD", legal_entity="US01")
    crm.line(box, bad, description="Implementation", offering="IMPL", billing="time_and_materials",
             quantity=Decimal(40), amount=Decimal(8000), currency="USD")
    crm.deal(box, name="Umbrella pilot", account=holding, won=False, close_date="2026-12-15", currency="USD",
             legal_entity=None)
    ids.update(opportunity=opp, bad_opportunity=bad)
    for first, last, email, _role in PEOPLE:
        ids[f"person:{first.lower()}"] = tracker.person(boxes["tracker"], first=first, last=last, email=email)
        if first != "Carol":
            erp.employee(boxes["erp"], first=first, last=last, email=email)
    return ids


@dataclass
class DemoWorld:
    """A CRM, a time tracker and an ERP sandbox on loopback (Salesforce, Harvest and NetSuite unless `systems`
    names others), seeded with the scenario, and a hub configured against them."""

    workdir: Path
    systems: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SYSTEMS))
    boxes: dict[str, Sandbox] = field(init=False, default_factory=dict)  # by role
    servers: dict[str, SandboxServer] = field(init=False, default_factory=dict)  # by system name
    ids: dict[str, str] = field(init=False, default_factory=dict)
    config: HubConfig = field(init=False)
    settings: dict[str, Any] = field(init=False, default_factory=dict)  # the config as a firm would write it
    scenario: dict[str, Any] = field(init=False, default_factory=dict)  # each role's story hooks

    def start(self, *, database: str | None = None) -> DemoWorld:
        self.scenario = scenarios(self.systems)
        self.boxes = {role: self._make(role) for role in ROLES}
        for box in self.boxes.values():
            self.servers[box.name] = SandboxServer(box).start()
        systems = {role: sandbox_spec(box.name).settings(box, self.servers[box.name].url, self.workdir)
                   for role, box in self.boxes.items()}
        self.settings = demo_settings(database=database or f"sqlite:///{self.workdir / 'q2c.sqlite'}",
                                      systems=systems)
        self.config = parse_config(self.settings, base_dir=self.workdir)
        self._seed()
        return self

    def _make(self, role: str) -> Sandbox:
        if self.systems[role] == "salesforce":  # change events arrive within half a second in the story
            from q2c.sandboxes.salesforce.app import create_sandbox as salesforce_sandbox

            return salesforce_sandbox(long_poll_seconds=0.5)
        return make_sandbox(self.systems[role])

    def label(self, role: str) -> str:
        return sandbox_spec(self.systems[role]).label

    @property
    def crm(self) -> Sandbox:
        return self.boxes["crm"]

    @property
    def tracker(self) -> Sandbox:
        return self.boxes["tracker"]

    @property
    def erp(self) -> Sandbox:
        return self.boxes["erp"]

    @property
    def salesforce(self) -> SalesforceSandbox:
        return _as(self.crm, SalesforceSandbox)

    @property
    def harvest(self) -> HarvestSandbox:
        return _as(self.tracker, HarvestSandbox)

    @property
    def netsuite(self) -> NetSuiteSandbox:
        return _as(self.erp, NetSuiteSandbox)

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
        self.ids.update(seed_demo(self.boxes))

    def log_time(self, who: str, task: str, day: str, hours: str, *, notes: str = "", project_code: str = "P-") -> int:
        """A person logs time in the tracker on the demo project, or the one whose code starts with
        `project_code` (as they would in the tracker's app); the tracker's id of the entry."""
        return int(self.scenario["tracker"].log_time(self.tracker, person=self.ids[f"person:{who}"],
                                                     project_code=project_code, task=task, day=day,
                                                     hours=Decimal(hours), notes=notes))

    def approve(self, *entries: int) -> None:
        self.scenario["tracker"].approve(self.tracker, [str(e) for e in entries])

    def log_the_week(self) -> dict[str, int]:
        e: dict[str, int] = {}
        for i, day in enumerate(("2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06", "2026-11-09")):
            e[f"alice_build_{i}"] = self.log_time("alice", "BUILD", day, "8", notes="Build sprint 1")
        for i, (day, hours) in enumerate((("2026-11-03", "6"), ("2026-11-04", "6.5"), ("2026-11-05", "5.5"))):
            e[f"bob_design_{i}"] = self.log_time("bob", "DESIGN", day, hours, notes="Solution design workshops")
        e["alice_internal"] = self.log_time("alice", "INTERNAL", "2026-11-06", "1.5", notes="Team stand-ups")
        e["carol_build"] = self.log_time("carol", "BUILD", "2026-11-04", "3", notes="Helping out")
        e["bob_travel"] = self.log_time("bob", "TRAVEL", "2026-11-06", "4", notes="Travel to client site")
        approved = list(e.values())
        e["bob_unapproved"] = self.log_time("bob", "BUILD", "2026-11-09", "2", notes="Not yet approved")
        self.approve(*approved)
        return e

    def correct_entry(self, entry_id: int, hours: str) -> None:
        """A timesheet is reopened, corrected and approved again."""
        self.scenario["tracker"].correct(self.tracker, str(entry_id), Decimal(hours))

    def complete_milestone(self) -> None:
        self.scenario["crm"].complete_milestone(self.crm, self.ids["milestone_signoff"], on="2026-11-20")

    def erp_count(self, kind: ErpCount) -> int:
        return int(self.scenario["erp"].count(self.erp, kind))


def _as(box: Sandbox, kind: type[_Box]) -> _Box:
    if not isinstance(box, kind):
        raise TypeError(f"this world runs the {box.name} sandbox, not {kind.__name__}")
    return box


def _entry_id(hub: Hub, *, resource: str, work_date: str) -> str | None:
    """q2c's id of the time entry a person logged on a day (the id the ERP's time record carries)."""
    with hub.engine.connect() as conn:
        for record in records.list_records(conn, entity="time_entry"):
            entry = record.payload.get("entry") or {}
            if entry.get("resource_id") == resource and entry.get("work_date") == work_date:
                return record.canonical_id
    return None


def run_scenario(world: DemoWorld, hub: Hub, *, console: Console | None) -> dict[str, Any]:
    """Run the demo story against a started world; returns the figures the summary prints."""
    out: dict[str, Any] = {}
    say = console.print if console is not None else (lambda *a, **k: None)
    crm, tracker, erp = (world.label(role) for role in ROLES)
    say(f"[bold]1. Deals won in {crm}[/bold]")
    deals = poll_won_deals(hub)
    drain(hub, console=console)
    say(f"   {deals.seen} won deals found, {deals.enqueued} queued for setup")
    say("[bold]   A sales rep overwrites the ERP contract id on the opportunity by hand[/bold]")
    world.scenario["crm"].overwrite_contract_id(world.crm, world.ids["opportunity"], "C-TYPO")
    changes = consume_crm_changes(hub)
    say(f"   {changes.events} change events: {changes.echoes} were q2c's own write-back (ignored), "
        f"{changes.conflicts} ownership conflict(s) raised")
    out["changes"] = changes
    say(f"[bold]2. Consultants log a week of time in {tracker}; the manager approves it[/bold]")
    entries = world.log_the_week()
    out["entries"] = entries
    t = poll_time(hub)
    drain(hub, console=console)
    say(f"   {t.entries} entries read, {t.groups_enqueued} batch(es) delivered")
    say("[bold]3. A correction: Bob's 5.5 h on Nov 5 was really 6 h[/bold]")
    world.correct_entry(entries["bob_design_2"], "6")
    poll_time(hub)
    drain(hub, console=console)
    say(f"[bold]4. The design sign-off milestone is completed in {crm}[/bold]")
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
    say(f"[bold]7. Reconciliation: every record compared across {crm}, {tracker}, {erp} and the revenue "
        "engine[/bold]")
    _say_pairs(say, reconcile(hub))
    say(f"[bold]   Someone deletes one of Alice's time records in {erp} by mistake[/bold]")
    lost = _entry_id(hub, resource="alice@q2c-demo.example", work_date="2026-11-04")
    if lost is not None:
        world.scenario["erp"].delete_timebill(world.erp, lost)
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
    with hub.engine.connect() as conn:
        invoices = records.list_records(conn, entity="invoice")
        time_states = records.count_by_state(conn, entity="time_entry")
        revenue = records.list_records(conn, entity="revenue_recognition")
        open_exceptions = exception_store.search(conn)
        chain = audit.verify(conn)
        timebill_links = links.count(conn, entity="time_entry", system=world.systems["erp"])
    return {
        "labels": {role: world.label(role) for role in ROLES},
        "erp": {kind: world.erp_count(kind) for kind in ("customer", "project", "task", "contract", "timebill",
                                                         "invoice", "journal_entry")},
        "tracker_projects": world.scenario["tracker"].projects(world.tracker, code_prefix="P-"),
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
    erp, labels = figures["erp"], figures["labels"]
    table.add_row(f"{labels['erp']} customers (with parent)", str(erp["customer"]))
    table.add_row(f"{labels['erp']} contracts (sales orders)", str(erp["contract"]))
    table.add_row(f"{labels['erp']} projects / tasks", f"{erp['project']} / {erp['task']}")
    table.add_row(f"{labels['tracker']} projects set up", str(figures["tracker_projects"]))
    table.add_row(f"time entries posted to {labels['erp']}", str(erp["timebill"]))
    for state, n in sorted(figures["time_states"].items()):
        table.add_row(f"  time entries {state.replace('_', ' ')}", str(n))
    for invoice_id, total in sorted(figures["invoices"].items()):
        table.add_row(f"invoice {invoice_id}", f"USD {total:,.2f}")
    table.add_row("journal entries posted", str(erp["journal_entry"]))
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


def systems_by_role(names: str) -> dict[str, str]:
    """`--systems salesforce,harvest,business_central` as {role: sandbox}: each name's role is its sandbox's;
    a role left out keeps the default (Salesforce, Harvest, NetSuite)."""
    chosen: dict[str, str] = {}
    for name in (n.strip() for n in names.split(",") if n.strip()):
        role = sandbox_spec(name).role
        if role in chosen:
            raise UnknownSandbox(f"--systems names two {role} systems: {chosen[role]} and {name}")
        chosen[role] = name
    return {**DEFAULT_SYSTEMS, **chosen}


def run_demo(console: Console, *, workdir: Path | None = None, systems: Mapping[str, str] | None = None) -> int:
    started = time.monotonic()
    systems = dict(systems or DEFAULT_SYSTEMS)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="q2c-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    labels = ", ".join(sandbox_for(role, systems[role]).label for role in ROLES)
    console.print(f"[bold]q2c demo[/bold]: SQLite at {workdir / 'q2c.sqlite'}, {labels} sandboxes on loopback")
    world = DemoWorld(workdir, systems=systems).start()
    try:
        hub = world.hub()
        run_scenario(world, hub, console=console)
        figures = summary(world, hub)
        print_summary(console, figures, time.monotonic() - started)
        return 0 if figures["audit"][0] else 3
    finally:
        world.stop()
