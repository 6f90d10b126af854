"""Reporting dimensions: the firm's own codes for class (service line), department and location.

Controllers report revenue and time by service line, department and location, so every record q2c
writes to the ERP carries the codes in force for it. The codes are the firm's, set in the config per
service offering (class, department), per legal entity (location) and optionally per resource
(department); an ERP connector maps each code to its own record. Precedence on one line: the
resource's department over the offering's, the offering's class, the entity's location.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from q2c.domain.model import JournalEntry

CLASS = "class"
DEPARTMENT = "department"
LOCATION = "location"
DIMENSIONS = (CLASS, DEPARTMENT, LOCATION)

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class DimensionUse:
    """One code the config sets, and where: `service_offerings.0.dimensions.class` sets class IMPL."""

    key: str
    dimension: str
    code: str


@dataclass(frozen=True)
class DimensionPlan:
    """The codes in force, by offering code, legal entity code and resource (lower-case email)."""

    offerings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    entities: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def codes(self, *, offering: str | None = None, legal_entity: str | None = None,
              resource: str | None = None) -> dict[str, str]:
        """The codes of one line: entity location, offering class and department, resource department."""
        found = dict(self.entities.get(legal_entity or "", _EMPTY))
        found.update(self.offerings.get(offering or "", _EMPTY))
        if resource:
            found.update(self.resources.get(resource.lower(), _EMPTY))
        return found

    def __bool__(self) -> bool:
        return any(self.offerings.values()) or any(self.entities.values()) or any(self.resources.values())


def with_service_line_codes(entry: JournalEntry, plan: DimensionPlan) -> JournalEntry:
    """The entry with each line's class and department codes, from the service line (offering) the revenue
    engine put on it; lines without one (receivables, deferred revenue) keep only what they had."""
    if not plan.offerings:
        return entry
    lines = tuple(line.model_copy(update={"dimensions": {**line.dimensions,
                                                         **plan.offerings.get(line.dimensions["service_line"], {})}})
                  if line.dimensions.get("service_line") else line for line in entry.lines)
    return entry.model_copy(update={"lines": lines})
