"""Reading NetSuite's answers back for reconciliation (pure): durations, task codes, status words, and values
that cannot be read refused naming the record and the field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from q2c.connectors.netsuite.reads_mapping import (
    ProjectTask,
    document_from_netsuite,
    duration_hours,
    status_word,
    task_code,
    timebill_from_netsuite,
)
from q2c.engine.errors import RecordRejected


@pytest.mark.parametrize(("text", "hours"), [
    ("1.5", Decimal("1.5")), (".25", Decimal("0.25")), ("8", Decimal(8)), ("1:30", Decimal("1.5")),
    ("0:20", Decimal("0.33")), ("0:10", Decimal("0.17")), ("12:05", Decimal("12.08")), (" 2:00 ", Decimal(2)),
])
def test_durations_read_as_decimal_hours_or_h_mm(text: str, hours: Decimal) -> None:
    assert duration_hours(text) == hours


@pytest.mark.parametrize("text", ["", "abc", "1:5", "1:60", "-1", "1:30:00", "NaN", "Infinity"])
def test_what_is_no_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        duration_hours(text)


def test_the_task_code_follows_the_project_id_in_the_task_s_external_id() -> None:
    assert task_code(ProjectTask("P-1-BUILD", "BUILD Build", "101"), "P-1") == "BUILD"
    assert task_code(ProjectTask("P-1-DATA-MIGRATION", "Data migration", "101"), "P-1") == "DATA-MIGRATION"
    assert task_code(ProjectTask("OTHER-7", "Other", "101"), "P-1") == "OTHER-7"  # q2c's id, in another shape
    assert task_code(ProjectTask(None, "QA Testing", "101"), "P-1") == "QA Testing"  # a person's task


def test_netsuite_s_own_status_word_drops_the_record_type() -> None:
    assert status_word("B", "Sales Order : Pending Fulfillment") == "Pending Fulfillment"
    assert status_word("B", "Approved for Posting") == "Approved for Posting"
    assert status_word("SalesOrd:B", None) == "SalesOrd:B" and status_word(None, "") is None


_ROW = {"id": "501", "externalid": "HV-1", "customer": "101", "casetaskevent": "102", "trandate": "11/3/2026",
        "hours": "1.5", "rate": "180", "isbillable": "T", "billed": "F"}


@pytest.mark.parametrize(("field", "value", "said"), [
    ("hours", "lots", "'lots' is not a number of hours"),
    ("trandate", "3.11.2026", "trandate '3.11.2026' is not a date"),
    ("rate", "a lot", "rate is 'a lot', not a number"),
])
def test_a_timebill_value_that_cannot_be_read_names_the_entry_and_field(field: str, value: str, said: str) -> None:
    with pytest.raises(RecordRejected) as refused:
        timebill_from_netsuite({**_ROW, field: value}, jobs={"101": "P-1"}, tasks={})
    found = refused.value.violation
    assert (found.system, found.object, found.record_id, found.field) == ("netsuite", "timebill", "HV-1", field)
    assert said in found.message and found.action.startswith(f"Correct {field} of timebill HV-1 in NetSuite")


def test_time_on_a_job_q2c_did_not_write_has_no_project() -> None:
    read = timebill_from_netsuite({**_ROW, "rate": ""}, jobs={}, tasks={})
    assert (read.project_id, read.task_code, read.rate, read.billable) == (None, None, None, True)


_HEADER = {"id": "601", "externalid": "CN-1-INV-1", "type": "CustCred", "status": "B", "currency": "1",
           "foreigntotal": "270", "trandate": "12/2/2026"}


def test_a_document_in_a_currency_without_an_iso_code_or_in_an_unknown_status_is_refused_naming_it() -> None:
    with pytest.raises(RecordRejected) as refused:
        document_from_netsuite("credit_note", _HEADER, {}, currencies={}, accounts={})
    assert (refused.value.violation.record_id, refused.value.violation.field) == ("CN-1-INV-1", "currency")
    with pytest.raises(RecordRejected) as refused:
        document_from_netsuite("credit_note", {**_HEADER, "status": "Q"}, {}, currencies={"1": "USD"}, accounts={})
    assert (refused.value.violation.object, refused.value.violation.field) == ("creditmemo", "status")
    with pytest.raises(RecordRejected) as refused:
        document_from_netsuite("invoice", {**_HEADER, "type": "CustInvc"}, {"item": {"links": []}},
                               currencies={"1": "USD"}, accounts={})
    assert refused.value.violation.field == "item" and "without its lines" in refused.value.violation.message


def test_a_credit_memo_total_is_the_credit_note_s_whatever_sign_suiteql_gives() -> None:
    for total in ("270", "-270"):
        read = document_from_netsuite("credit_note", {**_HEADER, "foreigntotal": total}, {},
                                      currencies={"1": "USD"}, accounts={})
        assert read.total == Decimal(-270) and read.status == "posted" and read.lines == ()
