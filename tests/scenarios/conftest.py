"""Scenario worlds: the three sandboxes on loopback, a deal seeded in them, a config file for `q2c`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scenario_world import ScenarioWorld


@pytest.fixture
def scenario(tmp_path: Path, db_url: str) -> Iterator[ScenarioWorld]:
    w = ScenarioWorld(tmp_path).start(database=db_url)
    yield w
    w.stop()
