"""When one of the controller's rules fails for a contract, nothing is posted for it and an exception says
which contract and by how much; and billable time that belongs to no phase is an exception, never skipped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fakes import FakeWorld, fake_world, usd

from q2c.domain.model import JournalEntry, Project
from q2c.engine.hashing import content_hash
from q2c.engine.replay import replay
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store
from q2c.store import records
from q2c.workflows.billing_run import enqueue_billing
from q2c.workflows.handlers import corrections
from q2c.workflows.revenue_close import enqueue_revenue_close

C, P = "C-006A", "P-006A"






def rewrite(w: FakeWorld, entity: str, record_id: str, payload: dict[str, object], state: str | None = None) -> None:
    """What a bug, or a hand in the database, could leave behind."""
    with w.hub.engine.begin() as conn:
        rec = records.get_record(conn, entity=entity, canonical_id=record_id)
        assert rec is not None
        records.upsert_records(conn, [records.Record(entity, record_id, rec.aggregate, state or rec.state,
                                                     rec.schema_version, content_hash(payload), payload)])


def test_an_entry_held_without_an_exception_stops_the_contracts_billing(tmp_path: Path) -> None:
    """Alice's 8 h (1,200) is posted; then her record says "invalid" with no exception naming it. The billing
    run refuses the contract: no invoice, and `integrity.unaccounted` names the entry."""
    w = fake_world(tmp_path)
    w.set_up()
    entry = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(entry)
    w.sync()
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="time_entry", canonical_id=entry)
    assert rec is not None
    rewrite(w, "time_entry", entry, rec.payload, state="invalid")
    enqueue_billing(w.hub, invoice_date=date(2026, 11, 30))
    drain(w.hub)
    assert w.erp.kind("invoice") == {}
    with w.hub.engine.connect() as conn:
        (row,) = exception_store.search(conn, rule="integrity.unaccounted")
    assert row.violation.record_id == entry and C in row.violation.message


def test_a_journal_that_disagrees_with_the_engine_stops_the_next_revenue_close(tmp_path: Path) -> None:
    """November posts revenue 1,200. Someone edits the stored November journal to 1,000 of revenue. The
    December close refuses to post: `integrity.gl_mismatch` says the GL holds 1,000 but the engine recognised
    1,200, 200 apart, and no December journal entry is written."""
    w = fake_world(tmp_path)
    w.set_up()
    entry = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(entry)
    w.sync()
    for on in (date(2026, 11, 30),):
        enqueue_billing(w.hub, invoice_date=on)
        drain(w.hub)
        enqueue_revenue_close(w.hub, period_end=on)
        drain(w.hub)
    je_id = f"JE-REV-{C}-2026-11"
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="journal_entry", canonical_id=je_id)
    assert rec is not None
    journal = JournalEntry.model_validate(rec.payload)
    lines = tuple(line.model_copy(update={"credit": usd("1000.00")}) if line.credit.amount else
                  line.model_copy(update={"debit": usd("1000.00")}) for line in journal.lines)
    rewrite(w, "journal_entry", je_id, journal.model_copy(update={"lines": lines}).model_dump(mode="json"))
    enqueue_revenue_close(w.hub, period_end=date(2026, 12, 31))
    drain(w.hub)
    with w.hub.engine.connect() as conn:
        (row,) = exception_store.search(conn, rule="integrity.gl_mismatch")
        assert records.get_record(conn, entity="journal_entry", canonical_id=f"JE-REV-{C}-2026-12") is None
    assert "USD 1,000.00" in row.violation.message and "USD 1,200.00" in row.violation.message
    assert "USD 200.00 apart" in row.violation.message


def test_billable_time_on_a_task_of_no_phase_is_an_exception_and_can_be_moved(tmp_path: Path) -> None:
    """A project whose BUILD task lost its phase (set up before phases were kept per line, say): Alice's
    billable 8 h on it would never be invoiced, so it is `time.no_billable_phase`, naming the task and the
    entry. Corrected to DESIGN (a T&M task) from the queue, it is posted and billed: 8 x 150 = 1,200."""
    w = fake_world(tmp_path)
    w.set_up()
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="project", canonical_id=P)
    assert rec is not None
    project = Project.model_validate(rec.payload)
    tasks = tuple(t.model_copy(update={"phase_id": None}) if t.code == "BUILD" else t for t in project.tasks)
    rewrite(w, "project", P, project.model_copy(update={"tasks": tasks}).model_dump(mode="json"))
    entry = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(entry)
    w.sync()
    with w.hub.engine.connect() as conn:
        (row,) = exception_store.search(conn)
    assert (row.violation.rule, row.violation.record_id) == ("time.no_billable_phase", f"{P}-BUILD")
    assert [s.record_id for s in row.open_subjects] == [entry]
    assert w.erp.kind("timebill") == {}
    raw = row.payload["entries"][0]
    replay(w.hub.engine, [row], actor="controller", corrected_payload={"entries": [{**raw, "task_code": "DESIGN"}]},
           corrections=corrections())
    drain(w.hub)
    enqueue_billing(w.hub, invoice_date=date(2026, 11, 30))
    drain(w.hub)
    (invoice,) = w.erp.kind("invoice").values()
    assert invoice.total == usd("1200.00")
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn) == []
