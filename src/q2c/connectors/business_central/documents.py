"""Sales documents (orders, invoices, credit memos) and journal lines: header, lines, dimensions, post.

A document is found by `externalDocumentNumber` (q2c's id) before anything is created. Its lines are
then brought to what q2c wants: when they differ, the old lines are deleted and the wanted ones
added, all in one `$batch`; then each line's dimension set gets what it lacks (service offering, legal
entity). Only then is an invoice or credit memo posted (`Microsoft.NAV.post`). A rerun after any lost
answer finds what was done and does only the rest; a posted document is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from q2c.connectors.business_central import odata
from q2c.connectors.business_central.client import BatchOp, BusinessCentralClient
from q2c.connectors.business_central.mapping import SalesLine, reject
from q2c.engine.errors import TransientError

_LINE_KEY = ("lineType", "lineObjectNumber", "description", "quantity", "unitPrice")


def _decimal(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else value


def line_key(line: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes two lines the same line; a comment is its text (Business Central zeroes its figures)."""
    if line.get("lineType") == "Comment":
        return "Comment", line.get("description")
    return tuple(_decimal(line.get(k)) for k in _LINE_KEY)


class Documents:
    def __init__(self, client: BusinessCentralClient) -> None:
        self.client = client

    def header(self, company: str, entity_set: str, canonical_id: str, body: Mapping[str, Any], *, obj: str
               ) -> dict[str, Any]:
        found, _ = self.client.ensure(company, entity_set, odata.eq("externalDocumentNumber", body[
            "externalDocumentNumber"]), body, obj=obj, record_id=canonical_id)
        return found

    def sync_lines(self, company: str, entity_set: str, document_id: str, line_set: str, wanted: Sequence[SalesLine],
                   *, obj: str, record_id: str) -> list[dict[str, Any]]:
        """The document's lines as `wanted`, then each line's dimensions; returns the lines as held now."""
        path = f"{entity_set}({document_id})/{line_set}"
        current = self.client.rows(company, path)
        if [line_key(c) for c in current] != [line_key(w.body) for w in wanted]:
            base = self.client.company_path(company, path)
            ops = [BatchOp("DELETE", f"{base}({c['id']})", headers={"If-Match": odata.etag(c)}) for c in current]
            ops += [BatchOp("POST", base, body=w.body) for w in wanted]
            answers = self.client.batch(ops)
            self._refused(answers, obj=obj, record_id=record_id)
            current = self.client.rows(company, path)
            if [line_key(c) for c in current] != [line_key(w.body) for w in wanted]:
                raise TransientError("business_central", f"{obj} {record_id}: its lines did not all save; will retry")
        self.sync_dimensions(company, path, current, [w.dimensions for w in wanted], obj=obj, record_id=record_id)
        return current

    def sync_dimensions(self, company: str, path: str, lines: Sequence[Mapping[str, Any]],
                        wanted: Sequence[Sequence[tuple[str, str]]], *, obj: str, record_id: str) -> None:
        """Each line's dimension set lines: the codes it lacks are added, a wrong value is changed."""
        if not any(wanted):
            return
        base = self.client.company_path(company, path)
        reads = [BatchOp("GET", f"{base}({line['id']})/dimensionSetLines") for line, dims in zip(lines, wanted,
                                                                                                 strict=True) if dims]
        held = iter(self.client.batch(reads))
        ops: list[BatchOp] = []
        for line, dims in zip(lines, wanted, strict=True):
            if not dims:
                continue
            answer = next(held)
            if answer.status >= 300 or not isinstance(answer.body, dict):
                raise TransientError("business_central", f"{obj} {record_id}: dimension set unreadable "
                                                         f"(HTTP {answer.status})")
            have = {str(d.get("code", "")).upper(): d for d in answer.body.get("value", []) if isinstance(d, dict)}
            url = f"{base}({line['id']})/dimensionSetLines"
            for code, value in dims:
                now = have.get(code.upper())
                if now is None:
                    ops.append(BatchOp("POST", url, body={"code": code, "valueCode": value}))
                elif str(now.get("valueCode", "")).upper() != value.upper():
                    ops.append(BatchOp("PATCH", f"{url}({now['id']})", body={"valueCode": value},
                                       headers={"If-Match": odata.etag(now)}))
        if ops:
            self._refused(self.client.batch(ops), obj=obj, record_id=record_id)

    def _refused(self, answers: Sequence[Any], *, obj: str, record_id: str) -> None:
        for answer in answers:
            if answer.status >= 500 or answer.status == 429:
                raise TransientError("business_central", f"{obj} {record_id}: $batch operation HTTP {answer.status}")
            if answer.status >= 400 and answer.status != 404:
                error = odata.parse_error(answer.body, answer.status)
                raise reject(obj, record_id, error.field, "refused." + error.code.lower(),
                             f"Business Central refused {obj} {record_id}: {error.message} ({error.code})",
                             "Correct the record or the company's set-up the message names, then replay")

    def post(self, company: str, entity_set: str, document: Mapping[str, Any], *, obj: str, record_id: str
             ) -> dict[str, Any]:
        """Post a draft; a post whose answer was lost is settled by reading the document back."""
        url = self.client.url(company, entity_set, str(document["id"]))
        try:
            self.client.action(url, "post", obj=obj, record_id=record_id)
        except TransientError:
            again = self.client.find(company, entity_set, odata.eq("externalDocumentNumber",
                                                                   str(document["externalDocumentNumber"])))
            if again is None or str(again.get("status")) in ("Draft", "In Review"):
                raise
            return again
        posted = self.client.find(company, entity_set, odata.eq("externalDocumentNumber",
                                                                str(document["externalDocumentNumber"])))
        if posted is None:
            raise TransientError("business_central", f"{obj} {record_id}: posted, but not found afterwards")
        return posted

    # --- journal ----------------------------------------------------------------------------------------
    def sync_journal(self, company: str, journal_id: str, document_number: str, wanted: Sequence[SalesLine], *,
                     record_id: str) -> None:
        """The batch's lines of this document no. as `wanted` (others' lines are left alone), with dimensions."""
        path = f"journals({journal_id})/journalLines"
        mine = odata.eq("documentNumber", document_number)
        current = self.client.rows(company, path, filter=mine)
        if [_journal_key(c) for c in current] != [_journal_key(w.body) for w in wanted]:
            base = self.client.company_path(company, path)
            ops = [BatchOp("DELETE", f"{base}({c['id']})", headers={"If-Match": odata.etag(c)}) for c in current]
            ops += [BatchOp("POST", base, body=w.body) for w in wanted]
            self._refused(self.client.batch(ops), obj="journal_entry", record_id=record_id)
            current = self.client.rows(company, path, filter=mine)
            if [_journal_key(c) for c in current] != [_journal_key(w.body) for w in wanted]:
                raise TransientError("business_central", f"journal entry {record_id}: its lines did not all save")
        self.sync_dimensions(company, path, current, [w.dimensions for w in wanted], obj="journal_entry",
                             record_id=record_id)

    def post_journal(self, company: str, journal: Mapping[str, Any], document_number: str, *, record_id: str) -> None:
        """Post the batch; an answer that was lost is settled by the G/L entries the document no. has."""
        url = self.client.url(company, "journals", str(journal["id"]))
        posted = odata.eq("documentNumber", document_number)
        try:
            self.client.action(url, "post", obj="journal_entry", record_id=record_id)
        except TransientError:
            if self.client.find(company, "generalLedgerEntries", posted) is None:
                raise
        if self.client.find(company, "generalLedgerEntries", posted) is None:
            raise TransientError("business_central", f"journal entry {record_id}: posted, but no G/L entries yet")


def _journal_key(line: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(_decimal(line.get(k)) for k in ("accountNumber", "postingDate", "amount", "description"))
