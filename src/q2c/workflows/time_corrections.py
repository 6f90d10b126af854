"""Corrections of time entries from the exception queue, and the overrides that make them stick.

The time tracker owns every field of a time entry (who, when, how long, on what task), and q2c
never writes to the tracker's approved, locked time. So a correction made in q2c (`q2c exceptions
replay N --payload fixed.json`) is kept as an override of the tracker's value, not as a new
version of the entry:

* the corrected payload may hold only the entries the exception holds up (a correction never
  adds a record) and may change only the fields the exception's rule is about (the resource of
  an unknown-resource exception, the hours of an absurd-hours one); anything else is refused,
  naming the entry and the field;
* every later read of the entry applies the override while the tracker still shows the value that
  was corrected, so the next poll sees no edit; once the tracker itself changes the field (or comes
  to agree), the override lapses and the tracker's value counts again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from q2c.domain.model import TimeEntry
from q2c.engine.replay import Correction, CorrectionRefused, replay_payload
from q2c.store.exceptions import ExceptionRow
from q2c.store.overrides import Override

ENTITY = "time_entry"

# What a person may correct in q2c, by the rule an exception is about (canonical field names).
CORRECTABLE: Mapping[str, frozenset[str]] = {
    "time.resource_unknown": frozenset({"resource_id"}),
    "time.resource_inactive": frozenset({"resource_id"}),
    "time.employee_missing": frozenset({"resource_id"}),
    "time.task_unknown": frozenset({"task_code"}),
    "time.no_billable_phase": frozenset({"task_code"}),
    "time.hours_not_positive": frozenset({"hours"}),
    "time.hours_absurd": frozenset({"hours"}),
}


def correct_time(row: ExceptionRow, corrected: Mapping[str, Any], *, actor: str) -> Correction:
    """The correction policy of time delivery (see the module docstring)."""
    entries = corrected.get("entries")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise CorrectionRefused(f"corrected payload for exception {row.id} field entries: give a non-empty list of "
                                "time entries, as `q2c exceptions show` prints them")
    extra = sorted(set(corrected) - {"entries"})
    if extra:
        raise CorrectionRefused(f"corrected payload for exception {row.id} field {extra[0]}: not part of a time "
                                "correction (only entries)")
    payload = replay_payload(row)
    original = {str(e.get("id")): e for e in payload.get("entries", []) if isinstance(e, dict)}
    allowed = CORRECTABLE.get(row.violation.rule, frozenset())
    found: list[Override] = []
    changes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        entry_id = entry.get("id")
        if not isinstance(entry_id, str) or not entry_id:
            raise CorrectionRefused(f"corrected payload for exception {row.id}: entries[{i}] field id is missing")
        if entry_id in seen:
            raise CorrectionRefused(f"corrected payload for exception {row.id}: time entry {entry_id} is given twice")
        seen.add(entry_id)
        before = original.get(entry_id)
        if before is None:
            held = ", ".join(sorted(original)) or "none"
            raise CorrectionRefused(
                f"time entry {entry_id} field id: not one of the records exception {row.id} holds up ({held}); a "
                "correction may fix those records, never add one")
        changed = sorted(k for k in set(before) | set(entry) if before.get(k) != entry.get(k))
        for name in changed:
            if name not in allowed:
                about = ", ".join(sorted(allowed)) or "nothing a correction in q2c can change"
                raise CorrectionRefused(
                    f"time entry {entry_id} field {name}: exception {row.id} is about {row.violation.rule} (may "
                    f"correct: {about}); {name} belongs to the time tracker: change it there and replay without a "
                    "corrected payload")
        try:
            TimeEntry.model_validate(entry)
        except ValidationError as exc:
            problem = exc.errors()[0]
            field = ".".join(str(p) for p in problem["loc"]) or "entry"
            raise CorrectionRefused(f"time entry {entry_id} field {field}: {problem['msg']}") from None
        reason = f"correction by {actor} replaying exception {row.id} ({row.violation.rule})"
        for name in changed:
            found.append(Override(ENTITY, entry_id, name, entry[name], before.get(name), actor, reason))
            changes.append({"record": entry_id, "field": name, "before": before.get(name), "after": entry[name]})
    if not found:
        raise CorrectionRefused(f"corrected payload for exception {row.id} changes nothing; replay it without one")
    return Correction(payload=payload, overrides=tuple(found), changes=tuple(changes))


@dataclass(frozen=True)
class Applied:
    """One entry after its overrides: what q2c uses, and what happened to each override."""

    raw: dict[str, Any]
    used: dict[str, dict[str, Any]]  # field -> {"value", "source_value", "by", "reason"}
    lapsed: list[tuple[Override, Any]]  # (override, what the tracker shows now)


def apply_overrides(raw: Mapping[str, Any], active: Sequence[Override]) -> Applied:
    """The entry as q2c uses it: the tracker's values, with its corrections where they still hold."""
    out = dict(raw)
    used: dict[str, dict[str, Any]] = {}
    lapsed: list[tuple[Override, Any]] = []
    for o in active:
        now = raw.get(o.field)
        if now == o.source_value:
            out[o.field] = o.value
            used[o.field] = {"value": o.value, "source_value": o.source_value, "by": o.actor, "reason": o.reason}
        else:
            lapsed.append((o, now))
    return Applied(out, used, lapsed)
