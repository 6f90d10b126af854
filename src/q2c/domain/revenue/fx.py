"""Exchange rates as dated reference data: the rate in force on a day is the latest dated on or before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from q2c.domain.revenue.errors import MissingFxRate


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
