"""Reference data: the rate cards in force, resources and FX rates, and re-pricing after a rate change.

Rate cards. The config is the rate cards' system of record here. Live contracts are rated with the
card in force under the contract's card id (`rate_cards_in_force`), never with the copy the contract
kept from its setup (`Contract.rate_card`: what was agreed then). A contract whose card id the config
no longer has is an exception naming the contract and the card (`rate_card_problem`), and its time
waits for the card to be back; it is not rated with the agreed copy, which may be out of date. The hub
keeps its own copy of each card in force (`publish_rate_cards`, each change audited before/after):
the controller's checks read it, so they judge unbilled time by the card it was rated with.

Re-pricing. A new dated line (Consultant 165 from the 16th) changes what unbilled time from that day
is worth. `preview_reprice` rates each project's posted, unbilled time again with the card in force
(read only) and shows, per entry that moves, hours, old and new rate and amount and the difference,
with totals; billed entries the change would reach are shown as unchanged, with the reason. `apply`
is `enqueue_reprice` + the queue: one item per contract under the contract's aggregate, so it runs in
order with that contract's billing runs (a run queued after it bills the re-priced amounts). Its
handler `reprice_contract` writes the new rates to the ERP's timebills (the Erp port's upsert, so
a retry repeats harmlessly), then swaps the rating of each entry that is still unbilled and rated as
previewed, with one audit entry per project (before and after). Applying twice changes nothing the
second time: the preview then finds every entry at the rate in force.

Resources. `reference_resources.sync_resources` reads the ERP's employees and the tracker's users,
matches them by email with the config's resources (the config keeps the roles that rate time), stores
the merged view and raises an open exception per person and problem (not in the ERP, inactive, no
role); `q2c reference show` lists it.

FX rates. `sync_fx_rates` reads the euro foreign exchange reference rates file the config names
(`reference.fx_rates_file`: the central bank's eurofxref CSV, its .zip, or the XML) and keeps, for
every pair a legal entity may need (a rate card's currency into the entity's), the rate of each day:
as published for EUR into a currency, crossed through EUR otherwise (to 10 significant digits). The
config's own `fx_rates` win over the file's on the same pair and day. `check_fx_rates` then walks the
active contracts whose currency is not their legal entity's: every date their close will translate at
(invoices, cash received, the end of the contract's first period) needs a rate on or before it, as the
close looks rates up; a date without one is an open exception naming contract, pair and date, raised
here rather than met during the close.

`reference.fx_source` picks where the dated rates come from: the file (`file`, the default when one is
named), nothing but the config (`none`), or the ERP (`erp`): `Erp.currency_rates`, the rates the firm
keeps there (NetSuite's Currency Exchange Rates), 1 unit of the transaction currency in the base currency
the books are kept in. Those are read as entered or changed since the last read (all of them the first
time, or when an entity needs a new pair), and the pairs the entities need are kept like the file's:
each new or changed rate stored once (compare-and-set) and audited per pair and change. No crossing or
inverting: the ERP holds a rate per base currency, and it is the one its own books use. An ERP connector
without rates, or a rate the ERP reports that cannot be read, is an open exception naming
`reference.fx_source` or the ERP's record; the rates kept stay, and the config's `fx_rates` still win.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import weakref
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection, Engine

from q2c.domain.billing import BillingError, RepriceChange, RepricePreview, reprice_preview
from q2c.domain.model import Contract, Invoice, Project, RateCard, TimeEntry
from q2c.domain.money import Money
from q2c.domain.revenue import FxRate, FxTable, MissingFxRate, Period
from q2c.domain.violations import Violation
from q2c.engine.errors import ConnectorError, RecordRejected, Rejected
from q2c.engine.hashing import content_hash
from q2c.engine.worker import Effects
from q2c.store import audit, queue, records, reference, time_entries
from q2c.store import exceptions as exception_store
from q2c.store.cursors import get_cursor, set_cursor
from q2c.store.exceptions import Subject
from q2c.store.queue import WorkItem
from q2c.workflows.cash_receipts import cash_facts
from q2c.workflows.hub import Hub
from q2c.workflows.ports import Timebill, WriteResult
from q2c.workflows.reference_resources import ResourceSync, ResourceView, resource_views, sync_resources
from q2c.workflows.revenue_close import functional_currency
from q2c.workflows.revenue_close import fx_table as revenue_fx_table

REPRICE_KIND = "reference.reprice"  # one contract's unbilled time re-priced to the card in force
FX_KIND = "reference.fx"  # replaying it reads the rates file again and checks the contract again
RATE_CARD_MISSING = "reference.rate_card_missing"
RATE_CARD_CURRENCY = "reference.rate_card_currency"
REPRICE_REFUSED = "reference.reprice_refused"
FX_RATE_MISSING = "reference.fx_rate_missing"
FX_FILE_UNREADABLE = "reference.fx_file_unreadable"
FX_FILE_AGGREGATE = "reference:fx_rates_file"
FX_SOURCE_UNAVAILABLE = "reference.fx_source_unavailable"  # fx_source: erp, and the ERP connector has none
FX_ERP_AGGREGATE = "reference:fx_source"  # the ERP's rates: unreadable, or not offered


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- rate cards in force -----------------------------------------------------------------------------------


def rate_cards_in_force(hub: Hub) -> Mapping[str, RateCard]:
    """The rate cards live contracts are rated with, by id: the config's, as it is now."""
    return hub.config.rate_cards_by_id


def rate_card_problem(contract: Contract, card: RateCard | None, *, waiting: int) -> Violation | None:
    """Why the contract's time cannot be rated with the card in force under its card id, if it cannot.

    `waiting`: how many entries wait for it (said in the message, so the size of the problem is clear)."""
    agreed = contract.rate_card
    held = f"; {waiting} time entr{'y waits' if waiting == 1 else 'ies wait'}" if waiting else ""
    if card is None:
        return Violation(
            system="q2c", object="contract", record_id=contract.id, field="rate_card", rule=RATE_CARD_MISSING,
            message=f"contract {contract.id} is priced by rate card {agreed.id}, which the config no longer has, so "
                    f"its time cannot be rated at the rates in force{held} (the card as agreed at setup is kept on "
                    "the contract, but it is not what is in force now)",
            action=f"Put rate card {agreed.id} back under rate_cards in the q2c config (with its dated lines), "
                   "then replay")
    if card.currency != contract.currency:
        return Violation(
            system="q2c", object="contract", record_id=contract.id, field="rate_card", rule=RATE_CARD_CURRENCY,
            message=f"contract {contract.id} is in {contract.currency}, but rate card {card.id} in the config is now "
                    f"in {card.currency}, so its time cannot be rated{held}",
            action=f"Set rate card {card.id} back to {contract.currency} in the q2c config (a card in another "
                   "currency needs its own id), then replay")
    return None


@dataclass(frozen=True)
class RateCardChange:
    card_id: str
    before: RateCard | None
    after: RateCard | None  # None: retired (no longer in the config)
    state: str


# The cards each database was last brought up to date with by this process: a rating path that finds the same
# cards publishes nothing and reads nothing (time delivery calls it for every batch).
_PUBLISHED: weakref.WeakKeyDictionary[Engine, Mapping[str, RateCard]] = weakref.WeakKeyDictionary()


def publish_rate_cards(hub: Hub, *, correlation_id: str | None = None, recheck: bool = False) -> list[RateCardChange]:
    """Make the hub's copy of the rate cards what the config says now; each change audited before/after.

    Free when this process already published these cards to this database (unless `recheck`, as the
    reference refresh and the re-pricing preview do), so every rating path calls it first."""
    cards = rate_cards_in_force(hub)
    if not recheck and _PUBLISHED.get(hub.engine) is cards:
        return []
    changes = _publish(hub, cards, correlation_id)
    _PUBLISHED[hub.engine] = cards
    return changes


def _publish(hub: Hub, cards: Mapping[str, RateCard], correlation_id: str | None) -> list[RateCardChange]:
    with hub.engine.connect() as conn:
        stored = reference.rate_cards(conn)
    rows: list[records.Record] = []
    for card_id, card in cards.items():
        digest = content_hash(card.model_dump(mode="json"))
        prev = stored.get(card_id)
        if prev is None or prev.content_hash != digest or prev.state != reference.IN_FORCE:
            rows.append(reference.card_record(card, digest=digest))
    for card_id, prev in stored.items():
        if card_id not in cards and prev.state != reference.RETIRED:
            rows.append(records.Record(prev.entity, prev.canonical_id, prev.aggregate, reference.RETIRED,
                                       prev.schema_version, prev.content_hash, prev.payload))
    if not rows:
        return []
    changes: list[RateCardChange] = []
    correlation = correlation_id or uuid.uuid4().hex
    with hub.engine.begin() as conn:
        trail: list[audit.AuditEntry] = []
        for row in rows:
            changed, before = reference.replace_if_changed(conn, row)
            if not changed:
                continue  # another process published the same change first
            was = RateCard.model_validate(before.payload) if before is not None else None
            now = RateCard.model_validate(row.payload) if row.state == reference.IN_FORCE else None
            changes.append(RateCardChange(row.canonical_id, was, now, row.state))
            trail.append(audit.AuditEntry(
                actor=hub.actor, system="q2c", action="rate_card" if now is not None else "rate_card_retired",
                entity=reference.RATE_CARD, record_id=row.canonical_id, correlation_id=correlation,
                before=before.payload if before is not None else None,
                after=row.payload if now is not None else {"state": reference.RETIRED,
                                                           "why": "the config no longer has this rate card"}))
        audit.append(conn, trail)
    return changes


# --- re-pricing -------------------------------------------------------------------------------------------

Status = Literal["to_reprice", "nothing_to_reprice", "refused", "applied", "not_applied"]


class EntryReprice(_Frozen):
    """One entry the rate change reaches: re-priced (unbilled), or left as it is (billed)."""

    entry_id: str
    work_date: date
    role: str
    resource_id: str
    hours: Decimal
    old_rate: Money
    new_rate: Money
    old_amount: Money
    new_amount: Money
    difference: Money
    rate_from: date  # the day the rate in force on the work date took effect
    billed: bool
    invoice_id: str | None = None
    note: str


class ProjectReprice(_Frozen):
    contract_id: str
    project_id: str
    rate_card_id: str
    currency: str
    status: Status
    entries: tuple[EntryReprice, ...] = ()  # unbilled entries whose figures move
    billed: tuple[EntryReprice, ...] = ()  # billed entries the card now prices differently: unchanged
    unchanged: int = 0  # unbilled entries already at the rate in force on their work date
    hours: Decimal = Decimal(0)
    old_total: Money
    new_total: Money
    difference: Money
    problem: Violation | None = None
    left: tuple[str, ...] = ()  # after an apply: entries still not at the rate in force


class RepriceReport(_Frozen):
    applied: bool  # False: a preview; nothing was changed
    projects: tuple[ProjectReprice, ...]  # those with something to re-price, refused, or billed time reached
    projects_checked: int
    totals: tuple[Money, ...]  # the difference over all projects, one per currency
    pending: int = 0  # after an apply: re-pricing items still queued (waiting on a retry); the workers finish them

    @property
    def open_problems(self) -> bool:
        return self.pending > 0 or any(p.status in ("refused", "not_applied") for p in self.projects)


def _entry(change: RepriceChange, *, billed: bool, invoice_id: str | None) -> EntryReprice:
    if billed:
        note = (f"billed on {invoice_id or 'an invoice'}: unchanged (billed time changes only through a credit "
                "note and a new invoice)")
    else:
        note = f"re-priced: {change.new_rate} in force on {change.work_date} (from {change.new.rate_effective_from})"
    return EntryReprice(
        entry_id=change.entry_id, work_date=change.work_date, role=change.role, resource_id=change.old.resource_id,
        hours=change.hours, old_rate=change.old_rate, new_rate=change.new_rate, old_amount=change.old_amount,
        new_amount=change.new_amount, difference=change.difference, rate_from=change.new.rate_effective_from,
        billed=billed, invoice_id=invoice_id, note=note)


@dataclass(frozen=True)
class _Priced:
    """One contract's time against the card in force: the preview, or why there is none."""

    contract: Contract
    project: Project
    posted: list[time_entries.PostedTime]
    card: RateCard | None
    preview: RepricePreview | None
    problem: Violation | None


def _price(contract: Contract, project: Project, posted: list[time_entries.PostedTime],
           cards: Mapping[str, RateCard]) -> _Priced:
    card = cards.get(contract.rate_card.id)
    unbilled = [p for p in posted if not p.billed]
    problem = rate_card_problem(contract, card, waiting=len(unbilled))
    if problem is not None or card is None:
        return _Priced(contract, project, posted, card, None, problem)
    try:
        preview = reprice_preview([p.rated for p in posted], rate_card=card,
                                  billed_entry_ids={p.rated.entry_id for p in posted if p.billed})
    except BillingError as exc:
        return _Priced(contract, project, posted, card, None, Violation(
            system="q2c", object="rate_card", record_id=card.id, field="lines", rule=REPRICE_REFUSED,
            message=f"the unbilled time of project {project.id} (contract {contract.id}) cannot be re-priced with "
                    f"rate card {card.id}: {exc}",
            action=f"Correct rate card {card.id} in the q2c config so every unbilled entry has one rate in force on "
                   "its work date, then replay"))
    return _Priced(contract, project, posted, card, preview, None)


def _summary(priced: _Priced) -> ProjectReprice | None:
    contract, project = priced.contract, priced.project
    zero = Money.zero(contract.currency)
    card_id = priced.card.id if priced.card is not None else contract.rate_card.id
    base = {"contract_id": contract.id, "project_id": project.id, "rate_card_id": card_id,
            "currency": contract.currency}
    if priced.problem is not None:
        if not any(not p.billed for p in priced.posted):
            return None  # no unbilled time: nothing to re-price, and delivery raises the problem for new time
        return ProjectReprice(**base, status="refused", problem=priced.problem, old_total=zero, new_total=zero,
                              difference=zero)
    preview = priced.preview
    assert preview is not None
    invoices = {p.rated.entry_id: p.invoice_id for p in priced.posted if p.billed}
    if not preview.changes and not preview.billed_untouched:
        return None
    return ProjectReprice(
        **base, status="to_reprice" if preview.changes else "nothing_to_reprice",
        entries=tuple(_entry(c, billed=False, invoice_id=None) for c in preview.changes),
        billed=tuple(_entry(c, billed=True, invoice_id=invoices.get(c.entry_id)) for c in preview.billed_untouched),
        unchanged=len(preview.unchanged_entry_ids), hours=preview.hours, old_total=preview.old_total,
        new_total=preview.new_total, difference=preview.total_difference)


def _active(conn: Connection) -> list[tuple[Contract, Project]]:
    out = []
    for r in records.list_records(conn, entity="contract", states=["active"]):
        contract = Contract.model_validate(r.payload)
        project = next((Project.model_validate(p.payload) for p in
                        records.list_records(conn, entity="project", aggregate=f"contract:{contract.id}")), None)
        if project is not None:
            out.append((contract, project))
    return out


def _totals(projects: Iterable[ProjectReprice]) -> tuple[Money, ...]:
    by_currency: dict[str, Decimal] = {}
    for p in projects:
        by_currency[p.currency] = by_currency.get(p.currency, Decimal(0)) + p.difference.amount
    return tuple(Money(amount=v, currency=k) for k, v in sorted(by_currency.items()))


def preview_reprice(hub: Hub) -> RepriceReport:
    """What the rate cards in force do to every active contract's unbilled time; nothing is changed (the hub's
    copy of the cards is brought up to date first, as every rating path does)."""
    publish_rate_cards(hub, recheck=True)
    cards = rate_cards_in_force(hub)
    with hub.engine.connect() as conn:
        active = _active(conn)
        priced = [_price(c, p, time_entries.posted_time(conn, p.id), cards) for c, p in active]
    projects = tuple(s for s in (_summary(p) for p in priced) if s is not None)
    return RepriceReport(applied=False, projects=projects, projects_checked=len(active), totals=_totals(projects))


def enqueue_reprice(hub: Hub, preview: RepriceReport) -> list[int]:
    """One re-pricing item per contract the preview found work (or a problem) for, on the contract's aggregate:
    it runs after that contract's earlier work and before its later billing runs."""
    ids = []
    with hub.engine.begin() as conn:
        for p in preview.projects:
            if p.status in ("to_reprice", "refused"):
                ids.append(queue.enqueue(conn, kind=REPRICE_KIND, aggregate=f"contract:{p.contract_id}",
                                         payload={"contract_id": p.contract_id}, correlation_id=uuid.uuid4().hex,
                                         priority=queue.PRIORITY_REFERENCE))
    return ids


def unfinished_reprices(hub: Hub) -> int:
    with hub.engine.connect() as conn:
        return queue.unfinished(conn, kinds=[REPRICE_KIND])


def reprice_outcome(before: RepriceReport, after: RepriceReport, *, pending: int = 0) -> RepriceReport:
    """The preview that was applied, each project marked applied or not by what a fresh preview still finds."""
    left = {p.project_id: p for p in after.projects}
    projects = []
    for p in before.projects:
        if p.status not in ("to_reprice", "refused"):
            projects.append(p)
            continue
        now = left.get(p.project_id)
        remaining = tuple(e.entry_id for e in now.entries) if now is not None else ()
        if now is not None and now.status == "refused":
            projects.append(p.model_copy(update={"status": "refused", "problem": now.problem}))
        elif remaining:
            projects.append(p.model_copy(update={"status": "not_applied", "left": remaining}))
        else:
            projects.append(p.model_copy(update={"status": "applied"}))
    return RepriceReport(applied=True, projects=tuple(projects), projects_checked=before.projects_checked,
                         totals=before.totals, pending=pending)


def reprice_contract(hub: Hub, item: WorkItem) -> Effects | None:
    """Re-price one contract's unbilled time to the card in force: the ERP's timebills first, then the hub's."""
    contract_id = str(item.payload["contract_id"])
    publish_rate_cards(hub, correlation_id=item.correlation_id)
    with hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="contract", canonical_id=contract_id)
        project = next((Project.model_validate(p.payload) for p in
                        records.list_records(conn, entity="project", aggregate=f"contract:{contract_id}")), None)
        posted = time_entries.posted_time(conn, project.id) if project is not None else []
    if rec is None or project is None:
        return None  # nothing of the contract's is in the hub any more
    priced = _price(Contract.model_validate(rec.payload), project, posted, rate_cards_in_force(hub))
    if priced.problem is not None:
        raise Rejected([priced.problem])
    preview = priced.preview
    assert preview is not None
    entries = {p.rated.entry_id: p.entry for p in posted}
    task_ids = {t.code: t.id for t in project.tasks}
    timebills = [Timebill(TimeEntry.model_validate(entries[c.entry_id]), c.new, task_ids.get(c.new.task_code))
                 for c in preview.changes]
    results = {r.canonical_id: r for r in hub.erp.upsert_timebills(timebills)} if timebills else {}
    return _reprice_effects(hub, item, priced, preview, results)


def _figures(change: RepriceChange, *, new: bool) -> dict[str, str]:
    rated = change.new if new else change.old
    return {"id": change.entry_id, "work_date": change.work_date.isoformat(), "hours": str(change.hours),
            "rate": str(rated.rate.amount), "amount": str(rated.amount.amount),
            "rate_from": rated.rate_effective_from.isoformat()}


def _reprice_effects(hub: Hub, item: WorkItem, priced: _Priced, preview: RepricePreview,
                     results: Mapping[str, WriteResult]) -> Effects:
    erp = hub.erp.names
    project = priced.project

    def write(conn: Connection) -> None:
        ok: list[RepriceChange] = []
        failed: list[tuple[Violation, str]] = []
        for c in preview.changes:
            result = results.get(c.entry_id)
            violation = result.violation if result is not None else Violation(
                system=erp.system, object=erp.object("time_entry"), record_id=c.entry_id, field=None,
                rule="erp.no_result", message=f"{erp.label} returned no result for the re-priced entry",
                action="Replay this exception to re-price the contract again")
            if violation is not None:
                failed.append((violation, c.entry_id))
            else:
                ok.append(c)
        repriced, skipped = time_entries.reprice(conn, [(c.old, c.new) for c in ok])
        exception_store.resolve_open_for_aggregate(conn, work_kind=REPRICE_KIND, aggregate=item.aggregate)
        for v, entry_id in failed:
            exception_store.raise_exception(conn, v, work_kind=REPRICE_KIND, aggregate=item.aggregate,
                                            payload={"contract_id": priced.contract.id},
                                            correlation_id=item.correlation_id, work_item_id=item.id,
                                            subjects=[Subject(time_entries.ENTITY, entry_id)])
        done = [c for c in ok if c.entry_id in set(repriced)]
        if not done and not failed:
            return
        currency = priced.contract.currency
        trail = [audit.AuditEntry(
            actor=hub.actor, system=erp.system, action="reprice", entity="project", record_id=project.id,
            correlation_id=item.correlation_id,
            before={"contract": priced.contract.id, "rate_card": preview.rate_card_id,
                    "total": str(sum((c.old_amount.amount for c in done), Decimal(0))), "currency": currency,
                    "entries": [_figures(c, new=False) for c in done]},
            after={"contract": priced.contract.id, "rate_card": preview.rate_card_id,
                   "total": str(sum((c.new_amount.amount for c in done), Decimal(0))), "currency": currency,
                   "difference": str(sum((c.difference.amount for c in done), Decimal(0))),
                   "entries": [_figures(c, new=True) for c in done],
                   "billed_untouched": list(preview.billed_untouched_entry_ids),
                   "skipped": skipped, "refused_by_erp": [entry_id for _, entry_id in failed]})]
        trail += [audit.AuditEntry(actor=hub.actor, system=v.system, action="exception", entity=v.object,
                                   record_id=v.record_id, correlation_id=item.correlation_id,
                                   after={"rule": v.rule, "message": v.message, "records": [entry_id]})
                  for v, entry_id in failed]
        audit.append(conn, trail)

    return write


# --- FX rates ---------------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                       "september", "october", "november", "december"), start=1)}
_EUROFXREF = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
_CROSS = Context(prec=10, rounding=ROUND_HALF_EVEN)


class RatesFileError(ValueError):
    """A reference rates file that cannot be read as published; the message names the file and the line."""


@dataclass(frozen=True)
class EuroRates:
    """Euro reference rates: per day, how many units of each currency quoted that day buy 1 EUR."""

    source: str
    days: Mapping[date, Mapping[str, Decimal]]


def _day(text: str, where: str) -> date:
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    parts = value.split()
    if len(parts) == 3 and parts[1].lower() in _MONTHS and parts[0].isdigit() and parts[2].isdigit():
        try:
            return date(int(parts[2]), _MONTHS[parts[1].lower()], int(parts[0]))
        except ValueError:
            pass
    raise RatesFileError(f"{where}: {value!r} is not a date (expected 2026-11-02 or 2 November 2026)")


def _rate(text: str, where: str) -> Decimal | None:
    value = text.strip()
    if value in ("", "N/A"):
        return None  # not quoted that day
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise RatesFileError(f"{where}: {value!r} is not a rate") from None
    if not rate.is_finite() or rate <= 0:
        raise RatesFileError(f"{where}: {value!r} is not a positive rate")
    return rate


def parse_eurofxref_csv(text: str, *, source: str) -> EuroRates:
    """The CSV as published: `Date, USD, JPY, ...` then one row per day (ISO or `2 November 2026` dates; `N/A`
    where a currency was not quoted; a trailing comma on every line)."""
    rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1)
            if any(cell.strip() for cell in row)]
    if not rows or rows[0][1][0].strip().lower() != "date":
        raise RatesFileError(f"{source} line 1: expected the header `Date, USD, JPY, ...`")
    header = [cell.strip().upper() for cell in rows[0][1]]
    while header and not header[-1]:
        header.pop()
    days: dict[date, dict[str, Decimal]] = {}
    for n, row in rows[1:]:
        cells = [cell.strip() for cell in row]
        while len(cells) > len(header) and not cells[-1]:
            cells.pop()
        if len(cells) != len(header):
            raise RatesFileError(f"{source} line {n}: {len(cells)} cells, the header has {len(header)}")
        on = _day(cells[0], f"{source} line {n}")
        if on in days:
            raise RatesFileError(f"{source} line {n}: {on} appears twice")
        quotes = {}
        for currency, cell in zip(header[1:], cells[1:], strict=True):
            rate = _rate(cell, f"{source} line {n} {currency}")
            if rate is not None:
                quotes[currency] = rate
        days[on] = quotes
    return EuroRates(source, days)


def parse_eurofxref_xml(data: bytes, *, source: str) -> EuroRates:
    """The XML as published: `<Cube time='2026-11-02'><Cube currency='USD' rate='1.1298'/>...` per day."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        raise RatesFileError(f"{source} line {line}: not well-formed XML ({exc})") from None
    days: dict[date, dict[str, Decimal]] = {}
    for cube in root.iter(f"{_EUROFXREF}Cube"):
        time = cube.get("time")
        if time is None:
            continue
        on = _day(time, f"{source} Cube time={time!r}")
        quotes = {}
        for quote in cube.findall(f"{_EUROFXREF}Cube"):
            currency = (quote.get("currency") or "").strip().upper()
            rate = _rate(quote.get("rate") or "", f"{source} {on} currency {currency or '?'}")
            if currency and rate is not None:
                quotes[currency] = rate
        days[on] = quotes
    if not days:
        raise RatesFileError(f"{source}: no dated rates (expected <Cube time='...'> elements in the eurofxref "
                             "namespace)")
    return EuroRates(source, days)


def read_eurofxref(path: Path) -> EuroRates:
    """A rates file as downloaded: .csv, .xml, or the .zip holding one of them."""
    name = path.name
    try:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if m.lower().endswith((".csv", ".xml"))]
                if len(members) != 1:
                    raise RatesFileError(f"{name}: expected one .csv or .xml inside, found {len(members)}")
                data, name = archive.read(members[0]), f"{name}:{members[0]}"
        else:
            data = path.read_bytes()
    except (OSError, zipfile.BadZipFile) as exc:
        raise RatesFileError(f"{path}: cannot be read ({exc.strerror if isinstance(exc, OSError) else exc})") \
            from None
    if name.lower().endswith(".xml"):
        return parse_eurofxref_xml(data, source=name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RatesFileError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    return parse_eurofxref_csv(text, source=name)


def cross_rate(quotes: Mapping[str, Decimal], from_currency: str, to_currency: str) -> Decimal | None:
    """1 `from_currency` in `to_currency` from one day's euro quotes: as published for EUR into a currency,
    otherwise crossed through EUR to 10 significant digits; None when either is not quoted."""
    per_euro = {**quotes, "EUR": Decimal(1)}
    base, target = per_euro.get(from_currency), per_euro.get(to_currency)
    if base is None or target is None:
        return None
    return target if from_currency == "EUR" else _CROSS.divide(target, base)


def fx_pairs(hub: Hub, conn: Connection) -> list[tuple[str, str]]:
    """Every (contract currency, books currency) a legal entity may translate: each rate card's and each active
    contract's currency into each entity's, where they differ."""
    currencies = {c.currency for c in hub.config.rate_cards}
    currencies |= {str(r.payload["currency"]) for r in records.list_records(conn, entity="contract", states=["active"])}
    return sorted({(c, e.currency) for e in hub.config.legal_entities for c in currencies if c != e.currency})


class FxSync(_Frozen):
    source: str | None  # the file read, the ERP's rates (fx_source: erp), or None when there is no source
    days: int = 0
    pairs: tuple[str, ...] = ()
    not_quoted: tuple[str, ...] = ()  # pairs the source cannot give (a currency it does not quote)
    added: int = 0
    changed: int = 0
    error: str | None = None


def _file_problem(path: Path, message: str) -> Violation:
    return Violation(system="q2c", object="fx_rates_file", record_id=path.name, field="reference.fx_rates_file",
                     rule=FX_FILE_UNREADABLE, message=message,
                     action=f"Replace {path} with the file as published (eurofxref CSV, its .zip, or the XML), then "
                            "run `q2c reference sync` or replay this exception")


def sync_fx_rates(hub: Hub, *, record_problem: bool = True) -> FxSync:
    """Read the dated FX rates from `reference.fx_source` (the rates file, or the ERP) and keep the rates of the
    pairs the entities need; audited per pair and change.

    A source that cannot be read is an open exception naming it (with `record_problem`), resolved by the
    next good read; the rates kept from earlier reads stay."""
    return _sync_fx(hub, record_problem=record_problem)[0]


def _sync_fx(hub: Hub, *, record_problem: bool) -> tuple[FxSync, Violation | None]:
    """The sync, and the problem that stopped it (for the replay of its exception)."""
    source = hub.config.reference.fx_from
    if source == "erp":
        return _sync_erp_rates(hub, record_problem=record_problem)
    path = hub.config.reference.fx_rates_file
    if source == "none" or path is None:
        return FxSync(source=None), None
    try:
        rates = read_eurofxref(path)
    except RatesFileError as exc:
        problem = _file_problem(path, str(exc))
        if record_problem:
            _hold(hub, problem, FX_FILE_AGGREGATE)
        return FxSync(source=str(path), error=str(exc)), problem
    with hub.engine.begin() as conn:
        pairs = fx_pairs(hub, conn)
        kept = {r.key: r for r in reference.fx_rates(conn)}
        fresh: list[reference.StoredFxRate] = []
        not_quoted = []
        for from_currency, to_currency in pairs:
            found = [(on, cross_rate(quotes, from_currency, to_currency)) for on, quotes in rates.days.items()]
            dated = sorted((on, r) for on, r in found if r is not None)
            if not dated:
                not_quoted.append(f"{from_currency}->{to_currency}")
            fresh += [reference.StoredFxRate(from_currency, to_currency, on, r, rates.source) for on, r in dated]
        new = [r for r in fresh if r.key not in kept]
        moved = [r for r in fresh if r.key in kept and kept[r.key].rate != r.rate]
        writes = [*new, *moved]
        reference.put_fx_rates(conn, writes, digests=[content_hash(reference.fx_payload(r)) for r in writes])
        audit.append(conn, _fx_audit(hub, pairs, new, moved, {r.key: kept[r.key].rate for r in moved}, rates.source))
        exception_store.resolve_open_for_aggregate(conn, work_kind=FX_KIND, aggregate=FX_FILE_AGGREGATE)
    return FxSync(source=rates.source, days=len(rates.days), pairs=tuple(f"{a}->{b}" for a, b in pairs),
                  not_quoted=tuple(not_quoted), added=len(new), changed=len(moved)), None


def _hold(hub: Hub, problem: Violation, aggregate: str) -> None:
    with hub.engine.begin() as conn:
        exception_store.raise_exception(conn, problem, work_kind=FX_KIND, aggregate=aggregate, payload={},
                                        correlation_id=uuid.uuid4().hex)


def _fx_audit(hub: Hub, pairs: Iterable[tuple[str, str]], new: list[reference.StoredFxRate],
              moved: list[reference.StoredFxRate], before: Mapping[str, Decimal],
              source: str) -> list[audit.AuditEntry]:
    """One audit entry per pair that gained or changed rates: how many were added (first and last day), and each
    changed day's rate before and after."""
    correlation = uuid.uuid4().hex
    trail = []
    for from_currency, to_currency in pairs:
        added = [r for r in new if (r.from_currency, r.to_currency) == (from_currency, to_currency)]
        changed = [r for r in moved if (r.from_currency, r.to_currency) == (from_currency, to_currency)]
        if not added and not changed:
            continue
        trail.append(audit.AuditEntry(
            actor=hub.actor, system="q2c", action="fx_rates", entity=reference.FX_RATE,
            record_id=f"{from_currency}/{to_currency}", correlation_id=correlation,
            before={"changed": {r.on.isoformat(): str(before[r.key]) for r in changed}} if changed else None,
            after={"source": source, "added": len(added),
                   "first": min(r.on for r in added).isoformat() if added else None,
                   "last": max(r.on for r in added).isoformat() if added else None,
                   "changed": {r.on.isoformat(): str(r.rate) for r in changed}}))
    return trail


# --- FX rates from the ERP ----------------------------------------------------------------------------------


def erp_offers_rates(erp: object) -> bool:
    """Whether the ERP adapter reads the ERP's dated exchange rates (`Erp.currency_rates`): a connector written
    before the port had it offers none."""
    return callable(getattr(erp, "currency_rates", None))


def erp_rates_source(hub: Hub) -> str:
    return f"{hub.erp.names.label} currency exchange rates"


def _source_problem(hub: Hub) -> Violation:
    label = hub.erp.names.label
    return Violation(
        system="q2c", object="config", record_id="reference.fx_source", field="reference.fx_source",
        rule=FX_SOURCE_UNAVAILABLE,
        message=f"reference.fx_source is erp, but the ERP connector ({label}) offers no currency exchange rates, so "
                "no dated FX rate can be read from it",
        action="Set reference.fx_source to file (with reference.fx_rates_file) or none in the q2c config, or use an "
               "ERP connector that reads the ERP's exchange rates; then run `q2c reference sync`")


def _erp_cursor(hub: Hub) -> str:
    return f"{hub.erp.names.system}.currency_rates.modified_since"


def _erp_since(stored: str | None, pairs: list[tuple[str, str]]) -> date | None:
    """Where the last read left off, unless the entities now need a pair it did not keep: then read them all."""
    if not stored:
        return None
    held = json.loads(stored)
    if not {f"{a}->{b}" for a, b in pairs} <= set(held.get("pairs", ())):
        return None
    return date.fromisoformat(held["since"])


def _sync_erp_rates(hub: Hub, *, record_problem: bool) -> tuple[FxSync, Violation | None]:
    """The ERP's rates entered or changed since the last read (all of them the first time, or when a pair is newly
    needed), kept like a file's: one compare-and-set per new or changed rate, audited once per change.

    The next read starts a day before this one's day, so a change made late on the ERP's own calendar day (its
    timezone may be behind the hub's) is not missed; reading a rate twice changes nothing."""
    source = erp_rates_source(hub)
    if not erp_offers_rates(hub.erp):
        problem = _source_problem(hub)
        if record_problem:
            _hold(hub, problem, FX_ERP_AGGREGATE)
        return FxSync(source=source, error=problem.message), problem
    read_on = hub.today()
    with hub.engine.connect() as conn:
        pairs = fx_pairs(hub, conn)
        since = _erp_since(get_cursor(conn, _erp_cursor(hub)), pairs)
    try:
        rates = hub.erp.currency_rates(since)
    except RecordRejected as exc:
        if record_problem:
            _hold(hub, exc.violation, FX_ERP_AGGREGATE)
        return FxSync(source=source, error=exc.violation.headline()), exc.violation
    except ConnectorError as exc:
        if not record_problem:
            raise  # a replay: the queue retries it
        return FxSync(source=source, error=f"{source} could not be read: {exc}"), None
    wanted = set(pairs)
    fresh = [reference.StoredFxRate(r.from_currency, r.to_currency, r.on, r.rate, source)
             for r in rates if (r.from_currency, r.to_currency) in wanted]
    with hub.engine.begin() as conn:
        kept = {r.key: r for r in reference.fx_rates(conn)}
        new: list[reference.StoredFxRate] = []
        moved: list[reference.StoredFxRate] = []
        before: dict[str, Decimal] = {}
        for r in fresh:
            if r.key in kept and kept[r.key].rate == r.rate:
                continue
            changed, was = reference.replace_fx_rate(conn, r, digest=content_hash(reference.fx_payload(r)))
            if not changed:
                continue  # another process stored the same change first, and audited it
            if was is None:
                new.append(r)
            else:
                moved.append(r)
                before[r.key] = was.rate
        audit.append(conn, _fx_audit(hub, pairs, new, moved, before, source))
        have = {(r.from_currency, r.to_currency) for r in (*kept.values(), *fresh)}
        set_cursor(conn, _erp_cursor(hub), json.dumps({"since": (read_on - timedelta(days=1)).isoformat(),
                                                       "pairs": sorted(f"{a}->{b}" for a, b in pairs)}))
        exception_store.resolve_open_for_aggregate(conn, work_kind=FX_KIND, aggregate=FX_ERP_AGGREGATE)
    return FxSync(source=source, days=len({r.on for r in fresh}), pairs=tuple(f"{a}->{b}" for a, b in pairs),
                  not_quoted=tuple(f"{a}->{b}" for a, b in pairs if (a, b) not in have), added=len(new),
                  changed=len(moved)), None


def fx_table(hub: Hub, conn: Connection) -> FxTable:
    """The dated rates a close translates with (the revenue close's own table: file rates, the config's winning)."""
    return revenue_fx_table(hub, conn)


def _needed_dates(conn: Connection, contract: Contract) -> list[tuple[date, str]]:
    """The days the close translates the contract's figures at, each with what needs it."""
    first = Period.of(contract.start_date)
    needed = [(first.end, f"the close of {first.label}, its first period")]
    for r in records.list_records(conn, entity="invoice", aggregate=f"contract:{contract.id}"):
        invoice = Invoice.model_validate(r.payload)
        needed.append((invoice.invoice_date, f"invoice {invoice.id} dated {invoice.invoice_date}"))
    needed += [(fact.on, f"cash receipt {fact.id.removeprefix('cash:')} received {fact.on}")
               for fact in cash_facts(conn, contract.id)]
    return sorted(needed)


def contract_fx_gap(hub: Hub, conn: Connection, contract: Contract, table: FxTable) -> Violation | None:
    """The contract's missing FX rate, naming pair and the first date without one; None when all are there."""
    books = functional_currency(hub, contract)
    if books is None:
        return None
    missing = []
    for on, why in _needed_dates(conn, contract):
        try:
            table.rate(contract.currency, books, on)
        except MissingFxRate:
            missing.append((on, why))
    if not missing:
        return None
    pair = f"{contract.currency}->{books}"
    known = sorted(r.on for r in table.rates if (r.from_currency, r.to_currency) == (contract.currency, books))
    have = f"the earliest {pair} rate the hub has is of {known[0]}" if known else f"the hub has no {pair} rate at all"
    first_on, first_why = missing[0]
    more = f", and {len(missing) - 1} later date(s)" if len(missing) > 1 else ""
    return Violation(
        system="q2c", object="contract", record_id=contract.id, field="fx_rates", rule=FX_RATE_MISSING,
        message=f"contract {contract.id} is in {contract.currency} and legal entity {contract.legal_entity} keeps its "
                f"books in {books}, but no {pair} rate is in force on {first_on} ({first_why}{more}); {have}",
        action=_gap_action(hub, pair, first_on, base=books, foreign=contract.currency))


def _gap_action(hub: Hub, pair: str, on: date, *, base: str, foreign: str) -> str:
    """Where the missing rate is loaded: the source the config reads dated rates from, or the config itself."""
    if hub.config.reference.fx_from == "erp":
        where = (f"in {hub.erp.names.label}'s currency exchange rates (base currency {base}, currency {foreign}), "
                 "or under fx_rates in the q2c config")
    else:
        where = "under fx_rates in the q2c config, or in the reference rates file (reference.fx_rates_file)"
    return (f"Load the {pair} rate for {on} or earlier: {where}; then run `q2c reference sync` or replay this "
            "exception. The revenue close translates with it")


def check_fx_rates(hub: Hub, *, contract_ids: Collection[str] | None = None) -> list[Violation]:
    """Hold each active contract's missing FX rate in an open exception, and close those now covered."""
    with hub.engine.begin() as conn:
        table = fx_table(hub, conn)
        found = []
        for r in records.list_records(conn, entity="contract", states=["active"]):
            if contract_ids is not None and r.canonical_id not in contract_ids:
                continue
            contract = Contract.model_validate(r.payload)
            gap = contract_fx_gap(hub, conn, contract, table)
            aggregate = f"contract:{contract.id}"
            if gap is None:
                exception_store.resolve_open_for_aggregate(conn, work_kind=FX_KIND, aggregate=aggregate)
                continue
            found.append(gap)
            exception_store.resolve_open_for_aggregate(conn, work_kind=FX_KIND, aggregate=aggregate,
                                                       except_rules=[gap.rule])
            exception_store.raise_exception(conn, gap, work_kind=FX_KIND, aggregate=aggregate,
                                            payload={"contract_id": contract.id}, correlation_id=uuid.uuid4().hex,
                                            subjects=[Subject("contract", contract.id)])
    return found


def recheck_fx(hub: Hub, item: WorkItem) -> Effects | None:
    """Replay of an FX exception: read the rates source again, then check again; it closes once covered."""
    _, problem = _sync_fx(hub, record_problem=False)
    contract_id = item.payload.get("contract_id")
    if contract_id is None:
        if problem is not None:
            raise Rejected([problem])
    else:
        with hub.engine.connect() as conn:
            rec = records.get_record(conn, entity="contract", canonical_id=str(contract_id))
            gap = None if rec is None else contract_fx_gap(hub, conn, Contract.model_validate(rec.payload),
                                                           fx_table(hub, conn))
        if gap is not None:
            raise Rejected([gap])

    def write(conn: Connection) -> None:
        exception_store.resolve_open_for_aggregate(conn, work_kind=FX_KIND, aggregate=item.aggregate)

    return write


# --- show and sync ----------------------------------------------------------------------------------------


class RateLineView(_Frozen):
    role: str
    resource: str | None
    rate: Money
    cost_rate: Money | None
    effective_from: date
    effective_to: date | None


class RateCardView(_Frozen):
    id: str
    currency: str
    lines: tuple[RateLineView, ...]
    contracts: int  # active contracts priced by it
    in_hub: Literal["current", "out_of_date", "not_yet"]  # the hub's copy, as its checks read it


class RetiredCardView(_Frozen):
    id: str
    contracts: tuple[str, ...]  # active contracts still priced by it: their time waits (an open exception)


class FxRateView(_Frozen):
    on: date
    rate: Decimal
    source: str


class FxPairView(_Frozen):
    from_currency: str
    to_currency: str
    count: int
    first: date
    last: date
    rates: tuple[FxRateView, ...]  # the latest ones, newest first (see `count` for how many there are)


class DimensionView(_Frozen):
    """One set of reporting codes in force: what a service offering, legal entity or resource carries to the
    ERP's lines (class, department, location; empty where the config sets none)."""

    applies_to: Literal["service offering", "legal entity", "resource"]
    code: str
    codes: dict[str, str]


class ReferenceView(_Frozen):
    rate_cards: tuple[RateCardView, ...]
    retired_rate_cards: tuple[RetiredCardView, ...]
    resources: tuple[ResourceView, ...]
    resources_source: str
    fx_rates_file: str | None
    fx_pairs: tuple[FxPairView, ...]
    dimensions: tuple[DimensionView, ...] = ()


def dimension_views(hub: Hub) -> tuple[DimensionView, ...]:
    """The dimension codes in force: offering -> class and department, entity -> location, resource ->
    department (only the resources the config gives one)."""
    plan = hub.config.dimension_plan
    return (*(DimensionView(applies_to="service offering", code=code, codes=dict(codes))
              for code, codes in plan.offerings.items()),
            *(DimensionView(applies_to="legal entity", code=code, codes=dict(codes))
              for code, codes in plan.entities.items()),
            *(DimensionView(applies_to="resource", code=email, codes=dict(codes))
              for email, codes in plan.resources.items() if codes))


def resources_source(hub: Hub, *, synced: bool) -> str:
    """Where the resources shown come from, in a sentence."""
    systems = f"{hub.erp.names.label}'s employees and {hub.tracker.names.label}'s users"
    if synced:
        return f"the config (roles), matched by email with {systems} as the last `q2c reference sync` read them"
    return f"the config only: `q2c reference sync` has not read {systems} yet"


def reference_view(hub: Hub, *, fx_limit: int = 10) -> ReferenceView:
    """What the hub prices and translates with: the rate cards in force with their dated lines, the resources
    with their roles, and the FX rates by pair with their dates (the latest `fx_limit` of each; 0 for all)."""
    cards = rate_cards_in_force(hub)
    with hub.engine.connect() as conn:
        contracts = [Contract.model_validate(r.payload) for r in
                     records.list_records(conn, entity="contract", states=["active"])]
        stored = reference.rate_cards(conn)
        table = fx_table(hub, conn)
        stored_fx = {(r.from_currency, r.to_currency, r.on): r.source for r in reference.fx_rates(conn)}
    config_fx = {(r.from_currency, r.to_currency, r.on) for r in hub.config.fx_rates}
    by_card: dict[str, list[str]] = {}
    for c in contracts:
        by_card.setdefault(c.rate_card.id, []).append(c.id)
    views = []
    for card in cards.values():
        prev = stored.get(card.id)
        state: Literal["current", "out_of_date", "not_yet"] = "not_yet" if prev is None else (
            "current" if prev.state == reference.IN_FORCE and prev.content_hash ==
            content_hash(card.model_dump(mode="json")) else "out_of_date")
        views.append(RateCardView(id=card.id, currency=card.currency, contracts=len(by_card.get(card.id, [])),
                                  in_hub=state, lines=tuple(RateLineView(
                                      role=ln.role, resource=ln.resource_id, rate=ln.rate, cost_rate=ln.cost_rate,
                                      effective_from=ln.effective_from, effective_to=ln.effective_to)
                                      for ln in sorted(card.lines, key=lambda x: (x.role, x.resource_id or "",
                                                                                 x.effective_from)))))
    retired = tuple(RetiredCardView(id=card_id, contracts=tuple(sorted(ids)))
                    for card_id, ids in sorted(by_card.items()) if card_id not in cards)
    pairs: dict[tuple[str, str], list[FxRate]] = {}
    for rate in table.rates:
        pairs.setdefault((rate.from_currency, rate.to_currency), []).append(rate)
    fx = []
    for (a, b), rates in sorted(pairs.items()):
        newest = sorted(rates, key=lambda x: x.on, reverse=True)
        shown = newest if fx_limit <= 0 else newest[:fx_limit]
        fx.append(FxPairView(from_currency=a, to_currency=b, count=len(rates), first=newest[-1].on,
                             last=newest[0].on, rates=tuple(FxRateView(
                                 on=r.on, rate=r.rate,
                                 source="config" if (a, b, r.on) in config_fx else stored_fx.get((a, b, r.on), ""))
                                 for r in shown)))
    path = hub.config.reference.fx_rates_file
    people, synced = resource_views(hub)
    return ReferenceView(
        rate_cards=tuple(views), retired_rate_cards=retired,
        resources=people, resources_source=resources_source(hub, synced=synced),
        fx_rates_file=str(path) if path is not None else None,
        fx_pairs=tuple(fx), dimensions=dimension_views(hub))


class ReferenceSync(_Frozen):
    rate_cards_in_force: int
    rate_cards_changed: tuple[str, ...]
    rate_cards_retired: tuple[str, ...]
    resources: int
    resources_source: str
    fx: FxSync
    fx_missing: tuple[Violation, ...]
    people: ResourceSync  # the resources read from the ERP and the tracker, and their problems

    @property
    def needs_attention(self) -> bool:
        return bool(self.fx_missing) or self.fx.error is not None or self.people.needs_attention


def refresh_reference_data(hub: Hub) -> ReferenceSync:
    """The scheduled reference-data refresh (`q2c reference sync`, and `q2c serve` every
    `reference.refresh_seconds`): the rate cards into the hub, the FX rates from the rates file, then the FX
    check of every active contract; then the resources from the ERP and the tracker, matched with the config's."""
    changes = publish_rate_cards(hub, recheck=True)
    fx = sync_fx_rates(hub)
    missing = check_fx_rates(hub)
    people = sync_resources(hub)
    return ReferenceSync(
        rate_cards_in_force=len(rate_cards_in_force(hub)),
        rate_cards_changed=tuple(c.card_id for c in changes if c.after is not None),
        rate_cards_retired=tuple(c.card_id for c in changes if c.after is None),
        resources=people.listed if people.read else len(hub.resources),
        resources_source=resources_source(hub, synced=people.read or resource_views(hub)[1]), fx=fx,
        fx_missing=tuple(missing),
        people=people)

