"""Change events over one CometD session that lives from poll to poll, as the Streaming API expects.

Streaming API Developer Guide, "How the Client Connects" (handshake, subscribe, then connect after
connect on the same client), "Clients and Timeouts" (reconnect within 40 s or start over), "Message
Durability" (replay ids; -1 new, -2 all retained). The sandbox answers a session's first connect at
once with advice only and holds later ones, as real orgs do (cometd/cometd#775).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from salesforce_fixtures import FAST_RETRY, seed_deal

from q2c.connectors.salesforce import ChangeEventStream, SalesforceClient
from q2c.connectors.salesforce.crm import SalesforceCrm
from q2c.connectors.salesforce.settings import SalesforceSettings
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.salesforce.app import SalesforceSandbox

NEW_OPPORTUNITY = {"Name": "Hooli XYZ", "StageName": "Qualification", "CloseDate": "2024-10-31"}


@pytest.fixture()
def crm(config: SalesforceSettings, guards: GuardRegistry) -> Iterator[SalesforceCrm]:
    quick = config.model_copy(update={"change_events_wait_seconds": 0.3})
    with SalesforceClient(quick, guards, retry=FAST_RETRY) as client:
        adapter = SalesforceCrm(client)
        yield adapter
        adapter.close()


def cometd_calls(sandbox: SalesforceSandbox) -> int:
    return sum(n for key, n in sandbox.stats.by_path.items() if "/cometd/" in key)


def test_one_session_serves_every_poll(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    stream = ChangeEventStream(client, wait_seconds=0.3)
    assert stream.poll() == []  # handshake, subscribe, the at-once first connect, one held connect
    session = stream.client_id
    assert session is not None and cometd_calls(sandbox) == 4
    first = sandbox.state.create("Opportunity", NEW_OPPORTUNITY)
    assert [e.record_ids for e in stream.poll()] == [(first,)]
    timer = threading.Timer(0.2, lambda: sandbox.state.update("Opportunity", first, {"StageName": "Closed Won"}))
    timer.start()
    started = time.monotonic()
    won = stream.poll(2.5)
    timer.join()
    assert [e.fields.get("StageName") for e in won] == ["Closed Won"] and time.monotonic() - started < 2.0
    assert stream.client_id == session and stream.handshakes == 1
    assert cometd_calls(sandbox) == 6  # each later poll is one connect on the same client
    stream.close()


def test_the_adapter_keeps_its_session_and_resumes_where_the_caller_stands(crm: SalesforceCrm,
                                                                            sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    history = crm.opportunity_changes(None)  # nothing stored yet: everything retained
    assert [c.position for c in history] == [e["replayId"] for e in sandbox.state.change_events()]
    assert any(c.won for c in history) and not any(c.by_q2c for c in history)
    stored = history[-1].position
    sandbox.state.update("Opportunity", deal.opportunity_id, {"ERP_Contract_Id__c": "SO-TYPO"})
    [edit] = crm.opportunity_changes(stored)
    assert edit.changed_fields[0] == "ERP_Contract_Id__c" and edit.values["ERP_Contract_Id__c"] == "SO-TYPO"
    assert crm.opportunity_changes(edit.position) == []
    stream = crm.change_stream
    assert stream is not None and stream.handshakes == 1  # three polls, one session

    # The caller did not store the last position (say its transaction failed): it asks again from the one it has,
    # and gets the same event again over a new session subscribed from there.
    again = crm.opportunity_changes(stored)
    assert [c.position for c in again] == [edit.position]
    assert crm.change_stream is not stream


def test_a_new_process_resumes_from_the_stored_replay_id(config: SalesforceSettings, crm: SalesforceCrm,
                                                         sandbox: SalesforceSandbox) -> None:
    first = sandbox.state.create("Opportunity", NEW_OPPORTUNITY)
    stored = crm.opportunity_changes(None)[-1].position
    crm.client.update("Opportunity", first, {"StageName": "Closed Won"})  # written by q2c: an echo
    with SalesforceClient(config, GuardRegistry(), retry=FAST_RETRY) as client:
        restarted = SalesforceCrm(client)
        [echo] = restarted.opportunity_changes(stored)
        restarted.close()
    assert echo.by_q2c and echo.won and echo.opportunity_ids == (f"SF-{first}",)


def test_a_forgotten_session_is_rebuilt_from_the_last_replay_id(crm: SalesforceCrm,
                                                                 sandbox: SalesforceSandbox) -> None:
    first = sandbox.state.create("Opportunity", NEW_OPPORTUNITY)
    position = crm.opportunity_changes(None)[-1].position
    sandbox.state.drop_streaming_clients()  # as after a network drop, or 40 s without a connect
    sandbox.state.update("Opportunity", first, {"StageName": "Needs Analysis"})
    sandbox.state.update("Opportunity", first, {"StageName": "Closed Won"})
    changes = crm.opportunity_changes(position)
    assert [c.values.get("StageName") for c in changes] == ["Needs Analysis", "Closed Won"]
    stream = crm.change_stream
    assert stream is not None and stream.handshakes == 2  # told "403::Unknown client", it handshook again
    assert crm.opportunity_changes(changes[-1].position) == []  # nothing twice
