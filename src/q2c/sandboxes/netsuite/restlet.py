"""q2c's bulk-upsert RESTlet as deployed in the account (`restlet/q2c_bulk_upsert.js` is the script).

RESTlets answer at `/app/site/hosting/restlet.nl?script=<script id>&deploy=<deployment id>`; an
unknown pair is NetSuite's `SSS_INVALID_SCRIPTLET_ID`, a missing or bad token its
`INVALID_LOGIN_ATTEMPT` (401). The script's contract: POST `{"recordType", "records": [...]}`
with at most 200 records of one supported type, each upserted by its `externalId` and answered
in order with `{"externalId", "internalId", "status": "created"|"updated"}` or `"status": "error"`
with `{"code", "message", "field"}`; a malformed call is refused whole with HTTP 400
`{"error": {"code", "message"}}`.

This emulation follows the script step by step, because a contract test runs the real script under
Node.js and holds the two to the same answers: one search for the call's own external ids and one
per record type referenced as `{"externalId", "type"}` (resolved as they stood when the call began),
usage units spent as NetSuite meters them (`governance.py`), records deferred with
Q2C_GOVERNANCE_DEFERRED once fewer than 60 units are left, and the script's order of refusals: what
NetSuite refuses while a value is set names that field; what it refuses on save (a mandatory value
missing, INVALID_KEY_OR_REF for a key that points nowhere, the account's rules) names none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from q2c.sandboxes.netsuite.errors import RESTLET_CODES, Problem
from q2c.sandboxes.netsuite.governance import Meter
from q2c.sandboxes.netsuite.records import SCHEMAS, RecordSchema
from q2c.sandboxes.netsuite.rules import save_problems
from q2c.sandboxes.netsuite.state import NetSuiteState
from q2c.sandboxes.netsuite.values import SAVE_TIME, read_body
from q2c.sandboxes.netsuite.wire import loads

RESTLET_PATH = "/app/site/hosting/restlet.nl"
RESTLET_SCRIPT = "customscript_q2c_bulk_upsert"
RESTLET_DEPLOY = "customdeploy_q2c_bulk_upsert"
RESTLET_MAX_RECORDS = 200
RESERVE_UNITS = 60  # the script defers the rest of a call once fewer units than this are left
# what the script's SUPPORTED set names; journal entries go through REST one by one
RESTLET_TYPES = frozenset({"customer", "job", "projecttask", "employee", "timebill", "salesorder", "invoice"})
_SAVE_ORDER = {"missing": 0, "no_such_ref": 1}  # NetSuite asks for mandatory values before it checks keys


class ScriptError(Exception):
    """The script threw for the whole call: NetSuite answers 400 with its code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def answer(state: NetSuiteState, raw: bytes) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of one call whose deployment and login have been checked."""
    try:
        body = loads(raw)
    except ValueError:
        return 400, {"error": {"code": "SYNTAX_ERROR", "message": "The request body is not valid JSON."}}
    try:
        return 200, bulk_upsert(state, body)
    except ScriptError as refusal:
        return 400, {"error": {"code": refusal.code, "message": refusal.message}}


def bulk_upsert(state: NetSuiteState, body: Any) -> dict[str, list[dict[str, Any]]]:
    """The script's answer to one call; raises `ScriptError` where the script refuses the call."""
    if not isinstance(body, Mapping):
        raise ScriptError("Q2C_BAD_REQUEST", "The request body must be an object.")
    record_type = str(body.get("recordType") or "").lower()
    if record_type not in RESTLET_TYPES:
        raise ScriptError("Q2C_BAD_REQUEST", f"recordType must be one of {', '.join(sorted(RESTLET_TYPES))}.")
    records = body.get("records")
    if not isinstance(records, list):
        raise ScriptError("Q2C_BAD_REQUEST", "records must be a list.")
    if len(records) > RESTLET_MAX_RECORDS:
        raise ScriptError("Q2C_BATCH_TOO_LARGE", f"At most {RESTLET_MAX_RECORDS} records per call; "
                                                 f"got {len(records)}.")
    meter = Meter()
    own = {r["externalId"] for r in records if isinstance(r, Mapping) and _external_id(r)}
    if own:
        meter.search(sum(1 for e in own if state.internal_id(record_type, e) is not None))
    lookup = _CallStart(state, _referenced(state, records, meter))
    schema = SCHEMAS[record_type]
    results = []
    for record in records:
        if meter.remaining < RESERVE_UNITS:
            results.append(_error(_external_id(record), None, "Q2C_GOVERNANCE_DEFERRED",
                                  "Usage units ran low; send again.", None))
            continue
        results.append(_upsert_one(state, schema, record, lookup, meter))
    return {"results": results}


def _external_id(record: Any) -> str | None:
    """`externalId` exactly as the script reads it: that key, a string."""
    value = record.get("externalId") if isinstance(record, Mapping) else None
    return value if isinstance(value, str) else None


def _referenced(state: NetSuiteState, records: list[Any], meter: Meter) -> dict[tuple[str, str], str]:
    """Every `{"externalId", "type"}` in the call of a supported type, looked up once per type."""
    wanted: dict[str, set[str]] = {}

    def visit(value: Any) -> None:
        if isinstance(value, Mapping) and "externalId" in value:
            target = str(value.get("type"))
            if target in RESTLET_TYPES and str(value["externalId"]):
                wanted.setdefault(target, set()).add(str(value["externalId"]))
        elif isinstance(value, Mapping):
            for inner in value.values():
                visit(inner)
        elif isinstance(value, list):
            for inner in value:
                visit(inner)

    for record in records:
        if isinstance(record, Mapping):
            for key, value in record.items():
                if str(key).lower() != "externalid":
                    visit(value)
    found: dict[tuple[str, str], str] = {}
    for target, externals in wanted.items():
        hits = {e: state.internal_id(target, e) for e in externals}
        meter.search(sum(1 for internal in hits.values() if internal is not None))
        found.update({(target, e): internal for e, internal in hits.items() if internal is not None})
    return found


class _CallStart:
    """References by external id as the script resolved them when the call began; the rest live."""

    def __init__(self, state: NetSuiteState, found: dict[tuple[str, str], str]) -> None:
        self._state = state
        self._found = found

    def exists(self, target: str, internal_id: str) -> bool:
        return self._state.exists(target, internal_id)

    def internal_id(self, record_type: str, external_id: str) -> str | None:
        return self._found.get((record_type, external_id))


def _upsert_one(state: NetSuiteState, schema: RecordSchema, record: Any, lookup: _CallStart, meter: Meter
                ) -> dict[str, Any]:
    if not isinstance(record, Mapping):
        return _error(None, None, "Q2C_BAD_RECORD", "Each record must be an object.", None)
    external = _external_id(record)
    if not external:
        return _error(external, None, "Q2C_MISSING_EXTERNAL_ID", "Each record needs an externalId.", "externalid")
    existing = state.by_external_id(schema.type, external)
    internal = existing.id if existing else None
    meter.open(schema.type)
    fields = {k: v for k, v in record.items() if str(k).lower() != "externalid"}
    values, problems = read_body(schema, fields, creating=existing is None, strict=True,
                                 external_types=RESTLET_TYPES, lookup=lookup)
    setting = next((p for p in problems if p.kind not in SAVE_TIME), None)
    if setting is not None:
        return _refused(external, internal, setting, setting.field.lower() if setting.field else None)
    meter.save(schema.type)
    on_save = sorted(problems, key=lambda p: _SAVE_ORDER[p.kind]) or save_problems(schema, values, existing,
                                                                                   state.records)
    if on_save:
        return _refused(external, internal, on_save[0], None)
    values["externalid"] = external
    stored = state.store(schema, values, existing)
    return {"externalId": external, "internalId": stored.id, "status": "updated" if existing else "created"}


def _refused(external: str, internal: str | None, problem: Problem, field: str | None) -> dict[str, Any]:
    return _error(external, internal, RESTLET_CODES[problem.kind], problem.message, field)


def _error(external: str | None, internal: str | None, code: str, message: str, field: str | None
           ) -> dict[str, Any]:
    return {"externalId": external, "internalId": internal, "status": "error",
            "error": {"code": code, "message": message, "field": field}}
