"""q2c's bulk RESTlet (`q2c_bulk_upsert.js`) run unchanged under Node.js, against SuiteScript stand-ins.

One Node process serves a whole test module: each case (an account and the calls made to it) is one
JSON line in, one JSON line out (`run_restlet.js`). The account is a NetSuite sandbox's, exported
as data: its record catalogue (record types, fields, mandatory fields, select targets) and its
records, so the script and the sandbox's emulation of it start from the same account.

Without `node` on PATH these tests skip, unless Q2C_REQUIRE_NODE=1 (CI), where they fail.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import q2c.connectors.netsuite
from q2c.sandboxes.netsuite.records import CLOSED_JOB_STATUS, LISTS, SCHEMAS, FieldSpec
from q2c.sandboxes.netsuite.state import NetSuiteState
from q2c.sandboxes.netsuite.wire import dumps

SCRIPT = Path(q2c.connectors.netsuite.__file__).parent / "restlet" / "q2c_bulk_upsert.js"
RUNNER = Path(__file__).parent / "run_restlet.js"
MIN_NODE = 18  # SuiteScript 2.1 is ES2019+; Node 18 runs all of it
ANSWER_TIMEOUT = 30.0


def node_executable() -> str:
    """`node`, new enough; otherwise skip, or fail when Q2C_REQUIRE_NODE=1 says it must be there."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "Node.js (`node`) is not on PATH"
    else:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
        major = version.lstrip("v").split(".")[0]
        if not major.isdigit() or int(major) < MIN_NODE:
            problem = f"Node.js {version or '(unknown version)'} is older than {MIN_NODE}"
    if problem is not None:
        reason = f"{problem}: q2c's bulk RESTlet cannot run here (set Q2C_REQUIRE_NODE=1 to make this a failure)"
        if os.environ.get("Q2C_REQUIRE_NODE") == "1":
            pytest.fail(reason.split(" (set")[0] + ", and Q2C_REQUIRE_NODE=1 requires it")
        pytest.skip(reason)
    assert node is not None
    return node


@dataclass(frozen=True)
class Answer:
    """One RESTlet call as NetSuite would answer it: HTTP status, body, usage units spent."""

    status: int
    body: Any
    units: int
    crashed: bool  # the script threw something that is not a SuiteScriptError: a bug in the script

    @property
    def results(self) -> list[dict[str, Any]]:
        assert self.status == 200, self.body
        results: list[dict[str, Any]] = self.body["results"]
        return results


@dataclass(frozen=True)
class Case:
    answers: list[Answer]
    records: list[dict[str, Any]]  # the account afterwards: {type, id, values, locked}

    def stored(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        for record in self.records:
            if record["type"] == record_type and record["values"].get("externalid") == external_id:
                return record
        return None


class ScriptUnderNode:
    """A Node process running the RESTlet; `run` sends one case and waits for its answers."""

    def __init__(self, node: str, script: Path = SCRIPT) -> None:
        self._process = subprocess.Popen([node, str(RUNNER), str(script)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, account: dict[str, Any], bodies: list[bytes], *, method: str = "post") -> Case:
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        calls = [{"method": method, "body": body.decode("utf-8")} for body in bodies]
        process.stdin.write(dumps({"account": account, "calls": calls}).decode("utf-8") + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], ANSWER_TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if not line:
            process.kill()
            _, errors = process.communicate()
            raise AssertionError(f"the RESTlet runner gave no answer within {ANSWER_TIMEOUT:g} s: {errors[-2000:]}")
        out = json.loads(line, parse_float=Decimal)
        return Case([Answer(a["status"], a["body"], a["units"], a["crashed"]) for a in out["answers"]],
                    out["records"])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


def _spec(spec: FieldSpec) -> dict[str, Any]:
    return {"kind": spec.kind, "targets": list(spec.targets), "required": spec.required, "label": spec.ui_label,
            "maxLength": spec.max_length}


def catalogue() -> dict[str, Any]:
    """The account's record types as SuiteScript sees them: body fields and sublists by lower-case id."""
    out: dict[str, Any] = {}
    for schema in SCHEMAS.values():
        fields = {spec.name.lower(): _spec(spec) for spec in schema.fields if spec.kind != "sublist"}
        sublists = {spec.name.lower(): {"columns": {c.name.lower(): _spec(c) for c in spec.lines}}
                    for spec in schema.fields if spec.kind == "sublist"}
        out[schema.type] = {"fields": fields, "sublists": sublists}
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def account_of(state: NetSuiteState) -> dict[str, Any]:
    """The sandbox account as the stand-ins take it: the same records, the same next internal id."""
    records = [{"type": r.type, "id": r.id, "values": _plain(r.values), "locked": r.locked}
               for table in state.records.values() for r in table.values()]
    return {"catalogue": catalogue(), "lists": {name: sorted(ids) for name, ids in LISTS.items()},
            "records": records, "nextId": state.next_id, "closedJobStatus": CLOSED_JOB_STATUS}
