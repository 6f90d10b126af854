"""The migrations build exactly the tables `q2c.store.schema` declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from q2c.store.db import create_db_engine, migrate
from q2c.store.schema import metadata


def test_migrated_schema_matches_the_declared_tables(db: Engine) -> None:
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


@pytest.mark.postgres
def test_workers_starting_together_on_a_fresh_postgresql_database_all_migrate(pg_url: str) -> None:
    """Three processes' start-ups at once: one builds the schema, the others wait for it and find it done."""
    admin = create_db_engine(pg_url)
    name = f"q2c_migrate_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engines = [create_db_engine(url) for _ in range(3)]
    start = threading.Barrier(len(engines))
    failures: list[BaseException] = []

    def start_up(engine: Engine) -> None:
        start.wait()
        try:
            migrate(engine)
        except BaseException as exc:  # the test reports what any of them met
            failures.append(exc)

    try:
        threads = [threading.Thread(target=start_up, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert failures == []
        with engines[0].connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        for e in engines:
            e.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
