"""Compare two systems' records field by field, keyed by the canonical id both hold.

Each side is a mapping of key -> a tuple of values in the pair's field order, so equal records are
told apart from different ones by one tuple comparison; only a record that differs is looked at field
by field. The pass over the keys, the totals and the search for what only the right side holds run in
C iterators (map, compress) rather than in a Python loop per row: at a million rows a side what is
left is mostly the dictionary lookups themselves (see docs/benchmarks.md). A record one side lacks, or
that differs, is a drift unless the caller knows why (`held`: an open exception names it, or work for
it is in flight), in which case it is counted, not reported: the rule is that every record is either
where it belongs or held by an exception that names it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress, repeat
from operator import itemgetter, ne
from typing import Literal

DriftKind = Literal["missing_left", "missing_right", "different"]
MISSING_LEFT: DriftKind = "missing_left"
MISSING_RIGHT: DriftKind = "missing_right"
DIFFERENT: DriftKind = "different"

Values = tuple[object, ...]


@dataclass(frozen=True)
class Side:
    """One system's view: its label and its records by key."""

    name: str
    rows: Mapping[str, Values]


@dataclass(frozen=True)
class Measure:
    """A field summed into each side's totals, per currency when `currency_field` names one."""

    field: str
    currency_field: str | None = None


@dataclass(frozen=True)
class Difference:
    field: str
    left: object
    right: object


@dataclass(frozen=True)
class Drift:
    pair: str
    key: str
    kind: DriftKind
    left: Mapping[str, object] | None  # the left side's record, by field (None: missing there)
    right: Mapping[str, object] | None
    differences: tuple[Difference, ...] = ()

    def headline(self, left: str, right: str) -> str:
        if self.kind == MISSING_LEFT:
            return f"{self.key}: in {right}, missing in {left}"
        if self.kind == MISSING_RIGHT:
            return f"{self.key}: in {left}, missing in {right}"
        parts = ", ".join(f"{d.field} {_show(d.left)} in {left} vs {_show(d.right)} in {right}"
                          for d in self.differences)
        return f"{self.key}: {parts}"


@dataclass(frozen=True)
class PairResult:
    pair: str
    left: str
    right: str
    fields: tuple[str, ...]
    matched: int
    held: int  # not matching, but accounted for (named by an open exception, or work for it in flight)
    drifts: tuple[Drift, ...]
    totals: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)  # side name -> measure -> sum

    @property
    def compared(self) -> int:
        return self.matched + self.held + len(self.drifts)

    def count(self, kind: str) -> int:
        return sum(1 for d in self.drifts if d.kind == kind)


def _show(value: object) -> str:
    return "none" if value is None else str(value)


def compare(pair: str, fields: Sequence[str], left: Side, right: Side, *, measures: Sequence[Measure] = (),
            held: Collection[str] = ()) -> PairResult:
    """Every key of either side is matched, held, or a drift (missing on one side, or different)."""
    names = tuple(fields)
    lrows, rrows = left.rows, right.rows
    unmet = dict(rrows)  # the right side's records no left key has claimed: at the end, those missing on the left
    # one C-level pass: each left key claims its right record, and the pair is kept when the tuples differ
    # (a != None for a record missing on the right)
    differing = map(ne, lrows.values(), map(unmet.pop, lrows, repeat(None)))
    matched = len(lrows)
    held_count = 0
    drifts: list[Drift] = []
    for key, a in compress(lrows.items(), differing):
        matched -= 1
        if key in held:
            held_count += 1
            continue
        b = rrows.get(key)
        if b is None:
            drifts.append(Drift(pair, key, MISSING_RIGHT, dict(zip(names, a, strict=True)), None))
        else:
            diffs = tuple(Difference(f, x, y) for f, x, y in zip(names, a, b, strict=True) if x != y)
            drifts.append(Drift(pair, key, DIFFERENT, dict(zip(names, a, strict=True)),
                                dict(zip(names, b, strict=True)), diffs))
    for key, b in unmet.items():
        if key in held:
            held_count += 1
            continue
        drifts.append(Drift(pair, key, MISSING_LEFT, None, dict(zip(names, b, strict=True))))
    drifts.sort(key=lambda d: d.key)
    totals = {left.name: _totals(names, lrows, measures), right.name: _totals(names, rrows, measures)}
    return PairResult(pair, left.name, right.name, names, matched, held_count, tuple(drifts), totals)


def _totals(names: tuple[str, ...], rows: Mapping[str, Values], measures: Sequence[Measure]) -> dict[str, Decimal]:
    """Each measure summed over the rows holding a Decimal there, in row order; per currency, under
    "<field> <currency>" in order of each currency's first row."""
    out: dict[str, Decimal] = {}
    for m in measures:
        i = names.index(m.field)
        column = list(map(itemgetter(i), rows.values()))
        is_amount = list(map(isinstance, column, repeat(Decimal)))
        if m.currency_field is None:
            out[m.field] = sum(compress(column, is_amount), Decimal(0))
            continue
        currency_of = itemgetter(names.index(m.currency_field))
        if all(is_amount):
            rows_with_amounts: Iterable[Values] = rows.values()
        else:
            column = list(compress(column, is_amount))
            rows_with_amounts = compress(rows.values(), is_amount)
        # each currency as its label spells it: format(), as an f-string does
        currencies = list(map(format, map(currency_of, rows_with_amounts)))
        sums = {c: out.get(f"{m.field} {c}", Decimal(0)) for c in dict.fromkeys(currencies)}
        for currency, amount in zip(currencies, column, strict=True):
            sums[currency] += amount
        for currency, total in sums.items():
            out[f"{m.field} {currency}"] = total
    return out
