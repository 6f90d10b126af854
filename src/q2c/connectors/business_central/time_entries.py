"""Rated time as the extension's `timeEntries`, in `$batch` micro-batches of up to `batch_size`.

Before any create, the entries already there are looked up by `externalId` (q2c's time entry id,
unique per company in the extension), so a batch whose answer was lost is never sent twice: the next
look-up finds what it wrote, and only what is still missing is sent again. An entry there already is
changed in place (PATCH, If-Match) when q2c's figures moved, unless it is invoiced: Business Central
refuses to change invoiced time, and that comes back as a violation on that entry alone. Each entry
gets its own `WriteResult`; a refused entry never holds back the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from q2c.connectors.business_central import odata
from q2c.connectors.business_central.client import BatchOp, BusinessCentralClient
from q2c.connectors.business_central.mapping import SYSTEM, code20, money, text
from q2c.domain.violations import Violation
from q2c.engine.errors import TransientError
from q2c.workflows.ports import Timebill, WriteResult

ENTITY_SET = "timeEntries"
EXTERNAL_ID = 50
_COMPARED = ("jobNumber", "jobTaskNumber", "employeeNumber", "postingDate", "quantity", "unitPrice", "unitCost",
             "currencyCode", "chargeable", "description", "serviceOffering", "legalEntity")
TRIES = 3


def time_entry_body(t: Timebill, *, employee_number: str) -> tuple[dict[str, Any], tuple[Violation, ...]]:
    """The entry's body, and warnings for what had to change to fit (notes cut to the description)."""
    notes = " ".join(t.entry.notes.split())
    description = text(notes or f"{t.entry.project_id} {t.entry.task_code}")
    warnings: tuple[Violation, ...] = ()
    if notes and description != notes:
        warnings = (Violation(system=SYSTEM, object="timeEntry", record_id=t.entry.id, field="description",
                              rule="business_central.description_shortened",
                              message=f"the notes ({len(notes)} characters) were cut to the 100 a description holds",
                              action="None needed: q2c keeps the full notes"),)
    body: dict[str, Any] = {
        "externalId": t.entry.id, "jobNumber": code20(t.entry.project_id), "jobTaskNumber": t.entry.task_code,
        "employeeNumber": employee_number, "postingDate": t.entry.work_date.isoformat(), "quantity": t.rated.hours,
        "unitPrice": t.rated.rate.amount, "currencyCode": t.rated.rate.currency, "chargeable": t.rated.billable,
        "description": description, "serviceOffering": (t.service_offering or "").upper()[:20],
        "legalEntity": (t.legal_entity or "").upper()[:20],
        "unitCost": t.rated.cost_rate.amount if t.rated.cost_rate is not None else Decimal(0)}
    return body, warnings


def _same(held: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    for key in _COMPARED:
        have, want = held.get(key), body.get(key)
        if isinstance(want, Decimal):
            if not isinstance(have, int | float | Decimal) or money(Decimal(str(have))) != money(want):
                return False
        elif str(have or "").upper() != str(want or "").upper():
            return False
    return True


def _refusal(entry_id: str, answer_body: Any, status: int) -> Violation:
    error = odata.parse_error(answer_body, status)
    invoiced = "invoiced" in error.message.lower()
    return Violation(
        system=SYSTEM, object="timeEntry", record_id=entry_id, field=error.field or ("invoiced" if invoiced else None),
        rule="business_central.time_entry_invoiced" if invoiced else f"business_central.refused.{error.code.lower()}",
        message=f"Business Central refused time entry {entry_id}: {error.message} ({error.code})",
        action=("The time is on a posted sales invoice in Business Central; credit the invoice in q2c to change it"
                if invoiced else "Correct the entry or the job, task or employee it names, then replay"))


class TimeEntryWriter:
    def __init__(self, client: BusinessCentralClient) -> None:
        self.client = client

    def write(self, company: str, bodies: Mapping[str, dict[str, Any]],
              warnings: Mapping[str, tuple[Violation, ...]]) -> list[WriteResult]:
        """Write each entry (entry id -> body) to the company; a result for every entry."""
        results: dict[str, WriteResult] = {}
        for entry_id in bodies:
            if len(entry_id) > EXTERNAL_ID:
                results[entry_id] = WriteResult(entry_id, None, Violation(
                    system="q2c", object="time_entry", record_id=entry_id, field="id",
                    rule="business_central.external_id_too_long",
                    message=f"the entry id has {len(entry_id)} characters; externalId holds {EXTERNAL_ID}",
                    action="Report it: the time tracker's ids are expected to fit"))
        pending = {k: v for k, v in bodies.items() if k not in results}
        for attempt in range(TRIES):
            if not pending:
                break
            held = {str(r.get("externalId")): r for r in self.client.find_many(
                company, ENTITY_SET, "externalId", list(pending), extension=True)}
            ops: list[tuple[str, BatchOp]] = []
            base = self.client.company_path(company, ENTITY_SET)
            for entry_id, body in pending.items():
                row = held.get(entry_id)
                if row is None:
                    ops.append((entry_id, BatchOp("POST", base, body=body)))
                elif _same(row, body):
                    results[entry_id] = WriteResult(entry_id, str(row["id"]), warnings=warnings.get(entry_id, ()))
                else:
                    changes = {k: body[k] for k in _COMPARED if k in body}
                    ops.append((entry_id, BatchOp("PATCH", f"{base}({row['id']})", body=changes,
                                                  headers={"If-Match": odata.etag(row)})))
            pending = {}
            if not ops:
                break
            try:
                answers = self.client.batch([op for _, op in ops], extension=True)
            except TransientError:
                if attempt == TRIES - 1:
                    raise
                pending = {entry_id: bodies[entry_id] for entry_id, _ in ops}  # look up what the batch did
                continue
            for (entry_id, _), answer in zip(ops, answers, strict=True):
                if answer.status < 300 and isinstance(answer.body, dict) and answer.body.get("id"):
                    results[entry_id] = WriteResult(entry_id, str(answer.body["id"]),
                                                    warnings=warnings.get(entry_id, ()))
                elif answer.status in (400, 409, 412, 422) and isinstance(answer.body, dict) and "error" in answer.body:
                    if answer.status == 412:
                        pending[entry_id] = bodies[entry_id]  # changed meanwhile: read it again
                        continue
                    results[entry_id] = WriteResult(entry_id, None, _refusal(entry_id, answer.body, answer.status))
                else:
                    pending[entry_id] = bodies[entry_id]  # throttled or failed inside the batch: look up, resend
        if pending:
            raise TransientError(SYSTEM, f"{len(pending)} time entries could not be written yet; will retry")
        return [results[k] for k in bodies]
