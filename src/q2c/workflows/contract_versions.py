"""The terms in force for each contract, and the revenue contract's versions, as the hub stores them.

A contract is planned from the deal as it stood when it was set up or last amended (`deal_terms`): the
opportunity as the CRM had it, plus any won change-order opportunities merged into it. The contract-change
workflow compares the CRM's deal with those terms to find what changed; nothing else ever reads the
CRM's current terms, so a change to a won deal reaches billing and revenue only once it is applied.

The revenue contract in force is stored whole (`revenue_contract`), and each version beside it
(`revenue_contract_version`), so the close recognises the version the controller approved and
`revenue explain` can show the history. A contract set up before versions were stored is read as
version 1 of its contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.model import Contract, Milestone, Opportunity
from q2c.domain.money import Money
from q2c.domain.revenue import RevenueContract, revenue_contract_from
from q2c.domain.revenue.contract_json import revenue_contract_from_json, revenue_contract_to_json
from q2c.engine.hashing import content_hash
from q2c.store import records

TERMS = "deal_terms"
REVENUE = "revenue_contract"
VERSION = "revenue_contract_version"


@dataclass(frozen=True)
class DealTerms:
    deal: Opportunity  # as the CRM had it when the terms were agreed
    change_orders: tuple[Opportunity, ...] = ()  # won change orders merged into it, in the order applied

    def effective(self) -> Opportunity:
        """The deal with its change orders' lines: what the contract is planned from."""
        if not self.change_orders:
            return self.deal
        lines = (*self.deal.lines, *(line for co in self.change_orders for line in co.lines))
        amount = sum((co.amount for co in self.change_orders), start=self.deal.amount)
        return self.deal.model_copy(update={"lines": lines, "amount": Money(amount=amount.amount,
                                                                            currency=self.deal.amount.currency)})

    def to_json(self) -> dict[str, Any]:
        return {"deal": self.deal.model_dump(mode="json"),
                "change_orders": [co.model_dump(mode="json") for co in self.change_orders]}

    @staticmethod
    def from_json(data: dict[str, Any]) -> DealTerms:
        return DealTerms(Opportunity.model_validate(data["deal"]),
                         tuple(Opportunity.model_validate(co) for co in data.get("change_orders", [])))


def terms_record(contract_id: str, terms: DealTerms) -> records.Record:
    payload = terms.to_json()
    return records.Record(TERMS, contract_id, f"contract:{contract_id}", "in_force", 1, content_hash(payload),
                          payload)


def load_terms(conn: Connection, contract_id: str) -> DealTerms | None:
    rec = records.get_record(conn, entity=TERMS, canonical_id=contract_id)
    return None if rec is None else DealTerms.from_json(rec.payload)


def revenue_records(contract_id: str, rc: RevenueContract, *, change_id: str | None) -> list[records.Record]:
    """The version in force and its copy among the versions."""
    payload = {"version": rc.version, "change": change_id, "revenue_contract": revenue_contract_to_json(rc)}
    digest = content_hash(payload)
    aggregate = f"contract:{contract_id}"
    return [records.Record(REVENUE, contract_id, aggregate, "open", 1, digest, payload),
            records.Record(VERSION, f"{contract_id}:v{rc.version}", aggregate, "kept", 1, digest, payload)]


def stored_revenue_contract(conn: Connection, contract: Contract) -> RevenueContract:
    rec = records.get_record(conn, entity=REVENUE, canonical_id=contract.id)
    if rec is None or "revenue_contract" not in rec.payload:
        return revenue_contract_from(contract)
    return revenue_contract_from_json(rec.payload["revenue_contract"])


def versions(conn: Connection, contract_id: str) -> list[RevenueContract]:
    """Every stored version, oldest first."""
    rows = records.list_records(conn, entity=VERSION, aggregate=f"contract:{contract_id}")
    found = [revenue_contract_from_json(r.payload["revenue_contract"]) for r in rows]
    return sorted(found, key=lambda rc: rc.version)


def with_milestone_status(contract: Contract, live: dict[str, Milestone]) -> Contract:
    """The contract's own milestones with the status and completion date the CRM holds now.

    Milestone status is owned by the CRM, the milestones themselves by the terms: a milestone the CRM has
    but the terms do not (one added by a change not yet applied) is not billed or recognised."""
    if not live or not any(p.milestones for p in contract.phases):
        return contract
    phases = tuple(p.model_copy(update={"milestones": tuple(
        m.model_copy(update={"status": live[m.id].status, "completed_on": live[m.id].completed_on})
        if m.id in live else m for m in p.milestones)}) if p.milestones else p for p in contract.phases)
    return contract.model_copy(update={"phases": phases})
