"""NetSuite's rows and records, read back for reconciliation, as the port's `ErpTimebill` and `ErpDocument`.

Pure functions: no I/O. Each undoes what `mapping` wrote, so the two sides of a reconciliation
compare in canonical terms:

* a timebill's `customer` is the job's internal id, mapped to the job's external id (q2c's project
  id); its `casetaskevent` is the project task, whose external id q2c writes as
  `<project id>-<task code>` (`task_to_projecttask`, `Task.id`), so the code is what follows the
  project id. A task a person made in NetSuite has no such id: its title stands for its code.
* `hours` is a decimal number of hours as q2c writes it; NetSuite's Duration field may also show
  `H:MM`, read as hours to the hundredth (how time trackers report them).
* a credit memo holds the credit note's lines as positive amounts (`credit_note_to_netsuite`); read
  back, its quantities, amounts and total are negated again, as q2c holds the credit note.
* invoice and credit memo status map to `InvoiceStatus` through `InvoiceState`; sales orders and
  journal entries keep NetSuite's own status word.

A value that cannot be read is refused naming the record and the field, never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from q2c.connectors.netsuite.client import suiteql_date
from q2c.connectors.netsuite.mapping import transaction_state_from_netsuite
from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected
from q2c.workflows.ports import ErpDocument, ErpDocumentKind, ErpLine, ErpTimebill

SYSTEM = "netsuite"
_HUNDREDTH = Decimal("0.01")
# the record type q2c writes each kind of document as (for errors and the record service)
RECORD_TYPES: dict[ErpDocumentKind, str] = {"contract": "salesorder", "invoice": "invoice",
                                            "credit_note": "creditmemo", "journal_entry": "journalentry"}


@dataclass(frozen=True)
class ProjectTask:
    """A `projecttask` row: its external id (None: a person's task), title and job (internal id)."""

    external_id: str | None
    title: str
    project: str | None


def unreadable(record_type: str, record_id: str, field: str, message: str) -> RecordRejected:
    return RecordRejected(Violation(
        system=SYSTEM, object=record_type, record_id=record_id, field=field,
        rule="netsuite.mapping.read_unreadable", message=f"{record_type} {record_id}: {message}",
        action=f"Correct {field} of {record_type} {record_id} in NetSuite, then run the reconciliation again"))


def duration_hours(text: str) -> Decimal:
    """Hours from NetSuite's Duration: a decimal ("1.5", ".5": Oracle drops the leading 0) or H:MM ("1:30")."""
    value = text.strip()
    if ":" in value:
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(minutes) < 60):
            raise ValueError(f"{text!r} is not a duration")
        return (Decimal(int(hours) * 60 + int(minutes)) / 60).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number of hours") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{text!r} is not a number of hours")
    return number


def task_code(task: ProjectTask, project_id: str | None) -> str:
    """The task's code: what follows `<project id>-` in its external id; else its external id, or its title."""
    external = task.external_id
    if external is not None and project_id is not None and external.startswith(f"{project_id}-"):
        return external.removeprefix(f"{project_id}-")
    return external or task.title


def _decimal(value: Any, *, record_type: str, record_id: str, field: str) -> Decimal:
    """A number as SuiteQL (text) or the record service (JSON number, read as Decimal or int) gives it."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise unreadable(record_type, record_id, field, f"{field} is {value!r}, not a number")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise unreadable(record_type, record_id, field, f"{field} is {value!r}, not a number") from None
    if not number.is_finite():
        raise unreadable(record_type, record_id, field, f"{field} is {value!r}, not a number")
    return number


def _optional(value: Any, *, record_type: str, record_id: str, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return _decimal(value, record_type=record_type, record_id=record_id, field=field)


def timebill_from_netsuite(row: Mapping[str, str], *, jobs: Mapping[str, str],
                           tasks: Mapping[str, ProjectTask]) -> ErpTimebill:
    """One `timebill` row (id, externalid, customer, casetaskevent, trandate, hours, rate, isbillable,
    billed); `jobs` maps q2c's jobs' internal ids to their external ids, `tasks` the project tasks by id."""
    entry = row.get("externalid") or ""
    if not entry:
        raise unreadable("timebill", row.get("id", "?"), "externalid", "the timebill has no external id")
    work_date = suiteql_date(row.get("trandate"))
    if work_date is None:
        raise unreadable("timebill", entry, "trandate", f"trandate {row.get('trandate')!r} is not a date "
                                                        "(expected M/D/YYYY, the account's default, or YYYY-MM-DD)")
    try:
        hours = duration_hours(row.get("hours") or "")
    except ValueError as exc:
        raise unreadable("timebill", entry, "hours", str(exc)) from None
    project_id = jobs.get(row.get("customer") or "")
    task = tasks.get(row.get("casetaskevent") or "")
    return ErpTimebill(
        entry_id=entry, system_id=row["id"], project_id=project_id,
        task_code=task_code(task, jobs.get(task.project or "")) if task is not None else None,
        work_date=work_date, hours=hours,
        rate=_optional(row.get("rate"), record_type="timebill", record_id=entry, field="rate"),
        billable=row.get("isbillable") == "T", billed=row.get("billed") == "T")


# --- documents ------------------------------------------------------------------------------------------


def status_word(code: str | None, display: str | None) -> str | None:
    """NetSuite's own status word: its display name without a leading "Sales Order :" (as BUILTIN.DF may
    show it [from recall]), else the status code as SuiteQL gives it."""
    if display and display.strip():
        return display.split(":")[-1].strip()
    return code or None


def _status(kind: ErpDocumentKind, row: Mapping[str, str], record_id: str) -> str | None:
    if kind not in ("invoice", "credit_note"):
        return status_word(row.get("status"), row.get("statusname"))
    try:
        return transaction_state_from_netsuite(row.get("type", ""), row.get("status", "")).canonical().value
    except ValueError as exc:
        raise unreadable(RECORD_TYPES[kind], record_id, "status", str(exc)) from None


def _sublist(record: Mapping[str, Any], name: str, record_type: str, record_id: str) -> list[Mapping[str, Any]]:
    """The lines of an expanded sublist (none when the record has no such sublist)."""
    sub = record.get(name)
    if sub is None:
        return []
    items = sub.get("items") if isinstance(sub, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(line, Mapping) for line in items):
        raise unreadable(record_type, record_id, name, f"the {name} sublist came back without its lines")
    return items


def _line_number(line: Mapping[str, Any], field: str, *, record_type: str, record_id: str, where: str
                 ) -> Decimal | None:
    return _optional(line.get(field), record_type=record_type, record_id=record_id, field=f"{where}.{field}")


def item_lines(kind: ErpDocumentKind, record: Mapping[str, Any], record_id: str) -> tuple[ErpLine, ...]:
    """Sales order, invoice and credit memo `item` lines; a credit memo's negated back to the credit note's."""
    record_type = RECORD_TYPES[kind]
    sign = -1 if kind == "credit_note" else 1
    lines = []
    for index, line in enumerate(_sublist(record, "item", record_type, record_id)):
        quantity, rate, amount = (_line_number(line, field, record_type=record_type, record_id=record_id,
                                               where=f"item[{index}]") for field in ("quantity", "rate", "amount"))
        lines.append(ErpLine(description=str(line.get("description") or ""),
                             amount=sign * (amount if amount is not None else Decimal(0)),
                             quantity=sign * quantity if quantity is not None else None, rate=rate))
    return tuple(lines)


def _account_id(line: Mapping[str, Any]) -> str | None:
    account = line.get("account")
    return str(account["id"]) if isinstance(account, Mapping) and account.get("id") else None


def journal_lines(record: Mapping[str, Any], record_id: str, accounts: Mapping[str, str]) -> tuple[ErpLine, ...]:
    """Journal entry `line` lines: account number (`accounts`: internal id -> acctnumber), debit, credit,
    and amount = credit - debit."""
    lines = []
    for index, line in enumerate(_sublist(record, "line", "journalentry", record_id)):
        debit, credit = (_line_number(line, field, record_type="journalentry", record_id=record_id,
                                      where=f"line[{index}]") or Decimal(0) for field in ("debit", "credit"))
        account_id = _account_id(line)
        lines.append(ErpLine(description=str(line.get("memo") or ""), amount=credit - debit,
                             account=accounts.get(account_id) if account_id else None, debit=debit, credit=credit))
    return tuple(lines)


def account_ids(record: Mapping[str, Any], record_id: str) -> set[str]:
    """The internal ids of the accounts a journal entry's lines post to."""
    return {found for line in _sublist(record, "line", "journalentry", record_id)
            if (found := _account_id(line)) is not None}


def document_from_netsuite(kind: ErpDocumentKind, row: Mapping[str, str], record: Mapping[str, Any], *,
                           currencies: Mapping[str, str], accounts: Mapping[str, str]) -> ErpDocument:
    """A `transaction` row (id, externalid, type, status, statusname, currency, foreigntotal, trandate) and the
    record read with its sublists expanded, as the document q2c wrote. `currencies` maps currency internal ids
    to ISO codes. A journal's total is the sum of its debits; a credit memo's is negated (see the module)."""
    record_type = RECORD_TYPES[kind]
    external = row.get("externalid") or ""
    currency_id = row.get("currency") or ""
    if currency_id and currency_id not in currencies:
        raise unreadable(record_type, external, "currency",
                         f"currency {currency_id} has no ISO code: add it under netsuite.references.currencies in "
                         "the q2c configuration, or give the currency record its ISO code as symbol")
    if kind == "journal_entry":
        lines = journal_lines(record, external, accounts)
        total = sum((line.debit for line in lines), Decimal(0))
    else:
        lines = item_lines(kind, record, external)
        total = _decimal(row.get("foreigntotal"), record_type=record_type, record_id=external, field="foreigntotal")
        if kind == "credit_note":
            total = -abs(total)  # whichever sign SuiteQL shows a credit memo's total with [not confirmed]
    return ErpDocument(kind=kind, id=external, system_id=row["id"], currency=currencies.get(currency_id),
                       total=total, status=_status(kind, row, external), on=suiteql_date(row.get("trandate")),
                       lines=lines)
