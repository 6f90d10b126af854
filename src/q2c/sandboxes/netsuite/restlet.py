"""q2c's bulk-upsert RESTlet as deployed in the account (`restlet/q2c_bulk_upsert.js` is the script).

RESTlets answer at `/app/site/hosting/restlet.nl?script=<script id>&deploy=<deployment id>`; an
unknown pair is NetSuite's `SSS_INVALID_SCRIPTLET_ID`, a missing or bad token its
`INVALID_LOGIN_ATTEMPT` (401). The script's contract: POST `{"recordType", "records": [...]}`
with at most 200 records of one supported type, each upserted by its `externalId` and answered
in order with `{"externalId", "internalId", "status": "created"|"updated"}` or `"status": "error"`
with `{"code", "message", "field"}`; a malformed call is refused whole with HTTP 400
`{"error": {"code", "message"}}`. References may be `{"externalId", "type"}`; the script looks
them up. A refusal on save names no field unless it is about a field the script set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from q2c.sandboxes.netsuite.errors import RESTLET_CODES, Problem
from q2c.sandboxes.netsuite.records import SCHEMAS, RecordSchema
from q2c.sandboxes.netsuite.state import NetSuiteState

RESTLET_PATH = "/app/site/hosting/restlet.nl"
RESTLET_SCRIPT = "customscript_q2c_bulk_upsert"
RESTLET_DEPLOY = "customdeploy_q2c_bulk_upsert"
RESTLET_MAX_RECORDS = 200
# what the script's SUPPORTED set names; journal entries go through REST one by one
RESTLET_TYPES = frozenset({"customer", "job", "projecttask", "employee", "timebill", "salesorder", "invoice"})


class ScriptError(Exception):
    """The script threw for the whole call: NetSuite answers 400 with its code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


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
    schema = SCHEMAS[record_type]
    return {"results": [_upsert_one(state, schema, record) for record in records]}


def _upsert_one(state: NetSuiteState, schema: RecordSchema, record: Any) -> dict[str, Any]:
    if not isinstance(record, Mapping):
        return _error(None, None, "Q2C_BAD_RECORD", "Each record must be an object.", None)
    raw = next((v for k, v in record.items() if str(k).lower() == "externalid"), None)
    external = raw if isinstance(raw, str) else None
    if not external:
        return _error(external, None, "Q2C_MISSING_EXTERNAL_ID", "Each record needs an externalId.", "externalid")
    existing = state.by_external_id(schema.type, external)
    fields = {k: v for k, v in record.items() if str(k).lower() != "externalid"}
    values, problems = state.check(schema, fields, existing=existing, strict=True, external_refs=True)
    if problems:
        first = problems[0]
        return _error(external, existing.id if existing else None, RESTLET_CODES[first.kind], first.message,
                      _field(first))
    values["externalid"] = external
    stored = state.store(schema, values, existing)
    return {"externalId": external, "internalId": stored.id, "status": "updated" if existing else "created"}


def _field(problem: Problem) -> str | None:
    """The field the script was setting when NetSuite refused; a mandatory field left empty names none."""
    return problem.field.lower() if problem.field and problem.kind != "missing" else None


def _error(external: str | None, internal: str | None, code: str, message: str, field: str | None
           ) -> dict[str, Any]:
    return {"externalId": external, "internalId": internal, "status": "error",
            "error": {"code": code, "message": message, "field": field}}
