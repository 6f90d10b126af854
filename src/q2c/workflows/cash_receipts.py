"""Cash received from customers, recorded against a contract (`q2c cash record`).

A firm that tracks cash in q2c records each payment once, with its own id (the bank reference);
the revenue close turns the receipts into `Collected` facts, so the journal debits cash and credits
the receivable, or the contract liability when the customer paid before being invoiced (an advance).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.engine import Connection

from q2c.domain.money import Money
from q2c.domain.revenue import Collected
from q2c.engine.hashing import content_hash
from q2c.store import audit, records
from q2c.workflows.hub import Hub

CASH = "cash_receipt"


def record_cash(hub: Hub, *, contract_id: str, receipt_id: str, amount: Money, received_on: date,
                reference: str, actor: str) -> bool:
    """Record a payment received from the customer against a contract; False when it was recorded already.

    The next revenue close posts it (debit cash, credit the receivable, or the contract liability for an
    advance) and counts it in the contract's balances. A receipt id names one payment: recording it
    again with other figures is refused.
    """
    payload = {"id": receipt_id, "contract_id": contract_id, "amount": str(amount.amount),
               "currency": amount.currency, "received_on": received_on.isoformat(), "reference": reference}
    with hub.engine.begin() as conn:
        contract = records.get_record(conn, entity="contract", canonical_id=contract_id)
        if contract is None:
            raise ValueError(f"contract {contract_id} is not known to q2c")
        if contract.payload["currency"] != amount.currency:
            raise ValueError(f"cash receipt {receipt_id} field amount: {amount.currency}, but contract {contract_id} "
                             f"is in {contract.payload['currency']}")
        if amount.amount <= 0:
            raise ValueError(f"cash receipt {receipt_id} field amount: {amount} must be above zero")
        if amount.amount != amount.rounded().amount:
            raise ValueError(f"cash receipt {receipt_id} field amount: {amount.amount} has more decimals than "
                             f"{amount.currency} allows")
        known = records.get_record(conn, entity=CASH, canonical_id=receipt_id)
        if known is not None:
            if known.payload != payload:
                raise ValueError(f"cash receipt {receipt_id} is already recorded with other figures "
                                 f"({known.payload['amount']} {known.payload['currency']} on "
                                 f"{known.payload['received_on']}); give the new payment its own id")
            return False
        records.upsert_records(conn, [records.Record(CASH, receipt_id, f"contract:{contract_id}", "recorded", 1,
                                                     content_hash(payload), payload)])
        audit.append(conn, [audit.AuditEntry(actor=actor, system="q2c", action="cash_receipt", entity="contract",
                                             record_id=contract_id, correlation_id=uuid.uuid4().hex,
                                             after=payload)])
    return True


def cash_facts(conn: Connection, contract_id: str) -> list[Collected]:
    return [Collected(id=f"cash:{r.canonical_id}", obligation_id="", on=date.fromisoformat(r.payload["received_on"]),
                      amount=Money.of(r.payload["amount"], r.payload["currency"]))
            for r in records.list_records(conn, entity=CASH, aggregate=f"contract:{contract_id}")]
