"""Every registered sandbox stands apart from q2c: it loads nothing of q2c outside `q2c.sandboxes`.

A connector test against a sandbox can only fail when either side is wrong if the sandbox does not
borrow the connector's (or the domain's) idea of the protocol, so not even a shared helper may leak in.
The import-linter contract checks the source; this checks what actually loads, in a fresh interpreter,
for every sandbox the entry points register (a new one is held to it without an edit here).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from q2c.sandboxes.registry import sandbox_names


@pytest.mark.parametrize("name", sandbox_names())
def test_starting_a_sandbox_loads_nothing_else_of_q2c(name: str) -> None:
    program = ("import sys; from q2c.sandboxes.registry import make_sandbox; "
               f"make_sandbox({name!r}); "
               "print(' '.join(sorted(m for m in sys.modules if m.startswith('q2c.'))))")
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout.split()
    assert f"q2c.sandboxes.{name}" in loaded
    assert len([m for m in loaded if m.startswith(f"q2c.sandboxes.{name}.")]) >= 3  # its app was really built
    assert [m for m in loaded if not m.startswith("q2c.sandboxes")] == []


def test_every_vendor_sandbox_is_registered() -> None:
    assert {"salesforce", "harvest", "netsuite", "toggl"} <= set(sandbox_names())
