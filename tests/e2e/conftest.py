"""The demo world (three sandboxes on loopback + a hub) for end-to-end tests, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from q2c.entrypoints.demo import DemoWorld


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[DemoWorld]:
    w = DemoWorld(tmp_path).start(database=db_url)
    yield w
    w.stop()
