"""Record-level comparison of what two systems hold, with totals per side (see `compare`)."""

from q2c.domain.reconciliation.compare import (
    DIFFERENT,
    MISSING_LEFT,
    MISSING_RIGHT,
    Difference,
    Drift,
    Measure,
    PairResult,
    Side,
    compare,
)

__all__ = ["DIFFERENT", "MISSING_LEFT", "MISSING_RIGHT", "Difference", "Drift", "Measure", "PairResult", "Side",
           "compare"]
