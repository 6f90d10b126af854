"""One in-memory Salesforce org: the state every part of the sandbox reads and changes.

The org holds the parts (its setup, records and their rules, change events, CometD clients, query
cursors, users and sessions, the API allocation) and their one lock, so that each call is atomic:
the HTTP server's thread and a test's thread may both use it. Tests and the demo seed and inspect it
as `sandbox.state`: `create`, `update`, `delete`, `record`, `records`, `change_events`,
`set_api_usage`, `expire_sessions`, `drop_streaming_clients`, and change its setup with
`enable_multicurrency`, `delete_field`, `set_field_access` (`catalog.py`). Writes made here are a
sales rep's in the browser unless an `Actor` says otherwise, so their change events carry no API
origin. `reset` empties the org and puts its setup back to the one it was created with.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from q2c.sandboxes.salesforce import query as soql_query
from q2c.sandboxes.salesforce.auth import INTEGRATION_USER, Session, Sessions
from q2c.sandboxes.salesforce.catalog import Access, Catalog
from q2c.sandboxes.salesforce.changes import CDC_CHANNEL, Actor, ChangeLog, schema_id
from q2c.sandboxes.salesforce.describe import describe, global_describe
from q2c.sandboxes.salesforce.errors import ApiFault, api_error, fault
from q2c.sandboxes.salesforce.ids import IdMint, normalize_id, record_id
from q2c.sandboxes.salesforce.limits import ApiUsage
from q2c.sandboxes.salesforce.records import ModStamps, RecordStore
from q2c.sandboxes.salesforce.rules import Tables
from q2c.sandboxes.salesforce.schema import SObjectSpec
from q2c.sandboxes.salesforce.streaming import StreamingClient, StreamingClients
from q2c.sandboxes.salesforce.values import to_wire

UI_USER = "sales.rep@q2c-sandbox.example"

__all__ = ["CDC_CHANNEL", "INTEGRATION_USER", "UI_USER", "Actor", "ApiFault", "SalesforceOrg", "Session",
           "api_error", "fault"]


class SalesforceOrg:
    """One org's data and platform state. Every method is atomic under the org's lock."""

    def __init__(self, *, api_usage_limit: int = 100_000, multicurrency: bool = True, currency: str = "USD",
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self._usage = ApiUsage(api_usage_limit)
        self._setup = (multicurrency, currency)
        Catalog(multicurrency=multicurrency, currency=currency)  # refuses an unknown currency here, not at reset
        self.org_id = record_id("00D", 1)
        self.reset()

    # --- lifecycle and admin --------------------------------------------------------------
    def reset(self) -> None:
        """Empty org: no records, events, sessions, cursors; API usage back to zero."""
        with self._lock:
            ids = IdMint()
            multicurrency, currency = self._setup
            self._catalog = Catalog(multicurrency=multicurrency, currency=currency)
            self._changes = ChangeLog(self._clock)
            self._store = RecordStore(ids, ModStamps(self._clock), self._changes, self._catalog)
            self._store.tables["Organization"][self.org_id] = self._organization()
            self._sessions = Sessions(ids, self.org_id, self._clock)
            self._cursors = soql_query.QueryCursors(ids)
            self._streaming = StreamingClients(self._changes)
            self._usage.set(0)

    def _organization(self) -> dict[str, Any]:
        """The org's settings record, as `SELECT ... FROM Organization` reads it."""
        now = self._clock()
        return {"Id": self.org_id, "IsDeleted": False, "CreatedDate": now, "CreatedById": None,
                "LastModifiedDate": now, "LastModifiedById": None, "SystemModstamp": now,
                "Name": "q2c Sandbox Org", "OrganizationType": "Enterprise Edition", "IsSandbox": False,
                "DefaultLocaleSidKey": "en_US", "LanguageLocaleKey": "en_US", "TimeZoneSidKey": "America/New_York",
                "DefaultCurrencyIsoCode": self._catalog.currency}

    # --- setup: what an admin configures in Setup ------------------------------------------
    @property
    def multicurrency(self) -> bool:
        return self._catalog.multicurrency

    @property
    def currency(self) -> str:
        """The corporate currency (the only one of a single-currency org)."""
        return self._catalog.currency

    def enable_multicurrency(self) -> None:
        """Switch multiple currencies on: every record with currency fields takes the corporate currency."""
        with self._lock:
            if self._catalog.multicurrency:
                return
            self._catalog.enable_multicurrency()
            for name, table in self._store.tables.items():
                if self._catalog.spec_of(name).field("CurrencyIsoCode") is not None:
                    for rec in table.values():
                        rec["CurrencyIsoCode"] = self._catalog.currency

    def configure(self, *, multicurrency: bool | None = None, currency: str | None = None) -> None:
        """Set up a new org: single or multiple currencies, and its (corporate) currency. Only while it holds
        no records, as when the org was just created; afterwards multiple currencies can only be enabled."""
        with self._lock:
            if any(table for name, table in self._store.tables.items() if name != "Organization"):
                raise fault(400, "INVALID_OPERATION", "the org already holds records: its currencies can no longer "
                                                      "be set up (multiple currencies can still be enabled)")
            self._catalog.reconfigure(
                multicurrency=self._catalog.multicurrency if multicurrency is None else multicurrency,
                currency=currency or self._catalog.currency)
            self._store.tables["Organization"][self.org_id]["DefaultCurrencyIsoCode"] = self._catalog.currency

    def delete_field(self, sobject_name: str, field_name: str) -> str:
        """Delete a custom field from an object (its values go with it); returns the field's name."""
        with self._lock:
            return self._catalog.delete_field(sobject_name, field_name)

    def set_field_access(self, sobject_name: str, field_name: str, access: Access) -> str:
        """The integration user's field-level security on a field: edit, read (only) or none."""
        with self._lock:
            return self._catalog.set_access(sobject_name, field_name, access)

    def describe(self, sobject_name: str, version: str) -> dict[str, Any]:
        with self._lock:
            return describe(self._catalog.spec_of(sobject_name), version)

    def describe_global(self, version: str) -> dict[str, Any]:
        with self._lock:
            return global_describe(self._catalog, version)

    @property
    def _records(self) -> Tables:
        """The live records by object and id (tests reach in here to corrupt a record on purpose)."""
        return self._store.tables

    def expire_sessions(self) -> None:
        """Every access token stops working (as when an admin revokes sessions)."""
        with self._lock:
            self._sessions.revoke_all()

    def drop_streaming_clients(self) -> None:
        """Forget every CometD client, as the server does after a network drop or idle timeout."""
        with self._lock:
            self._streaming.drop_all()

    # --- API usage ------------------------------------------------------------------------
    @property
    def api_used(self) -> int:
        return self._usage.used

    @property
    def api_limit(self) -> int:
        return self._usage.limit

    def set_api_usage(self, used: int, limit: int | None = None) -> None:
        with self._lock:
            self._usage.set(used, limit)

    def consume_api_call(self) -> bool:
        """Count one request against the org's daily allocation; False once it is used up."""
        with self._lock:
            return self._usage.consume()

    def limit_info(self) -> str:
        """The Sforce-Limit-Info header value."""
        with self._lock:
            return self._usage.header()

    def limits(self) -> dict[str, Any]:
        with self._lock:
            return self._usage.resource()

    # --- users and sessions ---------------------------------------------------------------
    def user_id(self, username: str) -> str:
        with self._lock:
            return self._sessions.user_id(username)

    def open_session(self, username: str) -> Session:
        with self._lock:
            return self._sessions.open(username)

    def session(self, token: str) -> Session | None:
        with self._lock:
            return self._sessions.get(token)

    def revoke(self, token: str) -> None:
        with self._lock:
            self._sessions.revoke(token)

    def ui_actor(self) -> Actor:
        """A sales rep editing in the browser: the change events carry no API origin."""
        return Actor(self.user_id(UI_USER), "")

    # --- records --------------------------------------------------------------------------
    def spec(self, name: str) -> SObjectSpec:
        with self._lock:
            return self._catalog.spec_of(name)

    def records(self, sobject_name: str) -> list[dict[str, Any]]:
        """Every record of an object, JSON-shaped (for tests, the demo and the admin API)."""
        spec = self._catalog.spec_of(sobject_name)
        with self._lock:
            return [{k: to_wire(v) for k, v in rec.items()} for rec in self._store.tables[spec.name].values()]

    def record(self, sobject_name: str, record_id: str) -> dict[str, Any] | None:
        spec = self._catalog.spec_of(sobject_name)
        rid = normalize_id(record_id)
        with self._lock:
            rec = self._store.tables[spec.name].get(rid or "")
            return None if rec is None else {k: to_wire(v) for k, v in rec.items()}

    def read(self, sobject_name: str, record_id: str, fields: list[str] | None, version: str) -> dict[str, Any]:
        spec = self._catalog.spec_of(sobject_name)
        with self._lock:
            return self._store.read(spec, record_id, fields, version)

    def read_by_external_id(self, sobject_name: str, field_name: str, value: str, fields: list[str] | None,
                            version: str) -> dict[str, Any]:
        spec = self._catalog.spec_of(sobject_name)
        with self._lock:
            return self._store.read_by_external_id(spec, field_name, value, fields, version)

    def create(self, sobject_name: str, body: Mapping[str, Any], actor: Actor | None = None) -> str:
        """Insert a record (as a UI user unless `actor` says otherwise); returns its 18-character id."""
        spec = self._catalog.spec_of(sobject_name)
        with self._lock:
            return self._store.create(spec, body, actor or self.ui_actor())

    def update(self, sobject_name: str, record_id: str, body: Mapping[str, Any], actor: Actor | None = None) -> None:
        spec = self._catalog.spec_of(sobject_name)
        with self._lock:
            self._store.update(spec, self._store.find(spec, record_id), body, actor or self.ui_actor())

    def delete(self, sobject_name: str, record_id: str, actor: Actor | None = None) -> None:
        spec = self._catalog.spec_of(sobject_name)
        with self._lock:
            self._store.delete(spec, self._store.find(spec, record_id), actor or self.ui_actor())

    def upsert(self, sobject_name: str, field_name: str, value: str, body: Mapping[str, Any],
               actor: Actor | None = None, version: str = "59.0") -> tuple[str, bool]:
        """Create or update by external id; (id, created). Several matches: ApiFault 300 with their URLs."""
        spec = self._catalog.spec_of(sobject_name)
        actor = actor or self.ui_actor()
        with self._lock:
            return self._store.upsert(spec, field_name, value, body, actor, version)

    # --- SOQL -----------------------------------------------------------------------------
    def query(self, text: str, *, version: str, batch_size: int | None = None) -> dict[str, Any]:
        with self._lock:
            return soql_query.run(self._catalog, self._store.tables, self._cursors, text, version=version,
                                  batch_size=batch_size)

    def query_more(self, cursor_ref: str, *, version: str) -> dict[str, Any]:
        with self._lock:
            return self._cursors.next_page(cursor_ref, version)

    # --- change data capture and the Streaming API ----------------------------------------
    def change_events(self) -> list[dict[str, Any]]:
        """The retained Opportunity change events, oldest first, with their replay ids."""
        with self._lock:
            return self._changes.listing()

    @property
    def schema_id(self) -> str:
        return schema_id()

    def streaming_handshake(self, token: str) -> str:
        with self._lock:
            return self._streaming.handshake(token)

    def streaming_client(self, client_id: str) -> StreamingClient | None:
        with self._lock:
            return self._streaming.client(client_id)

    def streaming_subscribe(self, client_id: str, channel: str, replay_from: int) -> str | None:
        """Subscribe; returns a Bayeux error text or None."""
        with self._lock:
            return self._streaming.subscribe(client_id, channel, replay_from)

    def streaming_unsubscribe(self, client_id: str, channel: str) -> None:
        with self._lock:
            self._streaming.unsubscribe(client_id, channel)

    def streaming_disconnect(self, client_id: str) -> None:
        with self._lock:
            self._streaming.disconnect(client_id)

    def streaming_first_connect(self, client_id: str) -> bool:
        """True for a client's first /meta/connect, which the server answers at once."""
        with self._lock:
            return self._streaming.first_connect(client_id)

    def streaming_holding(self, client_id: str, held: bool) -> None:
        with self._lock:
            self._streaming.holding(client_id, held)

    def streaming_collect(self, client_id: str) -> list[dict[str, Any]]:
        """Bayeux messages for the events this client has not yet been given; advances its cursors."""
        with self._lock:
            return self._streaming.collect(client_id)
