"""Revenue recognition (ASC 606 / IFRS 15): contract -> obligations -> price -> allocation -> recognition.

Pure and deterministic: no I/O and no clock; dates come in as arguments. Amounts are computed in
whole minor units, so allocations and schedules add up to the cent. See docs/revenue.md.
The numpy fast path for portfolio closes lives in `q2c.domain.revenue.batch` (imported on demand).
"""

from q2c.domain.revenue.allocation import Allocation, ObligationAllocation, allocate
from q2c.domain.revenue.balances import (
    ContractBalance,
    PortfolioBalance,
    Position,
    balances,
    opening_balances,
    portfolio,
)
from q2c.domain.revenue.contract_json import revenue_contract_from_json, revenue_contract_to_json
from q2c.domain.revenue.contracts import milestone_facts, revenue_contract_from, revenue_contract_id
from q2c.domain.revenue.errors import (
    AllocationRefused,
    InvalidContract,
    InvalidFact,
    MissingFxRate,
    PeriodClosed,
    RevenueError,
    UnbalancedEntry,
)
from q2c.domain.revenue.explain import explain_contract, explain_figures
from q2c.domain.revenue.facts import (
    Billed,
    Collected,
    Completed,
    ControlTransferred,
    CostToDate,
    EstimateChanged,
    HoursToDate,
    MilestoneReached,
    ProgressFact,
    UnitsDelivered,
    billed_from_invoice,
    distinct_facts,
)
from q2c.domain.revenue.fx import FxRate, FxTable
from q2c.domain.revenue.journal import AccountMap, check_balanced, journal_entries
from q2c.domain.revenue.losses import ExpectedLoss
from q2c.domain.revenue.modifications import (
    ContractModification,
    ModificationOutcome,
    ModificationTreatment,
    TreatmentDecision,
    apply_modification,
    choose_treatment,
)
from q2c.domain.revenue.obligations import (
    ClosedPart,
    ContractChange,
    DiscountAttribution,
    MilestoneTarget,
    ModificationBasis,
    PerformanceObligation,
    RecognitionMethod,
    RecognitionPolicy,
    RevenueContract,
    SspBasis,
    StandaloneSellingPrice,
)
from q2c.domain.revenue.periods import Period, PeriodCalendar, Placement, periods_between
from q2c.domain.revenue.price_changes import reestimate_variable
from q2c.domain.revenue.recognition import ObligationRecognition, Recognition, RevenueLine, recognise
from q2c.domain.revenue.reports import Rollforward, Waterfall, WaterfallRow, deferred_revenue_rollforward, waterfall
from q2c.domain.revenue.schedule import PlannedRevenue, planned_schedule, recognise_periods
from q2c.domain.revenue.snapshot import recognition_from_json, recognition_to_json
from q2c.domain.revenue.transaction_price import (
    ConstraintJudgement,
    EstimateMethod,
    Outcome,
    TransactionPrice,
    VariableConsideration,
)
from q2c.domain.revenue.translation import AdvanceLayer, FunctionalBalances, FunctionalPeriod

__all__ = [
    "AccountMap",
    "AdvanceLayer",
    "Allocation",
    "AllocationRefused",
    "Billed",
    "ClosedPart",
    "Collected",
    "Completed",
    "ConstraintJudgement",
    "ContractBalance",
    "ContractChange",
    "ContractModification",
    "ControlTransferred",
    "CostToDate",
    "DiscountAttribution",
    "EstimateChanged",
    "EstimateMethod",
    "ExpectedLoss",
    "FunctionalBalances",
    "FunctionalPeriod",
    "FxRate",
    "FxTable",
    "HoursToDate",
    "InvalidContract",
    "InvalidFact",
    "MilestoneReached",
    "MilestoneTarget",
    "MissingFxRate",
    "ModificationBasis",
    "ModificationOutcome",
    "ModificationTreatment",
    "ObligationAllocation",
    "ObligationRecognition",
    "Outcome",
    "PerformanceObligation",
    "Period",
    "PeriodCalendar",
    "PeriodClosed",
    "Placement",
    "PlannedRevenue",
    "PortfolioBalance",
    "Position",
    "ProgressFact",
    "Recognition",
    "RecognitionMethod",
    "RecognitionPolicy",
    "RevenueContract",
    "RevenueError",
    "RevenueLine",
    "Rollforward",
    "SspBasis",
    "StandaloneSellingPrice",
    "TransactionPrice",
    "TreatmentDecision",
    "UnbalancedEntry",
    "UnitsDelivered",
    "VariableConsideration",
    "Waterfall",
    "WaterfallRow",
    "allocate",
    "apply_modification",
    "balances",
    "billed_from_invoice",
    "check_balanced",
    "choose_treatment",
    "deferred_revenue_rollforward",
    "distinct_facts",
    "explain_contract",
    "explain_figures",
    "journal_entries",
    "milestone_facts",
    "opening_balances",
    "periods_between",
    "planned_schedule",
    "portfolio",
    "recognise",
    "recognise_periods",
    "recognition_from_json",
    "recognition_to_json",
    "reestimate_variable",
    "revenue_contract_from",
    "revenue_contract_from_json",
    "revenue_contract_id",
    "revenue_contract_to_json",
    "waterfall",
]
