"""How a system names the canonical records and fields, so a message names what a person sees there.

Workflows and domain rules speak canonical terms (a project's status, a time entry's resource); an
exception must still say where to fix it: "NetSuite job P-12 field entityStatus", "Harvest
time_entry HV-9 field user". Each connector's adapter carries its `SystemNames`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SystemNames:
    system: str  # its key in links, exceptions and the audit trail ("netsuite")
    label: str  # its name in sentences ("NetSuite")
    id_prefix: str = ""  # what canonical ids of its records start with ("SF-" for "SF-006...")
    objects: Mapping[str, str] = field(default_factory=dict)  # canonical object -> the system's ("project" -> "job")
    fields: Mapping[str, str] = field(default_factory=dict)  # "object.field" -> the system's ("project.status" -> ...)

    def object(self, canonical: str) -> str:
        return self.objects.get(canonical, canonical)

    def field(self, canonical_object: str, canonical_field: str) -> str:
        return self.fields.get(f"{canonical_object}.{canonical_field}", canonical_field)

    def external_id(self, canonical_id: str) -> str:
        """The system's own id of a record whose canonical id it gave (the prefix taken off)."""
        return canonical_id.removeprefix(self.id_prefix) if self.id_prefix else canonical_id

