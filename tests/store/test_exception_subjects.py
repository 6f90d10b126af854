"""Exceptions keep every record they hold up: a repeat adds its record, replay re-delivers all of them,
and each record is resolved on its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from q2c.domain.violations import Violation
from q2c.engine.replay import replay
from q2c.store import exceptions as exception_store
from q2c.store import queue
from q2c.store.exceptions import Subject, merge_payloads


def _employee_missing() -> Violation:
    return Violation(system="netsuite", object="employee", record_id="dan@example.com", field="email",
                     rule="time.employee_missing", message="no NetSuite employee has the email dan@example.com",
                     action="Create the employee, then replay")


def _entry(n: int, hours: str = "8") -> dict[str, Any]:
    return {"id": f"HV-{n}", "hours": hours}


def _raise(engine: Engine, violation: Violation, entries: list[dict[str, Any]]) -> int:
    with engine.begin() as conn:
        return exception_store.raise_exception(
            conn, violation, work_kind="time.deliver", aggregate="project:P-1", correlation_id="c",
            payload={"entries": entries}, subjects=[Subject("time_entry", e["id"], {"entries": [e]}) for e in entries])


def test_four_entries_of_one_problem_stay_four_and_replay_re_delivers_all_of_them(db: Engine) -> None:
    """The same problem raised by four entries, in three deliveries, is one exception holding four records;
    replaying it queues one item carrying all four, the latest version of each."""
    first = _raise(db, _employee_missing(), [_entry(1), _entry(2)])
    again = _raise(db, _employee_missing(), [_entry(3)])
    third = _raise(db, _employee_missing(), [_entry(4), _entry(2, hours="9")])  # HV-2 came back edited
    assert first == again == third
    with db.connect() as conn:
        (row,) = exception_store.search(conn)
    assert row.occurrences == 3
    assert [s.record_id for s in row.open_subjects] == ["HV-1", "HV-2", "HV-3", "HV-4"]
    assert {e["id"]: e["hours"] for e in row.payload["entries"]} == {"HV-1": "8", "HV-2": "9", "HV-3": "8",
                                                                     "HV-4": "8"}
    (result,) = replay(db, [row], actor="controller")
    with db.connect() as conn:
        (item,) = queue.claim(conn, worker="w", limit=5)
        replayed = exception_store.get(conn, row.id)
    assert item.id == result.work_item_id
    assert sorted(e["id"] for e in item.payload["entries"]) == ["HV-1", "HV-2", "HV-3", "HV-4"]
    assert replayed is not None and replayed.status == "replayed"
    assert all(s.status == "replayed" for s in replayed.subjects)


def test_each_record_is_resolved_on_its_own_and_the_exception_closes_with_the_last(db: Engine) -> None:
    exception_id = _raise(db, _employee_missing(), [_entry(1), _entry(2), _entry(3)])
    with db.begin() as conn:
        closed = exception_store.settle_subjects(conn, entity="time_entry", current={"HV-1": [], "HV-2": []})
        row = exception_store.get(conn, exception_id)
    assert closed == 0 and row is not None and row.status == "open"
    assert [s.record_id for s in row.open_subjects] == ["HV-3"]
    assert [e["id"] for e in row.payload["entries"]] == ["HV-3"]  # a replay now re-delivers only what is held
    with db.begin() as conn:
        assert exception_store.open_subject_ids(conn, entity="time_entry") == {"HV-3"}
        closed = exception_store.settle_subjects(conn, entity="time_entry", current={"HV-3": []})
        row = exception_store.get(conn, exception_id)
    assert closed == 1 and row is not None and row.status == "resolved"
    with db.connect() as conn:
        assert exception_store.open_subject_ids(conn, entity="time_entry") == set()


def test_a_record_keeps_the_exceptions_it_still_breaks(db: Engine) -> None:
    employee = _raise(db, _employee_missing(), [_entry(1)])
    task = Violation(system="harvest", object="time_entry", record_id="HV-1", field="task", rule="time.task_unknown",
                     message="task 'Dsign' is unknown", action="Move the entry")
    task_id = _raise(db, task, [_entry(1)])
    with db.begin() as conn:
        exception_store.settle_subjects(conn, entity="time_entry", current={"HV-1": [task_id]})
        assert exception_store.get(conn, employee).status == "resolved"  # type: ignore[union-attr]
        assert exception_store.get(conn, task_id).status == "open"  # type: ignore[union-attr]


def test_problems_on_different_fields_of_one_record_are_different_exceptions(db: Engine) -> None:
    """A deal missing five fields is five exceptions, not one that says only the last."""
    with db.begin() as conn:
        for field in ("Name", "StageName", "CloseDate", "CurrencyIsoCode", "AccountId"):
            exception_store.raise_exception(conn, Violation(
                system="salesforce", object="Opportunity", record_id="006A", field=field,
                rule="salesforce.mapping.required", message=f"{field} is empty", action="Fill it in"),
                work_kind="deal.setup", aggregate="opportunity:006A", payload={"opportunity_id": "006A"},
                correlation_id="c", subjects=[Subject("opportunity", "006A")])
        rows = exception_store.search(conn)
    assert sorted(r.violation.field or "" for r in rows) == ["AccountId", "CloseDate", "CurrencyIsoCode", "Name",
                                                             "StageName"]
    with db.connect() as conn:
        assert len(exception_store.search(conn, subject=("opportunity", "006A"))) == 5


def test_warnings_are_kept_apart_from_open_exceptions(db: Engine) -> None:
    with db.begin() as conn:
        exception_store.raise_exception(conn, Violation(
            system="netsuite", object="timebill", record_id="HV-1", field="memo", rule="field.truncated",
            message="notes of 1,000,000 characters shortened to 4,000", action="Nothing to do"),
            work_kind="time.deliver", aggregate="project:P-1", payload={}, correlation_id="c",
            subjects=[Subject("time_entry", "HV-1")], status=exception_store.WARNING)
        assert exception_store.search(conn) == []
        (warning,) = exception_store.search(conn, status=exception_store.WARNING)
        assert exception_store.open_subject_ids(conn, entity="time_entry") == set()
    assert warning.violation.rule == "field.truncated"


def test_merging_payload_parts_keeps_each_record_once_latest_first() -> None:
    merged = merge_payloads({"contract_id": "C-1"}, [{"entries": [_entry(1)]}, {"entries": [_entry(2)]},
                                                     {"entries": [_entry(1, hours="3")]}, None])
    assert merged == {"contract_id": "C-1", "entries": [_entry(1, hours="3"), _entry(2)]}
