"""First contact with each configured system, phrased as config keys and causes instead of tracebacks.

`q2c doctor` prints these checks; `sync`, `close`, `worker` and `serve` run them before any work so
a wrong host, port or secret stops the command with one line such as
`systems.netsuite.rest_base_url: cannot connect to http://127.0.0.1:9 (connection refused)`.

Each check first reaches the system's URL (any HTTP answer will do), then authenticates and makes
one cheap read through the real connector client, with a short timeout, one attempt and a guard
registry of its own: no retry loop, no circuit breaker left open for the hub that starts next.

`doctor` also checks the hub's own database (`check_database`) without creating or migrating it.

A problem is `blocking` when only a person can fix it (unknown host, a connection refused or never
answered, refused credentials, a URL that is not the vendor's API). A vendor that answers but is
throttling, in maintenance (5xx) or slow is not: q2c queues work durably and delivers it when the
vendor is back, so it only warns.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from q2c.config import HubConfig
from q2c.connectors.harvest.client import HarvestNotFound
from q2c.engine.errors import AuthFailed, ConnectorError, RateLimited, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry, RetryPolicy
from q2c.entrypoints.wiring import harvest_client, netsuite_client, netsuite_config, salesforce_client
from q2c.store.db import normalise_url

DEFAULT_TIMEOUT = 5.0
ONE_TRY = RetryPolicy(max_attempts=1, base_seconds=0.0, cap_seconds=0.0)
SYSTEMS = ("salesforce", "harvest", "netsuite")


@dataclass(frozen=True)
class Check:
    """What first contact with one system showed: `key` is the config key the result is about."""

    system: str
    key: str
    ok: bool
    detail: str
    blocking: bool = False

    @property
    def line(self) -> str:
        return f"{self.key}: {self.detail}"


def _no_sleep(_seconds: float) -> None:
    return None


def _ok(system: str, detail: str) -> Check:
    return Check(system, f"systems.{system}", True, detail)


def _fail(system: str, key: str, detail: str, *, blocking: bool = True) -> Check:
    return Check(system, f"systems.{system}" + (f".{key}" if key else ""), False, detail, blocking)


# --- transport --------------------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_cause(url: str, exc: httpx.TransportError, timeout: float) -> str:
    """Why a connection failed, in the words an operator checks: DNS, port, firewall, TLS."""
    chain = list(_chain(exc))
    if any(isinstance(c, socket.gaierror) for c in chain):
        return f"cannot resolve host {urlsplit(url).hostname} (no such host in DNS)"
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return f"cannot connect to {url} (connection refused)"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"cannot connect to {url} (no answer within {timeout:g} s)"
    if isinstance(exc, httpx.TimeoutException):
        return f"{url} accepted the connection but did not answer within {timeout:g} s"
    tls = next((c for c in chain if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        return f"TLS handshake with {url} failed ({getattr(tls, 'reason', None) or tls})"
    if isinstance(exc, httpx.ProxyError):
        return f"the HTTP proxy refused the connection to {url} ({exc})"
    return f"cannot connect to {url} ({exc or type(exc).__name__})"


def reach(url: str, timeout: float) -> str | None:
    """None when `url` answers HTTP at all (any status), else the cause."""
    try:
        with httpx.Client(timeout=timeout) as http:
            http.get(url)
    except httpx.TransportError as exc:
        return transport_cause(url, exc, timeout)
    except httpx.InvalidURL as exc:
        return f"{url} is not a usable URL ({exc})"
    return None


_HTTP_STATUS = re.compile(r"HTTP (\d{3})")


def unavailable(system: str, key: str, url: str, exc: TransientError) -> Check:
    """A transient answer after the URL was reached: throttled, 5xx and slow warn; a non-API page blocks."""
    if isinstance(exc, RateLimited):
        return _fail(system, key, f"{url} is throttling requests ({exc.message}); q2c will wait and retry",
                     blocking=False)
    status = _HTTP_STATUS.search(exc.message)
    if status is not None and int(status.group(1)) >= 500:
        return _fail(system, key, f"{url} answered HTTP {status.group(1)} (unavailable or in maintenance); "
                                  "q2c queues the work and retries", blocking=False)
    if status is not None and "malformed" in exc.message:
        return _fail(system, key, f"{url} answered HTTP {status.group(1)} with a body that is not the {system} "
                                  f"API's JSON: check that this is the {system} API URL")
    return _fail(system, key, f"{url}: {exc.message}", blocking=False)


# --- Salesforce ------------------------------------------------------------------------------------

_SF_REFUSAL = re.compile(r"refused \(HTTP \d{3}\): (?P<code>[\w.-]+): ?(?P<description>.*)$", re.DOTALL)


def _salesforce_auth_key(config: HubConfig, code: str, description: str) -> str:
    """The key a refused token request points at, from Salesforce's OAuth error code."""
    jwt = config.systems.salesforce.client_secret is None
    said = description.lower()
    if code == "invalid_client_id":
        return "client_id"
    if code == "unsupported_grant_type":
        return "login_url"
    if not jwt:
        return "client_id" if code == "invalid_grant" else "client_secret"
    if "audience" in said:
        return "login_url"
    if "user" in said:
        return "username"
    return "private_key_path"


def check_salesforce(config: HubConfig, timeout: float = DEFAULT_TIMEOUT) -> Check:
    sf = config.systems.salesforce
    cause = reach(sf.login_url, timeout)
    if cause is not None:
        return _fail("salesforce", "login_url", cause)
    with salesforce_client(config, GuardRegistry(), retry=ONE_TRY, timeout=timeout, sleep=_no_sleep) as client:
        try:
            client.authenticate()
        except AuthFailed as exc:
            refusal = _SF_REFUSAL.search(exc.message)
            code, description = (refusal["code"], refusal["description"].strip()) if refusal else ("refused", "")
            said = f"{code}: {description}" if description else code
            return _fail("salesforce", _salesforce_auth_key(config, code, description),
                         f"the token endpoint refused the credentials ({said})")
        except TransientError as exc:
            return unavailable("salesforce", "login_url", sf.login_url, exc)
        instance = client.instance_url
        try:
            next(iter(client.query("SELECT Id FROM Opportunity LIMIT 1")), None)
        except AuthFailed as exc:
            who = "client_id" if sf.client_secret is not None else "username"
            return _fail("salesforce", who, f"the integration user may not read opportunities: {exc.message}")
        except RecordRejected as exc:
            if exc.violation.rule == "salesforce.NOT_FOUND":
                return _fail("salesforce", "api_version",
                             f"{instance} does not serve REST API version {sf.api_version}")
            return _fail("salesforce", "client_id", f"reading opportunities was refused: {exc.violation.message}")
        except TransientError as exc:
            return unavailable("salesforce", "login_url", instance, exc)
    grant = "client credentials" if sf.client_secret is not None else f"JWT bearer as {sf.username}"
    return _ok("salesforce", f"token ({grant}) from {sf.login_url}; opportunities readable on {instance}")


# --- Harvest ---------------------------------------------------------------------------------------


def check_harvest(config: HubConfig, timeout: float = DEFAULT_TIMEOUT) -> Check:
    hv = config.systems.harvest
    cause = reach(hv.base_url, timeout)
    if cause is not None:
        return _fail("harvest", "base_url", cause)
    with harvest_client(config, GuardRegistry(), retry=ONE_TRY, timeout=timeout, sleep=_no_sleep) as client:
        try:
            me = client.me()
        except AuthFailed as exc:
            return _fail("harvest", "access_token", exc.message.split(": ", 1)[-1])
        except HarvestNotFound:
            return _fail("harvest", "base_url", f"{hv.base_url}/users/me does not exist (HTTP 404): base_url must be "
                                                "the Harvest API v2 root, as https://api.harvestapp.com/v2 is")
        except RecordRejected as exc:
            key = "user_agent" if "user-agent" in exc.violation.message.lower() else "base_url"
            return _fail("harvest", key, exc.violation.message)
        except TransientError as exc:
            return unavailable("harvest", "base_url", hv.base_url, exc)
    return _ok("harvest", f"account {hv.account_id} answers as {me.get('email', 'the token owner')}")


# --- NetSuite --------------------------------------------------------------------------------------

_NS_REFUSAL = re.compile(r"certificate \S+: (?P<code>HTTP \d{3}|[\w.-]+) ?(?P<description>.*)$", re.DOTALL)


def _netsuite_auth_key(description: str) -> str:
    said = description.lower()
    if "signature" in said:
        return "private_key_path"
    if "kid" in said or "certificate" in said:
        return "certificate_id"
    if "aud" in said:
        return "account_id"
    return "client_id"


def check_netsuite(config: HubConfig, timeout: float = DEFAULT_TIMEOUT) -> Check:
    ns = config.systems.netsuite
    settings = netsuite_config(config, timeout=timeout)
    url_key = "rest_base_url" if ns.rest_base_url else "account_id"
    cause = reach(settings.rest_base, timeout)
    if cause is not None:
        return _fail("netsuite", url_key, cause)
    restlet = urlsplit(settings.restlet_endpoint)
    restlet_origin = f"{restlet.scheme}://{restlet.netloc}"
    if restlet_origin != settings.rest_base:
        cause = reach(restlet_origin, timeout)
        if cause is not None:
            return _fail("netsuite", "restlet_url" if ns.restlet_url else "account_id", cause)
    with netsuite_client(config, GuardRegistry(), retry=ONE_TRY, timeout=timeout) as client:
        try:
            subsidiaries = {row["id"] for row in client.suiteql("SELECT id FROM subsidiary")}
        except AuthFailed as exc:
            refusal = _NS_REFUSAL.search(exc.message)
            if refusal is None:
                return _fail("netsuite", "client_id", f"{exc.message.split(': ', 1)[-1]}: the integration "
                                                      "role needs the REST Web Services and SuiteQL permissions")
            code, description = refusal["code"], refusal["description"].strip()
            said = f"{code}: {description}" if description else code
            return _fail("netsuite", _netsuite_auth_key(description),
                         f"the token endpoint refused the client assertion ({said})")
        except RecordRejected as exc:
            return _fail("netsuite", "client_id", f"SuiteQL was refused: {exc.violation.message}")
        except TransientError as exc:
            return unavailable("netsuite", url_key, settings.rest_base, exc)
    unknown = {code: sid for code, sid in ns.references.subsidiaries.items() if sid not in subsidiaries}
    if unknown:
        code, sid = sorted(unknown.items())[0]
        return _fail("netsuite", f"references.subsidiaries.{code}",
                     f"subsidiary {sid} does not exist in account {ns.account_id} "
                     f"(its subsidiaries: {', '.join(sorted(subsidiaries)) or 'none'})")
    return _ok("netsuite", f"token for client {ns.client_id} from {settings.token_url}; "
                           f"{len(subsidiaries)} subsidiaries readable through SuiteQL")


# --- the hub's own database ------------------------------------------------------------------------


def check_database(config: HubConfig, *, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """The database answers (PostgreSQL), or the SQLite file is usable; nothing is created or migrated."""
    url = make_url(config.database)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or ":memory:")
        if str(path) == ":memory:":
            return Check("database", "database", True, "in memory (nothing is kept after the command)")
        if path.exists():
            usable = path.is_file() and os.access(path, os.R_OK | os.W_OK)
            return (Check("database", "database", True, f"SQLite file {path}") if usable else
                    Check("database", "database", False, f"{path} is not a readable and writable file", True))
        folder = next((p for p in path.parents if p.exists()), Path("/"))
        if not os.access(folder, os.W_OK | os.X_OK):
            return Check("database", "database", False, f"cannot create {path}: {folder} is not writable", True)
        return Check("database", "database", True, f"SQLite file {path} (created on first use)")
    engine = sa.create_engine(normalise_url(config.database), connect_args={"connect_timeout": max(1, int(timeout))})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return Check("database", "database", False, f"cannot connect to {shown} ({cause})", True)
    finally:
        engine.dispose()
    return Check("database", "database", True, f"{shown} answers")


CHECKS: dict[str, Callable[[HubConfig, float], Check]] = {
    "salesforce": check_salesforce, "harvest": check_harvest, "netsuite": check_netsuite}


def _guarded(system: str, config: HubConfig, timeout: float) -> Check:
    """A check that cannot raise: anything unforeseen is still one line about the system."""
    try:
        return CHECKS[system](config, timeout)
    except ConnectorError as exc:
        return _fail(system, "", exc.message)
    except (OSError, ValueError) as exc:
        return _fail(system, "", f"{type(exc).__name__}: {exc}")


def check_systems(config: HubConfig, *, timeout: float = DEFAULT_TIMEOUT) -> list[Check]:
    """Every configured system, checked side by side (a few seconds at most), in a fixed order."""
    with ThreadPoolExecutor(max_workers=len(SYSTEMS), thread_name_prefix="preflight") as pool:
        futures = [pool.submit(_guarded, system, config, timeout) for system in SYSTEMS]
        return [f.result() for f in futures]


def explain(exc: ConnectorError, config: HubConfig) -> Check:
    """A connector error raised after first contact (during a poll), as one line about the system."""
    system = exc.system
    if system not in SYSTEMS:
        return Check(system, system, False, exc.message, blocking=True)
    if isinstance(exc, TransientError):
        key, url = {"salesforce": ("login_url", config.systems.salesforce.login_url),
                    "harvest": ("base_url", config.systems.harvest.base_url),
                    "netsuite": ("rest_base_url", netsuite_config(config).rest_base)}[system]
        return unavailable(system, key, url, exc)
    if isinstance(exc, AuthFailed):
        return _fail(system, "", f"credentials refused: {exc.message}")
    return _fail(system, "", exc.message)
