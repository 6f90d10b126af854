"""The Streaming API over real HTTP: Bayeux handshake, subscribe with replay, connect, and refusals."""

from __future__ import annotations

from typing import Any

import httpx
from salesforce_org_fixtures import seed_deal

from q2c.sandboxes.salesforce.app import SalesforceSandbox

CHANNEL = "/data/OpportunityChangeEvent"


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
    for _ in range(3):  # a server may answer a connect before it has events to deliver
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
