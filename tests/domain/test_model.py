"""The canonical model: immutable, strict about unknown fields and naive instants, versioned, exact in JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from q2c.domain import model
from q2c.domain.model import (
    SCHEMA_VERSION,
    BillingEvent,
    BillingEventKind,
    BillingTerms,
    BillingType,
    Canonical,
    Contract,
    ContractPhase,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    JournalEntry,
    JournalLine,
    Milestone,
    MilestoneStatus,
    Opportunity,
    OpportunityLine,
    Project,
    ProjectStatus,
    RateCard,
    RateCardLine,
    Resource,
    ScheduledBilling,
    Task,
    TaxProfile,
    TimeEntry,
    TimeEntryStatus,
    dump,
    utc,
)
from q2c.domain.money import Money

AT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


TAX = TaxProfile(tax_id="94-1234567", tax_code="US-CA-STD")
TERMS = BillingTerms(payment_terms="Net 30", payment_terms_days=30, currency="USD", invoice_email="ap@acme.test")
CUSTOMER = Customer(id="SF-001A", name="Acme Corp", parent_id="SF-001P", legal_entity="US01", country="US",
                    tax_profile=TAX, billing_terms=TERMS)
MILESTONE = Milestone(id="M-1", name="Design signed off", amount=usd("4000.10"), due_date=date(2026, 4, 30),
                      status=MilestoneStatus.ACCEPTED, completed_on=date(2026, 4, 28))
LINE = OpportunityLine(id="SF-00kL1", service_offering="Implementation", billing_type=BillingType.MILESTONE,
                       amount=usd("4000.10"), estimated_hours=Decimal("80.50"), milestones=(MILESTONE,))
SCHEDULED = ScheduledBilling(id="SF-a1S1", name="On signature", bill_date=date(2026, 3, 15), percent=Decimal("30.50"))
TM_LINE = OpportunityLine(id="SF-00kL2", service_offering="Advisory", billing_type=BillingType.TIME_AND_MATERIALS,
                          amount=usd("12000.00"), cap=usd("15000.00"))
OPPORTUNITY = Opportunity(id="SF-006A", name="Acme ERP rollout", customer_id="SF-001A", stage="Closed Won",
                          is_won=True, close_date=date(2026, 3, 1), amount=usd("16000.10"), legal_entity="US01",
                          start_date=date(2026, 3, 15), end_date=date(2026, 9, 30), lines=(LINE, TM_LINE),
                          source_updated_at=AT)
RATE_LINE = RateCardLine(role="Consultant", resource_id="R-7", rate=usd("185.50"), cost_rate=usd("92.125"),
                         effective_from=date(2026, 1, 1), effective_to=date(2026, 12, 31))
RATE_CARD = RateCard(id="RC-USD", currency="USD", lines=(RATE_LINE,))
PHASE = ContractPhase(id="C-1-1", name="Retainer", billing_type=BillingType.RETAINER, amount=usd("5000.00"),
                      service_offering="Advisory", retainer_hours=Decimal("20.0"), overage_rate=usd("210.00"),
                      milestones=(MILESTONE,), cap=usd("9999.990"))
CONTRACT = Contract(id="C-1", customer_id="SF-001A", opportunity_id="SF-006A", name="Acme ERP rollout",
                    legal_entity="US01", currency="USD", start_date=date(2026, 3, 15), end_date=date(2026, 9, 30),
                    phases=(PHASE,), rate_card=RATE_CARD, billing_terms=TERMS)
TASK = Task(id="P-1-DEV", project_id="P-1", code="DEV", name="Development", billable=True, phase_id="C-1-1")
PROJECT = Project(id="P-1", contract_id="C-1", customer_id="SF-001A", name="Acme ERP rollout",
                  status=ProjectStatus.CLOSED, closed_on=date(2026, 10, 1), tasks=(TASK,))
RESOURCE = Resource(id="R-7", name="Ada Byron", email="ada@firm.test", role="Consultant", employee_number="E-7",
                    active=False)
TIME_ENTRY = TimeEntry(id="H-1", project_id="P-1", task_code="DEV", resource_id="R-7", work_date=date(2026, 3, 16),
                       hours=Decimal("2.10"), notes="workshop", status=TimeEntryStatus.APPROVED, billable=True,
                       locked=True, billed=False, source_updated_at=AT)
INVOICE_LINE = InvoiceLine(description="Development", quantity=Decimal("2.10"), unit_price=usd("185.50"),
                           amount=usd("389.55"), phase_id="C-1-1", time_entry_ids=("H-1",))
INVOICE = Invoice(id="INV-1", contract_id="C-1", customer_id="SF-001A", invoice_date=date(2026, 3, 31),
                  currency="USD", lines=(INVOICE_LINE,), total=usd("389.55"), status=InvoiceStatus.POSTED)
CREDIT_NOTE = INVOICE.model_copy(update={"id": "CN-1", "kind": "credit_note", "status": InvoiceStatus.DRAFT})
BILLING_EVENT = BillingEvent(id="BE-1", contract_id="C-1", phase_id="C-1-1", kind=BillingEventKind.MILESTONE,
                             amount=usd("4000.10"), event_date=date(2026, 4, 28), invoice_id="INV-1")
JOURNAL_LINE = JournalLine(account="4000", debit=usd("0"), credit=usd("1333.333"),
                           dimensions={"legal_entity": "US01", "project": "P-1"})
JOURNAL_ENTRY = JournalEntry(id="JE-1", entry_date=date(2026, 4, 30), legal_entity="US01", memo="Revenue April",
                             lines=(JOURNAL_LINE,), source="revenue:C-1:2026-04")

SAMPLES: list[BaseModel] = [TAX, TERMS, CUSTOMER, MILESTONE, LINE, TM_LINE, OPPORTUNITY, RATE_LINE, RATE_CARD, PHASE,
                            CONTRACT, TASK, PROJECT, RESOURCE, TIME_ENTRY, INVOICE_LINE, INVOICE, CREDIT_NOTE,
                            BILLING_EVENT, JOURNAL_LINE, JOURNAL_ENTRY, SCHEDULED]
CANONICAL_SAMPLES = [s for s in SAMPLES if isinstance(s, Canonical)]


def sample_id(sample: BaseModel) -> str:
    return type(sample).__name__


def record_types() -> set[type[BaseModel]]:
    """Every pydantic model the canonical module defines (Canonical itself is abstract in spirit)."""
    return {obj for obj in vars(model).values()
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == model.__name__
            and obj is not Canonical}


def decimals(value: Any, path: str = "") -> dict[str, tuple[Any, ...]]:
    """Every Decimal inside a record, by path, as (sign, digits, exponent): equal only if exactly equal."""
    if isinstance(value, Decimal):
        return {path: tuple(value.as_tuple())}
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    found: dict[str, tuple[Any, ...]] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(decimals(item, f"{path}.{key}"))
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            found.update(decimals(item, f"{path}[{i}]"))
    return found


def test_samples_cover_every_record_type() -> None:
    assert {type(s) for s in SAMPLES} == record_types()


# --- instants -----------------------------------------------------------------------------------


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="datetime must carry a timezone"):
        utc(datetime(2026, 3, 2, 14, 30))


def test_aware_datetime_is_normalised_to_utc() -> None:
    paris = datetime(2026, 3, 2, 15, 30, tzinfo=timezone(timedelta(hours=1)))
    normalised = utc(paris)
    assert normalised == AT and normalised.tzinfo is UTC and normalised.hour == 14


def test_time_entry_with_a_naive_timestamp_is_refused() -> None:
    payload = dump(TIME_ENTRY) | {"source_updated_at": "2026-03-02T14:30:00"}
    with pytest.raises(ValidationError, match="source_updated_at") as caught:
        TimeEntry.model_validate(payload)
    assert "datetime must carry a timezone" in str(caught.value)
    with pytest.raises(ValidationError, match="datetime must carry a timezone"):
        TIME_ENTRY.model_validate(TIME_ENTRY.model_dump() | {"source_updated_at": datetime(2026, 3, 2)})


def test_opportunity_timestamp_is_optional_but_never_naive() -> None:
    assert OPPORTUNITY.model_copy(update={"source_updated_at": None}).source_updated_at is None
    with pytest.raises(ValidationError, match="datetime must carry a timezone"):
        Opportunity.model_validate(dump(OPPORTUNITY) | {"source_updated_at": "2026-03-02T14:30:00"})
    offset = Opportunity.model_validate(dump(OPPORTUNITY) | {"source_updated_at": "2026-03-02T09:30:00-05:00"})
    assert offset.source_updated_at == AT and offset.source_updated_at.utcoffset() == timedelta(0)


# --- immutability, strictness, versioning -------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=sample_id)
def test_records_are_frozen(sample: BaseModel) -> None:
    name = next(iter(type(sample).model_fields))
    with pytest.raises(ValidationError, match="frozen"):
        setattr(sample, name, getattr(sample, name))


@pytest.mark.parametrize("sample", SAMPLES, ids=sample_id)
def test_extra_fields_are_forbidden(sample: BaseModel) -> None:
    with pytest.raises(ValidationError, match="nickname") as caught:
        type(sample).model_validate(dump(sample) | {"nickname": "x"})
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("sample", CANONICAL_SAMPLES, ids=sample_id)
def test_schema_version_is_in_every_dump(sample: Canonical) -> None:
    assert sample.schema_version == SCHEMA_VERSION == 1
    assert dump(sample)["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize("bad_id", ["", "x" * 201])
def test_canonical_id_must_be_1_to_200_characters(bad_id: str) -> None:
    with pytest.raises(ValidationError, match="id"):
        Resource(id=bad_id, name="Ada", role="Consultant")
    assert Resource(id="x" * 200, name="Ada", role="Consultant").id == "x" * 200


def test_nested_records_are_validated_too() -> None:
    payload = dump(CONTRACT)
    payload["rate_card"]["lines"][0]["rate"]["currency"] = "XYZ"
    with pytest.raises(ValidationError, match="XYZ"):
        Contract.model_validate(payload)
    payload = dump(OPPORTUNITY)
    payload["lines"][0]["milestones"][0]["amount"]["amount"] = True
    with pytest.raises(ValidationError, match="amount must be a number, got a boolean"):
        Opportunity.model_validate(payload)


# --- currencies on records ----------------------------------------------------------------------


def test_currency_fields_are_normalised_and_checked() -> None:
    assert BillingTerms(currency="eur").currency == "EUR"
    assert RateCard(id="RC", currency="gbp", lines=()).currency == "GBP"
    assert Contract.model_validate(dump(CONTRACT) | {"currency": "usd"}).currency == "USD"
    for build in (lambda: BillingTerms(currency="XYZ"), lambda: RateCard(id="RC", currency="XAU", lines=()),
                  lambda: Contract.model_validate(dump(CONTRACT) | {"currency": "ABC"})):
        with pytest.raises(ValidationError, match=r"ISO 4217|cannot be invoiced"):
            build()


def test_invoice_currency_is_checked_like_the_contract_currency() -> None:
    assert Invoice.model_validate(dump(INVOICE) | {"currency": "usd"}).currency == "USD"
    with pytest.raises(ValidationError, match="XYZ"):
        Invoice.model_validate(dump(INVOICE) | {"currency": "XYZ"})


@pytest.mark.parametrize("days", [-1, 366])
def test_payment_terms_days_are_bounded(days: int) -> None:
    with pytest.raises(ValidationError, match="payment_terms_days"):
        BillingTerms(payment_terms_days=days)


def test_invoice_kind_is_invoice_or_credit_note() -> None:
    assert INVOICE.kind == "invoice" and CREDIT_NOTE.kind == "credit_note"
    with pytest.raises(ValidationError, match="kind"):
        Invoice.model_validate(dump(INVOICE) | {"kind": "receipt"})


def test_defaults() -> None:
    project = Project(id="P-2", contract_id="C-2", customer_id="SF-1", name="x")
    assert project.status is ProjectStatus.OPEN and project.tasks == () and project.closed_on is None
    assert Milestone(id="M", name="m", amount=usd("1")).status is MilestoneStatus.PENDING
    assert Resource(id="R", name="r", role="Consultant").active is True
    assert Invoice.model_validate(dump(INVOICE) | {"status": "draft"}).status is InvoiceStatus.DRAFT


# --- JSON round trip ----------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=sample_id)
def test_json_round_trip_keeps_every_decimal_exact(sample: BaseModel) -> None:
    kind = type(sample)
    text = sample.model_dump_json()
    from_text = kind.model_validate_json(text)
    from_dump = kind.model_validate(json.loads(json.dumps(dump(sample))))
    for back in (from_text, from_dump):
        assert back == sample
        assert decimals(back) == decimals(sample)
        assert dump(back) == dump(sample)


def test_samples_carry_decimals_with_trailing_zeros() -> None:
    """The round trip above would be weak if no sample had a scale a float would lose."""
    assert dump(TIME_ENTRY)["hours"] == "2.10"
    assert dump(INVOICE)["lines"][0]["unit_price"] == {"amount": "185.50", "currency": "USD"}
    assert dump(JOURNAL_LINE)["credit"]["amount"] == "1333.333"
    assert dump(PHASE)["cap"]["amount"] == "9999.990"


def test_dump_is_plain_json() -> None:
    payload = dump(OPPORTUNITY)
    assert json.loads(json.dumps(payload)) == payload
    assert payload["close_date"] == "2026-03-01"
    assert payload["source_updated_at"] == "2026-03-02T14:30:00Z"
    assert payload["lines"][0]["billing_type"] == "milestone"
    assert payload["amount"] == {"amount": "16000.10", "currency": "USD"}


@given(st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=4, allow_nan=False,
                   allow_infinity=False),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                               timezone(timedelta(hours=-8))])))
def test_time_entry_round_trip_for_any_hours_and_instant(hours: Decimal, at: datetime) -> None:
    entry = TIME_ENTRY.model_validate(TIME_ENTRY.model_dump() | {"hours": hours, "source_updated_at": at})
    assert entry.source_updated_at == at and entry.source_updated_at.tzinfo is UTC
    back = TimeEntry.model_validate_json(entry.model_dump_json())
    assert back == entry
    assert back.hours.as_tuple() == hours.as_tuple()
