"""The fields q2c reads and writes on each object, checked against the org's describe.

Every query q2c sends names its fields, and Salesforce refuses the whole query when one of them
does not exist for the integration user (400 INVALID_FIELD). So the SELECT lists are built from
the describe: the fields q2c needs must all be there (else a `FieldsMissing` naming each object,
field and where an admin fixes it), and CurrencyIsoCode, which exists only in multicurrency orgs,
is selected where the org has it. The ERP-owned fields are the ones q2c writes back, so the
integration user must be able to update them (describe's `updateable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from q2c.connectors.salesforce.describe import ObjectInfo
from q2c.connectors.salesforce.mapping import (
    ACCOUNT_FIELDS,
    BILLING_SCHEDULE_FIELDS,
    BILLING_SCHEDULE_OBJECT,
    ERP_OWNED_FIELDS,
    LINE_ITEM_FIELDS,
    MILESTONE_FIELDS,
    OPPORTUNITY_FIELDS,
    SYSTEM,
)
from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected

CURRENCY_FIELD = "CurrencyIsoCode"  # multicurrency orgs only
OPTIONAL_FIELDS = frozenset({CURRENCY_FIELD})
# How Setup > Object Manager labels the standard objects whose label is not their API name
_SETUP_LABELS = {"OpportunityLineItem": "Opportunity Product"}

Kind = Literal["missing_object", "missing", "read_only"]


@dataclass(frozen=True)
class ObjectFields:
    """One object: the fields q2c reads (CurrencyIsoCode where the org has it) and the ones it writes."""

    sobject: str
    reads: tuple[str, ...]
    writes: frozenset[str] = frozenset()

    @property
    def needed(self) -> tuple[str, ...]:
        return tuple(f for f in self.reads if f not in OPTIONAL_FIELDS)


ACCOUNT = ObjectFields("Account", ACCOUNT_FIELDS, ERP_OWNED_FIELDS["Account"])
OPPORTUNITY = ObjectFields("Opportunity", OPPORTUNITY_FIELDS, ERP_OWNED_FIELDS["Opportunity"])
LINE_ITEM = ObjectFields("OpportunityLineItem", LINE_ITEM_FIELDS)
MILESTONE = ObjectFields("Opportunity_Milestone__c", MILESTONE_FIELDS)
ALL_OBJECTS = (ACCOUNT, OPPORTUNITY, LINE_ITEM, MILESTONE)
# Optional: read only where the org has the object (under the name the settings give), so not in ALL_OBJECTS
BILLING_SCHEDULE = ObjectFields(BILLING_SCHEDULE_OBJECT, BILLING_SCHEDULE_FIELDS)


def setup_path(sobject: str, field: str | None = None) -> str:
    where = f"Setup > Object Manager > {_SETUP_LABELS.get(sobject, sobject)}"
    return f"{where} > Fields & Relationships" + (f" > {field}" if field else "")


@dataclass(frozen=True)
class FieldProblem:
    """Something about one object or field that keeps q2c from reading or writing it."""

    sobject: str
    field: str | None  # None: the object itself
    kind: Kind
    said: tuple[str, str] | None = None  # (message, action) when the generic wording does not fit

    @property
    def name(self) -> str:
        return f"{self.sobject}.{self.field}" if self.field else self.sobject

    @property
    def message(self) -> str:
        if self.said is not None:
            return self.said[0]
        if self.kind == "missing_object":
            return f"the object {self.sobject} does not exist or the q2c integration user may not read it"
        if self.kind == "missing":
            return f"{self.name} does not exist or the q2c integration user may not read it"
        return f"the q2c integration user may read {self.name} but not update it, so q2c cannot write the ERP's " \
               "value back"

    @property
    def action(self) -> str:
        if self.said is not None:
            return self.said[1]
        if self.kind == "missing_object":
            made = "deploy the custom object and " if self.sobject.endswith("__c") else ""
            return (f"Salesforce admin: {made}give the integration user's permission set Read access to "
                    f"{self.sobject} (its Object Settings), then replay")
        assert self.field is not None
        if self.kind == "missing":
            create = (f"create {self.field} on {self.sobject} ({setup_path(self.sobject)}), or, if it exists, "
                      if self.field.endswith("__c") else "")
            return (f"Salesforce admin: {create}give the integration user Read access to it (field-level security "
                    f"on its permission set: {setup_path(self.sobject, self.field)} > Set Field-Level Security), "
                    "then replay")
        return (f"Salesforce admin: give the integration user Edit access to {self.field} (field-level security "
                f"on its permission set: {setup_path(self.sobject, self.field)} > Set Field-Level Security), "
                "then replay")

    def violation(self, record_id: str) -> Violation:
        return Violation(system=SYSTEM, object=self.sobject, record_id=record_id, field=self.field,
                         rule=f"salesforce.setup.{self.kind}", message=self.message, action=self.action)


class FieldsMissing(RecordRejected):
    """The org lacks objects or fields q2c needs; `problems` names every one."""

    def __init__(self, problems: Sequence[FieldProblem], record_id: str) -> None:
        super().__init__(problems[0].violation(record_id))
        self.problems = tuple(problems)
        self.record_id = record_id

    def violations(self) -> list[Violation]:
        return [p.violation(self.record_id) for p in self.problems]


def read_problems(spec: ObjectFields, info: ObjectInfo | None) -> list[FieldProblem]:
    if info is None:
        return [FieldProblem(spec.sobject, None, "missing_object")]
    return [FieldProblem(spec.sobject, f, "missing") for f in spec.needed if info.field(f) is None]


def write_problems(spec: ObjectFields, info: ObjectInfo | None) -> list[FieldProblem]:
    """The write-back fields the integration user can read but not update (missing ones are read problems)."""
    if info is None:
        return []
    found = [info.field(f) for f in sorted(spec.writes)]
    return [FieldProblem(spec.sobject, f.name, "read_only") for f in found if f is not None and not f.updateable]


def select_list(spec: ObjectFields, info: ObjectInfo | None, *, record_id: str) -> list[str]:
    """The fields to SELECT from this org: all the needed ones (or FieldsMissing), the optional ones it has."""
    problems = read_problems(spec, info)
    if problems:
        raise FieldsMissing(problems, record_id)
    assert info is not None
    return [f for f in spec.reads if f not in OPTIONAL_FIELDS or info.field(f) is not None]
