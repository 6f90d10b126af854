"""Resources from the ERP and the time tracker, matched by email with the config's (fake ports).

The config lists Alice (Consultant) and Bob (Architect); the fake ERP employs both. Each test changes who
the ERP and the tracker list and checks the hub's view, its exceptions and its audit trail after a sync.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FakeWorld, fake_world

from q2c.config import ResourceSetting
from q2c.engine.errors import AuthFailed, TransientError
from q2c.engine.replay import replay
from q2c.entrypoints.wiring import drain
from q2c.store import audit, reference
from q2c.store import exceptions as exception_store
from q2c.workflows import reference_data
from q2c.workflows.ports import Person
from q2c.workflows.reference_resources import (
    RESOURCE_INACTIVE,
    RESOURCE_NO_ROLE,
    RESOURCE_NOT_IN_ERP,
    resource_views,
    sync_resources,
)

ALICE, BOB, DAN = "alice@example.com", "bob@example.com", "dan@example.com"


def open_problems(w: FakeWorld) -> list[tuple[str, str, str]]:
    with w.hub.engine.connect() as conn:
        return sorted((r.violation.rule, r.violation.record_id, r.violation.system)
                      for r in exception_store.search(conn, rule="reference.resource_*"))


def resource_trail(w: FakeWorld, email: str) -> list[dict[str, Any]]:
    with w.hub.engine.connect() as conn:
        return [a for a in audit.history(conn, record_id=email) if a["entity"] == reference.RESOURCE]


def test_everyone_matched_raises_nothing_and_shows_where_each_person_is(tmp_path: Path, db_url: str) -> None:
    w = fake_world(tmp_path, db_url)
    views, synced = resource_views(w.hub)
    assert not synced and [(v.email, v.role, v.in_erp, v.in_tracker) for v in views] == [
        (ALICE, "Consultant", "not_read", "not_read"), (BOB, "Architect", "not_read", "not_read")]
    w.tracker.users = {ALICE: True, BOB: True}
    result = sync_resources(w.hub)
    assert result.read and (result.erp_people, result.tracker_people, result.listed) == (2, 2, 2)
    assert result.problems == () and not result.needs_attention and result.changed == (ALICE, BOB)
    view = reference_data.reference_view(w.hub)
    erp_ids = {p.email: p.employee_number for p in w.erp.resources()}
    assert [(v.email, v.name, v.role, v.in_erp, v.in_tracker, v.employee_number) for v in view.resources] == [
        (ALICE, "Alice", "Consultant", "active", "active", erp_ids[ALICE]),
        (BOB, "Bob", "Architect", "active", "active", erp_ids[BOB])]
    assert "as the last `q2c reference sync` read them" in view.resources_source


def test_a_tracker_user_who_is_no_employee_is_held_until_the_erp_hires_them(tmp_path: Path, db_url: str) -> None:
    """Dan logs time in the tracker, is no ERP employee and has no role: two exceptions naming him. Hired in
    the ERP, one closes; given a role in the config, the other does. Each change is audited once."""
    w = fake_world(tmp_path, db_url)
    w.tracker.users = {ALICE: True, BOB: True, DAN: True}
    first = sync_resources(w.hub)
    assert open_problems(w) == [(RESOURCE_NO_ROLE, DAN, "q2c"), (RESOURCE_NOT_IN_ERP, DAN, "erp")]
    not_in_erp = next(v for v in first.problems if v.rule == RESOURCE_NOT_IN_ERP)
    assert "Dan (dan@example.com) logs time in the time tracker" in not_in_erp.message
    assert "is no employee in the ERP" in not_in_erp.message and "will refuse their time" in not_in_erp.message
    assert not_in_erp.field == "email" and "dan@example.com" in not_in_erp.action

    again = sync_resources(w.hub)  # nothing changed: no new audit entry, the same exceptions counted again
    assert again.changed == () and len(resource_trail(w, DAN)) == 1
    with w.hub.engine.connect() as conn:
        assert {r.occurrences for r in exception_store.search(conn, rule="reference.resource_*")} == {2}

    w.erp.employees.add(DAN)
    hired = sync_resources(w.hub)
    assert hired.changed == (DAN,) and hired.closed == 1
    assert open_problems(w) == [(RESOURCE_NO_ROLE, DAN, "q2c")]
    (view,) = [v for v in resource_views(w.hub)[0] if v.email == DAN]
    assert (view.role, view.in_erp, view.in_tracker, view.problems) == (None, "active", "active", (RESOURCE_NO_ROLE,))
    trail = resource_trail(w, DAN)
    assert len(trail) == 2 and trail[0]["before"]["erp"] is None and trail[0]["after"]["erp"]["active"] is True

    w.hub.config = w.hub.config.model_copy(update={"resources": (
        *w.hub.config.resources, ResourceSetting(email="Dan@Example.com", name="Dan Drake", role="Consultant"))})
    assert sync_resources(w.hub).closed == 1 and open_problems(w) == []
    with w.hub.engine.connect() as conn:
        assert audit.verify(conn).ok


def test_config_people_the_erp_no_longer_employs_or_nobody_knows(tmp_path: Path, db_url: str) -> None:
    """Bob left (inactive in the ERP) while the tracker still lets him log time; Alice's email is in neither
    system. Someone the ERP employs without a role in the config cannot be rated."""
    w = fake_world(tmp_path, db_url)
    w.erp.employees = {"erin@example.com"}
    w.erp.former_employees = {BOB}
    w.tracker.users = {BOB: True, "old@example.com": False}
    result = sync_resources(w.hub)
    assert open_problems(w) == [(RESOURCE_INACTIVE, ALICE, "q2c"), (RESOURCE_INACTIVE, BOB, "erp"),
                                (RESOURCE_NO_ROLE, "erin@example.com", "q2c"), (RESOURCE_NOT_IN_ERP, BOB, "erp")]
    by_key = {(v.rule, v.record_id): v for v in result.problems}
    assert "neither the ERP nor the time tracker has anyone with this email" in by_key[(RESOURCE_INACTIVE,
                                                                                        ALICE)].message
    assert "but an inactive employee in the ERP" in by_key[(RESOURCE_INACTIVE, BOB)].message
    assert "is an active employee in the ERP" in by_key[(RESOURCE_NO_ROLE, "erin@example.com")].message
    # the inactive tracker user with no role and no employment raises nothing: they cannot log time
    assert all(v.record_id != "old@example.com" for v in result.problems)
    (old,) = [v for v in resource_views(w.hub)[0] if v.email == "old@example.com"]
    assert (old.in_erp, old.in_tracker) == ("absent", "inactive")

    w.erp.employees = {ALICE, BOB, "erin@example.com"}
    w.erp.former_employees = set()
    w.tracker.users = {BOB: True}
    after = sync_resources(w.hub)
    assert open_problems(w) == [(RESOURCE_NO_ROLE, "erin@example.com", "q2c")] and after.closed == 3
    assert after.gone == ("old@example.com",)
    assert [v.email for v in resource_views(w.hub)[0]] == [ALICE, BOB, "erin@example.com"]


def test_an_ignored_problem_stays_ignored_while_it_lasts(tmp_path: Path, db_url: str) -> None:
    w = fake_world(tmp_path, db_url)
    w.tracker.users = {ALICE: True, BOB: True, "owner@example.com": True}
    sync_resources(w.hub)
    with w.hub.engine.begin() as conn:
        (held,) = exception_store.search(conn, rule=RESOURCE_NOT_IN_ERP)
        exception_store.mark(conn, held.id, status=exception_store.IGNORED)
    assert [v.rule for v in sync_resources(w.hub).problems] == [RESOURCE_NO_ROLE]
    assert open_problems(w) == [(RESOURCE_NO_ROLE, "owner@example.com", "q2c")]
    w.tracker.users["owner@example.com"] = False  # deactivated: both fixed
    sync_resources(w.hub)
    w.tracker.users["owner@example.com"] = True  # back: raised anew, not hidden by the old decision
    assert sorted(v.rule for v in sync_resources(w.hub).problems) == [RESOURCE_NO_ROLE, RESOURCE_NOT_IN_ERP]


def test_a_system_that_cannot_be_read_changes_nothing(tmp_path: Path, db_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    w = fake_world(tmp_path, db_url)
    w.tracker.users = {ALICE: True, BOB: True, DAN: True}
    sync_resources(w.hub)
    before = open_problems(w)

    def down() -> list[Person]:
        raise TransientError("tracker", "503 Service Unavailable")

    monkeypatch.setattr(w.tracker, "people", down)
    result = reference_data.refresh_reference_data(w.hub)
    assert not result.people.read and result.needs_attention and not result.people.blocking
    assert "503 Service Unavailable" in result.people.errors[0] and open_problems(w) == before
    assert {v.email for v in resource_views(w.hub)[0]} == {ALICE, BOB, DAN}

    def refused() -> list[Person]:
        raise AuthFailed("tracker", "401 invalid_token")

    monkeypatch.setattr(w.tracker, "people", refused)
    assert sync_resources(w.hub).blocking


def test_people_without_a_usable_email_are_named_not_matched(tmp_path: Path, db_url: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    w = fake_world(tmp_path, db_url)
    listed = w.erp.resources()
    monkeypatch.setattr(w.erp, "resources", lambda: [
        *listed, Person(system_id="77", email=None, name="Pat Nomail", active=True),
        Person(system_id="78", email="not-an-email", name="Sam Typo", active=True)])
    result = sync_resources(w.hub)
    assert result.unmatched == ("the ERP employee 77 (Pat Nomail) has no email",
                                "the ERP employee 78 (Sam Typo) has the email 'not-an-email', which q2c cannot match")
    assert result.problems == () and result.listed == 2


def test_replaying_a_resource_exception_reads_the_systems_again(tmp_path: Path, db_url: str) -> None:
    """Replayed before the fix, the check raises it again; replayed after, it stays closed."""
    w = fake_world(tmp_path, db_url)
    w.tracker.users = {ALICE: True, BOB: True, DAN: True}
    sync_resources(w.hub)

    def replay_not_in_erp() -> int:
        with w.hub.engine.connect() as conn:
            (held,) = exception_store.search(conn, rule=RESOURCE_NOT_IN_ERP)
        replay(w.hub.engine, [held], actor="controller")
        drain(w.hub)
        return held.id

    first = replay_not_in_erp()
    with w.hub.engine.connect() as conn:
        (again,) = exception_store.search(conn, rule=RESOURCE_NOT_IN_ERP)
    assert again.id != first and again.violation.record_id == DAN
    w.erp.employees.add(DAN)
    replay_not_in_erp()
    assert open_problems(w) == [(RESOURCE_NO_ROLE, DAN, "q2c")]
