"""Expected losses on obligations measured by cost: an onerous contract is reported, and provided for.

When the estimated total cost of a cost-to-cost obligation exceeds the consideration allocated to
it, revenue still follows progress (IFRS 15 / ASC 606 have no loss rule of their own), but the
margin that progress would show is not there: the whole expected loss is recognised as soon as it is
evident, through a provision for the part not yet absorbed by progress (IFRS: IAS 37.66-69, the
unavoidable costs of meeting the obligation exceed the economic benefits expected; US GAAP: ASC
605-35-25-45..47, provision for anticipated losses, which may be assessed per performance obligation).

The provision at a period end is what remains to be lost: remaining cost less remaining consideration
(= expected loss - the loss already shown by revenue less cost to date). It falls to zero as the work
is done. The engine knows costs only for cost-to-cost obligations, so the test is made per
obligation (the performance-obligation level 605-35-25-47 allows); contract-level netting against
other obligations' margins is a judgement made outside the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from q2c.domain.money import Money, currency_exponent
from q2c.domain.revenue.methods import Estimate, Inputs
from q2c.domain.revenue.minor_units import from_units, round_half_up
from q2c.domain.revenue.obligations import PerformanceObligation, RecognitionMethod


@dataclass(frozen=True)
class ExpectedLoss:
    """An obligation whose estimated cost exceeds its allocated consideration, and the provision it needs."""

    obligation_id: str
    estimated_total_cost: Money
    allocated: Money
    expected_loss: Money  # estimated total cost - allocated consideration (0 once the loss has gone)
    cost_to_date: Money
    revenue_to_date: Money
    remaining_cost: Money
    remaining_revenue: Money
    provision: Money  # remaining cost - remaining consideration, at least 0: the loss not yet absorbed
    provision_before: Money  # the provision at the end of the previous period posted

    @property
    def movement(self) -> Money:
        """Charge (+) or release (-) of the provision in the period."""
        return self.provision - self.provision_before

    def describe(self) -> str:
        if self.expected_loss.amount <= 0:
            return (f"{self.obligation_id}: no expected loss any more (estimated cost {self.estimated_total_cost} "
                    f"within the allocated {self.allocated}); provision {self.provision_before} released")
        return (f"{self.obligation_id}: onerous, estimated total cost {self.estimated_total_cost} exceeds the "
                f"allocated consideration {self.allocated} by {self.expected_loss}; cost to date {self.cost_to_date} "
                f"against revenue to date {self.revenue_to_date}, so {self.remaining_cost} of cost remains against "
                f"{self.remaining_revenue} of consideration: provision {self.provision} (was {self.provision_before}; "
                f"IAS 37.66-69 / ASC 605-35-25-46)")


def _units(value: Decimal, currency: str) -> int:
    return round_half_up(Fraction(value) * 10 ** currency_exponent(currency))


def expected_loss(ob: PerformanceObligation, allocated: int | None, estimate: Estimate, inputs: Inputs,
                  cumulative: int, provision_before: int, currency: str) -> ExpectedLoss | None:
    """The expected loss of `ob` at the period end, or None when it is not onerous and never was provided for."""
    if ob.method is not RecognitionMethod.INPUT_COST or ob.terminated_at is not None or allocated is None \
            or estimate.total is None:
        return _released(ob, provision_before, currency) if provision_before else None
    total_cost = _units(estimate.total - ob.input_baseline, currency)
    loss = total_cost - allocated
    if loss <= 0 and not provision_before:
        return None
    cost = _units(inputs.cost - ob.input_baseline, currency)
    done = inputs.completed_on is not None
    remaining_cost = 0 if done else max(total_cost - cost, 0)
    remaining_revenue = allocated - cumulative
    provision = max(remaining_cost - remaining_revenue, 0) if loss > 0 else 0

    def m(units: int) -> Money:
        return from_units(units, currency)

    return ExpectedLoss(ob.id, m(total_cost), m(allocated), m(max(loss, 0)), m(cost), m(cumulative),
                        m(remaining_cost), m(remaining_revenue), m(provision), m(provision_before))


def _released(ob: PerformanceObligation, provision_before: int, currency: str) -> ExpectedLoss:
    zero = Money.zero(currency)
    return ExpectedLoss(ob.id, zero, zero, zero, zero, zero, zero, zero, zero, from_units(provision_before, currency))
