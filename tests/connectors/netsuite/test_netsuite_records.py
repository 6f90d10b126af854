"""The record service: create, upsert by external id, references, and refusals in NetSuite's words."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from netsuite_fixtures import references, seed_project

from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.mapping import (
    InvoiceState,
    contract_to_salesorder,
    customer_to_netsuite,
    invoice_to_netsuite,
    project_to_job,
    task_to_projecttask,
    time_entry_to_timebill,
)
from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Contract,
    ContractPhase,
    Customer,
    Invoice,
    InvoiceLine,
    Project,
    ProjectStatus,
    RateCard,
    RateCardLine,
    Task,
    TaxProfile,
    TimeEntry,
    TimeEntryStatus,
)
from q2c.domain.money import Money
from q2c.engine.errors import RecordRejected
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox


def _bearer(server: SandboxServer, client: NetSuiteClient) -> dict[str, str]:
    client.get("currency", "1")  # make sure a token exists
    token = next(iter(server.sandbox.state.tokens))  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def test_create_answers_204_with_location_and_reads_back_references(
        server: SandboxServer, client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    headers = _bearer(server, client)
    response = httpx.post(server.url + "/services/rest/record/v1/customer", headers=headers,
                          json={"companyName": "Acme", "externalId": "C-9", "subsidiary": {"id": "2"}})
    assert response.status_code == 204 and response.content == b""
    location = response.headers["Location"]
    assert location.startswith(server.url + "/services/rest/record/v1/customer/")
    internal = location.rsplit("/", 1)[1]
    record = client.get("customer", internal)
    assert record is not None
    assert record["subsidiary"]["id"] == "2"
    assert record["subsidiary"]["refName"] == "US01 Consulting Inc."
    assert record["subsidiary"]["links"][0]["href"].endswith("/subsidiary/2")
    assert client.create("customer", {"companyName": "Beta", "subsidiary": {"id": "2"}}) != internal
    assert sandbox.state.created("customer") == 2


def test_put_eid_twice_is_one_record(client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    first = client.upsert("customer", "C-1", {"companyName": "Acme", "subsidiary": {"id": "2"}})
    second = client.upsert("customer", "C-1", {"companyName": "Acme Corp"})
    assert first == second
    assert sandbox.state.count("customer") == 1
    assert sandbox.state.created("customer") == 1 and sandbox.state.updated("customer") == 1
    record = client.get_by_external_id("customer", "C-1")
    assert record is not None and record["companyName"] == "Acme Corp"
    assert client.get_by_external_id("customer", "C-404") is None
    assert client.internal_id_for("customer", "C-1") == first


def test_unknown_reference_is_rejected_naming_the_field(client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    ids = seed_project(sandbox)
    with pytest.raises(RecordRejected) as rejected:
        client.upsert("timebill", "TE-1", {"employee": {"id": "999999"}, "customer": {"id": ids["job"]},
                                           "hours": Decimal("2"), "tranDate": "2026-11-02"})
    violation = rejected.value.violation
    assert (violation.system, violation.object, violation.record_id) == ("netsuite", "timebill", "TE-1")
    assert violation.field == "employee"
    assert violation.rule == "netsuite.NONEXISTENT_ID"
    assert "999999" in violation.message
    assert sandbox.state.count("timebill") == 0


def test_missing_required_field_and_unknown_field_are_rejected(client: NetSuiteClient, sandbox: NetSuiteSandbox
                                                                ) -> None:
    ids = seed_project(sandbox)
    with pytest.raises(RecordRejected) as missing:
        client.upsert("timebill", "TE-2", {"employee": {"id": ids["employees"][0]}, "customer": {"id": ids["job"]},
                                           "hours": Decimal("2")})
    assert missing.value.violation.field == "tranDate"
    assert missing.value.violation.rule == "netsuite.USER_ERROR"
    assert "Please enter value(s) for: Date" in missing.value.violation.message
    with pytest.raises(RecordRejected) as unknown:
        client.upsert("customer", "C-2", {"companyName": "x", "subsidiary": {"id": "2"}, "colour": "blue"})
    assert unknown.value.violation.field == "colour"


def test_reference_by_missing_external_id_is_rejected_before_sending(client: NetSuiteClient,
                                                                     sandbox: NetSuiteSandbox) -> None:
    with pytest.raises(RecordRejected) as rejected:
        client.upsert("job", "P-9", {"companyName": "x", "parent": {"externalId": "NOT-SYNCED", "type": "customer"}})
    assert rejected.value.violation.field == "parent"
    assert rejected.value.violation.rule == "netsuite.NONEXISTENT_ID"
    assert "Create or sync" in rejected.value.violation.action
    assert sandbox.state.count("job") == 0


def test_closed_project_refuses_time(client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    ids = seed_project(sandbox)
    sandbox.state.close_job(ids["job"])
    with pytest.raises(RecordRejected) as rejected:
        client.upsert("timebill", "TE-3", {"employee": {"id": ids["employees"][0]}, "customer": {"id": ids["job"]},
                                           "hours": Decimal("1.5"), "tranDate": "2026-11-02"})
    violation = rejected.value.violation
    assert violation.rule == "netsuite.USER_ERROR" and violation.field == "customer"
    assert "closed" in violation.message
    assert "Reopen the project" in violation.action
    status = client.jobs_status(["PRJ-1"])["PRJ-1"]
    assert status.closed and status.status_name == "Closed"


def test_billed_time_refuses_edits(client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    ids = seed_project(sandbox)
    body = {"employee": {"id": ids["employees"][0]}, "customer": {"id": ids["job"]},
            "hours": Decimal("1.5"), "tranDate": "2026-11-02"}
    internal = client.upsert("timebill", "TE-4", body)
    sandbox.state.lock("timebill", internal)
    with pytest.raises(RecordRejected) as rejected:
        client.upsert("timebill", "TE-4", {"hours": Decimal("3")})
    assert "billed" in rejected.value.violation.message
    stored = sandbox.state.get("timebill", internal)
    assert stored is not None and stored.values["hours"] == Decimal("1.5")


def test_hours_and_rates_travel_as_exact_decimals(client: NetSuiteClient, sandbox: NetSuiteSandbox) -> None:
    ids = seed_project(sandbox)
    internal = client.upsert("timebill", "TE-5", {
        "employee": {"id": ids["employees"][0]}, "customer": {"id": ids["job"]}, "hours": Decimal("2.11"),
        "rate": Decimal("187.3333"), "tranDate": "2026-11-02"})
    record = client.get("timebill", internal)
    assert record is not None
    assert record["hours"] == Decimal("2.11") and isinstance(record["hours"], Decimal)
    assert record["rate"] == Decimal("187.3333")


def _contract() -> Contract:
    usd = "USD"
    return Contract(
        id="CON-1", customer_id="ACME", opportunity_id="OPP-1", name="Acme ERP rollout", legal_entity="US01",
        currency=usd, start_date=date(2026, 11, 1), end_date=date(2027, 3, 31),
        phases=(
            ContractPhase(id="PH-1", name="Discovery", billing_type=BillingType.FIXED_FEE,
                          amount=Money.of("25000", usd)),
            ContractPhase(id="PH-2", name="Build", billing_type=BillingType.TIME_AND_MATERIALS,
                          amount=Money.of("120000", usd), cap=Money.of("150000", usd),
                          service_offering="Implementation"),
        ),
        rate_card=RateCard(id="RC-1", currency=usd, lines=(
            RateCardLine(role="Consultant", rate=Money.of("180", usd), effective_from=date(2026, 1, 1)),)),
        billing_terms=BillingTerms(payment_terms="Net 30", currency=usd),
    )


def test_quote_to_cash_records_map_and_land_in_the_account(client: NetSuiteClient, sandbox: NetSuiteSandbox
                                                           ) -> None:
    refs = references(sandbox)
    employee = sandbox.state.seed("employee", {"firstName": "Grace", "lastName": "Hopper",
                                               "email": "Grace@Firm.example"})
    parent = Customer(id="ACME-GROUP", name="Acme Group", legal_entity="US01")
    customer = Customer(id="ACME", name="Acme Inc", parent_id="ACME-GROUP", legal_entity="US01",
                        tax_profile=TaxProfile(tax_id="US-123", tax_code="US-CA-STD"),
                        billing_terms=BillingTerms(payment_terms="Net 30", currency="USD",
                                                   invoice_email="ap@acme.example"))
    for record in (parent, customer):
        client.upsert("customer", record.id, customer_to_netsuite(record, refs=refs))
    contract = _contract()
    project = Project(id="PRJ-ACME", contract_id=contract.id, customer_id="ACME", name="Acme ERP",
                      tasks=(Task(id="T-1", project_id="PRJ-ACME", code="DEV", name="Development"),))
    client.upsert("job", project.id, project_to_job(project, refs=refs, contract=contract))
    client.upsert("projecttask", "T-1", task_to_projecttask(project.tasks[0]))
    so_id = client.upsert("salesorder", contract.id, contract_to_salesorder(contract, refs=refs,
                                                                          project_id=project.id))
    entry = TimeEntry(id="TE-77", project_id=project.id, task_code="DEV", resource_id="R-1",
                      work_date=date(2026, 11, 3), hours=Decimal("7.5"), notes="Build sprint 1",
                      status=TimeEntryStatus.APPROVED, source_updated_at=datetime(2026, 11, 3, 18, tzinfo=UTC))
    email_map = client.employee_ids_by_email()
    assert email_map == {"grace@firm.example": employee}
    mapped = time_entry_to_timebill(entry, rate=Money.of("180.00", "USD"), employee_id=email_map["grace@firm.example"],
                                    task_id="T-1")
    assert mapped.warnings == ()
    client.upsert("timebill", entry.id, mapped.body)
    invoice = Invoice(id="INV-1", contract_id=contract.id, customer_id="ACME", invoice_date=date(2026, 11, 30),
                      currency="USD", total=Money.of("1350.00", "USD"), lines=(InvoiceLine(
                          description="Build: 7.5 h", quantity=Decimal("7.5"), unit_price=Money.of("180", "USD"),
                          amount=Money.of("1350", "USD"), phase_id="PH-2", time_entry_ids=("TE-77",)),))
    inv_id = client.upsert("invoice", invoice.id, invoice_to_netsuite(invoice, refs=refs, legal_entity="US01",
                                                                     project_id=project.id))

    stored_customer = sandbox.state.by_external_id("customer", "ACME")
    assert stored_customer is not None
    assert stored_customer.values["parent"] == sandbox.state.external["customer"]["ACME-GROUP"]
    assert stored_customer.values["taxitem"] == refs.tax_items["US-CA-STD"]
    order = client.get("salesorder", so_id, expand=True)
    assert order is not None
    lines = order["item"]["items"]
    assert [line["custcol_q2c_phase_id"] for line in lines] == ["PH-1", "PH-2"]
    assert [line["item"]["refName"] for line in lines] == ["Fixed Fee Services", "Professional Services"]
    assert order["total"] == Decimal("145000.00")
    assert order["job"]["refName"] == "Acme ERP"
    timebill = client.get_by_external_id("timebill", "TE-77")
    assert timebill is not None
    assert timebill["caseTaskEvent"]["refName"] == "DEV Development"
    assert timebill["hours"] == Decimal("7.5") and timebill["rate"] == Decimal("180.00")
    standing = client.invoices(["INV-1"])["INV-1"]
    assert standing.state is InvoiceState.OPEN and standing.state.posted
    sandbox.state.pay_invoice(inv_id)
    assert client.invoices(["INV-1"])["INV-1"].state is InvoiceState.PAID
    # closing the project in q2c closes it in NetSuite
    closed = project.model_copy(update={"status": ProjectStatus.CLOSED})
    client.upsert("job", project.id, project_to_job(closed, refs=refs))
    assert client.jobs_status([project.id])[project.id].closed


def test_unmapped_legal_entity_is_a_q2c_mapping_violation(sandbox: NetSuiteSandbox) -> None:
    customer = Customer(id="GLOBEX", name="Globex", legal_entity="DE01")
    with pytest.raises(RecordRejected) as rejected:
        customer_to_netsuite(customer, refs=references(sandbox))
    violation = rejected.value.violation
    assert (violation.system, violation.object, violation.record_id, violation.field) == (
        "q2c", "customer", "GLOBEX", "legal_entity")
    assert "DE01" in violation.message and "netsuite.references.subsidiaries" in violation.action


def test_the_internal_id_cache_is_bounded_and_a_miss_asks_netsuite(
        client: NetSuiteClient, sandbox: NetSuiteSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays flat however many timebills pass: the cache keeps the ids used most recently (a reference
    record looked up for every entry stays), and an id it let go is asked of NetSuite again, not lost."""
    import q2c.connectors.netsuite.client as netsuite_client

    monkeypatch.setattr(netsuite_client, "ID_CACHE_SIZE", 3)
    first = client.upsert("customer", "C-1", {"companyName": "Hooli", "subsidiary": {"id": "1"}})
    client.internal_id_for("customer", "C-1")
    for n in range(5):
        client._remember("timebill", f"TB-{n}", str(100 + n))
        assert client.internal_id_for("customer", "C-1") == first  # used every time: kept
    assert len(client._ids) == 3 and ("customer", "C-1") in client._ids
    assert ("timebill", "TB-0") not in client._ids
    assert client.internal_id_for("customer", "C-1") == first
    client._ids.clear()  # let go of everything: NetSuite still answers
    assert client.internal_id_for("customer", "C-1") == first
