"""Billing errors: each names the record and the field a controller must look at.

All are `ValueError`s, so a caller that only knows "bad input" still catches them; the engine
turns them into exceptions on the finance queue with the message as written here.
"""

from __future__ import annotations

from datetime import date


class BillingError(ValueError):
    """Base of every rule the billing module refuses to break."""


class CurrencyMismatch(BillingError):
    """Two amounts that must share a currency do not; billing never converts silently."""


class NotInMinorUnits(BillingError):
    """An amount that must be payable as it stands has more decimals than its currency allows."""


class NoRateInForce(BillingError):
    """No rate card line covers the role (or resource) on the work date."""

    def __init__(self, *, rate_card_id: str, role: str, resource_id: str | None, on: date) -> None:
        self.rate_card_id = rate_card_id
        self.role = role
        self.resource_id = resource_id
        self.on = on
        who = f"resource {resource_id}" if resource_id else "no resource"
        super().__init__(
            f"rate card {rate_card_id} has no rate in force for role '{role}' ({who}) on {on.isoformat()}: "
            "add or extend a line for this role in the ERP rate card")


class OverlappingRates(BillingError):
    """Two lines of the same specificity start on the same day: the card is ambiguous."""


class InvalidRateCard(BillingError):
    """A rate card line is malformed (wrong currency, ends before it starts, negative rate)."""


class TimeNotRateable(BillingError):
    """A time entry cannot be rated: not approved, negative hours, or its task does not match."""


class WrongPhase(BillingError):
    """The phase is not part of the contract, or its billing type does not fit the billing run."""


class MilestoneNotBillable(BillingError):
    """A milestone that is pending (or not yet accepted where acceptance is required) was billed."""


class InvalidAdjustment(BillingError):
    """A write-up or write-down is malformed or targets something that is not there."""


class CreditNoteRefused(BillingError):
    """The credit note asked for cannot be issued against this invoice."""


class InvalidSchedule(BillingError):
    """A billing schedule does not add up to the phase fee or is out of date order."""


class RetainerRefused(BillingError):
    """A retainer period cannot be settled with the terms or balances given."""


class StalePreview(BillingError):
    """A re-pricing preview no longer matches the rated time it is applied to."""
