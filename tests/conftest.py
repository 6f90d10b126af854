"""Shared fixtures: a migrated hub database on SQLite and, where it answers, PostgreSQL.

PostgreSQL comes from Q2C_TEST_PG_URL (default: the local server as user postgres). Each test
session creates its own database and drops it at the end. With Q2C_REQUIRE_PG=1 (CI) an
unreachable server fails the run instead of skipping the PostgreSQL leg.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.store.db import create_db_engine, migrate
from q2c.store.schema import metadata
from support.receivers import chat  # noqa: F401  (a fixture: a chat webhook receiver on loopback)

PG_ADMIN_URL = os.environ.get("Q2C_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin() -> Engine | None:
    engine = create_db_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        engine.dispose()
        if os.environ.get("Q2C_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required (Q2C_REQUIRE_PG=1) but unreachable: {exc}")
        return None
    return engine


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    admin = _pg_admin()
    if admin is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"q2c_test_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A migrated, empty hub database URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.sqlite"
        return
    url = request.getfixturevalue("pg_url")
    engine = create_db_engine(url)
    _truncate(engine)
    engine.dispose()
    yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()
