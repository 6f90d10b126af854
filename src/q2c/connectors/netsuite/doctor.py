"""First contact with a NetSuite account: reach its hosts, get an M2M token, list subsidiaries through
SuiteQL, and check that every subsidiary the config names exists."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from q2c.connectors.checks import ONE_TRY, Check, failed, passed, reach, unavailable
from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.settings import NetSuiteSettings
from q2c.engine.errors import AuthFailed, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry

SYSTEM = "netsuite"
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


def check(settings: NetSuiteSettings, where: str, timeout: float) -> Check:
    problem = _unreachable(settings, where, timeout)
    if problem is not None:
        return problem
    url_key = "rest_base_url" if settings.rest_base_url else "account_id"
    quick = settings.model_copy(update={"timeout_seconds": timeout})
    with NetSuiteClient(quick, GuardRegistry(), retry=ONE_TRY) as client:
        try:
            subsidiaries = {row["id"] for row in client.suiteql("SELECT id FROM subsidiary")}
        except AuthFailed as exc:
            refusal = _REFUSAL.search(exc.message)
            if refusal is None:
                return failed(SYSTEM, where, "client_id", f"{exc.message.split(': ', 1)[-1]}: the integration "
                                                          "role needs the REST Web Services and SuiteQL permissions")
            code, description = refusal["code"], refusal["description"].strip()
            said = f"{code}: {description}" if description else code
            return failed(SYSTEM, where, _auth_key(description),
                          f"the token endpoint refused the client assertion ({said})")
        except RecordRejected as exc:
            return failed(SYSTEM, where, "client_id", f"SuiteQL was refused: {exc.violation.message}")
        except TransientError as exc:
            return unavailable(SYSTEM, where, url_key, settings.rest_base, exc)
    unknown = {code: sid for code, sid in settings.references.subsidiaries.items() if sid not in subsidiaries}
    if unknown:
        code, sid = sorted(unknown.items())[0]
        return failed(SYSTEM, where, f"references.subsidiaries.{code}",
                      f"subsidiary {sid} does not exist in account {settings.account_id} "
                      f"(its subsidiaries: {', '.join(sorted(subsidiaries)) or 'none'})")
    return passed(SYSTEM, where, f"token for client {settings.client_id} from {settings.token_url}; "
                                 f"{len(subsidiaries)} subsidiaries readable through SuiteQL")
