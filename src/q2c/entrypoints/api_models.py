"""The HTTP API's request and response bodies, and the bounds every input is held to.

Each bound exists so that a bad value is refused at the door with a 4xx naming the field, instead of
reaching the database and failing there: ids are 64-bit signed integers on SQLite and PostgreSQL
alike, filters are no wider than the columns they compare with, and PostgreSQL refuses NUL characters
in text, so control characters are refused in every string an operator types.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic.json_schema import SkipJsonSchema

MAX_ID = 2**63 - 1  # the largest BIGINT (PostgreSQL) and INTEGER (SQLite) key
MAX_REPLAY_IDS = 1000
MAX_LIST_LIMIT = 10_000
MAX_STATUS_LENGTH = 16  # the width of the exception status column
MAX_RULE_LENGTH = 120  # ... of the rule column
MAX_SYSTEM_LENGTH = 40  # ... of the system column
MAX_ACTOR_LENGTH = 80  # ... of the audit trail's actor column (and of a user's name, the actor the API records)
ACTOR_REFUSED = ("the actor is the authenticated caller (the user of the bearer token), not a field of the body: "
                 "leave 'actor' out")
MAX_API_BODY_BYTES = 1_000_000  # any request body but the webhook's (which has its own limit in the config)
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL text cannot hold NUL)
STATUS_PATTERN = r"^[a-z_]*$"
PATTERN_MEANINGS = {PRINTABLE: "must not contain control characters",
                    STATUS_PATTERN: "must be a status name (lowercase letters and _), such as open or replayed"}

ExceptionId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]


class RequestBody(BaseModel):
    """A request body: unknown keys are refused, so a misspelt filter cannot widen or narrow a replay. `actor` is
    refused with its own message: who acts is the caller the bearer token names, never what a body claims."""

    model_config = ConfigDict(extra="forbid")

    actor: SkipJsonSchema[None] = Field(default=None, exclude=True)

    @field_validator("actor", mode="before")
    @classmethod
    def _actor_is_the_caller(cls, value: object) -> None:
        raise ValueError(ACTOR_REFUSED)


class ReplayRequest(RequestBody):
    corrected_payload: dict[str, Any] | None = Field(
        default=None, description="Replay with this payload instead of the one the exception kept.")


class SettleRequest(RequestBody):
    reason: str = Field(min_length=1, max_length=500, pattern=PRINTABLE,
                        description="Why the exception needs nothing more (recorded in the audit trail).")


class SettleOutcome(BaseModel):
    exception_id: int
    status: str = Field(description="resolved or ignored")


class BulkReplayRequest(RequestBody):
    """Which open exceptions to replay; the filters combine (all must match)."""

    ids: list[ExceptionId] | None = Field(default=None, max_length=MAX_REPLAY_IDS,
                                          description=f"Exception ids, at most {MAX_REPLAY_IDS}.")
    rule: str | None = Field(default=None, max_length=MAX_RULE_LENGTH, pattern=PRINTABLE,
                             description="A rule name; `*` stands for any run of characters, nothing else "
                                         "is a wildcard.")
    system: str | None = Field(default=None, max_length=MAX_SYSTEM_LENGTH, pattern=PRINTABLE,
                               description="The system the exceptions are about (salesforce, harvest, netsuite).")


class ErrorDetail(BaseModel):
    status: int = Field(description="The HTTP status, repeated for clients that only keep the body.")
    code: str = Field(description="A stable machine-readable name: bad_request, not_found, validation_error, ...")
    message: str = Field(description="What is wrong, in words a person can act on.")
    field: str | None = Field(description="The input field at fault (`ids[2]`, `limit`), when there is one.")


class ErrorResponse(BaseModel):
    """The one shape of every error this API answers with."""

    error: ErrorDetail


class EndpointHealth(BaseModel):
    system: str
    endpoint: str
    circuit: Literal["closed", "open", "half_open"]
    requests: int
    throttled: int
    transient_failures: int
    retries: int


class Health(BaseModel):
    """ok: nothing needs attention; degraded (still 200): the hub works but someone should look at
    `reasons`; down (503): the hub cannot do its work at all."""

    status: Literal["ok", "degraded", "down"]
    reasons: list[str] = Field(description="One sentence per thing that needs attention; empty when ok.")
    queue: dict[str, int] | None = Field(description="Work items by status; null when the database does not answer.")
    exceptions: dict[str, int] | None = Field(description="Exceptions by status; null when the database does not "
                                                          "answer.")
    endpoints: list[EndpointHealth] = Field(description="Each vendor endpoint's circuit and counters.")


class WebhookAccepted(BaseModel):
    accepted: Literal[True]
    duplicate: bool = Field(description="True when this deal was already received (nothing new was queued).")
    opportunity_id: str = Field(serialization_alias="opportunityId", description="The 18-character Opportunity id.")
    correlation_id: str = Field(serialization_alias="correlationId",
                                description="The id the deal's setup is followed by in the logs, the queue, the "
                                            "audit trail and the exception queue (the first delivery's, for a "
                                            "duplicate); also sent as the X-Correlation-Id header.")


class OpportunityWon(BaseModel):
    """The webhook body (documentation only: the body is checked by hand after its signature)."""

    opportunityId: str = Field(description="15- or 18-character Salesforce Opportunity id (starts with 006).")
    isWon: Literal[True]


class HeldRecord(BaseModel):
    """A record the exception holds up; a replay re-delivers the open ones."""

    entity: str = Field(description="time_entry, opportunity, contract, ...")
    id: str = Field(description="The record's canonical id (HV-123, SF-006..., C-...).")
    status: str = Field(description="open while the exception holds it; resolved, replayed or ignored after.")


class ExceptionSummary(BaseModel):
    id: int
    status: str
    system: str
    object: str
    record_id: str
    field: str | None
    rule: str
    message: str
    action: str
    retryable: bool
    occurrences: int
    work_kind: str
    aggregate: str
    correlation_id: str
    created_at: AwareDatetime
    replayed_as: int | None
    records: list[HeldRecord] = Field(description="Every record the exception holds up, each on its own.")


class ExceptionDetail(ExceptionSummary):
    payload: dict[str, Any] = Field(description="What a replay re-delivers.")


class ReplayOutcome(BaseModel):
    exception_id: int
    work_item_id: int | None = Field(description="The work item the replay queued; null when skipped.")
    skipped: str | None = Field(description="Why nothing was queued (`already replayed`), or null.")


AuditProblem = Literal["edited", "deleted", "reordered", "relinked", "recomputed", "truncated", "wiped", "rewritten",
                       "head", "checkpoint"]


class AuditFinding(BaseModel):
    kind: AuditProblem
    first_bad_seq: int | None
    message: str


class AuditCheckpoint(BaseModel):
    file: str = Field(description="The checkpoint's file in the configured audit.anchor_dir.")
    seq: int = Field(description="The last entry it vouches for.")
    hash: str
    entries: int
    keyed_from: int | None = Field(description="The first entry chained under the key.")
    at: AwareDatetime


class AuditVerification(BaseModel):
    ok: bool
    entries: int = Field(description="Entries verified before the first broken one (all of them when ok).")
    first_bad_seq: int | None = Field(description="The first entry the trail can no longer be vouched for from.")
    reason: str
    problem: AuditProblem | None = Field(description="What the first finding is, or null when the trail holds.")
    findings: list[AuditFinding] = Field(description="Everything that does not match, first bad entry first.")
    last_good_checkpoint: AuditCheckpoint | None = Field(
        description="The newest signed checkpoint the trail still matches before the first bad entry.")
    latest_checkpoint: AuditCheckpoint | None = Field(description="The newest checkpoint signed with the key.")
    keyed_from: int | None = Field(description="The first entry chained under the key (plain SHA-256 before).")
    unanchored: int = Field(description="Entries after the last good checkpoint.")
    notes: list[str] = Field(description="What an intact trail still cannot show (no key yet, no checkpoint yet).")
