"""Answers that cannot be read: a write is never reported failed because its answer was lost.

The sandbox garbles answers at random (`malformed_rate`) or exactly the next N of them
(`malformed_next`), after NetSuite has done the work or in front of it (`malformed_before_vendor`:
the request never arrived). Whatever the pattern, each record ends up in NetSuite exactly once,
none is reported failed, and none is reported written that is not there (or not as sent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from netsuite_fixtures import ClientFactory, seed_project
from netsuite_records import contract, customer, invoice, journal_entry, project, timebill

from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.erp import NetSuiteErp
from q2c.engine.errors import TransientError
from q2c.sandboxes.kit import Faults, SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox


@dataclass
class Deal:
    """NetSuite with one deal set up through the adapter (no faults), so every reference is known."""

    erp: NetSuiteErp
    sandbox: NetSuiteSandbox

    @property
    def client(self) -> NetSuiteClient:
        return self.erp.client


def _set_up(make_client: ClientFactory, sandbox: NetSuiteSandbox, **config: int) -> Deal:
    seed_project(sandbox, customer="CUST-SEED", project="PRJ-SEED", employees=2)
    erp = NetSuiteErp(make_client(**config))
    erp.upsert_customer(customer("1"))
    erp.upsert_project(project("1"), contract("1"))
    erp.upsert_contract(contract("1"), project_id="P-1")
    assert all(r.violation is None for r in erp.upsert_timebills([timebill("HV-0")]))
    erp.post_journal_entry(journal_entry("JE-0"))  # warms the account lookup
    return Deal(erp, sandbox)


@pytest.fixture
def deal(make_client: ClientFactory, sandbox: NetSuiteSandbox) -> Deal:
    return _set_up(make_client, sandbox)


# Each step writes new records of one kind and returns (record type, external id, id it reported).
Step = Callable[[NetSuiteErp], list[tuple[str, str, str]]]


def _customer(erp: NetSuiteErp) -> list[tuple[str, str, str]]:
    return [("customer", "SF-0012", erp.upsert_customer(customer("2")))]


def _project(erp: NetSuiteErp) -> list[tuple[str, str, str]]:
    """The job and, in bulk, its two tasks (which report no ids)."""
    return [*_customer(erp), ("job", "P-2", erp.upsert_project(project("2"), contract("2")))]


def _contract(erp: NetSuiteErp) -> list[tuple[str, str, str]]:
    return [*_customer(erp), ("salesorder", "C-2", erp.upsert_contract(contract("2"), project_id="P-1"))]


def _time(erp: NetSuiteErp) -> list[tuple[str, str, str]]:
    results = erp.upsert_timebills([timebill(f"HV-{n}") for n in range(1, 4)])
    assert all(r.violation is None and r.external_id for r in results), results
    return [("timebill", r.canonical_id, str(r.external_id)) for r in results]


def _invoice(erp: NetSuiteErp) -> list[tuple[str, str, str]]:
    return [("invoice", "INV-2", erp.upsert_invoice(invoice("INV-2"), legal_entity="US01", project_id="P-1"))]


def _journal(erp: NetSuiteErp) -> list[tuple[str, str, str]]:
    return [("journalentry", "JE-1", erp.post_journal_entry(journal_entry("JE-1")))]


STEPS: dict[str, Step] = {"customer": _customer, "project": _project, "contract": _contract, "time": _time,
                          "invoice": _invoice, "journal entry": _journal}


def _assert_written_once(sandbox: NetSuiteSandbox, written: list[tuple[str, str, str]]) -> None:
    for record_type, external, reported in written:
        stored = sandbox.state.by_external_id(record_type, external)
        assert stored is not None, f"{record_type} {external} was reported written but is not in NetSuite"
        assert stored.id == reported, f"{record_type} {external}: reported {reported}, NetSuite has {stored.id}"
        holders = [r for r in sandbox.state.records[record_type].values() if r.external_id == external]
        assert len(holders) == 1


@pytest.mark.parametrize("before_vendor", [False, True], ids=["after-write", "before-write"])
@pytest.mark.parametrize("lost", [1, 2, 3])
@pytest.mark.parametrize("step", list(STEPS))
def test_every_upsert_survives_the_next_answers_being_lost(deal: Deal, step: str, lost: int,
                                                          before_vendor: bool) -> None:
    state = deal.sandbox.state
    created_before = sum(n for (_, what), n in state.writes.items() if what == "created")
    deal.sandbox.set_faults(Faults(malformed_next=lost, malformed_before_vendor=before_vendor))
    written = STEPS[step](deal.erp)
    assert deal.sandbox.stats.garbled == lost
    _assert_written_once(deal.sandbox, written)
    created = sum(n for (_, what), n in state.writes.items() if what == "created") - created_before
    assert created == len(written) + (2 if step == "project" else 0), f"{step}: {created} records created"
    if step == "project":
        assert {t.external_id for t in state.records["projecttask"].values()} >= {"P-2-BUILD", "P-2-PM"}
    if before_vendor:
        assert deal.client.readbacks["written"] == 0  # what never arrived is never taken for written


def test_a_lost_answer_after_the_write_is_settled_by_reading_the_record_back(deal: Deal) -> None:
    state = deal.sandbox.state
    updates = state.updated("timebill")
    deal.sandbox.set_faults(Faults(malformed_next=1))
    (result,) = deal.erp.upsert_timebills([timebill("HV-9")])
    assert result.violation is None and result.external_id == state.external["timebill"]["HV-9"]
    assert deal.client.readbacks == {"written": 1}
    assert state.updated("timebill") == updates  # read back, not written a second time


def test_an_update_that_did_not_land_is_sent_again(deal: Deal) -> None:
    """The record is there (an older version): only its values tell whether the update happened."""
    state = deal.sandbox.state
    internal = state.external["timebill"]["HV-0"]
    deal.sandbox.set_faults(Faults(malformed_next=1, malformed_before_vendor=True))
    (result,) = deal.erp.upsert_timebills([timebill("HV-0", hours="2.25")])
    assert result.violation is None and result.external_id == internal
    assert state.records["timebill"][internal].values["hours"] == Decimal("2.25")
    assert deal.client.readbacks == {"not_written": 1}


def test_answers_lost_in_front_of_netsuite_are_never_taken_for_written(deal: Deal) -> None:
    deal.sandbox.set_faults(Faults(malformed_next=1000, malformed_before_vendor=True))
    with pytest.raises(TransientError, match="could not be read"):
        deal.erp.upsert_customer(customer("2"))
    assert deal.sandbox.state.by_external_id("customer", "SF-0012") is None
    deal.sandbox.set_faults(Faults())
    internal = deal.erp.upsert_customer(customer("2"))  # the durable retry
    assert deal.sandbox.state.external["customer"]["SF-0012"] == internal


def test_an_update_whose_answers_are_all_lost_is_not_reported_written(deal: Deal) -> None:
    state = deal.sandbox.state
    internal = state.external["timebill"]["HV-0"]
    deal.sandbox.set_faults(Faults(malformed_next=1000, malformed_before_vendor=True))
    with pytest.raises(TransientError):
        deal.erp.upsert_timebills([timebill("HV-0", hours="3")])
    assert state.records["timebill"][internal].values["hours"] == Decimal("1.5")


def test_answers_all_lost_after_the_write_give_a_transient_error_and_one_record(deal: Deal) -> None:
    deal.sandbox.set_faults(Faults(malformed_next=1000))
    with pytest.raises(TransientError):
        deal.erp.upsert_invoice(invoice("INV-3"), legal_entity="US01", project_id="P-1")
    assert deal.sandbox.state.by_external_id("invoice", "INV-3") is not None  # written; q2c did not claim it
    deal.sandbox.set_faults(Faults())
    internal = deal.erp.upsert_invoice(invoice("INV-3"), legal_entity="US01", project_id="P-1")
    assert deal.sandbox.state.external["invoice"]["INV-3"] == internal
    assert sum(1 for r in deal.sandbox.state.records["invoice"].values() if r.external_id == "INV-3") == 1


def test_six_hundred_timebills_one_by_one_with_five_percent_garbled_answers(
        make_client: ClientFactory, sandbox: NetSuiteSandbox) -> None:
    deal = _set_up(make_client, sandbox, bulk_threshold=1000)
    state = sandbox.state
    sandbox.set_faults(Faults(malformed_rate=0.05, seed=24))
    batches = [[timebill(f"HV-{n:04d}", email=f"ada{n % 2}@firm.example") for n in range(start, start + 100)]
               for start in range(1, 601, 100)]
    results = [r for batch in batches for r in deal.erp.upsert_timebills(batch)]
    assert sandbox.stats.garbled > 10 and state.restlet_calls == 0
    assert [r.violation for r in results if r.violation is not None] == []
    _assert_written_once(sandbox, [("timebill", r.canonical_id, str(r.external_id)) for r in results])
    assert state.created("timebill") == 601 and state.count("timebill") == 601
    assert deal.client.readbacks["written"] > 0


def test_the_bulk_path_sends_a_chunk_again_then_reads_it_back(make_client: ClientFactory,
                                                              sandbox: NetSuiteSandbox) -> None:
    deal = _set_up(make_client, sandbox, bulk_threshold=2)
    state = sandbox.state
    attempts = deal.client.guard.retry.max_attempts
    calls = state.restlet_calls
    sandbox.set_faults(Faults(malformed_next=attempts))  # every try's answer lost; the read-back is clean
    results = deal.erp.upsert_timebills([timebill(f"HV-{n}") for n in range(1, 6)])
    assert state.restlet_calls - calls == attempts
    assert [r.violation for r in results] == [None] * 5
    _assert_written_once(sandbox, [("timebill", r.canonical_id, str(r.external_id)) for r in results])
    assert deal.client.readbacks == {"written": 1}


def test_the_bulk_path_never_reports_a_chunk_that_did_not_arrive(make_client: ClientFactory,
                                                                 sandbox: NetSuiteSandbox) -> None:
    deal = _set_up(make_client, sandbox, bulk_threshold=2)
    sandbox.set_faults(Faults(malformed_next=deal.client.guard.retry.max_attempts, malformed_before_vendor=True))
    with pytest.raises(TransientError, match="RESTlet timebill"):
        deal.erp.upsert_timebills([timebill(f"HV-{n}") for n in range(1, 6)])
    assert sandbox.state.count("timebill") == 1  # only HV-0 from the set-up
    assert deal.client.readbacks == {"not_written": 1}


def test_the_whole_deal_under_a_third_of_answers_garbled(make_client: ClientFactory,
                                                        sandbox: NetSuiteSandbox) -> None:
    deal = _set_up(make_client, sandbox)
    sandbox.set_faults(Faults(malformed_rate=0.3, seed=3))
    written = [w for step in STEPS.values() for w in step(deal.erp)]
    assert sandbox.stats.garbled > 5
    _assert_written_once(sandbox, written)


def test_the_kit_garbles_exactly_the_next_answers(server: SandboxServer, client: NetSuiteClient,
                                                  sandbox: NetSuiteSandbox) -> None:
    client.get("currency", "1")
    headers = {"Authorization": f"Bearer {next(iter(sandbox.state.tokens))}"}
    url = server.url + "/services/rest/record/v1/currency/1"
    sandbox.set_faults(Faults(malformed_next=2))
    answers = [httpx.get(url, headers=headers) for _ in range(3)]
    assert [a.content.startswith(b'{"truncated"') for a in answers] == [True, True, False]
    assert answers[2].json()["symbol"] == "USD"
    assert httpx.get(server.url + "/__sandbox/stats").json()["garbled"] == 2
