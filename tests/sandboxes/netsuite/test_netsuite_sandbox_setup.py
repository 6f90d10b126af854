"""The account's set-up decides what a signed-in caller may do (M2M here; TBA in test_netsuite_sandbox_tba.py).

"REST Web Services Prerequisites and Setup" (section_1544787084): REST Web Services, SuiteAnalytics
Workbook and the login permission on the role; M2M scopes rest_webservices, restlets,
suite_analytics ("OAuth 2.0 Client Credentials Setup"); a RESTlet deployment's Status and Audience
("Setting Script Deployment Status", chapter_N2998873). Changed through PUT /__sandbox/netsuite/setup.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from netsuite_sandbox_calls import RESTLET_QUERY, Caller, assertion, first_detail, request_token

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import RESTLET_PATH, TOKEN_PATH, NetSuiteSandbox

EMPTY = {"recordType": "timebill", "records": []}


def _set_up(server: SandboxServer, **setup: Any) -> None:
    assert httpx.put(server.url + "/__sandbox/netsuite/setup", json=setup).status_code == 200


def _audit(server: SandboxServer) -> list[str]:
    return [line["detail"] for line in httpx.get(server.url + "/__sandbox/netsuite/login-audit-trail").json()]


def test_a_token_works_only_on_the_surfaces_of_its_scope(server: SandboxServer, keypair: tuple[str, str]) -> None:
    answer = request_token(server, assertion(keypair[0], server.url + TOKEN_PATH, scope="rest_webservices"))
    token = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    assert httpx.get(f"{server.url}/services/rest/record/v1/currency/1", headers=token).status_code == 200
    restlet = httpx.post(server.url + RESTLET_PATH, params=RESTLET_QUERY, json=EMPTY, headers=token)
    assert restlet.status_code == 401 and restlet.json()["error"]["code"] == "INVALID_LOGIN_ATTEMPT"
    assert _audit(server) == ["InsufficientScope"]


@pytest.mark.parametrize(("setup", "status", "error"), [
    ({"client_credentials": False}, 400, "unauthorized_client"),
    ({"integration_blocked": True}, 401, "invalid_client"),
], ids=["no client credentials grant", "blocked"])
def test_the_integration_record_decides_whether_a_token_is_issued(
        server: SandboxServer, keypair: tuple[str, str], sandbox: NetSuiteSandbox, setup: dict[str, Any],
        status: int, error: str) -> None:
    _set_up(server, **setup)
    answer = request_token(server, assertion(keypair[0], server.url + TOKEN_PATH))
    assert (answer.status_code, answer.json()["error"]) == (status, error) and sandbox.state.token_grants == 0


def test_the_role_s_permissions_per_surface(server: SandboxServer, caller: Caller) -> None:
    _set_up(server, role_permissions=["REST Web Services", "Log in using OAuth 2.0 Access Tokens"])
    refused = caller.suiteql("SELECT id FROM currency")
    assert refused.status_code == 403 and first_detail(refused)["o:errorCode"] == "INSUFFICIENT_PERMISSION"
    assert caller.record("GET", "currency/1").status_code == 200  # records need no SuiteAnalytics Workbook
    _set_up(server, role_permissions=["SuiteAnalytics Workbook", "Log in using OAuth 2.0 Access Tokens"])
    assert caller.record("GET", "currency/1").status_code == 401
    assert caller.restlet(EMPTY).status_code == 200  # RESTlets need no REST Web Services
    _set_up(server, role_permissions=["REST Web Services", "SuiteAnalytics Workbook"])
    assert caller.restlet(EMPTY).status_code == 401 and caller.suiteql("SELECT id FROM currency").status_code == 401
    assert _audit(server) == ["InsufficientPermission"] * 3


@pytest.mark.parametrize(("setup", "code"), [
    ({"deployment_status": "not deployed"}, "SSS_INVALID_SCRIPTLET_ID"),
    ({"deployment_status": "testing"}, "INSUFFICIENT_PERMISSION"),
    ({"audience_includes_role": False}, "INSUFFICIENT_PERMISSION"),
], ids=["not deployed", "testing", "outside the audience"])
def test_the_deployment_decides_whether_the_script_runs(server: SandboxServer, caller: Caller,
                                                        sandbox: NetSuiteSandbox, setup: dict[str, Any],
                                                        code: str) -> None:
    _set_up(server, **setup)
    answer = caller.restlet(EMPTY)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code
    assert sandbox.state.restlet_calls == 0


def test_reset_restores_the_set_up(server: SandboxServer) -> None:
    _set_up(server, deployment_status="testing", role_permissions=[])
    httpx.post(server.url + "/__sandbox/reset")
    setup = httpx.get(server.url + "/__sandbox/netsuite/setup").json()
    assert setup["deployment_status"] == "released" and len(setup["role_permissions"]) == 4
