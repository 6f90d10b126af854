"""The hub's tables (SQLAlchemy Core). Migrations in `store/migrations` create exactly these.

- `events`: the inbox. One row per inbound change, unique on its idempotency key, so a duplicate
  delivery is dropped at the door.
- `work_items`: the durable queue (the database is the queue). Claimed with a lease; on PostgreSQL
  with `FOR UPDATE SKIP LOCKED`, so several workers never take the same item.
- `links`: canonical id <-> each system's id, with the hash of what q2c last wrote there. This is
  what makes every target write an idempotent upsert and what suppresses echoes.
- `records`: the hub's own copy of canonical records (time entries with billed state, contracts...).
- `exceptions`: the dead-letter queue, in business words, with the payload needed to replay.
- `exception_subjects`: the records each exception holds up (every time entry behind one "employee
  missing"), each with its own part of the replay payload, so none disappears into a merged row.
- `overrides`: corrections made in q2c to a field another system owns, kept until that system
  itself changes the field; later reads apply them instead of seeing a false edit.
- `audit_log` + `audit_head`: append-only trail of every change, chained under a key kept outside the
  database (HMAC-SHA256; `store/audit.py`), with the head and where the key took over.
- `cursors`: where each poll left off. `runs`: one row per sync, billing run, revenue close, reconciliation
  and outage, `running` until it finishes `ok` or `failed`, with its figures as JSON (`store/runs.py`).
- `drifts`: what each reconciliation run found between two systems, record by record, with the cause
  traced from q2c's own history, who must act, and the fix `q2c reconcile heal` can apply.
- `rate_leases` + `rate_pauses`: a vendor's limits shared by every q2c process on one PostgreSQL
  database (`store/rate_leases.py`): one row per concurrency slot or per request of a window's budget,
  leased by the process sending, and the pause a vendor asked for (Retry-After). Unused on SQLite.
- `users` + `api_tokens`: who may call the HTTP API, with which role, and the hashes of their bearer
  tokens (`store/users.py`, where they are declared).
- `console_sessions`: the web console's sign-ins, each pointing at the API token it was opened with
  (`store/sessions.py`, where it is declared).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", sa.String(300), nullable=False, unique=True),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(80), nullable=False),
    sa.Column("aggregate", sa.String(200), nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("received_at", TS, nullable=False),
)

work_items = sa.Table(
    "work_items",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(80), nullable=False),
    sa.Column("aggregate", sa.String(200), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, server_default="50"),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("available_at", TS, nullable=False),
    sa.Column("lease_owner", sa.String(80)),
    sa.Column("lease_until", TS),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("event_id", ID, sa.ForeignKey("events.id")),
    sa.Column("replay_of", ID),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("finished_at", TS),
)
sa.Index("ix_work_items_claim", work_items.c.status, work_items.c.priority, work_items.c.id)
sa.Index("ix_work_items_aggregate", work_items.c.aggregate, work_items.c.id)

links = sa.Table(
    "links",
    metadata,
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("canonical_id", sa.String(200), primary_key=True),
    sa.Column("system", sa.String(40), primary_key=True),
    sa.Column("external_id", sa.String(200), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("source_version", sa.String(64)),
    sa.Column("updated_at", TS, nullable=False),
)
sa.Index("ix_links_external", links.c.system, links.c.entity, links.c.external_id)

records = sa.Table(
    "records",
    metadata,
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("canonical_id", sa.String(200), primary_key=True),
    sa.Column("aggregate", sa.String(200), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)
sa.Index("ix_records_aggregate", records.c.entity, records.c.aggregate, records.c.state)

exceptions = sa.Table(
    "exceptions",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("system", sa.String(40), nullable=False),
    sa.Column("object", sa.String(80), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("field", sa.String(120)),
    sa.Column("rule", sa.String(120), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("retryable", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
    sa.Column("work_kind", sa.String(80), nullable=False),
    sa.Column("aggregate", sa.String(200), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("work_item_id", ID),
    sa.Column("replayed_as", ID),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("resolved_at", TS),
)
sa.Index("ix_exceptions_status", exceptions.c.status, exceptions.c.rule)
sa.Index("ix_exceptions_record", exceptions.c.system, exceptions.c.object, exceptions.c.record_id)

exception_subjects = sa.Table(
    "exception_subjects",
    metadata,
    sa.Column("exception_id", ID, sa.ForeignKey("exceptions.id"), primary_key=True),
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("payload", sa.JSON),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("resolved_at", TS),
)
sa.Index("ix_exception_subjects_record", exception_subjects.c.entity, exception_subjects.c.record_id,
         exception_subjects.c.status)

overrides = sa.Table(
    "overrides",
    metadata,
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("canonical_id", sa.String(200), primary_key=True),
    sa.Column("field", sa.String(80), primary_key=True),
    sa.Column("value", sa.JSON),
    sa.Column("source_value", sa.JSON),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("lapsed_at", TS),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", ID, primary_key=True, autoincrement=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("system", sa.String(40), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # the first entry chained under the audit key (HMAC-SHA256); those before it are plain SHA-256. NULL: none yet
    sa.Column("keyed_from", sa.BigInteger),
)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("name", sa.String(120), primary_key=True),
    sa.Column("value", sa.String(400), nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("stats", sa.JSON, nullable=False),
)

drifts = sa.Table(
    "drifts",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("pair", sa.String(40), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("differences", sa.JSON, nullable=False),
    sa.Column("left_values", sa.JSON),
    sa.Column("right_values", sa.JSON),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("owner", sa.String(40), nullable=False),
    sa.Column("fix", sa.JSON),
    sa.Column("exception_id", ID),
    sa.Column("created_at", TS, nullable=False),
)
sa.Index("ix_drifts_run", drifts.c.run_id, drifts.c.pair)
sa.Index("ix_drifts_record", drifts.c.pair, drifts.c.record_id)

# A vendor budget ("netsuite:1234567_sb1:account/in-flight") has one row per slot; a slot is free when
# `expires_at` is null or past, whoever `holder` was (a holder that crashed stops renewing), or when the
# holder's process is gone: `presence` names the advisory lock that process holds while it lives.
rate_leases = sa.Table(
    "rate_leases",
    metadata,
    sa.Column("budget", sa.String(300), primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("holder", sa.String(120)),
    sa.Column("presence", sa.Integer),
    sa.Column("expires_at", TS),
)

rate_pauses = sa.Table(
    "rate_pauses",
    metadata,
    sa.Column("budget", sa.String(300), primary_key=True),
    sa.Column("until", TS, nullable=False),
)

# The API's users and their tokens, and the console's sessions, are declared beside the code that keeps them
# (`store/users.py`, `store/sessions.py`); importing them here puts them in `metadata`, which the migrations are
# held to.
from q2c.store import sessions as _sessions  # noqa: E402, F401
from q2c.store import users as _users  # noqa: E402, F401
