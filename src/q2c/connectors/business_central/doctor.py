"""First contact with a Business Central environment, step by step, each problem named by its config key.

1. The API host answers HTTPS (trusting `ca_bundle` when set).
2. Entra ID issues a token for `https://api.businesscentral.dynamics.com/.default`.
3. `GET .../api/v2.0/companies`: the environment exists and the app may read it; every company the
   config names is there.
4. q2c's AL extension answers (`jobTasks`, `timeEntries`, `jobs` under `api/q2c/integration/v1.0`).
5. In each company: the journal batch (`references.journal`), the G/L accounts of `references`, and the
   dimensions it names exist.
"""

from __future__ import annotations

import httpx

from q2c.connectors.business_central import odata
from q2c.connectors.business_central.client import BusinessCentralClient, NotFound
from q2c.connectors.business_central.settings import BusinessCentralSettings
from q2c.connectors.checks import ONE_TRY, Check, failed, passed, transport_cause, unavailable
from q2c.connectors.entra import tls_verify
from q2c.engine.errors import AuthFailed, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry

SYSTEM = "business_central"
EXTENSION_SETS = ("jobTasks", "timeEntries", "jobs")


def _reach(settings: BusinessCentralSettings, timeout: float) -> str | None:
    try:
        with httpx.Client(timeout=timeout, verify=tls_verify(settings)) as http:
            http.get(settings.api_url)
    except httpx.TransportError as exc:
        return transport_cause(settings.api_url, exc, timeout)
    return None


def _auth_check(where: str, exc: AuthFailed) -> Check:
    text = exc.message
    key, _, detail = text.partition(": ")
    key = key.removeprefix("systems.erp.") if key.startswith("systems.erp.") else "client_id"
    return failed(SYSTEM, where, key, detail or text)


def _setup(client: BusinessCentralClient, settings: BusinessCentralSettings, where: str) -> Check | None:
    refs = settings.references
    accounts = sorted({a for a in (*refs.invoice_accounts.values(), refs.default_invoice_account) if a})
    dimensions = [d for d in (refs.dimensions.service_offering, refs.dimensions.legal_entity) if d]
    for code, company in settings.companies.items():
        if client.find(company, "journals", odata.eq("code", refs.journal)) is None:
            return failed(SYSTEM, where, "references.journal", f"company {code} has no general journal batch "
                                                               f"{refs.journal!r}; create it or name another")
        held = {str(a.get("number")) for a in client.find_many(company, "accounts", "number", accounts)}
        missing = [a for a in accounts if a not in held]
        if missing:
            return failed(SYSTEM, where, "references.invoice_accounts",
                          f"company {code} has no G/L account {', '.join(missing)}")
        found = {str(d.get("code")).upper() for d in client.find_many(company, "dimensions", "code", dimensions)}
        gone = [d for d in dimensions if d.upper() not in found]
        if gone:
            return failed(SYSTEM, where, "references.dimensions", f"company {code} has no dimension {', '.join(gone)}")
    return None


def check(settings: BusinessCentralSettings, where: str, timeout: float) -> Check:
    cause = _reach(settings, timeout)
    if cause is not None:
        return failed(SYSTEM, where, "api_url", cause)
    quick = settings.model_copy(update={"timeout_seconds": timeout})
    client = BusinessCentralClient(quick, GuardRegistry(), retry=ONE_TRY)
    try:
        try:
            client.token.authorization()
        except AuthFailed as exc:
            return _auth_check(where, exc)
        try:
            companies = {str(c.get("id")).lower(): c for c in client.companies()}
        except AuthFailed as exc:
            return _auth_check(where, exc)
        except NotFound:
            return failed(SYSTEM, where, "environment", f"Business Central has no environment "
                                                        f"{settings.environment!r} for tenant {settings.tenant_id}")
        unknown = {code: cid for code, cid in settings.companies.items() if cid not in companies}
        if unknown:
            code, cid = sorted(unknown.items())[0]
            names = ", ".join(f"{c.get('name')} ({i})" for i, c in sorted(companies.items())) or "none"
            return failed(SYSTEM, where, f"companies.{code}", f"no company has id {cid} (the environment's: {names})")
        first = next(iter(settings.companies.values()))
        missing = []
        for entity_set in EXTENSION_SETS:
            try:
                client.checked(client.send("GET", client.url(first, entity_set, extension=True),
                                           params={"$top": "1"}), obj=entity_set, record_id=entity_set)
            except NotFound:
                missing.append(entity_set)
        if missing and missing != ["jobs"]:
            return failed(SYSTEM, where, "", f"the q2c extension's {', '.join(missing)} page does not answer at "
                                             f"{settings.extension_base}: install or update the q2c Integration "
                                             "app (src/q2c/connectors/business_central/al) in the environment")
        problem = _setup(client, settings, where)
        if problem is not None:
            return problem
        if missing:  # an older extension: everything works, but a Completed job is not seen as closed
            return failed(SYSTEM, where, "", "the q2c extension has no jobs page, so q2c reads every project as "
                                             "open; update the q2c Integration app", blocking=False)
    except RecordRejected as exc:
        return failed(SYSTEM, where, "", exc.violation.message)
    except TransientError as exc:
        return unavailable(SYSTEM, where, "api_url", settings.api_base, exc)
    finally:
        client.close()
    return passed(SYSTEM, where, f"token for client {settings.client_id}; environment {settings.environment} with "
                                 f"{len(settings.companies)} companies; the q2c extension answers; journal batch "
                                 f"{settings.references.journal} and the accounts and dimensions of references exist")
