"""Billing a retainer phase: each month of its term, once, in arrears, with the month's drawdown.

`billing_run.bill_contract` hands each retainer phase here. The arithmetic is the domain's
(`domain.billing.retainers.bill_retainer`); this module gathers what it needs from the hub:

* the phase's unbilled time: approved, rated entries on the phase's own tasks (an entry another open
  exception holds waits, as for time and materials);
* the entries already billed on the phase's invoices, so the months billed before are replayed and the
  balances they roll over are carried into the months this run settles.

Every month that has ended by the date asked for and is not billed yet goes on one invoice,
`INV-<phase>-<yyyymmdd>` (then `-2`, ... on the same day), dated as the run dates its invoices. A
month's fee line carries the instalment id `<phase>-<n>`, so a re-run never bills a month twice; the
entries the month drew are listed on its lines and recorded as billed on the invoice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from q2c.domain.billing import BillingError, RatedTime, unique_invoice_id
from q2c.domain.billing.retainers import bill_retainer
from q2c.domain.model import Contract, ContractPhase, Invoice, Project
from q2c.domain.revenue.contracts import overage_obligation_id
from q2c.domain.violations import Violation
from q2c.engine.errors import Rejected
from q2c.store import records, time_entries
from q2c.workflows.hub import Hub


@dataclass(frozen=True)
class RetainerBilled:
    """One run's invoice for a retainer phase (None when no month is due) and the entries it bills."""

    invoice: Invoice | None
    entry_ids: tuple[str, ...]
    explanation: str


def billed_time(hub: Hub, phase: ContractPhase, invoices: Sequence[Invoice]) -> dict[str, RatedTime]:
    """The rated entries on the phase's invoice lines (fee and overage), as the hub's time ledger holds them."""
    keys = {phase.id, overage_obligation_id(phase.id)}
    ids = sorted({e for inv in invoices if inv.kind == "invoice" for line in inv.lines if line.phase_id in keys
                  for e in line.time_entry_ids})
    if not ids:
        return {}
    with hub.engine.connect() as conn:
        found = records.get_records(conn, entity=time_entries.ENTITY, canonical_ids=ids)
    return {entry_id: RatedTime.model_validate(r.payload["rated"]) for entry_id, r in found.items()
            if "rated" in r.payload}


def bill_retainer_phase(hub: Hub, contract: Contract, phase: ContractPhase, project: Project | None,
                        invoices: Sequence[Invoice], rated: Sequence[RatedTime], taken: set[str], *, asked: date,
                        post_date: date) -> RetainerBilled:
    """The months of `phase` due by `asked`, on one invoice dated `post_date`; `taken` gains its id."""
    tasks = {t.code for t in project.tasks if t.phase_id == phase.id} if project is not None else set()
    offered = [r for r in rated if r.task_code in tasks]
    try:
        run = bill_retainer(invoice_id=unique_invoice_id(f"INV-{phase.id}-{post_date:%Y%m%d}", taken),
                            contract=contract, phase=phase, invoices=invoices, rated=offered,
                            billed_time=billed_time(hub, phase, invoices), as_of=asked, invoice_date=post_date)
    except BillingError as exc:
        raise Rejected([Violation(
            system="q2c", object="contract", record_id=contract.id, field=f"phases[{phase.id}]",
            rule="billing.retainer_refused", message=f"retainer '{phase.name}' cannot be billed: {exc}",
            action="Correct the retainer's terms or time that the message names (the deal's line in the CRM, or "
                   "the entries in the time tracker), then replay")]) from None
    if run.invoice is not None:
        taken.add(run.invoice.id)
    return RetainerBilled(run.invoice, run.entry_ids, run.explanation)
