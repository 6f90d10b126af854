"""A change feed that cannot resume where q2c left off (the CRM kept its events 72 hours, q2c was away
longer) used to fail on every pass, so the feed stopped for good and ownership conflicts went silent. Now
the gap is one open exception naming where it starts, and the feed goes on from the oldest event kept."""

from __future__ import annotations

from pathlib import Path

from fakes import fake_world

from q2c.engine.replay import replay
from q2c.entrypoints.wiring import drain
from q2c.store import cursors
from q2c.store import exceptions as exception_store
from q2c.workflows.crm_changes import consume_crm_changes, cursor_name
from q2c.workflows.ports import CrmChange

OWNED = frozenset({"ERP_Contract_Id__c"})


def change(position: int, **values: str) -> CrmChange:
    return CrmChange(opportunity_ids=("SF-006A",), changed_fields=tuple(values), values=values,
                     origin="a user in the UI", by_q2c=False, position=position)


def test_a_gap_in_the_feed_is_named_and_the_feed_goes_on_from_the_oldest_event_kept(tmp_path: Path) -> None:
    w = fake_world(tmp_path)
    w.crm.owned = OWNED
    w.crm.changes = [change(3, Amount="1"), change(10, Amount="2"), change(11, ERP_Contract_Id__c="X-1")]
    assert consume_crm_changes(w.hub).events == 3  # read from the start: positions 3, 10, 11
    w.crm.changes.append(change(12, ERP_Contract_Id__c="X-2"))
    w.crm.retained_from = 13  # q2c was away; events up to 12 have expired
    w.crm.changes.append(change(14, ERP_Contract_Id__c="X-3"))

    stats = consume_crm_changes(w.hub)
    assert (stats.gaps, stats.events, stats.conflicts) == (1, 1, 1)  # event 12 is lost; 14 is seen
    with w.hub.engine.connect() as conn:
        assert cursors.get_cursor(conn, cursor_name(w.hub)) == "14"
        rules = sorted((r.violation.rule, r.violation.record_id) for r in exception_store.search(conn))
    assert rules == [("crm.change_feed_gap", "after 11"), ("ownership.conflict", "SF-006A")]

    assert consume_crm_changes(w.hub).gaps == 0  # the feed stands at 14 again: no new gap
    with w.hub.engine.connect() as conn:
        (gap,) = exception_store.search(conn, rule="crm.change_feed_gap")
    assert "ERP_Contract_Id__c" in gap.violation.action and gap.occurrences == 1

    replay(w.hub.engine, [gap], actor="controller")  # checked by a person: the replay closes it
    drain(w.hub)
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn, rule="crm.change_feed_gap") == []
