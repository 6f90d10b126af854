"""One Node.js process per test module runs q2c's bulk RESTlet (see netsuite_restlet_node.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from netsuite_restlet_node import ScriptUnderNode, node_executable


@pytest.fixture(scope="module")
def script() -> Iterator[ScriptUnderNode]:
    running = ScriptUnderNode(node_executable())
    yield running
    running.close()
