"""`q2c doctor` for NetSuite: each step's failure, one broken thing at a time, through the sandbox's admin API.

What the account needs: "REST Web Services Prerequisites and Setup" (section_1544787084: REST Web
Services, SuiteAnalytics Workbook, Log in using Access Tokens / OAuth 2.0 Access Tokens), the
integration record's Token-based Authentication and Client Credentials (M2M) boxes, and the
RESTlet deployment's Status and Audience ("Setting Script Deployment Status", chapter_N2998873).
NetSuite answers most sign-in problems with the same 401; the doctor must still point at the fix.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from netsuite_fixtures import references

from q2c.connectors.checks import Check
from q2c.connectors.netsuite import tba
from q2c.connectors.netsuite.doctor import check
from q2c.connectors.netsuite.settings import NetSuiteSettings
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox

ALL = ["REST Web Services", "SuiteAnalytics Workbook", "Log in using Access Tokens",
       "Log in using OAuth 2.0 Access Tokens"]


def _without(permission: str) -> list[str]:
    return [p for p in ALL if p != permission]


def _doctor(server: SandboxServer, sandbox: NetSuiteSandbox, keypair: tuple[str, str], *, auth: str = "m2m",
            setup: dict[str, Any] | None = None, **overrides: Any) -> Check:
    if setup:
        answer = httpx.put(server.url + "/__sandbox/netsuite/setup", json=setup)
        assert answer.status_code == 200, answer.text
    extra = {"private_key_pem": keypair[0]} if auth == "m2m" else {}
    settings = sandbox.connector_settings(server.url, auth=auth, references=references(sandbox),
                                          **{**extra, **overrides})
    return check(NetSuiteSettings(**settings), "systems.erp", 5.0)


@pytest.mark.parametrize("auth", ["m2m", "tba"])
def test_a_sound_account_passes_every_step(server: SandboxServer, sandbox: NetSuiteSandbox,
                                           keypair: tuple[str, str], auth: str) -> None:
    result = _doctor(server, sandbox, keypair, auth=auth)
    assert result.ok, result
    assert "3 subsidiaries readable through SuiteQL" in result.detail
    assert "the bulk RESTlet (customdeploy_q2c_bulk_upsert) answers an empty batch" in result.detail
    assert ("token for client" in result.detail) == (auth == "m2m")
    assert sandbox.state.restlet_calls == 1 and sandbox.state.count("timebill") == 0


@pytest.mark.parametrize(("setup", "key", "said"), [
    ({"client_credentials": False}, "client_id", "unauthorized_client"),
    ({"integration_blocked": True}, "client_id", "State is Enabled"),
    ({"role_permissions": _without("Log in using OAuth 2.0 Access Tokens")}, "client_id",
     "needs Log in using OAuth 2.0 Access Tokens"),
    ({"role_permissions": _without("REST Web Services")}, "client_id", "needs the REST Web Services permission"),
    ({"role_permissions": _without("SuiteAnalytics Workbook")}, "client_id", "needs SuiteAnalytics Workbook"),
    ({"deployment_status": "testing"}, "restlet_deploy", "set its Status to Released"),
    ({"audience_includes_role": False}, "restlet_deploy", "add the role to its Audience"),
    ({"deployment_status": "not deployed"}, "restlet_deploy", "SSS_INVALID_SCRIPTLET_ID"),
], ids=["no client credentials grant", "integration blocked", "no OAuth 2.0 login", "no REST Web Services",
        "no SuiteAnalytics Workbook", "deployment in testing", "role not in the audience", "not deployed"])
def test_m2m_each_broken_setting_is_named_with_where_to_fix_it(
        server: SandboxServer, sandbox: NetSuiteSandbox, keypair: tuple[str, str], setup: dict[str, Any], key: str,
        said: str) -> None:
    result = _doctor(server, sandbox, keypair, setup=setup)
    assert not result.ok and result.blocking and result.key == f"systems.erp.{key}", result
    assert said in result.detail, result.detail


def test_a_token_without_the_restlets_scope(server: SandboxServer, sandbox: NetSuiteSandbox,
                                            keypair: tuple[str, str]) -> None:
    result = _doctor(server, sandbox, keypair, scope="rest_webservices")
    assert result.key == "systems.erp.scope" and "lacks restlets" in result.detail


def test_deployment_ids_that_answer_nothing(server: SandboxServer, sandbox: NetSuiteSandbox,
                                            keypair: tuple[str, str]) -> None:
    result = _doctor(server, sandbox, keypair, restlet_deploy="customdeploy_q2c_bulk")
    assert result.key == "systems.erp.restlet_deploy" and "no RESTlet answers as customscript_q2c_bulk_upsert / " \
        "customdeploy_q2c_bulk (SSS_INVALID_SCRIPTLET_ID)" in result.detail


@pytest.mark.parametrize(("change", "audit"), [
    ({"setup": {"token_based_authentication": False}}, "InvalidIntegration"),
    ({"setup": {"role_permissions": _without("Log in using Access Tokens")}}, "InsufficientPermission"),
    ({"token_secret": "a" * 64}, "InvalidSignature"),
    ({"account_id": "1234567"}, "InvalidAccount"),
], ids=["integration without TBA", "no Log in using Access Tokens", "wrong token secret", "another account"])
def test_tba_sign_in_refusals_list_what_to_check(server: SandboxServer, sandbox: NetSuiteSandbox,
                                                 keypair: tuple[str, str], change: dict[str, Any],
                                                 audit: str) -> None:
    result = _doctor(server, sandbox, keypair, auth="tba", **change)
    assert result.key == "systems.erp.token_id" and result.blocking, result
    for words in ("401 INVALID_LOGIN", "Token-based Authentication checked", "Log in using Access Tokens",
                  "Setup > Users/Roles > Access Tokens", "View Login Audit Trail"):
        assert words in result.detail, result.detail
    details = {line["detail"] for line in httpx.get(server.url + "/__sandbox/netsuite/login-audit-trail").json()}
    assert details == {audit}


def test_tba_without_rest_web_services_is_told_apart_by_the_restlet(
        server: SandboxServer, sandbox: NetSuiteSandbox, keypair: tuple[str, str]) -> None:
    result = _doctor(server, sandbox, keypair, auth="tba", setup={"role_permissions": _without("REST Web Services")})
    assert result.key == "systems.erp.token_id"
    assert "refused a signature the RESTlet accepts" in result.detail and "REST Web Services, Full" in result.detail


def test_tba_with_this_machine_s_clock_an_hour_ahead(server: SandboxServer, sandbox: NetSuiteSandbox,
                                                      keypair: tuple[str, str], monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    real = tba.now
    monkeypatch.setattr(tba, "now", lambda: real() + 3600)
    result = _doctor(server, sandbox, keypair, auth="tba")
    assert result.key == "systems.erp" and result.blocking
    off = re.match(r"this machine's clock is (\d+) s ahead of NetSuite's", result.detail)
    assert off is not None and abs(int(off[1]) - 3600) <= 2, result.detail  # NetSuite's Date is to the second
    assert "set the clock right (NTP)" in result.detail
