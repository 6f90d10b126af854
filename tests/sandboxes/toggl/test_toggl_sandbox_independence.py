"""The Toggl Track sandbox stands apart from q2c: it loads nothing of q2c outside `q2c.sandboxes`.

A connector test against the sandbox can only fail when either side is wrong if the sandbox does not
borrow the connector's (or the domain's) idea of the protocol, so not even a shared helper may leak in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import q2c.sandboxes.toggl

PACKAGE = Path(q2c.sandboxes.toggl.__file__).parent


def _q2c_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [name for name in names if name == "q2c" or name.startswith("q2c.")]


def test_no_module_imports_q2c_outside_the_sandboxes() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 9
    borrowed = {f"{path.name}: {name}" for path in modules for name in _q2c_imports(path)
                if not name.startswith("q2c.sandboxes")}
    assert not borrowed


def test_loading_the_sandbox_loads_nothing_else_of_q2c() -> None:
    """Also what the kit and the registry pull in, in a fresh interpreter."""
    program = ("import sys, q2c.sandboxes.toggl.app, q2c.sandboxes.toggl; "
               "print(' '.join(sorted(m for m in sys.modules if m.startswith('q2c.'))))")
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout.split()
    assert "q2c.sandboxes.toggl.app" in loaded
    assert [m for m in loaded if not m.startswith("q2c.sandboxes")] == []
