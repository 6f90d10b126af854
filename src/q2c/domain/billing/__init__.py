"""Billing and rating: one module for the whole hub, pure and deterministic.

Rating prices approved time from the effective-dated rate card (`rating`); invoices come from
time and materials within not-to-exceed caps (`time_and_materials`), milestones
(`milestones`), fee schedules (`schedules`) and retainers (`retainers`); write-ups and
write-downs carry a reason (`adjustments`); credit notes un-bill exactly what they cover
(`credit_notes`); WIP and re-pricing read the rated time (`wip`, `repricing`). Rounding is one
explicit policy (`rounding`). No I/O, no clock: dates come in as arguments, so the same inputs
always produce the same invoice.
"""

from q2c.domain.billing.adjustments import Adjustment, AdjustmentKind, adjust_invoice
from q2c.domain.billing.credit_notes import credit_note, credited_entry_ids
from q2c.domain.billing.errors import (
    BillingError,
    CreditNoteRefused,
    CurrencyMismatch,
    InvalidAdjustment,
    InvalidRateCard,
    InvalidSchedule,
    MilestoneNotBillable,
    NoRateInForce,
    NotInMinorUnits,
    OverlappingRates,
    RetainerRefused,
    StalePreview,
    TimeNotRateable,
    WrongPhase,
)
from q2c.domain.billing.events import billing_events
from q2c.domain.billing.ledger import billed_entry_ids, billed_to_date, unique_invoice_id
from q2c.domain.billing.milestones import check_milestone_billable, milestone_invoice
from q2c.domain.billing.rating import RatedTime, classify_billable, rate_card_violations, rate_for, rate_time_entry
from q2c.domain.billing.repricing import RepriceChange, RepricePreview, apply_reprice, reprice_preview
from q2c.domain.billing.retainers import (
    RetainerPeriod,
    RetainerUnit,
    UnusedBalance,
    retainer_drawdown,
    retainer_invoice,
)
from q2c.domain.billing.rounding import RoundingPolicy, RoundingScope
from q2c.domain.billing.schedules import (
    BillingSchedule,
    Instalment,
    fixed_fee_schedule,
    instalments_due,
    monthly_schedule,
    respread,
    schedule_from_percentages,
    schedule_invoice,
)
from q2c.domain.billing.time_and_materials import (
    HeldBack,
    SkippedEntry,
    TimeAndMaterialsRun,
    time_and_materials_invoice,
)
from q2c.domain.billing.wip import ProjectWip, WipReport, wip
from q2c.domain.money import Rounding

__all__ = [
    "Adjustment",
    "AdjustmentKind",
    "BillingError",
    "BillingSchedule",
    "CreditNoteRefused",
    "CurrencyMismatch",
    "HeldBack",
    "Instalment",
    "InvalidAdjustment",
    "InvalidRateCard",
    "InvalidSchedule",
    "MilestoneNotBillable",
    "NoRateInForce",
    "NotInMinorUnits",
    "OverlappingRates",
    "ProjectWip",
    "RatedTime",
    "RepriceChange",
    "RepricePreview",
    "RetainerPeriod",
    "RetainerRefused",
    "RetainerUnit",
    "Rounding",
    "RoundingPolicy",
    "RoundingScope",
    "SkippedEntry",
    "StalePreview",
    "TimeAndMaterialsRun",
    "TimeNotRateable",
    "UnusedBalance",
    "WipReport",
    "WrongPhase",
    "adjust_invoice",
    "apply_reprice",
    "billed_entry_ids",
    "billed_to_date",
    "billing_events",
    "check_milestone_billable",
    "classify_billable",
    "credit_note",
    "credited_entry_ids",
    "fixed_fee_schedule",
    "instalments_due",
    "milestone_invoice",
    "monthly_schedule",
    "rate_card_violations",
    "rate_for",
    "rate_time_entry",
    "reprice_preview",
    "respread",
    "retainer_drawdown",
    "retainer_invoice",
    "schedule_from_percentages",
    "schedule_invoice",
    "time_and_materials_invoice",
    "unique_invoice_id",
    "wip",
]
