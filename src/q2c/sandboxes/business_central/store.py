"""The environment's data: companies, each with its tables of rows, and the tenant's webhook subscriptions.

Rows keep their values as Python values (`Decimal`, `date`, aware `datetime`) and a version that makes
their ETag; every insert, update and delete is reported to listeners (the webhook notifier). One lock
serialises writers, as a company's database would. `snapshot()`/`restore()` give a `$batch` with
`Isolation: snapshot` its all-or-nothing behaviour.
"""

from __future__ import annotations

import copy
import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from q2c.sandboxes.business_central.schema import BOOL, DATE, DATETIME, DEC, GUID, INT, EntitySet
from q2c.sandboxes.business_central.wire import BLANK_DATE, EMPTY_GUID, now

BLANK_DATETIME = datetime(1, 1, 1, tzinfo=now().tzinfo)


@dataclass
class Row:
    values: dict[str, Any]
    version: int = 1


@dataclass(frozen=True)
class Change:
    company_id: str
    api: str
    set_name: str
    row_id: str
    change_type: str  # created, updated, deleted


@dataclass
class Book:
    """One company: its record, its tables (entity set -> id -> row), its number series, how many rows each
    table has ever had inserted and the numbers (`No.`) they had, deleted ones included, and the document
    numbers its journals have posted."""

    code: str
    currency: str
    company: Row
    tables: dict[str, dict[str, Row]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    inserted_numbers: dict[str, set[str]] = field(default_factory=dict)
    journal_documents: set[str] = field(default_factory=set)

    @property
    def id(self) -> str:
        return str(self.company.values["id"])

    def table(self, name: str) -> dict[str, Row]:
        return self.tables.setdefault(name, {})

    def next_number(self, series: str, start: int) -> int:
        value = self.counters.get(series, start - 1) + 1
        self.counters[series] = value
        return value

    def find(self, name: str, **match: Any) -> Row | None:
        return next((r for r in self.table(name).values()
                     if all(r.values.get(k) == v for k, v in match.items())), None)


def blank(kind: str, options: tuple[str, ...] = ()) -> Any:
    if options:
        return options[0]
    return {GUID: EMPTY_GUID, DATE: BLANK_DATE, DATETIME: BLANK_DATETIME, DEC: Decimal(0), INT: 0,
            BOOL: False}.get(kind, "")


class Store:
    def __init__(self, tenant_id: str, environment: str) -> None:
        self.tenant_id = tenant_id
        self.environment = environment
        self.lock = threading.RLock()
        self.books: dict[str, Book] = {}
        self.subscriptions: dict[str, Row] = {}
        self.listeners: list[Callable[[Change], None]] = []
        self.clock_offset = timedelta()
        self._versions = itertools.count(2)

    def now(self) -> datetime:
        return now() + self.clock_offset

    # --- companies ----------------------------------------------------------------------------------
    def add_company(self, code: str, display_name: str, currency: str, company_id: str | None = None) -> Book:
        stamp = self.now()
        values = {"id": company_id or str(uuid.uuid4()), "systemVersion": "26.0.30643.32481", "timestamp": 0,
                  "name": code, "displayName": display_name, "businessProfileId": "", "systemCreatedAt": stamp,
                  "systemCreatedBy": EMPTY_GUID, "systemModifiedAt": stamp, "systemModifiedBy": EMPTY_GUID}
        book = Book(code=code, currency=currency, company=Row(values))
        self.books[book.id] = book
        return book

    def book(self, code_or_id: str) -> Book | None:
        return self.books.get(code_or_id) or next((b for b in self.books.values() if b.code == code_or_id), None)

    # --- rows -----------------------------------------------------------------------------------------
    def new_row(self, spec: EntitySet, values: dict[str, Any]) -> Row:
        """A row with every property of the set: blanks where `values` has none, a fresh id and stamp."""
        full = {p.name: blank(p.kind, p.options) for p in spec.props}
        full.update(values)
        if full.get("id") in (None, "", EMPTY_GUID):
            full["id"] = str(uuid.uuid4())
        self._stamp(spec, full)
        return Row(full, next(self._versions))

    def insert(self, book: Book, spec: EntitySet, row: Row, key: str | None = None) -> Row:
        book.table(spec.storage)[key or str(row.values["id"])] = row
        book.inserted[spec.storage] = book.inserted.get(spec.storage, 0) + 1
        if row.values.get("number"):
            book.inserted_numbers.setdefault(spec.storage, set()).add(str(row.values["number"]))
        self.emit(Change(book.id, spec.api, spec.name, str(row.values["id"]), "created"))
        return row

    def touch(self, book: Book, spec: EntitySet, row: Row, changes: dict[str, Any]) -> Row:
        row.values.update(changes)
        row.version = next(self._versions)
        self._stamp(spec, row.values)
        self.emit(Change(book.id, spec.api, spec.name, str(row.values["id"]), "updated"))
        return row

    def remove(self, book: Book, spec: EntitySet, key: str) -> None:
        row = book.table(spec.storage).pop(key)
        self.emit(Change(book.id, spec.api, spec.name, str(row.values["id"]), "deleted"))

    def bump(self) -> int:
        return next(self._versions)

    def _stamp(self, spec: EntitySet, values: dict[str, Any]) -> None:
        for name in ("lastModifiedDateTime", "lastModfiedDateTime"):
            if spec.prop(name) is not None:
                values[name] = self.now()

    def emit(self, change: Change) -> None:
        for listener in list(self.listeners):
            listener(change)

    # --- $batch isolation -----------------------------------------------------------------------------
    def snapshot(self) -> tuple[dict[str, Book], dict[str, Row]]:
        return copy.deepcopy(self.books), copy.deepcopy(self.subscriptions)

    def restore(self, saved: tuple[dict[str, Book], dict[str, Row]]) -> None:
        self.books, self.subscriptions = saved
