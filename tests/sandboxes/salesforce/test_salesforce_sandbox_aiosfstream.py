"""A third-party Salesforce Streaming API client, `aiosfstream-ng` (on `aiocometd-ng`), hears the sandbox.

If a CometD client written against real Salesforce cannot handshake, subscribe with the replay
extension and receive change events here, the sandbox is wrong. The only piece written here is
the authenticator (the library's documented extension point, `AuthenticatorBase._authenticate`):
the library's own ones call login.salesforce.com, and this one asks the sandbox's token endpoint
for a client-credentials token, as a client of a My Domain host would. Everything else, the
Bayeux exchanges, advice handling, replay extension and message parsing, is the library's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiohttp import ClientSession, encode_basic_auth
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.client import Client
from aiosfstream_ng.replay import ReplayMarker, ReplayOption
from salesforce_org_fixtures import CLIENT_ID, CLIENT_SECRET, V, seed_deal

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.salesforce.app import SalesforceSandbox

CHANNEL = "/data/OpportunityChangeEvent"


class ClientCredentialsAuthenticator(AuthenticatorBase):
    """OAuth 2.0 client credentials at an org's own token endpoint (its My Domain)."""

    def __init__(self, token_url: str, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret

    async def _authenticate(self) -> tuple[int, dict[str, Any]]:
        async with ClientSession() as session:
            basic = encode_basic_auth(self.client_id, self.client_secret)
            response = await session.post(self.token_url, data={"grant_type": "client_credentials"},
                                          headers={"Authorization": basic})
            return response.status, dict(await response.json())


def authenticator(server: SandboxServer) -> ClientCredentialsAuthenticator:
    return ClientCredentialsAuthenticator(f"{server.url}/services/oauth2/token", CLIENT_ID, CLIENT_SECRET)


def win_through_rest(server: SandboxServer, opportunity_id: str) -> None:
    """A sales rep's integration closes the deal through the REST API (a different client than the listener)."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        token = http.post("/services/oauth2/token", data={"grant_type": "client_credentials"},
                          auth=(CLIENT_ID, CLIENT_SECRET)).json()["access_token"]
        response = http.patch(f"{V}/sobjects/Opportunity/{opportunity_id}", json={"StageName": "Closed Won"},
                              headers={"Authorization": f"Bearer {token}", "Sforce-Call-Options": "client=crm-app"})
        assert response.status_code == 204, response.text


def test_aiosfstream_receives_a_change_event_for_a_rest_update(server: SandboxServer,
                                                               sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox.state, won=False)

    async def listen() -> dict[str, Any]:
        async with Client(authenticator(server), replay=ReplayOption.NEW_EVENTS) as client:
            await client.subscribe(CHANNEL)
            await asyncio.to_thread(win_through_rest, server, deal.opportunity_id)
            return dict(await asyncio.wait_for(client.receive(), timeout=10))

    message = asyncio.run(listen())
    assert message["channel"] == CHANNEL
    assert message["data"]["event"]["replayId"] == sandbox.state.change_events()[-1]["replayId"]
    header = message["data"]["payload"]["ChangeEventHeader"]
    assert header["changeType"] == "UPDATE" and header["recordIds"] == [deal.opportunity_id]
    assert header["changeOrigin"] == "com/salesforce/api/rest/59.0;client=crm-app"
    assert "StageName" in header["changedFields"] and message["data"]["payload"]["StageName"] == "Closed Won"


def test_aiosfstream_resumes_after_a_stored_replay_id(server: SandboxServer, sandbox: SalesforceSandbox) -> None:
    seed_deal(sandbox.state)
    retained = sandbox.state.change_events()
    resume_after = retained[-3]
    storage = {CHANNEL: ReplayMarker(date=str(resume_after["payload"]["ChangeEventHeader"]["commitTimestamp"]),
                                     replay_id=resume_after["replayId"])}

    async def replay() -> list[int]:
        async with Client(authenticator(server), replay=storage) as client:
            await client.subscribe(CHANNEL)
            return [int((await asyncio.wait_for(client.receive(), timeout=10))["data"]["event"]["replayId"])
                    for _ in range(2)]

    assert asyncio.run(replay()) == [e["replayId"] for e in retained[-2:]]
    assert storage[CHANNEL].replay_id == retained[-1]["replayId"]  # the library stored where it got to
