"""q2c's ids that Business Central's Code fields cannot hold as they are: longer than the field (a Dynamics 365
milestone invoice, `INV-D365-<GUID>`, 45 characters against `externalDocumentNumber`'s Code[35]) or in lower
case (a project id from a Dataverse GUID, against the job's Code[20] No.). Each is found again by a stable
code and read back as q2c's own id: a digested document carries its id in a comment line, a job in the
extension's `jobs.externalId`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from business_central_fixtures import CONTRACT, set_up, timebill
from test_business_central_billing import OFFERINGS, invoice

from q2c.connectors.business_central import BusinessCentralErp, BusinessCentralSettings
from q2c.connectors.business_central.mapping import canonical_of, code20, code35, id_line, id_of_lines
from q2c.domain.model import InvoiceStatus, Project, Task
from q2c.sandboxes.business_central.app import BusinessCentralSandbox

LONG_ID = "INV-D365-7f9c2a4e-1b3d-4c5e-8f6a-9b0c1d2e3f4a"  # 45 characters


def test_business_central_long_ids_become_stable_digests_that_map_back() -> None:
    digest = code35(LONG_ID)
    assert len(LONG_ID) == 45 and len(digest) == 35 and digest.startswith("Q2C") and digest == code35(LONG_ID)
    assert code35("INV-C-0061x00000AbC-0-20261130") == "INV-C-0061x00000AbC-0-20261130"  # fits: itself
    assert code35(LONG_ID + "x") != digest
    assert canonical_of(digest.lower(), [LONG_ID, "other"]) == LONG_ID
    assert canonical_of(code20("P-" + "a" * 30), ["P-" + "a" * 30]) == "P-" + "a" * 30
    assert id_of_lines([{"lineType": "Account", "description": "q2c id: nope"}, id_line(LONG_ID, obj="invoice")]) \
        == LONG_ID


def test_business_central_invoice_with_a_long_id_is_posted_under_its_digest_and_read_back_by_its_id(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> None:
    """The 1,912.50 invoice of the billing tests (9.75 h x 150.00 + 2.25 h x 200.00) under a 45-character id:
    its number is the digest, its first line the comment `q2c id: <id>` (posting nothing), the total still
    1,912.50; status, changes and the reconciliation read give q2c's id, without the comment line; a second
    send finds the posted document; its credit note (`CN-1-<id>`, 50 characters) is applied to it."""
    set_up(erp)
    us01 = settings.companies["US01"]
    system_id = erp.upsert_invoice(invoice(LONG_ID), legal_entity="US01", project_id=None, offerings=OFFERINGS)
    assert erp.upsert_invoice(invoice(LONG_ID), legal_entity="US01", project_id=None,
                              offerings=OFFERINGS) == system_id
    (held,) = [i for i in box.records(us01, "salesInvoices") if i["id"] == system_id]
    assert (held["externalDocumentNumber"], held["status"], held["totalAmountExcludingTax"]) == (
        code35(LONG_ID), "Open", Decimal("1912.50"))
    lines = sorted((ln for ln in box.records(us01, "salesInvoiceLines") if ln["documentId"] == system_id),
                   key=lambda ln: int(ln["sequence"]))
    assert (lines[0]["lineType"], lines[0]["description"]) == ("Comment", f"q2c id: {LONG_ID}")
    assert [ln["lineType"] for ln in lines] == ["Comment", "Account", "Account"]

    assert erp.invoice_states([LONG_ID]) == {LONG_ID: InvoiceStatus.POSTED}
    assert [(c.invoice_id, c.status) for c in erp.invoice_changes(None)] == [(LONG_ID, InvoiceStatus.POSTED)]
    for doc in (*erp.documents("invoice"), *erp.documents("invoice", [LONG_ID])):
        assert (doc.id, doc.total, doc.on) == (LONG_ID, Decimal("1912.50"), date(2026, 11, 30))
        assert sorted(ln.amount for ln in doc.lines) == [Decimal("450.00"), Decimal("1462.50")]

    credit_id = f"CN-1-{LONG_ID}"
    memo_id = erp.upsert_invoice(invoice(credit_id, kind="credit_note"), legal_entity="US01", project_id=None,
                                 offerings=OFFERINGS)
    (memo,) = [m for m in box.records(us01, "salesCreditMemos") if m["id"] == memo_id]
    assert memo["invoiceId"] == system_id and memo["externalDocumentNumber"] == code35(credit_id)
    (doc,) = erp.documents("credit_note")
    assert (doc.id, doc.total) == (credit_id, Decimal("-1912.50"))
    assert {c.invoice_id for c in erp.invoice_changes(None)} == {LONG_ID, credit_id}


def test_business_central_time_on_a_lower_case_project_reads_back_under_q2c_s_project_id(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> None:
    """A Dataverse deal's project id is lower case (`P-<hash>`); the job's No. comes back in capitals, so
    reconciliation (which reads every timebill, not a project's) names the project from `jobs.externalId`."""
    box.add_employee(settings.companies["US01"], "E0001", "Alice", "Adams", email="alice@example.com",
                     status="Active")
    set_up(erp)
    project = Project(id="P-acb6d3d20522", contract_id=CONTRACT.id, customer_id=CONTRACT.customer_id,
                      name="Initech rollout", tasks=(Task(id="P-acb6d3d20522-DESIGN", project_id="P-acb6d3d20522",
                                                          code="DESIGN", name="Design"),))
    erp.upsert_project(project, CONTRACT)
    erp.upsert_project(project, CONTRACT)  # again: the job is marked once
    (job,) = [j for j in box.records(settings.companies["US01"], "projects") if j["number"] == "P-ACB6D3D20522"]
    assert job["externalId"] == "P-acb6d3d20522"
    (result,) = erp.upsert_timebills([timebill("HV-1", project_id=project.id)])
    assert result.violation is None
    everything = [t for page in erp.timebills() for t in page]
    assert [(t.entry_id, t.project_id) for t in everything if t.entry_id == "HV-1"] == [("HV-1", "P-acb6d3d20522")]
    assert [t.project_id for page in erp.timebills([project.id]) for t in page] == ["P-acb6d3d20522"]
