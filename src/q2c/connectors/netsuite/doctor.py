"""First contact with a NetSuite account, step by step, each problem named by its config key and its fix.

1. Both hosts answer HTTP (REST web services, RESTlets).
2. Sign in: with M2M, the token exchange; with TBA there is nothing to exchange, every request is
   signed, and the next step is the first signed request.
3. A SuiteQL ping (`SELECT id FROM subsidiary`): REST web services and the role's permissions.
4. An empty batch through q2c's bulk RESTlet: the script is deployed, released, and the role is in
   its audience (the script answers an empty batch with no results and spends no usage units).
5. Every subsidiary the config names exists.

NetSuite answers almost every sign-in problem with the same 401, so a refusal is narrowed with what
first contact can see: whether the RESTlet accepts the credentials REST web services refuse (then
the role lacks REST Web Services), the token's scope as configured, and, for TBA, whether this
machine's clock agrees with NetSuite's (the Date of its answer).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from q2c.connectors.checks import ONE_TRY, Check, failed, passed, reach, unavailable
from q2c.connectors.netsuite import doctor_advice as advice
from q2c.connectors.netsuite import tba
from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.credentials import LoginRefused
from q2c.connectors.netsuite.settings import NetSuiteSettings
from q2c.engine.errors import AuthFailed, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry

SYSTEM = "netsuite"
CLOCK_TOLERANCE = 300  # seconds a TBA timestamp may be off (the sandbox's window; NetSuite's is not documented)
_REFUSAL = re.compile(r"certificate \S+: (?P<code>HTTP \d{3}|[\w.-]+) ?(?P<description>.*)$", re.DOTALL)


def _auth_key(description: str) -> str:
    said = description.lower()
    if "signature" in said:
        return "private_key_path"
    if "kid" in said or "certificate" in said:
        return "certificate_id"
    if "aud" in said:
        return "account_id"
    return "client_id"


def _unreachable(settings: NetSuiteSettings, where: str, timeout: float) -> Check | None:
    url_key = "rest_base_url" if settings.rest_base_url else "account_id"
    cause = reach(settings.rest_base, timeout)
    if cause is not None:
        return failed(SYSTEM, where, url_key, cause)
    restlet = urlsplit(settings.restlet_endpoint)
    restlet_origin = f"{restlet.scheme}://{restlet.netloc}"
    if restlet_origin != settings.rest_base:
        cause = reach(restlet_origin, timeout)
        if cause is not None:
            return failed(SYSTEM, where, "restlet_url" if settings.restlet_url else "account_id", cause)
    return None


def _login_key(settings: NetSuiteSettings) -> str:
    """The key a sign-in problem is filed under: the integration (M2M) or the access token (TBA)."""
    return "client_id" if settings.auth == "m2m" else "token_id"


def _token(client: NetSuiteClient, where: str) -> Check | None:
    """Step 2 with M2M: the token exchange (its refusal names the claim, hence the key)."""
    try:
        client.sign_in()
    except AuthFailed as exc:
        refusal = _REFUSAL.search(exc.message)
        if refusal is None:
            return failed(SYSTEM, where, "client_id", exc.message.split(": ", 1)[-1])
        code, description = refusal["code"], refusal["description"].strip()
        said = f"{code}: {description}" if description else code
        return failed(SYSTEM, where, _auth_key(description),
                      f"the token endpoint refused the client assertion ({said}); {advice.token_refused(code)}")
    return None


def _rest_refused(client: NetSuiteClient, settings: NetSuiteSettings, where: str, refusal: LoginRefused) -> Check:
    """REST web services answered 401: tell the causes apart as far as NetSuite's answers allow."""
    if settings.auth == "m2m" and "rest_webservices" not in settings.scope:
        return failed(SYSTEM, where, "scope", f"the token's scope ({settings.scope}) lacks rest_webservices, "
                                              "which REST web services and SuiteQL need")
    if settings.auth == "tba" and refusal.server_time is not None:
        off = tba.now() - refusal.server_time
        if abs(off) > CLOCK_TOLERANCE:
            return failed(SYSTEM, where, "", advice.clock_off(off))
    try:
        accepted = client.restlet_answers_empty_batch() is None
    except (LoginRefused, TransientError):
        accepted = False
    if accepted:
        return failed(SYSTEM, where, _login_key(settings), advice.rest_refused_restlet_accepted(settings.auth))
    return failed(SYSTEM, where, _login_key(settings), advice.both_refused(settings.auth, settings.realm, refusal.code))


def _restlet(client: NetSuiteClient, settings: NetSuiteSettings, where: str) -> Check | None:
    """Step 4: the bulk RESTlet answers an empty batch."""
    key = "restlet_url" if settings.restlet_url else "account_id"
    try:
        refusal = client.restlet_answers_empty_batch()
    except LoginRefused:
        if settings.auth == "m2m" and "restlets" not in settings.scope:
            return failed(SYSTEM, where, "scope", f"the token's scope ({settings.scope}) lacks restlets, which "
                                                  "q2c's bulk RESTlet needs")
        return failed(SYSTEM, where, "scope" if settings.auth == "m2m" else "token_id",
                      advice.restlet_login_refused(settings.auth))
    except TransientError as exc:
        return unavailable(SYSTEM, where, key, settings.restlet_endpoint, exc)
    if refusal is None:
        return None
    return failed(SYSTEM, where, "restlet_deploy", advice.restlet_refused(
        refusal.code, refusal.message, script=settings.restlet_script, deploy=settings.restlet_deploy))


def check(settings: NetSuiteSettings, where: str, timeout: float) -> Check:
    problem = _unreachable(settings, where, timeout)
    if problem is not None:
        return problem
    url_key = "rest_base_url" if settings.rest_base_url else "account_id"
    quick = settings.model_copy(update={"timeout_seconds": timeout})
    with NetSuiteClient(quick, GuardRegistry(), retry=ONE_TRY) as client:
        try:
            problem = _token(client, where) if settings.auth == "m2m" else None
            if problem is not None:
                return problem
            subsidiaries = {row["id"] for row in client.suiteql("SELECT id FROM subsidiary")}
        except LoginRefused as exc:
            return _rest_refused(client, settings, where, exc)
        except RecordRejected as exc:
            code = exc.violation.rule.removeprefix("netsuite.")
            return failed(SYSTEM, where, _login_key(settings), advice.suiteql_refused(code, exc.violation.message))
        except TransientError as exc:
            return unavailable(SYSTEM, where, url_key, settings.rest_base, exc)
        problem = _restlet(client, settings, where)
        if problem is not None:
            return problem
    unknown = {code: sid for code, sid in settings.references.subsidiaries.items() if sid not in subsidiaries}
    if unknown:
        code, sid = sorted(unknown.items())[0]
        return failed(SYSTEM, where, f"references.subsidiaries.{code}",
                      f"subsidiary {sid} does not exist in account {settings.account_id} "
                      f"(its subsidiaries: {', '.join(sorted(subsidiaries)) or 'none'})")
    signed_in = (f"token for client {settings.client_id} from {settings.token_url}" if settings.auth == "m2m"
                 else f"requests signed with token-based authentication (realm {settings.realm}) accepted")
    return passed(SYSTEM, where, f"{signed_in}; {len(subsidiaries)} subsidiaries readable through SuiteQL; "
                                 f"the bulk RESTlet ({settings.restlet_deploy}) answers an empty batch")
