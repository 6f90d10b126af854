"""First contact with a Salesforce org: reach the login URL, get a token, read one opportunity, and check
that the org has every object and field q2c reads and writes.

The fields are the connector's (`fields.py`: what the mapping reads, and the ERP-owned fields it
writes back). Each object's describe, as the integration user sees it, shows what is missing (a
field that does not exist and one that field-level security hides look the same: absent, REST API
Developer Guide "sObject Describe") and which write-back fields the user cannot update
(`updateable` false). Each problem is reported with where an admin fixes it (Setup > Object
Manager > <Object> > Fields & Relationships; field-level security on the integration user's
permission set). They warn rather than block: time and billing still flow while deals wait, and
each deal that needs a missing field becomes an exception that names it.
"""

from __future__ import annotations

import re

from q2c.connectors.checks import ONE_TRY, Check, failed, no_sleep, passed, reach, unavailable
from q2c.connectors.salesforce.client import SalesforceClient
from q2c.connectors.salesforce.fields import ALL_OBJECTS, FieldProblem, read_problems, write_problems
from q2c.connectors.salesforce.settings import SalesforceSettings
from q2c.engine.errors import AuthFailed, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry

SYSTEM = "salesforce"
_REFUSAL = re.compile(r"refused \(HTTP \d{3}\): (?P<code>[\w.-]+): ?(?P<description>.*)$", re.DOTALL)


def _auth_key(settings: SalesforceSettings, code: str, description: str) -> str:
    """The key a refused token request points at, from Salesforce's OAuth error code."""
    said = description.lower()
    if code == "invalid_client_id":
        return "client_id"
    if code == "unsupported_grant_type":
        return "login_url"
    if not settings.uses_jwt:
        return "client_id" if code == "invalid_grant" else "client_secret"
    if "audience" in said:
        return "login_url"
    if "user" in said:
        return "username"
    return "private_key_path"


def setup_problems(client: SalesforceClient) -> tuple[list[FieldProblem], str | None, int]:
    """What the org lacks for q2c, the currency of a single-currency org (None if multicurrency), and the
    number of fields checked. Raises what the describes raise (AuthFailed, TransientError)."""
    problems: list[FieldProblem] = []
    checked = 0
    for spec in ALL_OBJECTS:
        info = client.describes.get(spec.sobject)
        problems += read_problems(spec, info) + write_problems(spec, info)
        checked += len(spec.needed)
    currency: str | None = None
    if not any(p.sobject == "Opportunity" and p.field is None for p in problems):
        try:
            currency = client.org_currency()
        except RecordRejected as exc:
            said = (exc.violation.message, exc.violation.action)
            problems.append(FieldProblem(exc.violation.object, exc.violation.field, "missing", said))
    return problems, currency, checked


def _setup_line(problems: list[FieldProblem]) -> str:
    return f"the org is missing what q2c needs ({len(problems)}): " + "; ".join(
        f"{p.message}. {p.action}" for p in problems)


def check(settings: SalesforceSettings, where: str, timeout: float) -> Check:
    cause = reach(settings.login_url, timeout)
    if cause is not None:
        return failed(SYSTEM, where, "login_url", cause)
    quick = settings.model_copy(update={"timeout_seconds": timeout})
    with SalesforceClient(quick, GuardRegistry(), retry=ONE_TRY, sleep=no_sleep) as client:
        try:
            client.authenticate()
        except AuthFailed as exc:
            refusal = _REFUSAL.search(exc.message)
            code, description = (refusal["code"], refusal["description"].strip()) if refusal else ("refused", "")
            said = f"{code}: {description}" if description else code
            return failed(SYSTEM, where, _auth_key(settings, code, description),
                          f"the token endpoint refused the credentials ({said})")
        except TransientError as exc:
            return unavailable(SYSTEM, where, "login_url", settings.login_url, exc)
        instance = client.instance_url
        try:
            next(iter(client.query("SELECT Id FROM Opportunity LIMIT 1")), None)
        except AuthFailed as exc:
            who = "username" if settings.uses_jwt else "client_id"
            return failed(SYSTEM, where, who, f"the integration user may not read opportunities: {exc.message}")
        except RecordRejected as exc:
            if exc.violation.rule == "salesforce.NOT_FOUND":
                return failed(SYSTEM, where, "api_version",
                              f"{instance} does not serve REST API version {settings.api_version}")
            return failed(SYSTEM, where, "client_id", f"reading opportunities was refused: {exc.violation.message}")
        except TransientError as exc:
            return unavailable(SYSTEM, where, "login_url", instance, exc)
        try:
            problems, currency, checked = setup_problems(client)
        except AuthFailed as exc:
            who = "username" if settings.uses_jwt else "client_id"
            return failed(SYSTEM, where, who, f"the integration user may not describe objects: {exc.message}")
        except TransientError as exc:
            return unavailable(SYSTEM, where, "login_url", instance, exc)
    if problems:
        return failed(SYSTEM, where, "", _setup_line(problems), blocking=False)
    grant = f"JWT bearer as {settings.username}" if settings.uses_jwt else "client credentials"
    currencies = f"single-currency org in {currency}" if currency else "multicurrency org"
    return passed(SYSTEM, where, f"token ({grant}) from {settings.login_url}; opportunities readable on {instance}; "
                                 f"{checked} fields q2c reads present, write-back fields editable; {currencies}")
