"""Approved, rated time as the extension's timeEntries, in `$batch` micro-batches: one result per entry, a
refused entry held back alone, a lost answer never written twice, invoiced time never changed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from business_central_fixtures import CONTRACT, PROJECT, set_up, timebill

from q2c.connectors.business_central import BusinessCentralErp, BusinessCentralSettings
from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import Faults


@pytest.fixture
def staffed(erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> str:
    us01 = settings.companies["US01"]
    box.add_employee(us01, "E0001", "Alice", "Adams", email="alice@example.com", status="Active")
    box.add_employee(us01, "E0002", "Bob", "Baker", email="bob@example.com", status="Active")
    set_up(erp)
    return us01


def _entries(box: BusinessCentralSandbox, company: str) -> dict[str, dict[str, object]]:
    return {str(r["externalId"]): r for r in box.records(company, "timeEntries")}


def test_business_central_timebills_reach_business_central_with_hours_and_rates(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, staffed: str) -> None:
    bills = [timebill("TG-1", hours="1.50"), timebill("TG-2", email="bob@example.com", task="BUILD", hours="2.25",
                                                     rate="200.00"),
             timebill("TG-3", hours="0.75", billable=False, notes="internal"),
             timebill("TG-4", email="carol@example.com")]
    results = erp.upsert_timebills(bills)
    assert [r.canonical_id for r in results] == ["TG-1", "TG-2", "TG-3", "TG-4"]
    assert [r.violation is None for r in results] == [True, True, True, False]
    assert results[3].violation is not None and results[3].violation.rule == "time.employee_missing"
    held = _entries(box, staffed)
    assert sorted((k, v["employeeNumber"], v["quantity"], v["unitPrice"], v["chargeable"])
                  for k, v in held.items()) == [
        ("TG-1", "E0001", Decimal("1.50"), Decimal("150.00"), True),
        ("TG-2", "E0002", Decimal("2.25"), Decimal("200.00"), True),
        ("TG-3", "E0001", Decimal("0.75"), Decimal("150.00"), False)]
    assert {v["jobNumber"] for v in held.values()} == {PROJECT.id.upper()}  # Code[20]
    assert results[0].external_id == held["TG-1"]["id"]
    # again: nothing new is written, the same ids come back
    again = erp.upsert_timebills(bills[:3])
    assert [r.external_id for r in again] == [r.external_id for r in results[:3]]
    assert len(box.records(staffed, "timeEntries")) == 3
    pages = list(erp.timebills([PROJECT.id]))
    read = {t.entry_id: t for page in pages for t in page}
    assert (read["TG-2"].project_id, read["TG-2"].task_code, read["TG-2"].hours, read["TG-2"].rate) == (
        PROJECT.id, "BUILD", Decimal("2.25"), Decimal("200.00"))
    assert not read["TG-3"].billable and not read["TG-1"].billed


def test_business_central_lost_batch_answer_writes_each_entry_once(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, staffed: str) -> None:
    """The sandbox writes the entries, then the batch's answer is lost (`malformed_next`): the next look-up
    finds them, and nothing is sent twice."""
    erp.upsert_timebills([timebill("TG-0")])  # token, employees and project company known: the next call is the batch
    bills = [timebill(f"TG-{n}", hours="1.00") for n in range(1, 6)]
    posts_before = box.stats.by_path.get(_batch_path(erp), 0)
    box.set_faults(Faults(malformed_next=2))  # the look-up is garbled once (asked again), then the batch's answer
    results = erp.upsert_timebills(bills)
    box.set_faults(Faults())
    assert all(r.violation is None for r in results)
    held = [r for r in box.records(staffed, "timeEntries") if r["externalId"] != "TG-0"]
    assert sorted(r["externalId"] for r in held) == [f"TG-{n}" for n in range(1, 6)]
    assert box.stats.garbled >= 1 and box.stats.by_path.get(_batch_path(erp), 0) - posts_before >= 1
    assert {r.external_id for r in results} == {str(r["id"]) for r in held}


def _batch_path(erp: BusinessCentralErp) -> str:
    from urllib.parse import urlsplit

    return "POST " + urlsplit(erp.settings.extension_base).path + "/$batch"


def test_business_central_invoiced_time_is_refused_alone(erp: BusinessCentralErp, box: BusinessCentralSandbox,
                                                        staffed: str) -> None:
    erp.upsert_timebills([timebill("TG-1"), timebill("TG-2")])
    box.mark_time_invoiced(staffed, str(_entries(box, staffed)["TG-1"]["id"]))
    results = erp.upsert_timebills([timebill("TG-1", hours="2.00"), timebill("TG-2", hours="3.00")])
    assert results[0].violation is not None and results[0].violation.rule == "business_central.time_entry_invoiced"
    assert results[1].violation is None
    held = _entries(box, staffed)
    assert (held["TG-1"]["quantity"], held["TG-2"]["quantity"]) == (Decimal("1.50"), Decimal("3.00"))
    assert CONTRACT.legal_entity == "US01"
