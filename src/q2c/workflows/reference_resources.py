"""Resources: the config's people matched by email with the ERP's employees and the time tracker's users.

The config is the system of record for roles (the rate-card role that rates a person's time); the ERP
says who is employed (and their employee number), the tracker who may log time. Without reading the
two, a person hired in the ERP, or one who logs time in the tracker but is no employee, is found only
when their time fails. `sync_resources` (part of `q2c reference sync` and the scheduled refresh) reads
both, matches everyone by email, case-insensitive, with the config's list, keeps the merged view in
the hub (`store.reference`: one record per person, each change audited once, before and after), and
holds each problem in an open exception naming the person and the system:

- `reference.resource_not_in_erp`: active in the tracker, but no active employee of the ERP: the ERP will
  refuse their time;
- `reference.resource_inactive`: in the config, but in neither system, or inactive in the ERP;
- `reference.resource_no_role`: active in the ERP or the tracker, with no role in the config: their time
  cannot be rated.

A later sync that finds the problem fixed closes its exception; one a person ignored stays ignored
while the problem lasts. A system that cannot be read changes nothing: the view and the exceptions stay
as the last full read left them (a failed read is no evidence that anyone left). People a system holds
without a usable email cannot be matched; the sync names them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed, ConnectorError
from q2c.engine.hashing import content_hash
from q2c.engine.worker import Effects
from q2c.store import audit, records, reference
from q2c.store import exceptions as exception_store
from q2c.store.exceptions import Subject
from q2c.store.queue import WorkItem
from q2c.workflows.hub import Hub
from q2c.workflows.ports import Person

RESOURCES_KIND = "reference.resources"  # replaying one of its exceptions reads both systems again
RESOURCE_NOT_IN_ERP = "reference.resource_not_in_erp"
RESOURCE_INACTIVE = "reference.resource_inactive"
RESOURCE_NO_ROLE = "reference.resource_no_role"
RESOURCE_RULES = (RESOURCE_NOT_IN_ERP, RESOURCE_INACTIVE, RESOURCE_NO_ROLE)
_RULES_LIKE = "reference.resource_*"
MAX_EMAIL = 190  # the exception's aggregate ("resource:" + email) fits the store's 200 characters
_SEARCH_LIMIT = 1_000_000

Presence = Literal["active", "inactive", "absent", "not_read"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResourceView(_Frozen):
    """One person as the hub knows them: the config's role beside what each system says."""

    email: str
    name: str
    role: str | None  # the config's (it rates their time); None: not in the config
    in_erp: Presence  # not_read: no reference sync has read the ERP yet
    in_tracker: Presence
    employee_number: str | None  # the ERP's
    erp_roles: tuple[str, ...] = ()  # the ERP's own (its mapped field), for comparison only
    tracker_roles: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # the rules of their open exceptions


class ResourceSync(_Frozen):
    read: bool  # False: a system could not be read and nothing was changed (see `errors`)
    erp_people: int = 0
    tracker_people: int = 0
    listed: int = 0  # people in the hub's view now (config, ERP or tracker)
    changed: tuple[str, ...] = ()  # emails whose record changed (each audited)
    gone: tuple[str, ...] = ()  # no longer in the config, the ERP or the tracker
    problems: tuple[Violation, ...] = ()  # open after this sync (those a person ignored are left out)
    closed: int = 0  # exceptions this sync found fixed
    unmatched: tuple[str, ...] = ()  # people a system holds without a usable email
    errors: tuple[str, ...] = ()
    blocking: bool = False  # a system refused the configured credentials: a person must fix the config

    @property
    def needs_attention(self) -> bool:
        return not self.read or bool(self.problems)


@dataclass(frozen=True)
class _Read:
    erp: list[Person]
    tracker: list[Person]


def _read(hub: Hub) -> _Read:
    return _Read(erp=hub.erp.resources(), tracker=hub.tracker.people())


def _by_email(people: Sequence[Person], label: str, unmatched: list[str]) -> dict[str, Person]:
    """One person per email: an active one over an inactive one, else the first listed."""
    found: dict[str, Person] = {}
    for p in people:
        email = (p.email or "").strip().lower()
        if not email or "@" not in email or len(email) > MAX_EMAIL:
            why = "has no email" if not email else f"has the email {email!r}, which q2c cannot match"
            unmatched.append(f"{label} {p.system_id} ({p.name}) {why}")
            continue
        held = found.get(email)
        if held is None or (p.active and not held.active):
            found[email] = p
    return found


def _side(p: Person | None, *, with_number: bool) -> dict[str, Any] | None:
    if p is None:
        return None
    side: dict[str, Any] = {"id": p.system_id, "name": p.name, "active": p.active, "roles": list(p.roles)}
    if with_number:
        side["employee_number"] = p.employee_number
    return side


def _payloads(hub: Hub, erp: Mapping[str, Person], tracker: Mapping[str, Person]) -> dict[str, dict[str, Any]]:
    config = {r.email.strip().lower(): r for r in hub.config.resources}
    out: dict[str, dict[str, Any]] = {}
    for email in sorted({*config, *erp, *tracker}):
        c, e, t = config.get(email), erp.get(email), tracker.get(email)
        name = c.name if c is not None else e.name if e is not None else t.name if t is not None else email
        out[email] = {"email": email, "name": name, "role": c.role if c is not None else None,
                      "in_config": c is not None, "erp": _side(e, with_number=True),
                      "tracker": _side(t, with_number=False)}
    return out


def _who(p: Mapping[str, Any]) -> str:
    return f"{p['name']} ({p['email']})"


def _problems(hub: Hub, p: Mapping[str, Any]) -> list[Violation]:
    """What is wrong with one person's merged record, each naming the person and the system."""
    erp, tracker = hub.erp.names, hub.tracker.names
    e, t, role = p["erp"], p["tracker"], p["role"]
    email, who = p["email"], _who(p)
    employee = erp.object("employee")
    found: list[Violation] = []
    if t is not None and t["active"] and not (e is not None and e["active"]):
        state = (f"is an inactive {employee} in {erp.label} ({employee} {e['employee_number'] or e['id']})"
                 if e is not None else f"is no {employee} in {erp.label} (none has this email)")
        found.append(Violation(
            system=erp.system, object=employee, record_id=email, field="email", rule=RESOURCE_NOT_IN_ERP,
            message=f"{who} logs time in {tracker.label} (user {t['id']}, active) but {state}: {erp.label} will "
                    "refuse their time",
            action=f"Create or reactivate the {employee} in {erp.label} with the email {email} (or deactivate the "
                   f"user in {tracker.label}); the next `q2c reference sync` closes this"))
    if role is not None and (e is None or not e["active"]):
        if e is not None:
            found.append(Violation(
                system=erp.system, object=employee, record_id=email, field="isInactive", rule=RESOURCE_INACTIVE,
                message=f"{who} is a resource in the q2c config ({role}) but an inactive {employee} in {erp.label} "
                        f"({employee} {e['employee_number'] or e['id']}): {erp.label} refuses their time",
                action=f"Reactivate the {employee} in {erp.label}, or remove {email} from `resources` in the q2c "
                       "config; the next `q2c reference sync` closes this"))
        elif t is None:
            found.append(Violation(
                system="q2c", object="resource", record_id=email, field="email", rule=RESOURCE_INACTIVE,
                message=f"{who} is a resource in the q2c config ({role}) but neither {erp.label} nor "
                        f"{tracker.label} has anyone with this email",
                action=f"Correct the email under `resources` in the q2c config, add the person to {erp.label} and "
                       f"{tracker.label}, or remove them from the config; the next `q2c reference sync` closes "
                       "this"))
    if role is None and ((e is not None and e["active"]) or (t is not None and t["active"])):
        where = " and ".join(x for x in (
            f"an active {employee} in {erp.label} ({employee} {e['employee_number'] or e['id']})"
            if e is not None and e["active"] else "",
            f"an active user in {tracker.label} (user {t['id']})" if t is not None and t["active"] else "") if x)
        found.append(Violation(
            system="q2c", object="resource", record_id=email, field="role", rule=RESOURCE_NO_ROLE,
            message=f"{who} is {where} but has no role in the q2c config: time they log cannot be rated",
            action=f"Add {email} under `resources` in the q2c config with their rate-card role (or deactivate "
                   "them where they should not log time); the next `q2c reference sync` closes this"))
    return found


def _settle(hub: Hub, payloads: Mapping[str, dict[str, Any]], read: _Read, unmatched: list[str]) -> ResourceSync:
    """Store the merged view and bring the exceptions in line with it, in one transaction."""
    correlation = uuid.uuid4().hex
    changed: list[str] = []
    gone: list[str] = []
    raised: list[Violation] = []
    closed = 0
    with hub.engine.begin() as conn:
        stored = reference.resources(conn)
        rows = [reference.resource_record(email, p, digest=content_hash(p)) for email, p in payloads.items()]
        rows += [records.Record(prev.entity, prev.canonical_id, prev.aggregate, reference.GONE, prev.schema_version,
                                prev.content_hash, prev.payload)
                 for email, prev in stored.items() if email not in payloads and prev.state != reference.GONE]
        trail: list[audit.AuditEntry] = []
        for row in rows:
            before = stored.get(row.canonical_id)
            if before is not None and before.content_hash == row.content_hash and before.state == row.state:
                continue
            done, before = reference.replace_if_changed(conn, row)
            if not done:
                continue  # another process recorded the same change first
            (gone if row.state == reference.GONE else changed).append(row.canonical_id)
            trail.append(audit.AuditEntry(
                actor=hub.actor, system="q2c", action="resource" if row.state == reference.LISTED else "resource_gone",
                entity=reference.RESOURCE, record_id=row.canonical_id, correlation_id=correlation,
                before=before.payload if before is not None else None,
                after=row.payload if row.state == reference.LISTED else {
                    "state": reference.GONE, "why": "no longer in the q2c config, the ERP or the time tracker"}))
        audit.append(conn, trail)

        found = {(v.rule, v.record_id): v for p in payloads.values() for v in _problems(hub, p)}
        ignored = {(r.violation.rule, r.violation.record_id): r for r in exception_store.search(
            conn, status=exception_store.IGNORED, rule=_RULES_LIKE, limit=_SEARCH_LIMIT)}
        for held in exception_store.search(conn, status=exception_store.OPEN, rule=_RULES_LIKE, limit=_SEARCH_LIMIT):
            v = held.violation
            now_found = found.get((v.rule, v.record_id))
            if now_found is None or (now_found.system, now_found.object) != (v.system, v.object):
                exception_store.mark(conn, held.id, status=exception_store.RESOLVED)  # fixed, or now another one
                closed += 1
        for key, ignored_row in ignored.items():
            if key not in found:  # fixed since: should it come back, it is raised anew
                exception_store.mark(conn, ignored_row.id, status=exception_store.RESOLVED)
        for key, v in sorted(found.items()):
            if key in ignored:
                continue
            raised.append(v)
            exception_store.raise_exception(conn, v, work_kind=RESOURCES_KIND, aggregate=f"resource:{v.record_id}",
                                            payload={"email": v.record_id}, correlation_id=correlation,
                                            subjects=[Subject(reference.RESOURCE, v.record_id)])
    return ResourceSync(read=True, erp_people=len(read.erp), tracker_people=len(read.tracker), listed=len(payloads),
                        changed=tuple(changed), gone=tuple(gone), problems=tuple(raised), closed=closed,
                        unmatched=tuple(unmatched))


def _merge(hub: Hub, read: _Read) -> ResourceSync:
    unmatched: list[str] = []
    erp = _by_email(read.erp, f"{hub.erp.names.label} {hub.erp.names.object('employee')}", unmatched)
    tracker = _by_email(read.tracker, f"{hub.tracker.names.label} user", unmatched)
    return _settle(hub, _payloads(hub, erp, tracker), read, unmatched)


def sync_resources(hub: Hub) -> ResourceSync:
    """Read the ERP's employees and the tracker's users, match them with the config's resources by email,
    store the merged view and keep one open exception per problem (see the module docstring)."""
    try:
        read = _read(hub)
    except ConnectorError as exc:
        return ResourceSync(read=False, blocking=isinstance(exc, AuthFailed), errors=(
            f"{exc.system}: {exc} (the resources were not read; the hub keeps the last full read)",))
    return _merge(hub, read)


def recheck_resources(hub: Hub, item: WorkItem) -> Effects | None:
    """Replay of a resource exception: read both systems again; the exception closes once fixed, or is
    raised again by the check. A system that cannot be read fails the item, so it is retried."""
    _merge(hub, _read(hub))
    return None


def resource_views(hub: Hub) -> tuple[tuple[ResourceView, ...], bool]:
    """Everyone in the hub's view with the config's role as it is now, and whether any sync has read the
    systems yet (if not, the config's resources alone, their presence `not_read`)."""
    config = {r.email.strip().lower(): r for r in hub.config.resources}
    with hub.engine.connect() as conn:
        stored = {e: r for e, r in reference.resources(conn).items() if r.state == reference.LISTED}
        problems: dict[str, list[str]] = {}
        for row in exception_store.search(conn, status=exception_store.OPEN, rule=_RULES_LIKE, limit=_SEARCH_LIMIT):
            problems.setdefault(row.violation.record_id, []).append(row.violation.rule)
    synced = bool(stored)

    def presence(side: Mapping[str, Any] | None) -> Presence:
        if not synced:
            return "not_read"
        return "absent" if side is None else "active" if side["active"] else "inactive"

    views = []
    for email in sorted({*config, *stored}):
        p = stored[email].payload if email in stored else {}
        c = config.get(email)
        e, t = p.get("erp"), p.get("tracker")
        views.append(ResourceView(
            email=email, name=c.name if c is not None else str(p.get("name") or email),
            role=c.role if c is not None else None, in_erp=presence(e), in_tracker=presence(t),
            employee_number=e.get("employee_number") if e else None,
            erp_roles=tuple(e.get("roles") or ()) if e else (), tracker_roles=tuple(t.get("roles") or ()) if t else (),
            problems=tuple(sorted(problems.get(email, ())))))
    return tuple(views), synced
