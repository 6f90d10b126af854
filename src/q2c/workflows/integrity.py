"""The controller's rules, checked on what the hub holds for a contract (see `q2c.domain.integrity`).

The billing run checks them before it writes anything for a contract; the revenue close checks that
the GL equals the engine before it posts. Tests run them after every step of a deal's life.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Connection

from q2c.domain.billing import RatedTime
from q2c.domain.integrity import HeldTime, Standing, billing_balance, rate_drift, unaccounted_time
from q2c.domain.model import Contract, Invoice, Project, TimeEntryStatus
from q2c.domain.violations import Violation
from q2c.store import exceptions as exception_store
from q2c.store import records
from q2c.workflows.time_approved import BILLED, ENTITY, INVALID, OVER_CAP, SYNCED

_STANDING = {SYNCED: Standing.UNBILLED, OVER_CAP: Standing.UNBILLED, BILLED: Standing.BILLED, INVALID: Standing.HELD}


def held_time(conn: Connection, project: Project) -> list[HeldTime]:
    """Every approved entry of the project as the hub holds it (entries waiting for approval are left out)."""
    rows = records.list_records(conn, entity=ENTITY, aggregate=f"project:{project.id}")
    named = exception_store.open_subject_ids(conn, entity=ENTITY, record_ids=[r.canonical_id for r in rows],
                                             in_flight=True)
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
    return [*unaccounted_time(time, where=f"contract {contract.id}"), *billing_balance(contract, time, invoices),
            *rate_drift(contract, time)]


def all_violations(conn: Connection) -> list[Violation]:
    """Rules 1 and 3 for every contract the hub holds."""
    return [v for r in records.list_records(conn, entity="contract")
            for v in contract_violations(conn, Contract.model_validate(r.payload))]
