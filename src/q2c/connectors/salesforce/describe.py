"""The org's objects and fields as the integration user sees them: `GET /sobjects/{Type}/describe`, read once.

Orgs differ from the textbook: CurrencyIsoCode exists only where multiple currencies are enabled,
a custom field may never have been created, and field-level security hides fields from the
integration user. A describe lists exactly the fields the user may read, each with whether it may
set it on insert (`createable`) and on update (`updateable`); a hidden field is absent, and naming
it in a query is refused with 400 INVALID_FIELD "No such column", as for a field that does not
exist (REST API Developer Guide, "sObject Describe"; Salesforce Help, "Field-Level Security").
An object the user may not see at all answers 404 NOT_FOUND.

A describe changes only when an admin changes the org, so each object's is read once per client
(`forget` drops them, for a long-running process after the admin fixed something).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    createable: bool
    updateable: bool


@dataclass(frozen=True)
class ObjectInfo:
    name: str
    fields: Mapping[str, FieldInfo]  # by lower-case name: field names are case-insensitive in Salesforce

    def field(self, name: str) -> FieldInfo | None:
        return self.fields.get(name.lower())

    @classmethod
    def from_describe(cls, body: Mapping[str, Any]) -> ObjectInfo:
        """From a describe answer; ValueError when it is not one."""
        raw_fields = body.get("fields")
        if not isinstance(body.get("name"), str) or not isinstance(raw_fields, list):
            raise ValueError("a describe answer has a name and a list of fields")
        fields: dict[str, FieldInfo] = {}
        for raw in raw_fields:
            if isinstance(raw, Mapping) and isinstance(raw.get("name"), str):
                info = FieldInfo(name=raw["name"], type=str(raw.get("type", "")),
                                 createable=raw.get("createable") is True, updateable=raw.get("updateable") is True)
                fields[info.name.lower()] = info
        return cls(name=str(body["name"]), fields=MappingProxyType(fields))


class Describes:
    """Each object's describe, fetched on first use and kept. Thread-safe."""

    def __init__(self, fetch: Callable[[str], ObjectInfo | None]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._known: dict[str, ObjectInfo | None] = {}

    def get(self, sobject: str) -> ObjectInfo | None:
        """The object as the integration user sees it; None when it may not see it (or it does not exist)."""
        key = sobject.lower()
        with self._lock:
            if key in self._known:
                return self._known[key]
        info = self._fetch(sobject)  # outside the lock: a slow org must not block the other threads' cache hits
        with self._lock:
            return self._known.setdefault(key, info)

    def forget(self) -> None:
        with self._lock:
            self._known.clear()
