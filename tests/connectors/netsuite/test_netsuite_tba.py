"""Token-based authentication (OAuth 1.0a, HMAC-SHA256) as the second way the connector signs in.

NetSuite's profile of RFC 5849: "The Signature for Web Services and RESTlets" (section_1534941088) and
"The Authorization Headers" (section_1534941295), NetSuite Help Center. The connector's signature
is held to oauthlib's (an independent implementation) for the same nonce and timestamp, and the
sandbox checks it with code of its own.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from netsuite_fixtures import FAST_RETRY, references, seed_project
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client
from pydantic import ValidationError

from q2c.config import ConfigError, load_config
from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.credentials import LoginRefused
from q2c.connectors.netsuite.settings import NetSuiteSettings
from q2c.connectors.netsuite.tba import TokenCredentials, TokenSignature
from q2c.engine.resilience import CircuitBreaker, GuardRegistry
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox

HEX = "0123456789abcdef" * 4


def _tba_client(server: SandboxServer, sandbox: NetSuiteSandbox, **overrides: Any) -> NetSuiteClient:
    settings = sandbox.connector_settings(server.url, auth="tba", throttle_wait_seconds=0.005, timeout_seconds=10,
                                          references=references(sandbox), **overrides)
    return NetSuiteClient(NetSuiteSettings(**settings), GuardRegistry(), retry=FAST_RETRY,
                          breaker=CircuitBreaker(threshold=50, reset_seconds=0.05))


def _audit(server: SandboxServer) -> list[str]:
    return [line["detail"] for line in httpx.get(server.url + "/__sandbox/netsuite/login-audit-trail").json()]


def test_with_tba_the_client_upserts_queries_and_writes_in_bulk(server: SandboxServer,
                                                                 sandbox: NetSuiteSandbox) -> None:
    ids = seed_project(sandbox)
    with _tba_client(server, sandbox, bulk_threshold=2) as client:
        internal = client.upsert("customer", "SF-001/9", {"companyName": "Acme 9", "subsidiary": {"id": "2"}})
        assert sandbox.state.by_external_id("customer", "SF-001/9") is not None
        assert {row["id"] for row in client.suiteql("SELECT id FROM customer ORDER BY id")} >= {internal}
        time = [{"externalId": f"TE-{n}", "employee": {"id": ids["employees"][0]},
                 "customer": {"externalId": "PRJ-1", "type": "job"}, "hours": Decimal("2"),
                 "tranDate": "2026-11-02"} for n in range(3)]
        assert {r.status for r in client.bulk_upsert("timebill", time)} == {"created"}
    assert sandbox.state.restlet_calls == 1 and sandbox.state.token_grants == 0  # signed, no token exchanged
    assert _audit(server) == []


@pytest.mark.parametrize("url", [
    "https://1234567-sb1.restlets.api.netsuite.com/app/site/hosting/restlet.nl?script=customscript_q2c_bulk_upsert"
    "&deploy=customdeploy_q2c_bulk_upsert",
    "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/customer/eid:SF-001%2F7",
    "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000&offset=2000",
    "http://127.0.0.1:8443/services/rest/query/v1/suiteql?q=a+b%26c&empty=",
], ids=["restlet", "eid path", "suiteql paging", "port and odd query"])
def test_the_signature_is_oauthlib_s_for_the_same_nonce_and_timestamp(url: str) -> None:
    secrets = {"consumer_key": HEX, "consumer_secret": HEX[::-1], "token_id": HEX.upper(),
               "token_secret": HEX[1:] + "0"}
    ours = TokenCredentials("1234567_SB1", **secrets).authorization("POST", httpx.URL(url), nonce="Nonce2026ab",
                                                                      timestamp=1_790_000_000)
    oauthlib = Client(secrets["consumer_key"], client_secret=secrets["consumer_secret"],
                      resource_owner_key=secrets["token_id"], resource_owner_secret=secrets["token_secret"],
                      signature_method=SIGNATURE_HMAC_SHA256, realm="1234567_SB1", nonce="Nonce2026ab",
                      timestamp="1790000000")
    # no body handed to oauthlib: it would add oauth_body_hash (an extension NetSuite does not ask for)
    _, headers, _ = oauthlib.sign(url, http_method="POST")
    assert _fields(ours) == _fields(headers["Authorization"])


def _fields(header: str) -> dict[str, str]:
    scheme, _, rest = header.partition(" ")
    assert scheme == "OAuth"
    return dict(part.strip().split("=", 1) for part in rest.split(","))


def test_every_sending_of_a_request_is_signed_afresh() -> None:
    """The HTTP layer sends a request again after a 5xx or a throttle answer; NetSuite refuses a nonce twice."""
    auth = TokenSignature(TokenCredentials("1234567_SB1", HEX, HEX, HEX, HEX))
    request = httpx.Request("POST", "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql")
    nonces = set()
    for _ in range(3):
        next(auth.sync_auth_flow(request))
        nonces.add(_fields(request.headers["Authorization"])["oauth_nonce"])
    assert len(nonces) == 3


def test_a_refused_signature_is_final_and_says_what_netsuite_answered(server: SandboxServer,
                                                                       sandbox: NetSuiteSandbox) -> None:
    with _tba_client(server, sandbox, token_secret="a" * 64) as client, pytest.raises(LoginRefused) as refused:
        list(client.suiteql("SELECT id FROM currency"))
    failure = refused.value
    assert (failure.surface, failure.code) == ("rest", "INVALID_LOGIN")
    assert "refused the signed request (token-based authentication) (401 INVALID_LOGIN)" in failure.message
    assert failure.server_time is not None and abs(failure.server_time - time.time()) < 5
    assert _audit(server) == ["InvalidSignature"]  # not tried again: a signature has nothing to refresh


def _tba(**changes: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {"account_id": "1234567_sb1", "auth": "tba", "consumer_key": HEX,
                                "consumer_secret": HEX, "token_id": HEX, "token_secret": HEX}
    settings.update(changes)
    return {k: v for k, v in settings.items() if v is not None}


def test_tba_settings_realm_and_secrets() -> None:
    settings = NetSuiteSettings(**_tba(consumer_secret="c" * 64, token_secret="d" * 64))
    assert settings.realm == "1234567_SB1" and settings.host_prefix == "1234567-sb1"
    assert "c" * 64 not in repr(settings) and "d" * 64 not in repr(settings)


@pytest.mark.parametrize(("changes", "key", "said"), [
    ({"token_secret": None}, "token_secret", "required key is missing with auth: tba: its token secret"),
    ({"consumer_key": "abc"}, "consumer_key", "64 hexadecimal characters, as NetSuite showed it"),
    ({"consumer_secret": HEX + " "}, "consumer_secret", "(this value has 65 characters)"),
    ({"client_id": "8c1f7a2e"}, "client_id", "is for auth: m2m, and this config signs in with auth: tba"),
], ids=["missing", "short", "pasted with a space", "an M2M key"])
def test_tba_settings_name_the_key_and_never_repeat_a_secret(tmp_path: Path, changes: dict[str, Any], key: str,
                                                             said: str) -> None:
    with pytest.raises(ValidationError):
        NetSuiteSettings(**_tba(**changes))
    raw = {"systems": {
        "crm": {"type": "salesforce", "login_url": "https://globex.my.salesforce.com", "client_id": "3MVG9",
                "client_secret": "5E1F"},
        "tracker": {"type": "harvest", "base_url": "https://api.harvestapp.com/v2", "account_id": "1439822",
                    "access_token": "1439822.pt.token"},
        "erp": {"type": "netsuite", **_tba(**changes)}}}
    (tmp_path / "q2c.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path / "q2c.yaml")
    message = str(refused.value)
    assert f"systems.erp.{key}: " in message and said in message, message
    assert HEX + " " not in message


def test_m2m_settings_refuse_tba_keys() -> None:
    with pytest.raises(ValidationError, match="is for auth: tba, and this config signs in with auth: m2m"):
        NetSuiteSettings(account_id="1", client_id="c", certificate_id="k", private_key_pem="x", token_id=HEX)
