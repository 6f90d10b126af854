"""Reconciliation reads against the sandbox: what q2c wrote through the ERP port comes back through `timebills()`
and `documents()` field for field, fresh after a person's edits in NetSuite, paged past the SuiteQL cap, and
limited to q2c's records (an external id) and to the projects or ids asked for."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import httpx
import pytest
from netsuite_fixtures import ClientFactory, seed_project
from netsuite_records import contract, customer, invoice, journal_entry, project, timebill

from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.erp import NetSuiteErp
from q2c.connectors.netsuite.reads import NetSuiteReads
from q2c.domain.billing.credit_notes import credit_note
from q2c.domain.model import InvoiceStatus
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import RECORD_PATH, NetSuiteSandbox
from q2c.workflows.ports import ErpDocument, ErpLine, ErpTimebill

WORKED = date(2026, 11, 3)


@pytest.fixture
def erp(make_client: ClientFactory, sandbox: NetSuiteSandbox) -> NetSuiteErp:
    """Customers, projects (with tasks BUILD and PM) and the contract of deal 1, written through the port."""
    seed_project(sandbox, customer="CUST-SEED", project="PRJ-SEED")  # and the employee ada0@firm.example
    adapter = NetSuiteErp(make_client())
    for n in ("1", "2"):
        adapter.upsert_customer(customer(n))
        adapter.upsert_project(project(n), contract(n))
    return adapter


class Person:
    """Someone editing records in NetSuite: plain REST calls with the account's token, nothing of q2c's client."""

    def __init__(self, server: SandboxServer, sandbox: NetSuiteSandbox, client: NetSuiteClient) -> None:
        client.get("currency", "1")  # a token exists once the connector has signed in
        self.url = server.url + RECORD_PATH
        self.headers = {"Authorization": f"Bearer {next(iter(sandbox.state.tokens))}",
                        "Content-Type": "application/json"}

    def patch(self, path: str, body: str) -> None:
        answer = httpx.patch(f"{self.url}/{path}", headers=self.headers, content=body.encode())
        assert answer.status_code == 204, answer.text

    def delete(self, path: str) -> None:
        answer = httpx.delete(f"{self.url}/{path}", headers=self.headers)
        assert answer.status_code == 204, answer.text


def _all(erp: NetSuiteErp, project_ids: list[str] | None = None) -> dict[str, ErpTimebill]:
    return {t.entry_id: t for page in erp.timebills(project_ids) for t in page}


def _ids(sandbox: NetSuiteSandbox, record_type: str, external_id: str) -> str:
    return sandbox.state.external[record_type][external_id]


def test_timebills_come_back_field_for_field_and_fresh_after_a_person_s_edits(
        erp: NetSuiteErp, sandbox: NetSuiteSandbox, server: SandboxServer) -> None:
    written = {r.canonical_id: r.external_id for r in erp.upsert_timebills([
        timebill("HV-1", hours="1.5"), timebill("HV-2", hours="2.25"), timebill("HV-3", project_id="P-2",
                                                                               hours="0.75")])}
    job, employee = _ids(sandbox, "job", "P-1"), sandbox.state.external["employee"]["EMP-0"]
    sandbox.state.seed("timebill", {"employee": employee, "customer": job, "hours": Decimal(3),
                                    "tranDate": "2026-11-04"})  # a person's own time: no external id
    writes = dict(sandbox.state.writes)

    def bill(entry: str, project_id: str, hours: str) -> ErpTimebill:
        return ErpTimebill(entry_id=entry, system_id=str(written[entry]), project_id=project_id, task_code="BUILD",
                           work_date=WORKED, hours=Decimal(hours), rate=Decimal("180.00"), billable=True,
                           billed=False)

    assert _all(erp) == {"HV-1": bill("HV-1", "P-1", "1.5"), "HV-2": bill("HV-2", "P-1", "2.25"),
                         "HV-3": bill("HV-3", "P-2", "0.75")}
    assert set(_all(erp, ["P-2"])) == {"HV-3"} and set(_all(erp, ["P-1", "P-1"])) == {"HV-1", "HV-2"}
    assert _all(erp, ["P-404"]) == {} and _all(erp, []) == {}

    person = Person(server, sandbox, erp.client)
    qa = sandbox.state.seed("projecttask", {"title": "QA Testing", "project": job})  # a person's task
    person.patch(f"timebill/{written['HV-1']}", f'{{"hours": 2.5, "isBillable": false, "caseTaskEvent": "{qa}"}}')
    person.delete(f"timebill/{written['HV-2']}")
    sandbox.state.lock("timebill", str(written["HV-3"]))  # on an invoice in NetSuite: billed
    after = _all(erp)
    assert after == {"HV-1": ErpTimebill(entry_id="HV-1", system_id=str(written["HV-1"]), project_id="P-1",
                                         task_code="QA Testing", work_date=WORKED, hours=Decimal("2.5"),
                                         rate=Decimal("180.00"), billable=False, billed=False),
                     "HV-3": replace(bill("HV-3", "P-2", "0.75"), billed=True)}
    assert sandbox.state.writes[("timebill", "updated")] == writes.get(("timebill", "updated"), 0) + 1  # the person's


def test_timebills_stream_a_page_at_a_time_past_the_suiteql_cap(make_client: ClientFactory,
                                                                  sandbox: NetSuiteSandbox) -> None:
    """A SuiteQL result ends at its cap (100,000 in NetSuite, 4 here) as if it were complete; pages of 2 over
    9 entries read every entry once, in id order, a query after another."""
    seed_project(sandbox, customer="CUST-SEED", project="PRJ-SEED")
    client = make_client()
    erp = NetSuiteErp(client, reads=NetSuiteReads(client, page_size=2, max_results=4))
    erp.upsert_customer(customer("1"))
    erp.upsert_project(project("1"), contract("1"))
    entries = [f"HV-{n}" for n in range(1, 10)]
    erp.upsert_timebills([timebill(entry) for entry in entries])
    sandbox.state.max_results = 4
    assert len(list(client.suiteql("SELECT id FROM timebill ORDER BY id", page_size=2))) == 4  # the cap bites

    pages = erp.timebills()
    first = next(pages)
    asked = sandbox.stats.requests
    rest = list(pages)
    assert sandbox.stats.requests > asked  # the later pages were asked for only when reached
    assert [len(page) for page in [first, *rest]] == [2, 2, 2, 2, 1]
    read = [t.entry_id for page in [first, *rest] for t in page]
    assert read == entries  # upserted in order, so internal ids follow the entries
    assert [t.entry_id for page in erp.timebills(["P-1"]) for t in page] == entries


def test_documents_come_back_with_their_lines_in_q2c_s_terms(erp: NetSuiteErp, sandbox: NetSuiteSandbox,
                                                              server: SandboxServer) -> None:
    order_id = erp.upsert_contract(contract("1"), project_id="P-1")
    posted = invoice("INV-1").model_copy(update={"status": InvoiceStatus.POSTED})
    invoice_id = erp.upsert_invoice(posted, legal_entity="US01", project_id="P-1")
    second_id = erp.upsert_invoice(invoice("INV-2"), legal_entity="US01", project_id="P-1")
    note = credit_note(credit_note_id="CN-1-INV-1", invoice=posted, credit_date=date(2026, 12, 2))
    memo_id = erp.upsert_invoice(note, legal_entity="US01", project_id="P-1")
    journal_id = erp.post_journal_entry(journal_entry("JE-1"))
    sandbox.state.seed("salesorder", {"entity": _ids(sandbox, "customer", "SF-0011"), "tranDate": "2026-11-02"})
    writes = dict(sandbox.state.writes)

    assert erp.documents("contract") == [ErpDocument(
        kind="contract", id="C-1", system_id=order_id, currency="USD", total=Decimal(120000),
        status="Pending Fulfillment", on=date(2026, 11, 1),
        lines=(ErpLine(description="Build (time and materials)", amount=Decimal(120000), quantity=Decimal(1),
                       rate=Decimal(120000)),))]  # the person's order without an external id is not q2c's
    line = ErpLine(description="Build: 1.5 h", amount=Decimal(270), quantity=Decimal("1.5"), rate=Decimal(180))
    assert erp.documents("invoice") == [
        ErpDocument(kind="invoice", id="INV-1", system_id=invoice_id, currency="USD", total=Decimal(270),
                    status=InvoiceStatus.PAID, on=date(2026, 11, 30), lines=(line,)),  # credited in full
        ErpDocument(kind="invoice", id="INV-2", system_id=second_id, currency="USD", total=Decimal(270),
                    status=InvoiceStatus.POSTED, on=date(2026, 11, 30), lines=(line,))]
    assert erp.documents("credit_note") == [ErpDocument(
        kind="credit_note", id="CN-1-INV-1", system_id=memo_id, currency="USD", total=Decimal(-270),
        status=InvoiceStatus.POSTED, on=date(2026, 12, 2),
        lines=(ErpLine(description="Credit of invoice INV-1: Build: 1.5 h", amount=Decimal(-270),
                       quantity=Decimal("-1.5"), rate=Decimal(180)),))]  # as q2c holds the credit note
    memo = journal_entry("JE-1").memo
    assert erp.documents("journal_entry") == [ErpDocument(
        kind="journal_entry", id="JE-1", system_id=journal_id, currency="USD", total=Decimal(270),
        status="Approved for Posting", on=date(2026, 11, 30),
        lines=(ErpLine(description=memo, amount=Decimal(-270), account="1200", debit=Decimal(270)),
               ErpLine(description=memo, amount=Decimal(270), account="4000", credit=Decimal(270))))]
    assert sandbox.state.writes == writes  # every read a read

    assert [d.id for d in erp.documents("invoice", ["INV-2", "INV-404"])] == ["INV-2"]
    assert erp.documents("invoice", []) == [] and erp.documents("journal_entry", ["INV-2"]) == []

    person = Person(server, sandbox, erp.client)
    item = sandbox.state.reference_ids()["serviceitem"]["Professional Services"]
    person.patch(f"invoice/{second_id}", f'{{"item": {{"items": [{{"item": {{"id": "{item}"}}, '
                                         '"description": "Build: 2 h", "quantity": 2, "rate": 180, "amount": 360}]}}')
    (changed,) = erp.documents("invoice", ["INV-2"])
    assert changed.total == Decimal(360) and changed.lines == (
        ErpLine(description="Build: 2 h", amount=Decimal(360), quantity=Decimal(2), rate=Decimal(180)),)
    sandbox.state.void("invoice", second_id)
    (voided,) = erp.documents("invoice", ["INV-2"])
    assert voided.status == InvoiceStatus.VOIDED and voided.total == 0 and voided.lines[0].amount == 0


def test_an_unknown_kind_is_refused_by_name(erp: NetSuiteErp) -> None:
    with pytest.raises(ValueError, match="unknown document kind 'estimate'"):
        erp.documents("estimate")  # type: ignore[arg-type]
