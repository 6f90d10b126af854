"""Cash received and books kept in another currency, through the revenue close."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import FakeWorld, fake_world, usd

from q2c.domain.model import JournalEntry
from q2c.domain.revenue import check_balanced
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store
from q2c.store import records
from q2c.workflows.cash_receipts import record_cash
from q2c.workflows.time_approved import poll_time

C, P = "C-006A", "P-006A"






def journal(w: FakeWorld, entry_id: str) -> JournalEntry:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="journal_entry", canonical_id=entry_id)
    assert rec is not None, entry_id
    return JournalEntry.model_validate(rec.payload)


def amounts(entry: JournalEntry) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line in entry.lines:
        out[line.account] = out.get(line.account, Decimal(0)) + line.debit.amount - line.credit.amount
    return out


def test_an_advance_is_a_contract_liability_until_it_is_earned(tmp_path: Path) -> None:
    """The customer pays 5,000 on Nov 10 before anything is invoiced. November: Blueprint (5,000) completed
    Nov 20 and invoiced: revenue 5,000, billed 5,000, collected 5,000. The advance settles the invoice:
    Dr cash 5,000 / Cr revenue 5,000, receivable and contract liability end at nil. Recorded twice: once."""
    w = fake_world(tmp_path)
    w.set_up()
    receipt = {"contract_id": C, "receipt_id": "WIRE-1", "amount": usd("5000.00"), "received_on": date(2026, 11, 10),
               "reference": "advance", "actor": "controller"}
    assert record_cash(w.hub, **receipt)  # type: ignore[arg-type]
    assert not record_cash(w.hub, **receipt)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already recorded with other figures"):
        record_cash(w.hub, **{**receipt, "amount": usd("4000.00")})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="field amount: EUR"):
        record_cash(w.hub, **{**receipt, "receipt_id": "WIRE-2", "amount": usd("1").model_copy(  # type: ignore[arg-type]
            update={"currency": "EUR"})})
    w.crm.complete_milestone("SF-006A", "SF-M1", date(2026, 11, 20))
    w.close(date(2026, 11, 30))
    entry = journal(w, f"JE-REV-{C}-2026-11")
    check_balanced(entry)
    moved = {a: v for a, v in amounts(entry).items() if v}
    assert moved == {"1000 Cash": Decimal("5000.00"), "4000 Services Revenue": Decimal("-5000.00")}


def test_books_in_another_currency_get_a_balanced_functional_entry(tmp_path: Path) -> None:
    """The contract is in USD, the legal entity keeps its books in EUR at 0.9 from Nov 1. November: Alice
    8 h x 150 = USD 1,200 invoiced and recognised; functional EUR 1,080 both ways, balanced."""
    w = fake_world(tmp_path, functional="EUR", fx_rates=[{"from": "USD", "to": "EUR", "rate": "0.9",
                                                          "on": "2026-11-01"}])
    w.set_up()
    entry_id = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(entry_id)
    poll_time(w.hub)
    drain(w.hub)
    w.close(date(2026, 11, 30))
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn) == []
    usd_entry, eur_entry = journal(w, f"JE-REV-{C}-2026-11"), journal(w, f"JE-REV-{C}-2026-11-EUR")
    check_balanced(usd_entry)
    check_balanced(eur_entry)
    assert amounts(usd_entry)["4000 Services Revenue"] == Decimal("-1200.00")
    assert amounts(eur_entry)["4000 Services Revenue"] == Decimal("-1080.00")
    assert {line.debit.currency for line in eur_entry.lines} == {"EUR"}


def test_a_missing_rate_is_an_exception_naming_the_contract(tmp_path: Path) -> None:
    w = fake_world(tmp_path, functional="EUR")
    w.set_up()
    entry_id = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(entry_id)
    poll_time(w.hub)
    drain(w.hub)
    w.close(date(2026, 11, 30))
    with w.hub.engine.connect() as conn:
        (row,) = exception_store.search(conn, rule="revenue.refused")
        assert records.list_records(conn, entity="journal_entry") == []
    assert row.violation.record_id == C and "USD->EUR" in row.violation.message
