"""Exact numbers on the wire, the keys a mapping takes, and the sandbox's independence from q2c's connector."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import q2c.sandboxes.netsuite
from q2c.sandboxes.netsuite.keys import ALGORITHMS, generate_keypair, mapped_key, signs_with
from q2c.sandboxes.netsuite.wire import dumps, loads

PACKAGE = Path(q2c.sandboxes.netsuite.__file__).parent

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False, places=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)


def _same(sent: object, read: object) -> bool:
    if isinstance(sent, Decimal):
        return isinstance(read, Decimal | int) and not isinstance(read, bool) and Decimal(read) == sent
    if isinstance(sent, dict) and isinstance(read, dict):
        return sent.keys() == read.keys() and all(_same(sent[k], read[k]) for k in sent)
    if isinstance(sent, list) and isinstance(read, list):
        return len(sent) == len(read) and all(_same(a, b) for a, b in zip(sent, read, strict=True))
    return sent == read and type(sent) is type(read)


@given(_JSON)
def test_values_survive_the_wire_exactly(value: object) -> None:
    assert _same(value, loads(dumps(value)))


@given(_JSON)
def test_what_the_sandbox_writes_is_json_any_client_reads(value: object) -> None:
    assert _same(value, json.loads(dumps(value), parse_float=Decimal))


def test_numbers_are_written_digit_for_digit_and_never_as_floats() -> None:
    assert dumps({"rate": Decimal("187.3333"), "hours": Decimal("1.50"), "n": 3}) == \
        b'{"rate":187.3333,"hours":1.50,"n":3}'
    assert dumps("caf\u00e9") == '"caf\u00e9"'.encode()
    with pytest.raises(TypeError, match="Decimal"):
        dumps({"rate": 187.5})
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))


@pytest.mark.parametrize("text", ['{"hours": NaN}', '{"hours": Infinity}', '[-Infinity]'])
def test_json_s_missing_numbers_are_refused_on_the_way_in(text: str) -> None:
    with pytest.raises(ValueError):
        loads(text)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_gets_a_key_netsuite_would_map(algorithm: str) -> None:
    key = mapped_key(generate_keypair(algorithm)[1])
    assert signs_with(key, algorithm)
    assert not signs_with(key, "ES256" if algorithm.startswith("PS") else "PS256")
    with pytest.raises(ValueError, match="RS256"):
        generate_keypair("RS256")


def _q2c_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "q2c"}


def test_no_module_of_the_sandbox_imports_q2c_outside_the_sandboxes() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 15
    borrowed = {f"{path.name}: {name}" for path in modules for name in _q2c_imports(path)
                if not name.startswith("q2c.sandboxes")}
    assert borrowed == set()


def test_running_the_sandbox_loads_nothing_else_of_q2c() -> None:
    program = ("import sys; from q2c.sandboxes.netsuite.app import create_sandbox; create_sandbox(); "
               "import q2c.sandboxes.netsuite; "
               "print(' '.join(sorted(m for m in sys.modules if m.startswith('q2c.'))))")
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout.split()
    assert "q2c.sandboxes.netsuite.suiteql_eval" in loaded
    assert [m for m in loaded if not m.startswith("q2c.sandboxes")] == []
