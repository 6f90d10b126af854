"""Journal entries for a period's revenue, balanced, in transaction and functional currency.

One entry per contract and period (id `JE-REV-<contract>-<period>`, so posting it twice is an upsert,
not a duplicate). Each line is the movement of one balance between the opening and the closing of the
period, so the ledger holds exactly the balances `balances()` reports:

* credit revenue per obligation for the revenue of the period (a debit if it is a reversal);
* debit cash for what was collected in the period (only when cash is reported: `Collected` facts);
* the receivable (the billing account): what was billed and not collected, never negative;
* the contract's single net position, asset or liability: recognised revenue against the
  consideration billed or received, whichever is more; cash received beyond what was billed is an
  advance, a contract liability until it is billed or earned (ASC 606-10-45-1..2 / IFRS 15.105-106,
  IFRS 15 Example 38);
* the loss provision of onerous obligations (charge to the loss account, see `losses`).

Without `Collected` facts this is the classic entry: debit the billing account for the period's
billings and move the contract asset or liability. Debits equal credits in each currency, always; an
unbalanced entry is refused, never returned.

Functional currency: the recognition carries the functional balances (`recognise(...,
functional_currency=, fx=)`); the second entry moves them, with the exchange difference on its own
account (see `translation`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from q2c.domain.model import JournalEntry, JournalLine
from q2c.domain.money import Money, check_currency
from q2c.domain.revenue.errors import RevenueError, UnbalancedEntry
from q2c.domain.revenue.fx import FxRate, FxTable
from q2c.domain.revenue.minor_units import from_units, to_units
from q2c.domain.revenue.obligations import RecognitionMethod
from q2c.domain.revenue.periods import PeriodCalendar
from q2c.domain.revenue.recognition import ObligationRecognition, Recognition
from q2c.domain.revenue.translation import ContractTotals, FunctionalPeriod

__all__ = ["AccountMap", "FxRate", "FxTable", "check_balanced", "journal_entries"]


@dataclass(frozen=True)
class AccountMap:
    """Chart-of-accounts mapping; revenue accounts can be refined by service line or by method."""

    revenue: str
    contract_asset: str
    contract_liability: str
    billing: str  # the receivable (with cash reported it must be), or the ERP's invoice clearing account
    fx_rounding: str
    revenue_by_service_line: Mapping[str, str] = field(default_factory=dict)
    revenue_by_method: Mapping[RecognitionMethod, str] = field(default_factory=dict)
    cash: str = "1000 Cash"  # debited for collections, when they are reported
    fx_gain_loss: str = "7980 Foreign Exchange Gain or Loss"  # remeasurement of receivables and contract assets
    loss_provision: str = "2450 Provision for Contract Losses"  # expected losses on onerous obligations
    loss_expense: str = "5900 Loss on Onerous Contracts"

    def revenue_account(self, ob: ObligationRecognition) -> str:
        if ob.service_line and ob.service_line in self.revenue_by_service_line:
            return self.revenue_by_service_line[ob.service_line]
        return self.revenue_by_method.get(ob.method, self.revenue)


Raw = list[tuple[str, int, dict[str, str]]]  # (account, signed units: + debit / - credit, dimensions)


def journal_entries(recognition: Recognition, *, accounts: AccountMap, dimensions: Mapping[str, str],
                    functional_currency: str | None = None, fx: FxTable | None = None,
                    calendar: PeriodCalendar | None = None) -> list[JournalEntry]:
    """The balanced entries of a recognition: transaction currency, plus functional when the recognition carries it.

    `functional_currency`, when given, must be the one the recognition was translated to (or the
    contract's own). The rates are those the recognition used; `fx` is accepted for callers that pass it.
    """
    del fx  # the recognition carries the rates it was translated at
    cur = recognition.currency
    entry_date = recognition.period.end
    if calendar is not None:
        calendar.require_open(entry_date, what=f"journal entry for {recognition.contract_id} {recognition.period}")
    functional = recognition.functional
    if functional_currency is not None:
        wanted = check_currency(functional_currency)
        if wanted != cur and (functional is None or functional.currency != wanted):
            have = "no functional balances" if functional is None else f"balances in {functional.currency}"
            raise RevenueError(f"revenue contract {recognition.revenue_contract_id} {recognition.period}: a {wanted} "
                               f"entry was asked for, but the recognition carries {have}; recognise with "
                               f"functional_currency={wanted!r} and fx= so the functional balances carry from period "
                               f"to period")
    base = {**dimensions, "legal_entity": dimensions.get("legal_entity", recognition.legal_entity)}
    raw = _transaction_lines(recognition, accounts, base)
    if not raw and (functional is None or not _functional_lines(recognition, functional, accounts, base)):
        return []
    key = f"{recognition.contract_id}-{recognition.period}"
    memo = _memo(recognition)
    source = f"revenue:{recognition.contract_id}:{recognition.period}"
    entries = []
    if raw:
        entries.append(_entry(f"JE-REV-{key}", entry_date, recognition.legal_entity, memo, source,
                              [(a, from_units(u, cur), d) for a, u, d in raw]))
    if functional is not None:
        lines = _functional_lines(recognition, functional, accounts, base)
        if lines:
            fc = functional.currency
            entries.append(_entry(f"JE-REV-{key}-{fc}", entry_date, recognition.legal_entity,
                                  f"{memo} | {_functional_memo(recognition, functional, accounts)}", source,
                                  [(a, from_units(u, fc), d) for a, u, d in lines]))
    return entries


def _transaction_lines(rec: Recognition, accounts: AccountMap, base: dict[str, str]) -> Raw:
    raw: Raw = []
    for ob in rec.obligations:
        units = to_units(ob.revenue, what="revenue")
        if units:
            raw.append((accounts.revenue_account(ob), -units, _ob_dims(base, ob)))
    opening = ContractTotals(to_units(rec.billed_before, what="billed"), to_units(rec.collected_before, what="c"),
                             to_units(rec.previously, what="previously"))
    closing = ContractTotals(to_units(rec.billed_to_date, what="billed"), to_units(rec.collected_to_date, what="c"),
                             to_units(rec.cumulative, what="cumulative"))
    cash = to_units(rec.collected_in_period, what="collected")
    moves = [(accounts.cash, cash), (accounts.billing, closing.receivable - opening.receivable),
             (accounts.contract_asset, closing.asset - opening.asset),
             (accounts.contract_liability, -(closing.liability - opening.liability))]
    raw.extend((account, units, dict(base)) for account, units in moves if units)
    for loss in rec.expected_losses:
        units = to_units(loss.movement, what="loss provision")
        if units:
            dims = {**base, "performance_obligation": loss.obligation_id}
            raw.append((accounts.loss_expense, units, dims))
            raw.append((accounts.loss_provision, -units, dict(dims)))
    return raw


def _functional_lines(rec: Recognition, f: FunctionalPeriod, accounts: AccountMap, base: dict[str, str]) -> Raw:
    raw: Raw = []
    for ob in rec.obligations:
        units = to_units(f.revenue_of(ob.obligation_id), what="revenue")
        if units:
            raw.append((accounts.revenue_account(ob), -units, _ob_dims(base, ob)))
    o, c = f.opening, f.closing

    def d(a: Money, b: Money) -> int:
        return to_units(b, what="closing") - to_units(a, what="opening")

    moves = [(accounts.cash, to_units(f.cash, what="cash")), (accounts.billing, d(o.receivable, c.receivable)),
             (accounts.contract_asset, d(o.contract_asset, c.contract_asset)),
             (accounts.contract_liability, -d(o.contract_liability, c.contract_liability)),
             (accounts.loss_expense, to_units(f.loss_charge, what="loss")),
             (accounts.loss_provision, -d(o.loss_provision, c.loss_provision)),
             (accounts.fx_gain_loss, -to_units(f.exchange_difference, what="exchange difference"))]
    raw.extend((account, units, dict(base)) for account, units in moves if units)
    return raw


def _ob_dims(base: dict[str, str], ob: ObligationRecognition) -> dict[str, str]:
    dims = {**base, "performance_obligation": ob.obligation_id}
    if ob.service_line:
        dims["service_line"] = ob.service_line
    return dims


def _entry(entry_id: str, on: date, legal_entity: str, memo: str, source: str,
           lines: Sequence[tuple[str, Money, dict[str, str]]]) -> JournalEntry:
    out = []
    for account, amount, dims in lines:
        zero = Money.zero(amount.currency)
        if amount.amount > 0:
            out.append(JournalLine(account=account, debit=amount, credit=zero, dimensions=dims))
        else:
            out.append(JournalLine(account=account, debit=zero, credit=-amount, dimensions=dims))
    entry = JournalEntry(id=entry_id, entry_date=on, legal_entity=legal_entity, memo=memo, lines=tuple(out),
                         source=source)
    check_balanced(entry)
    return entry


def check_balanced(entry: JournalEntry) -> None:
    """Refuse an entry whose debits and credits differ in any currency."""
    totals: dict[str, Decimal] = {}
    for line in entry.lines:
        for money, sign in ((line.debit, 1), (line.credit, -1)):
            totals[money.currency] = totals.get(money.currency, Decimal(0)) + sign * money.amount
    off = {c: t for c, t in totals.items() if t != 0}
    if off:
        raise UnbalancedEntry(f"journal entry {entry.id}: debits and credits differ by {off}")


def _memo(recognition: Recognition) -> str:
    text = (f"Revenue {recognition.contract_id} {recognition.period}: recognised {recognition.revenue}, billed "
            f"{recognition.billed_in_period}")
    if recognition.collected_in_period.amount:
        text += f", collected {recognition.collected_in_period}"
    catch_ups = recognition.catch_ups
    if catch_ups:
        text += "; catch-up " + ", ".join(f"{ob} {line.amount}" for ob, line in catch_ups)
    charge = recognition.loss_provision - recognition.loss_provision_before
    if charge.amount:
        word = "charged" if charge.amount > 0 else "released"
        text += f"; loss provision {word} {Money(amount=abs(charge.amount), currency=charge.currency)}"
    if recognition.notes:
        text += f"; {len(recognition.notes)} audit note(s)"
    return text


def _functional_memo(rec: Recognition, f: FunctionalPeriod, accounts: AccountMap) -> str:
    rate = f.closing_rate
    gain = f.exchange_difference
    word = "gain" if gain.amount >= 0 else "loss"
    return (f"in {f.currency}: billings and cash at the rates of their dates, advances at the rates of the days they "
            f"arose (revenue released from them {f.released}), receivable and contract asset at the period-end rate "
            f"{rate.rate} ({rec.currency}->{f.currency} of {rate.on.isoformat()}); exchange {word} "
            f"{Money(amount=abs(gain.amount), currency=gain.currency)} to {accounts.fx_gain_loss}")
