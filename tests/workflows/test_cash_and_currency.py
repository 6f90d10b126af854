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


def test_an_erp_posting_in_the_entity_s_currency_only_gets_the_functional_entry_over_two_months(
        tmp_path: Path) -> None:
    """An ERP whose journals post in the entity's currency only (Business Central: `journal_currencies =
    "entity"`). The contract is in USD, the entity keeps its books in EUR at 0.9 from Nov 1.
    November: Alice 8 h x 150 = USD 1,200 invoiced and recognised -> EUR 1,080.00.
    December: Alice 4 h x 150 = USD 600 -> EUR 540.00; cumulative USD 1,800 / EUR 1,620.
    Each month the ERP gets the EUR entry alone; the USD entry is kept in q2c's books (state `kept`, no
    link), so the GL rule still holds in USD at the December close (USD 1,200 kept before December = the
    engine's 1,200), and reconciliation compares the EUR entries with the ERP: every revenue pair matches."""
    from q2c.store import links
    from q2c.workflows.integrity import hub_violations
    from q2c.workflows.reconcile import reconcile
    from q2c.workflows.revenue_close import account_map

    w = fake_world(tmp_path, functional="EUR", fx_rates=[{"from": "USD", "to": "EUR", "rate": "0.9",
                                                          "on": "2026-11-01"}])
    w.erp.journal_currencies = "entity"  # type: ignore[attr-defined]
    w.set_up()
    for on, hours in ((date(2026, 11, 3), "8"), (date(2026, 12, 2), "4")):
        w.tracker.approve(w.tracker.log(P, "BUILD", "alice@example.com", on, hours))
        poll_time(w.hub)
        drain(w.hub)
        w.close(date(on.year, on.month, 30 if on.month == 11 else 31))
    with w.hub.engine.connect() as conn:
        assert exception_store.search(conn) == []
        assert hub_violations(conn, account_map(w.hub)) == []
        states = {r.canonical_id: r.state for r in records.list_records(conn, entity="journal_entry")}
        linked = set(links.get_links(conn, entity="journal_entry", system=w.hub.erp.names.system,
                                     canonical_ids=list(states)))
    assert states == {f"JE-REV-{C}-2026-11": "kept", f"JE-REV-{C}-2026-11-EUR": "posted",
                      f"JE-REV-{C}-2026-12": "kept", f"JE-REV-{C}-2026-12-EUR": "posted"}
    assert sorted(w.erp.records["journalentry"]) == [f"JE-REV-{C}-2026-11-EUR", f"JE-REV-{C}-2026-12-EUR"]
    assert linked == {f"JE-REV-{C}-2026-11-EUR", f"JE-REV-{C}-2026-12-EUR"}
    assert amounts(journal(w, f"JE-REV-{C}-2026-11-EUR"))["4000 Services Revenue"] == Decimal("-1080.00")
    assert amounts(journal(w, f"JE-REV-{C}-2026-12-EUR"))["4000 Services Revenue"] == Decimal("-540.00")
    assert amounts(journal(w, f"JE-REV-{C}-2026-12"))["4000 Services Revenue"] == Decimal("-600.00")
    (revenue,) = [p for p in reconcile(w.hub, pairs=["revenue"]).pairs]
    assert (revenue.matched, len(revenue.drifts)) == (2, 0)
