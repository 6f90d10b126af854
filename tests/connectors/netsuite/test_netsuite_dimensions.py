"""Class, department and location on the NetSuite bodies q2c writes: the firm's codes, by internal id."""

from __future__ import annotations

import pytest
from netsuite_records import contract, invoice, journal_entry, timebill

from q2c.connectors.netsuite.mapping import (
    AccountReferences,
    contract_to_salesorder,
    invoice_to_netsuite,
    journal_entry_to_netsuite,
    time_entry_to_timebill,
)
from q2c.connectors.netsuite.settings import NetSuiteSettings
from q2c.domain.dimensions import DimensionPlan, DimensionUse
from q2c.domain.money import Money
from q2c.engine.errors import RecordRejected

REFS = AccountReferences(subsidiaries={"US01": "2"}, currencies={"USD": "1"}, terms={"Net 30": "2"},
                         default_service_item="10", classes={"IMPL": "3", "ADV": "4"},
                         departments={"CONS": "6", "PMO": "7"}, locations={"US01": "8"})
PLAN = DimensionPlan(offerings={"Implementation": {"class": "IMPL", "department": "CONS"}},
                     entities={"US01": {"location": "US01"}}, resources={"ada0@firm.example": {"department": "PMO"}})


def test_sales_order_lines_carry_the_offering_class_and_department_and_the_entity_location() -> None:
    (line,) = contract_to_salesorder(contract(), refs=REFS, dimensions=PLAN)["item"]["items"]
    assert (line["class"], line["department"], line["location"]) == ({"id": "3"}, {"id": "6"}, {"id": "8"})


def test_without_dimensions_no_classification_field_is_sent() -> None:
    (line,) = contract_to_salesorder(contract(), refs=REFS)["item"]["items"]
    assert not {"class", "department", "location"} & set(line)


def test_timebill_takes_the_resource_department_over_the_offering() -> None:
    t = timebill("T-1")
    codes = PLAN.codes(offering="Implementation", legal_entity="US01", resource=t.rated.resource_id.upper())
    body = time_entry_to_timebill(t.entry, rate=t.rated.rate, employee_id="5", refs=REFS, dimensions=codes).body
    assert (body["class"], body["department"], body["location"]) == ({"id": "3"}, {"id": "7"}, {"id": "8"})
    other = PLAN.codes(offering="Implementation", legal_entity="US01", resource="someone@firm.example")
    assert time_entry_to_timebill(t.entry, rate=t.rated.rate, employee_id="5", refs=REFS,
                                  dimensions=other).body["department"] == {"id": "6"}


def test_invoice_lines_carry_their_phase_offering() -> None:
    body = invoice_to_netsuite(invoice("INV-1"), refs=REFS, legal_entity="US01", dimensions=PLAN,
                               offerings={"PH-1": "Implementation"})
    (line,) = body["item"]["items"]
    assert (line["class"], line["department"], line["location"]) == ({"id": "3"}, {"id": "6"}, {"id": "8"})
    (unknown_phase,) = invoice_to_netsuite(invoice("INV-1"), refs=REFS, legal_entity="US01", dimensions=PLAN,
                                           offerings={})["item"]["items"]
    assert unknown_phase["location"] == {"id": "8"} and "class" not in unknown_phase


def test_journal_lines_map_the_codes_the_close_put_on_them() -> None:
    entry = journal_entry("JE-1")
    lines = tuple(line.model_copy(update={"dimensions": {**line.dimensions, "class": "ADV", "location": "US01"}})
                  for line in entry.lines)
    body = journal_entry_to_netsuite(entry.model_copy(update={"lines": lines}), refs=REFS,
                                     account_ids={"1200": "30", "4000": "33"})
    assert [(li["class"], li["location"]) for li in body["line"]["items"]] == [({"id": "4"}, {"id": "8"})] * 2
    assert "class=ADV" in body["line"]["items"][0]["custcol_q2c_dimensions"]


def test_a_code_without_an_internal_id_is_refused_naming_the_field_and_the_key() -> None:
    plan = DimensionPlan(offerings={"Implementation": {"class": "MS"}})
    with pytest.raises(RecordRejected) as caught:
        contract_to_salesorder(contract(), refs=REFS, dimensions=plan)
    violation = caught.value.violation
    assert violation.field == "phases[0].class"
    assert "references.classes" in violation.action and "MS" in violation.action
    t = timebill("T-1")
    with pytest.raises(RecordRejected, match="department 'OPS'"):
        time_entry_to_timebill(t.entry, rate=Money.of("180", "USD"), employee_id="5", refs=REFS,
                               dimensions={"department": "OPS"})


def test_settings_name_each_unmapped_code_by_its_config_key() -> None:
    settings = NetSuiteSettings.model_construct(account_id="1234567", references=REFS)
    uses = [DimensionUse("service_offerings.0.dimensions.class", "class", "IMPL"),
            DimensionUse("legal_entities.1.dimensions.location", "location", "UK01"),
            DimensionUse("resources.0.dimensions.department", "department", "PMO")]
    assert settings.dimension_problems(uses) == [
        ("legal_entities.1.dimensions.location",
         "location 'UK01' has no NetSuite internal id; add it under systems.erp.references.locations (known: US01)")]
