"""The Streaming API over real HTTP: Bayeux handshake, subscribe with replay, connect, and refusals.

As the Streaming API Developer Guide describes it ("How the Client Connects", "Clients and Timeouts",
"Message Durability": 72-hour retention for change events) and as real orgs answer on the wire
(cometd/cometd#775, Oyatel/CometD.NET#23, kdcllc/CometD.NetCore.Salesforce#43,
forcedotcom/EMP-Connector#14).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from salesforce_org_fixtures import seed_deal

from q2c.sandboxes.salesforce.app import SalesforceSandbox
from q2c.sandboxes.salesforce.org import SalesforceOrg

CHANNEL = "/data/OpportunityChangeEvent"
FIRST_CONNECT_ADVICE = {"reconnect": "retry", "interval": 0, "timeout": 500}  # the fixture's 0.5 s long poll


def bayeux(http: httpx.Client, headers: dict[str, str], *messages: dict[str, Any]) -> list[dict[str, Any]]:
    response = http.post("/cometd/59.0", json=list(messages), headers=headers)
    assert response.status_code == 200, response.text
    replies = response.json()
    assert isinstance(replies, list)
    return replies


def handshake(http: httpx.Client, headers: dict[str, str]) -> str:
    [reply] = bayeux(http, headers, {"channel": "/meta/handshake", "version": "1.0", "id": "1",
                                     "supportedConnectionTypes": ["long-polling"]})
    assert reply["successful"] is True and reply["id"] == "1" and reply["ext"]["replay"] is True
    return str(reply["clientId"])


def subscribed(http: httpx.Client, headers: dict[str, str], replay: int) -> str:
    client_id = handshake(http, headers)
    [reply] = bayeux(http, headers, {"channel": "/meta/subscribe", "clientId": client_id, "subscription": CHANNEL,
                                     "ext": {"replay": {CHANNEL: replay}}})
    assert reply["successful"] is True and reply["clientId"] == client_id and reply["subscription"] == CHANNEL
    return client_id


def connect(http: httpx.Client, headers: dict[str, str], client_id: str, **advice: int) -> list[dict[str, Any]]:
    message: dict[str, Any] = {"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}
    if advice:
        message["advice"] = advice
    return bayeux(http, headers, message)


def test_the_handshake_answer_carries_no_advice(http: httpx.Client, headers: dict[str, str]) -> None:
    [reply] = bayeux(http, headers, {"channel": "/meta/handshake", "version": "1.0", "id": "7",
                                     "supportedConnectionTypes": ["long-polling"]})
    assert set(reply) == {"channel", "id", "clientId", "version", "minimumVersion", "supportedConnectionTypes",
                          "successful", "ext"}
    assert reply["ext"] == {"replay": True, "payload.format": True}
    assert reply["supportedConnectionTypes"] == ["long-polling"]


def test_the_first_connect_is_answered_at_once_with_advice_only(http: httpx.Client, headers: dict[str, str],
                                                                sandbox: SalesforceSandbox) -> None:
    seed_deal(sandbox.state)
    client_id = subscribed(http, headers, -2)  # events are waiting
    started = time.monotonic()
    first = connect(http, headers, client_id)
    assert first == [{"channel": "/meta/connect", "clientId": client_id, "successful": True,
                      "advice": FIRST_CONNECT_ADVICE}]
    assert time.monotonic() - started < 0.5
    second = connect(http, headers, client_id)  # the next one delivers what waits, without advice
    assert [m["channel"] for m in second] == [CHANNEL] * (len(second) - 1) + ["/meta/connect"]
    assert len(second) == len(sandbox.state.change_events()) + 1 and "advice" not in second[-1]
    replays = [m["data"]["event"]["replayId"] for m in second[:-1]]
    assert replays == sorted(replays)


def test_a_later_connect_is_held_until_an_event_arrives(http: httpx.Client, headers: dict[str, str],
                                                        sandbox: SalesforceSandbox) -> None:
    client_id = subscribed(http, headers, -1)
    connect(http, headers, client_id)
    started = time.monotonic()
    assert connect(http, headers, client_id, timeout=200) == [
        {"channel": "/meta/connect", "clientId": client_id, "successful": True,
         "advice": FIRST_CONNECT_ADVICE}]  # nothing happened: the 200 ms the client asked for, then advice again
    assert 0.15 <= time.monotonic() - started < 0.45
    opportunity = {"Name": "Nucleus", "StageName": "Prospecting", "CloseDate": "2024-03-01"}
    timer = threading.Timer(0.15, lambda: sandbox.state.create("Opportunity", opportunity))
    timer.start()
    started = time.monotonic()
    held = connect(http, headers, client_id)
    timer.join()
    assert 0.1 <= time.monotonic() - started < 0.45
    [event, reply] = held
    assert event["data"]["payload"]["ChangeEventHeader"]["changeType"] == "CREATE" and reply["successful"] is True
    started = time.monotonic()
    assert connect(http, headers, client_id) == [{"channel": "/meta/connect", "clientId": client_id,
                                                  "successful": True}]
    assert time.monotonic() - started >= 0.45  # the server's own long-poll timeout (0.5 s here, 110 s on Salesforce)


def test_an_unknown_client_is_told_to_handshake(http: httpx.Client, headers: dict[str, str],
                                                sandbox: SalesforceSandbox) -> None:
    client_id = subscribed(http, headers, -1)
    sandbox.state.drop_streaming_clients()
    [reply] = bayeux(http, headers, {"channel": "/meta/connect", "clientId": client_id, "id": "83",
                                     "connectionType": "long-polling"})
    assert reply == {"channel": "/meta/connect", "id": "83", "successful": False, "error": "403::Unknown client",
                     "advice": {"reconnect": "handshake", "interval": 0}}


def test_change_events_are_retained_for_72_hours() -> None:
    now = [datetime(2024, 5, 1, 9, 0, tzinfo=UTC)]
    org = SalesforceOrg(clock=lambda: now[0])
    old = org.create("Opportunity", {"Name": "Old", "StageName": "Prospecting", "CloseDate": "2024-05-31"})
    now[0] += timedelta(hours=48)
    org.update("Opportunity", old, {"StageName": "Qualification"})
    first, second = (e["replayId"] for e in org.change_events())
    client_id = org.streaming_handshake(org.open_session("integration@q2c-sandbox.example").token)
    assert org.streaming_subscribe(client_id, CHANNEL, first) is None
    now[0] += timedelta(hours=25)  # the create is now 73 hours old, the update 25
    assert [e["replayId"] for e in org.change_events()] == [second]
    refused = org.streaming_subscribe(client_id, CHANNEL, first - 1)
    assert refused == (f"400::The replayId {{{first - 1}}} you provided was invalid.  Please provide a valid ID, "
                       "-2 to replay all events, or -1 to replay only new events.")
    assert org.streaming_subscribe(client_id, CHANNEL, -2) is None
    assert [m["data"]["event"]["replayId"] for m in org.streaming_collect(client_id)] == [second]


def test_handshake_needs_a_live_session(http: httpx.Client, headers: dict[str, str],
                                        sandbox: SalesforceSandbox) -> None:
    [anonymous] = bayeux(http, {}, {"channel": "/meta/handshake"})
    assert anonymous["successful"] is False and anonymous["error"] == "403::Handshake denied"
    assert anonymous["ext"]["sfdc"]["failureReason"] == "401::Request requires authentication"
    client_id = handshake(http, headers)
    sandbox.state.expire_sessions()
    [refused] = bayeux(http, headers, {"channel": "/meta/subscribe", "clientId": client_id, "subscription": CHANNEL})
    assert refused["successful"] is False and refused["error"].startswith("401::")


def test_events_since_a_replay_id_arrive_with_their_header(http: httpx.Client, headers: dict[str, str],
                                                           sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox.state)
    first_replay = sandbox.state.change_events()[0]["replayId"]
    client_id = handshake(http, headers)
    [subscribed] = bayeux(http, headers, {"channel": "/meta/subscribe", "clientId": client_id,
                                          "subscription": CHANNEL, "ext": {"replay": {CHANNEL: first_replay}}})
    assert subscribed["successful"] is True
    events: list[dict[str, Any]] = []
    for _ in range(3):  # the first connect is answered at once with advice only; events come on the next
        replies = bayeux(http, headers, {"channel": "/meta/connect", "clientId": client_id,
                                         "connectionType": "long-polling", "advice": {"timeout": 200}})
        assert replies[-1]["channel"] == "/meta/connect" and replies[-1]["successful"] is True
        events += [r for r in replies if r["channel"] == CHANNEL]
        if events:
            break
    assert events and all(e["data"]["event"]["replayId"] > first_replay for e in events)
    header = events[-1]["data"]["payload"]["ChangeEventHeader"]
    assert header["entityName"] == "Opportunity" and header["recordIds"] == [deal.opportunity_id]
    assert "changedFields" in header and "changeOrigin" in header and events[-1]["data"]["schema"]


def test_subscribe_refusals(http: httpx.Client, headers: dict[str, str]) -> None:
    client_id = handshake(http, headers)
    [unknown] = bayeux(http, headers, {"channel": "/meta/subscribe", "clientId": client_id,
                                       "subscription": "/data/InvoiceChangeEvent"})
    assert unknown["successful"] is False and unknown["error"].startswith("400::")
    [replay] = bayeux(http, headers, {"channel": "/meta/subscribe", "clientId": client_id, "subscription": CHANNEL,
                                      "ext": {"replay": {CHANNEL: 999_999}}})
    assert replay["successful"] is False and "replayId" in replay["error"]
    [stranger] = bayeux(http, headers, {"channel": "/meta/connect", "clientId": "nobody",
                                        "connectionType": "long-polling"})
    assert stranger["error"] == "403::Unknown client" and stranger["advice"]["reconnect"] == "handshake"


def test_the_version_is_mandatory_and_bodies_must_be_bayeux(http: httpx.Client, headers: dict[str, str]) -> None:
    assert http.post("/cometd/latest", json=[], headers=headers).status_code == 400
    assert http.post("/cometd/36.0", json=[], headers=headers).status_code == 400
    assert http.post("/cometd/59.0", content=b"not json", headers=headers).status_code == 400
    assert http.post("/cometd/59.0", json=["text"], headers=headers).status_code == 400
