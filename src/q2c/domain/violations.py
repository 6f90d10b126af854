"""A violation: one broken rule on one field of one record, phrased for the person who must fix it.

This is the unit of the exception queue. It names the system, object, record id, field and rule,
says what is wrong in business words, and what to do about it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: str  # where the record lives / must be fixed: a connector's name, or "q2c"
    object: str  # that system's name for the record type
    record_id: str
    field: str | None
    rule: str  # stable machine name, e.g. "project.closed"
    message: str  # what is wrong, with the values that make it wrong
    action: str  # what to do, and who does it
    retryable: bool = False

    def headline(self) -> str:
        where = f"{self.system} {self.object} {self.record_id}"
        if self.field:
            where += f" field {self.field}"
        return f"[{self.rule}] {where}: {self.message}"
