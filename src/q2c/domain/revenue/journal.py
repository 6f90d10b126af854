"""Journal entries for a period's revenue, balanced, in transaction and functional currency.

One entry per contract and period (id `JE-REV-<contract>-<period>`, so posting it twice is an upsert,
not a duplicate):

* credit revenue per obligation for the revenue of the period (a debit if it is a reversal);
* debit the billing account for what was billed in the period — the receivable, or the clearing
  account the ERP's own invoices post to;
* move the contract's single net position: the change in contract asset and in contract liability
  between the opening and closing net positions (a contract crossing from liability to asset moves
  both).

Debits equal credits in each currency, always; an unbalanced entry is refused, never returned.

Functional currency: every line is translated at the rate in force on the entry date and rounded
half-up to the minor unit; the rounding difference, if any, goes to the configured FX rounding
account, so the functional entry balances as well. (Translation of revenue released from a
contract liability at the historical rate of the advance, as IFRIC 22 / ASC 830 would have it,
is not modelled: configure the rate source accordingly.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from q2c.domain.model import JournalEntry, JournalLine
from q2c.domain.money import Money, check_currency, currency_exponent
from q2c.domain.revenue.errors import MissingFxRate, UnbalancedEntry
from q2c.domain.revenue.minor_units import from_units, round_half_up, to_units
from q2c.domain.revenue.obligations import RecognitionMethod
from q2c.domain.revenue.periods import PeriodCalendar
from q2c.domain.revenue.recognition import ObligationRecognition, Recognition


@dataclass(frozen=True)
class AccountMap:
    """Chart-of-accounts mapping; revenue accounts can be refined by service line or by method."""

    revenue: str
    contract_asset: str
    contract_liability: str
    billing: str  # receivable, or the ERP's invoice clearing account
    fx_rounding: str
    revenue_by_service_line: Mapping[str, str] = field(default_factory=dict)
    revenue_by_method: Mapping[RecognitionMethod, str] = field(default_factory=dict)

    def revenue_account(self, ob: ObligationRecognition) -> str:
        if ob.service_line and ob.service_line in self.revenue_by_service_line:
            return self.revenue_by_service_line[ob.service_line]
        return self.revenue_by_method.get(ob.method, self.revenue)


@dataclass(frozen=True)
class FxRate:
    """1 unit of `from_currency` = `rate` units of `to_currency`, in force from `on`."""

    from_currency: str
    to_currency: str
    rate: Decimal
    on: date


@dataclass(frozen=True)
class FxTable:
    rates: tuple[FxRate, ...]

    def rate(self, from_currency: str, to_currency: str, on: date) -> FxRate:
        """The latest rate dated on or before `on`."""
        best: FxRate | None = None
        for r in self.rates:
            if r.from_currency == from_currency and r.to_currency == to_currency and r.on <= on \
                    and (best is None or r.on > best.on):
                best = r
        if best is None:
            raise MissingFxRate(f"no {from_currency}->{to_currency} rate in force on {on.isoformat()}; load the rate "
                                f"for that date before closing")
        if best.rate <= 0:
            raise MissingFxRate(f"{from_currency}->{to_currency} rate of {best.on.isoformat()} is {best.rate}")
        return best


def journal_entries(recognition: Recognition, *, accounts: AccountMap, dimensions: Mapping[str, str],
                    functional_currency: str | None = None, fx: FxTable | None = None,
                    calendar: PeriodCalendar | None = None) -> list[JournalEntry]:
    """The balanced entries of a recognition: transaction currency, plus functional if it differs."""
    cur = recognition.currency
    entry_date = recognition.period.end
    if calendar is not None:
        calendar.require_open(entry_date, what=f"journal entry for {recognition.contract_id} {recognition.period}")
    base = {**dimensions, "legal_entity": dimensions.get("legal_entity", recognition.legal_entity)}
    raw: list[tuple[str, int, dict[str, str]]] = []  # (account, signed units: + debit / - credit, dims)
    for ob in recognition.obligations:
        units = to_units(ob.revenue, what="revenue")
        if units:
            dims = {**base, "performance_obligation": ob.obligation_id}
            if ob.service_line:
                dims["service_line"] = ob.service_line
            raw.append((accounts.revenue_account(ob), -units, dims))
    billed = to_units(recognition.billed_in_period, what="billed")
    if billed:
        raw.append((accounts.billing, billed, dict(base)))
    net_open = to_units(recognition.previously, what="previously") - to_units(recognition.billed_before, what="b")
    net_close = to_units(recognition.cumulative, what="cumulative") - to_units(recognition.billed_to_date, what="b")
    asset_move = max(net_close, 0) - max(net_open, 0)
    liability_move = max(-net_close, 0) - max(-net_open, 0)
    if asset_move:
        raw.append((accounts.contract_asset, asset_move, dict(base)))
    if liability_move:
        raw.append((accounts.contract_liability, -liability_move, dict(base)))
    if not raw:
        return []
    key = f"{recognition.contract_id}-{recognition.period}"
    memo = _memo(recognition)
    source = f"revenue:{recognition.contract_id}:{recognition.period}"
    entries = [_entry(f"JE-REV-{key}", entry_date, recognition.legal_entity, memo, source,
                      [(a, from_units(u, cur), d) for a, u, d in raw])]
    if functional_currency is not None and check_currency(functional_currency) != cur:
        if fx is None:
            raise MissingFxRate(f"functional currency {functional_currency} differs from {cur} for "
                                f"{recognition.contract_id}; an FX table is needed")
        rate = fx.rate(cur, functional_currency, entry_date)
        translated = [(a, _translate(u, cur, functional_currency, rate.rate), d) for a, u, d in raw]
        diff = -sum(u for _, u, _ in translated)
        if diff:
            translated.append((accounts.fx_rounding, diff, dict(base)))
        entries.append(_entry(
            f"JE-REV-{key}-{functional_currency}", entry_date, recognition.legal_entity,
            f"{memo} | translated to {functional_currency} at {rate.rate} ({cur}->{functional_currency} of "
            f"{rate.on.isoformat()}); rounding {from_units(diff, functional_currency)} to {accounts.fx_rounding}",
            source, [(a, from_units(u, functional_currency), d) for a, u, d in translated]))
    return entries


def _translate(units: int, from_cur: str, to_cur: str, rate: Decimal) -> int:
    scale = Fraction(10) ** (currency_exponent(to_cur) - currency_exponent(from_cur))
    return round_half_up(Fraction(units) * Fraction(rate) * scale)


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
    catch_ups = recognition.catch_ups
    if catch_ups:
        text += "; catch-up " + ", ".join(f"{ob} {line.amount}" for ob, line in catch_ups)
    if recognition.notes:
        text += f"; {len(recognition.notes)} late fact(s)"
    return text
