"""The controller's rules, checked on what the hub holds for a contract (see `q2c.domain.integrity`).

The billing run checks rules 1 and 3 before it writes anything for a contract; the revenue close
checks rule 2 (the GL equals the engine) before it posts; `q2c close` reports all three at the end.
Tests run them after every step of a deal's life.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Connection

from q2c.domain.billing import RatedTime
from q2c.domain.integrity import HeldTime, Standing, billing_balance, rate_drift, unaccounted_time
from q2c.domain.model import Contract, Invoice, JournalEntry, Project, TimeEntryStatus
from q2c.domain.money import Money
from q2c.domain.revenue import AccountMap, Period
from q2c.domain.violations import Violation
from q2c.store import exceptions as exception_store
from q2c.store import records, reference, time_entries
from q2c.store.time_entries import BILLED, INVALID, OVER_CAP, SYNCED

JOURNAL = "journal_entry"
RECOGNITION = "revenue_recognition"
POSTED, KEPT = "posted", "kept"  # a journal entry's states: posted to the ERP; kept in q2c's books only
IN_THE_BOOKS = (POSTED, KEPT)
_STANDING = {SYNCED: Standing.UNBILLED, OVER_CAP: Standing.UNBILLED, BILLED: Standing.BILLED, INVALID: Standing.HELD}


def held_time(conn: Connection, project: Project) -> list[HeldTime]:
    """Every approved entry of the project as the hub holds it (entries waiting for approval are left out)."""
    rows = time_entries.of_project(conn, project.id)
    named = exception_store.open_subject_ids(conn, entity=time_entries.ENTITY,
                                             record_ids=[r.canonical_id for r in rows], in_flight=True)
    phase_of = {t.code: t.phase_id for t in project.tasks}
    out = []
    for r in rows:
        standing = _STANDING.get(r.state)
        entry = r.payload.get("entry", {})
        if standing is None or (standing is Standing.HELD and entry.get("status") != TimeEntryStatus.APPROVED.value):
            continue
        rated = RatedTime.model_validate(r.payload["rated"]) if "rated" in r.payload else None
        out.append(HeldTime(entry_id=r.canonical_id, standing=standing, rated=rated,
                            phase_id=phase_of.get(str(entry.get("task_code"))),
                            held_back=Decimal(r.payload.get("held_back", "0")), over_cap=r.state == OVER_CAP,
                            named=r.canonical_id in named))
    return out


def contract_violations(conn: Connection, contract: Contract) -> list[Violation]:
    """Rules 1 and 3 for one contract, on the hub's own records."""
    project = next((Project.model_validate(r.payload) for r in
                    records.list_records(conn, entity="project", aggregate=f"contract:{contract.id}")), None)
    if project is None:
        return []
    invoices = [Invoice.model_validate(r.payload) for r in
                records.list_records(conn, entity="invoice", aggregate=f"contract:{contract.id}")]
    time = held_time(conn, project)
    in_force = reference.rate_card(conn, contract.rate_card.id)  # the card the time is rated with, not the one agreed
    return [*unaccounted_time(time, where=f"contract {contract.id}"), *billing_balance(contract, time, invoices),
            *rate_drift(contract, time, in_force)]


def all_violations(conn: Connection) -> list[Violation]:
    """Rules 1 and 3 for every contract the hub holds."""
    return [v for r in records.list_records(conn, entity="contract")
            for v in contract_violations(conn, Contract.model_validate(r.payload))]


def revenue_accounts(accounts: AccountMap) -> set[str]:
    return {accounts.revenue, *accounts.revenue_by_service_line.values(), *accounts.revenue_by_method.values()}


def posted_revenue(conn: Connection, contract_id: str, currency: str, accounts: AccountMap,
                   *, before: Period | None = None) -> Money:
    """Revenue in the journal entries q2c booked for the contract (credits less debits on revenue accounts):
    posted to the ERP, or kept in q2c's books where the ERP posts only the entity-currency copy."""
    total = Money.zero(currency)
    names = revenue_accounts(accounts)
    for r in records.list_records(conn, entity=JOURNAL, aggregate=f"contract:{contract_id}",
                                  states=list(IN_THE_BOOKS)):
        entry = JournalEntry.model_validate(r.payload)
        if before is not None and Period.of(entry.entry_date) >= before:
            continue
        for line in entry.lines:
            if line.account in names and line.credit.currency == currency:
                total = total + line.credit - line.debit
    return total


def recognised_to_date(conn: Connection, contract: Contract, *, before: Period | None = None) -> Money:
    """What the revenue engine recognised for the contract in the periods posted (before `before`)."""
    best = None
    for r in records.list_records(conn, entity=RECOGNITION, aggregate=f"contract:{contract.id}", states=["posted"]):
        label = str(r.payload.get("period", ""))
        if (before is None or label < before.label) and (best is None or label > best.payload["period"]):
            best = r
    return Money.zero(contract.currency) if best is None else Money.of(best.payload["cumulative"], contract.currency)


def gl_violation(contract: Contract, *, engine_cumulative: Money, posted: Money, period: Period | None) -> \
        Violation | None:
    """Rule 2: revenue in the posted journal entries is what the engine recognised (up to `period`)."""
    if posted == engine_cumulative:
        return None
    diff = engine_cumulative - posted
    when = f" before {period}" if period is not None else ""
    consequence = f"; nothing was posted for {period}" if period is not None else ""
    return Violation(
        system="q2c", object="contract", record_id=contract.id, field="revenue", rule="integrity.gl_mismatch",
        message=f"journal entries posted for {contract.id}{when} hold revenue {posted}, but the revenue engine "
                f"recognised {engine_cumulative}: {diff} apart{consequence}",
        action="Compare the contract's revenue journal entries in the ERP with `q2c revenue explain`; correct the "
               "journal in the ERP or restore the posted recognition, then replay")


def hub_violations(conn: Connection, accounts: AccountMap) -> list[Violation]:
    """All three rules for every contract the hub holds: what `q2c close` reports when it is done."""
    out: list[Violation] = []
    for r in records.list_records(conn, entity="contract"):
        contract = Contract.model_validate(r.payload)
        out += contract_violations(conn, contract)
        gl = gl_violation(contract, engine_cumulative=recognised_to_date(conn, contract),
                          posted=posted_revenue(conn, contract.id, contract.currency, accounts), period=None)
        if gl is not None:
            out.append(gl)
    return out
