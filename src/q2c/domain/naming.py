"""How a system names the canonical records and fields, so a message names what a person sees there.

Workflows and domain rules speak canonical terms (a project's status, a time entry's resource); an
exception must still say where to fix it, in the system's own words (its name for the record type, the
record's id there, its field name). Each connector's adapter carries its `SystemNames`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SystemNames:
    system: str  # its key in links, exceptions and the audit trail (the connector's name)
    label: str  # its name in sentences (the connector's label)
    id_prefix: str = ""  # what canonical ids of its records start with: ids of two systems never collide
    objects: Mapping[str, str] = field(default_factory=dict)  # canonical object -> the system's name for it
    fields: Mapping[str, str] = field(default_factory=dict)  # "object.field" -> the system's field name

    def object(self, canonical: str) -> str:
        return self.objects.get(canonical, canonical)

    def field(self, canonical_object: str, canonical_field: str) -> str:
        return self.fields.get(f"{canonical_object}.{canonical_field}", canonical_field)

    def external_id(self, canonical_id: str) -> str:
        """The system's own id of a record whose canonical id it gave (the prefix taken off)."""
        return canonical_id.removeprefix(self.id_prefix) if self.id_prefix else canonical_id

