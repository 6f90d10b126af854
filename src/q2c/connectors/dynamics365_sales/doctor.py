"""First contact with a Dynamics 365 Sales environment: reach `org_url`, get a token from Entra ID for
`{org_url}/.default`, call WhoAmI (the application user q2c runs as), and check through
EntityDefinitions that the tables and columns q2c reads and writes exist.

A missing table or column warns rather than blocks: time and billing still flow while deals wait, and
each deal that needs it becomes an exception naming it.
"""

from __future__ import annotations

import re

import httpx

from q2c.connectors.checks import ONE_TRY, Check, failed, no_sleep, passed, transport_cause, unavailable
from q2c.connectors.dynamics365_sales.client import DataverseClient
from q2c.connectors.dynamics365_sales.reads import needed_columns
from q2c.connectors.dynamics365_sales.settings import Dynamics365SalesSettings
from q2c.connectors.dynamics365_sales.values import LABEL
from q2c.connectors.entra import tls_verify
from q2c.engine.errors import AuthFailed, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry

_KEY = re.compile(r"^systems\.crm\.(?P<key>[a-z_]+): ?(?P<detail>.*)$", re.DOTALL)


def reach(settings: Dynamics365SalesSettings, timeout: float) -> str | None:
    """None when `org_url` answers HTTP at all, trusting the CAs the settings name (`ca_bundle`); else the cause."""
    url = settings.org_url
    try:
        with httpx.Client(timeout=timeout, verify=tls_verify(settings)) as http:
            http.get(url)
    except httpx.TransportError as exc:
        return transport_cause(url, exc, timeout)
    except httpx.InvalidURL as exc:
        return f"{url} is not a usable URL ({exc})"
    return None


def setup_problems(client: DataverseClient) -> tuple[list[str], int]:
    """What the environment lacks for q2c, in words, and how many columns were checked."""
    problems: list[str] = []
    checked = 0
    for table, columns in needed_columns(client.settings).items():
        present = client.columns_of(table)
        checked += len(columns)
        if present is None:
            problems.append(f"table {table} does not exist (Power Apps > Tables)")
            continue
        missing = [c for c in columns if c not in present]
        if missing:
            problems.append(f"table {table} has no column {', '.join(missing)} (Power Apps > Tables > {table} > "
                            "Columns)")
    return problems, checked


def check(settings: Dynamics365SalesSettings, where: str, timeout: float) -> Check:
    cause = reach(settings, timeout)
    if cause is not None:
        return failed(LABEL, where, "org_url", cause)
    quick = settings.model_copy(update={"timeout_seconds": timeout, "token_timeout_seconds": timeout})
    with DataverseClient(quick, GuardRegistry(), retry=ONE_TRY, sleep=no_sleep) as client:
        try:
            client.token.authorization()
        except AuthFailed as exc:
            said = _KEY.match(exc.message)
            key, detail = (said["key"], said["detail"]) if said else ("client_id", exc.message)
            return failed(LABEL, where, key, f"Entra ID refused the credentials: {detail}")
        except TransientError as exc:
            return unavailable(LABEL, where, "authority_url", settings.authority_url, exc)
        try:
            user = client.app_user_id()
        except AuthFailed as exc:
            return failed(LABEL, where, "client_id", f"{settings.org_url} refused the token: {exc.message}")
        except RecordRejected as exc:
            return failed(LABEL, where, "api_version", f"{settings.org_url} does not answer WhoAmI on Web API "
                                                       f"v{settings.api_version}: {exc.violation.message}")
        except TransientError as exc:
            return unavailable(LABEL, where, "org_url", settings.org_url, exc)
        try:
            problems, checked = setup_problems(client)
        except AuthFailed as exc:
            return failed(LABEL, where, "client_id", f"the application user may not read table definitions: "
                                                     f"{exc.message}")
        except (RecordRejected, TransientError) as exc:
            message = exc.violation.message if isinstance(exc, RecordRejected) else exc.message
            return failed(LABEL, where, "org_url", f"reading table definitions failed: {message}", blocking=False)
    if problems:
        return failed(LABEL, where, "columns", f"the environment is missing what q2c needs ({len(problems)}): "
                      + "; ".join(problems), blocking=False)
    return passed(LABEL, where, f"token from {settings.authority_url}; WhoAmI on {settings.org_url} answers "
                                f"application user {user}; {checked} columns q2c reads and writes present")
