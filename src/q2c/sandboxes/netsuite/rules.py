"""What NetSuite refuses on save even when every field is well formed.

These are the refusals that bite an integration in production: billed time cannot change, a
closed project takes no time, a task must belong to the project the time is for, an inactive
employee logs nothing, a time entry is more than 0 and at most 24 hours, a journal entry
has at least two lines whose debits equal its credits, a voided transaction no longer changes
(N/transaction: after a void nothing that touches the general ledger may be changed), and a
credit memo or customer payment applies only to an invoice that is not voided, never more than
the invoice still owes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from q2c.sandboxes.netsuite.errors import Problem
from q2c.sandboxes.netsuite.records import CLOSED_JOB_STATUS, VOIDED, RecordSchema, StoredRecord

Records = Mapping[str, Mapping[str, StoredRecord]]  # record type -> internal id -> record


def save_problems(schema: RecordSchema, values: Mapping[str, Any], existing: StoredRecord | None,
                  records: Records) -> list[Problem]:
    """The rules a save breaks, given the values written over what the record already holds."""
    if existing is not None and existing.locked:
        return [Problem("rule", None, f"This {schema.type} has been billed and can no longer be changed.")]
    if existing is not None and existing.status == VOIDED:  # wording from recall
        return [Problem("rule", None, f"This {schema.type} has been voided and can no longer be changed.")]
    merged = {**(existing.values if existing is not None else {}), **values}
    if schema.type in ("creditmemo", "customerpayment"):
        return _applications(merged, existing, records)
    if schema.type == "journalentry":
        return _journal(merged)
    if schema.type == "timebill":
        return _hours(merged) + _project_open(merged, records) + _task_on_project(merged, records) \
            + _employee_active(merged, records)
    return []


def _hours(time: Mapping[str, Any]) -> list[Problem]:
    hours = time.get("hours")
    if isinstance(hours, Decimal) and not Decimal(0) < hours <= Decimal(24):
        return [Problem("bad_value", "hours", f"Invalid value for field hours: {hours} "
                                              "(a time entry takes more than 0 and at most 24 hours).")]
    return []


def _project_open(time: Mapping[str, Any], records: Records) -> list[Problem]:
    project = time.get("customer")
    job = records["job"].get(project) if isinstance(project, str) else None
    if job is None or job.values.get("entitystatus") != CLOSED_JOB_STATUS:
        return []
    name = job.values.get("companyname", job.id)
    return [Problem("rule", "customer", f"The project {name} is closed; time cannot be entered against it.")]


def _task_on_project(time: Mapping[str, Any], records: Records) -> list[Problem]:
    task_id = time.get("casetaskevent")
    task = records["projecttask"].get(task_id) if isinstance(task_id, str) else None
    if task is None or task.values.get("project") == time.get("customer"):
        return []
    return [Problem("rule", "caseTaskEvent", f"The task {task.values.get('title')} does not belong to the project "
                                             "given in customer.")]


def _employee_active(time: Mapping[str, Any], records: Records) -> list[Problem]:
    employee_id = time.get("employee")
    employee = records["employee"].get(employee_id) if isinstance(employee_id, str) else None
    if employee is not None and employee.values.get("isinactive") is True:
        return [Problem("rule", "employee", "The employee is inactive.")]
    return []


def _journal(entry: Mapping[str, Any]) -> list[Problem]:
    lines = entry.get("line") or []
    if len(lines) < 2:
        return [Problem("rule", "line", "A journal entry needs at least two lines.")]
    debit = sum((line.get("debit") or Decimal(0) for line in lines), Decimal(0))
    credit = sum((line.get("credit") or Decimal(0) for line in lines), Decimal(0))
    if debit != credit:
        return [Problem("rule", "line", f"The total of debit lines ({debit}) must equal the total of credit lines "
                                        f"({credit}).")]
    return []


def applied_to(invoice_id: str, records: Records, *, leaving_out: str | None = None) -> Decimal:
    """What credit memos and customer payments apply to an invoice (but the document `leaving_out`)."""
    total = Decimal(0)
    for rtype in ("creditmemo", "customerpayment"):
        for doc in records[rtype].values():
            if doc.id == leaving_out or doc.status == VOIDED:
                continue
            total += sum((line.get("amount") or Decimal(0) for line in doc.values.get("apply") or []
                          if line.get("apply") is True and line.get("doc") == invoice_id), Decimal(0))
    return total


def _applications(doc: Mapping[str, Any], existing: StoredRecord | None, records: Records) -> list[Problem]:
    problems: list[Problem] = []
    for index, line in enumerate(doc.get("apply") or []):
        if line.get("apply") is not True:
            continue
        where = f"apply.items[{index}]"
        invoice = records["invoice"].get(str(line.get("doc")))
        amount = line.get("amount")
        if invoice is None:
            continue  # a key that points nowhere was refused when it was read
        if invoice.status == VOIDED:
            problems.append(Problem("rule", f"{where}.doc", f"Invoice {invoice.tran_id} is voided: nothing can be "
                                                            "applied to it."))
            continue
        total = sum((item.get("amount") or Decimal(0) for item in invoice.values.get("item") or []), Decimal(0))
        due = total - applied_to(invoice.id, records, leaving_out=existing.id if existing is not None else None)
        if not isinstance(amount, Decimal) or amount <= 0 or amount > due:
            problems.append(Problem("bad_value", f"{where}.amount",
                                    f"Invalid value for field {where}.amount: {amount} (invoice {invoice.tran_id} "
                                    f"has {due} due)."))
    return problems
