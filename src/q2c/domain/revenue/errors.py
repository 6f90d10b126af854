"""Errors of the revenue engine: each names the record and the field a person must look at."""

from __future__ import annotations


class RevenueError(ValueError):
    """Base of every refusal by the revenue engine."""


class InvalidContract(RevenueError):
    """A revenue contract, obligation or transaction price cannot be accounted for as given."""


class AllocationRefused(RevenueError):
    """The transaction price cannot be allocated on the basis asked for (e.g. a negative residual)."""


class InvalidFact(RevenueError):
    """A progress fact is malformed, points at an unknown obligation, or contradicts a replay."""


class PeriodClosed(RevenueError):
    """Something was about to post into a period that is closed for the legal entity."""


class MissingFxRate(RevenueError):
    """No exchange rate in force on the date a functional-currency amount is needed."""


class UnbalancedEntry(RevenueError):
    """A journal entry whose debits and credits differ in some currency (never posted)."""


def where(contract_id: str, obligation_id: str | None = None, field: str | None = None) -> str:
    """'revenue contract RC-1 obligation PO-2 field ssp': the prefix of every message."""
    text = f"revenue contract {contract_id}"
    if obligation_id:
        text += f" obligation {obligation_id}"
    if field:
        text += f" field {field}"
    return text
