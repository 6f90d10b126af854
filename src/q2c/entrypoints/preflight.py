"""First contact with each configured system, phrased as config keys and causes instead of tracebacks.

`q2c doctor` prints these checks; `sync`, `close`, `worker` and `serve` run them before any work so
a wrong host, port or secret stops the command with one line such as
`systems.erp.rest_base_url: cannot connect to http://127.0.0.1:9 (connection refused)`.

Each system's connector knows how to check it (its `doctor`, see `q2c.connectors.checks`); this
module runs them side by side and checks the hub's own database (`check_database`) without creating
or migrating it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from q2c.config import HubConfig
from q2c.connectors.checks import DEFAULT_TIMEOUT, Check, failed, unavailable
from q2c.connectors.registry import Role, connector
from q2c.engine.errors import AuthFailed, ConnectorError, TransientError
from q2c.store.db import normalise_url

__all__ = ["DEFAULT_TIMEOUT", "Check", "check_database", "check_role", "check_systems", "explain"]


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


def check_role(config: HubConfig, role: Role, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """A check that cannot raise: anything unforeseen is still one line about the system."""
    settings = getattr(config.systems, role.value)
    where = f"systems.{role.value}"
    try:
        return connector(settings.type).doctor(settings, where, timeout)
    except ConnectorError as exc:
        return failed(settings.type, where, "", exc.message)
    except (OSError, ValueError) as exc:
        return failed(settings.type, where, "", f"{type(exc).__name__}: {exc}")


def check_systems(config: HubConfig, *, timeout: float = DEFAULT_TIMEOUT) -> list[Check]:
    """Every configured system, checked side by side (a few seconds at most), in role order."""
    with ThreadPoolExecutor(max_workers=len(Role), thread_name_prefix="preflight") as pool:
        futures = [pool.submit(check_role, config, role, timeout) for role in Role]
        return [f.result() for f in futures]


def explain(exc: ConnectorError, config: HubConfig) -> Check:
    """A connector error raised after first contact (during a poll), as one line about the system."""
    role = next((r for r in Role if getattr(config.systems, r.value).type == exc.system), None)
    if role is None:
        return Check(exc.system, exc.system, False, exc.message, blocking=True)
    where = f"systems.{role.value}"
    if isinstance(exc, TransientError):
        settings = getattr(config.systems, role.value)
        key, url = connector(settings.type).address(settings)
        return unavailable(exc.system, where, key, url, exc)
    if isinstance(exc, AuthFailed):
        return failed(exc.system, where, "", f"credentials refused: {exc.message}")
    return failed(exc.system, where, "", exc.message)
