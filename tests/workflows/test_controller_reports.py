"""The controller's reports over two months of books (see `controller_books`, whose docstring computes the
invoices and revenue by hand), figure by figure: WIP as of days before and after each invoice, the revenue
waterfall, the deferred revenue roll-forward, remaining performance obligations and invoices by month."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from controller_books import PA, PB, A, B, controller_books
from fakes import FakeWorld

from q2c.domain.revenue import Period
from q2c.store import records
from q2c.workflows.reports import (
    ReportRefused,
    invoices_report,
    parse_day,
    parse_period,
    rollforward_report,
    rpo_report,
    waterfall_report,
    wip_report,
)

NOV, DEC = Period(2026, 11), Period(2026, 12)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> FakeWorld:
    return controller_books(Path(tmp_path_factory.mktemp("books")))


def test_the_books_hold_what_the_scenario_says(books: FakeWorld) -> None:
    with books.hub.engine.connect() as conn:
        totals = {r.canonical_id: r.payload["total"]["amount"] for r in records.list_records(conn, entity="invoice")}
        revenue = {r.canonical_id: r.payload["recognised"]
                   for r in records.list_records(conn, entity="revenue_recognition")}
    assert totals == {"INV-C-006A-1-20261130": "3600.00", "INV-C-006A-3-20261130": "5000.00",
                      "INV-SF-M1": "5000.00", "CN-1-INV-C-006A-1-20261130": "-1200.00",
                      "INV-C-006A-1-20261208": "1000.00", "INV-C-006A-1-20261231": "3200.00",
                      "INV-C-007B-1-20261231": "1700.00"}
    assert revenue == {f"{A}:2026-11": "10600.00", f"{A}:2026-12": "5000.00", f"{B}:2026-11": "0.00",
                       f"{B}:2026-12": "1700.00"}


def _wip(w: FakeWorld, day: date, **scope: str | None) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    found = wip_report(w.hub, as_of=day, **scope)
    assert found.as_of == day
    return ([(x.project.project_id, x.contract_id, x.legal_entity, x.project.entry_count, str(x.project.hours),
              str(x.project.at_bill_rate), str(x.project.at_cost), x.project.oldest_work_date.isoformat())
             for x in found.lines],
            [(t.currency, t.entry_count, str(t.hours), str(t.at_bill_rate), str(t.at_cost)) for t in found.totals])


def test_wip_counts_time_billed_after_the_day_as_unbilled_and_leaves_out_time_worked_after_it(
        books: FakeWorld) -> None:
    """Each entry at the rating the hub holds now (Bob's Nov 5 at 5 h: 1,000 at cost 475).
    Nov 15: the Nov 30 invoice is after the day, so Nov 3, 4, 5 are unbilled: 3 entries, 8 + 8 + 5 = 21 h,
    1,200 + 1,200 + 1,000 = 3,400 at bill rate, 560 + 560 + 475 = 1,595 at cost, oldest Nov 3. The fee's
    10 h (BUILD-3) are not billable by the hour; December's time is after the day.
    Nov 30: all three are on INV-C-006A-1-20261130, dated that day: nothing.
    Dec 5: Dec 1, 2, 3: 3 entries, 8 + 8 + 4 = 20 h, 1,200 + 1,200 + 800 = 3,200, at cost 560 + 560 + 380 =
    1,500, oldest Dec 1; Bob's Nov 5 is still billed (the credit note comes Dec 8).
    Dec 8: Bob's Nov 5 is on two invoices and one credit note: still billed; the same 3,200.
    Dec 15: the same, and P-007B Dec 10, 11: 2 entries, 5 + 7.5 = 12.5 h, GBP 800 + 900 = 1,700, at cost
    400 + 450 = 850, oldest Dec 10; totals per currency, GBP first.
    Dec 31: everything is on the Dec 31 invoices: nothing."""
    assert _wip(books, date(2026, 11, 15)) == (
        [(PA, A, "US01", 3, "21", "USD 3,400.00", "USD 1,595.00", "2026-11-03")],
        [("USD", 3, "21", "USD 3,400.00", "USD 1,595.00")])
    assert _wip(books, date(2026, 11, 30)) == ([], [])
    december = (PA, A, "US01", 3, "20", "USD 3,200.00", "USD 1,500.00", "2026-12-01")
    assert _wip(books, date(2026, 12, 5)) == ([december], [("USD", 3, "20", "USD 3,200.00", "USD 1,500.00")])
    assert _wip(books, date(2026, 12, 8)) == _wip(books, date(2026, 12, 5))
    uk = (PB, B, "UK01", 2, "12.5", "GBP 1,700.00", "GBP 850.00", "2026-12-10")
    assert _wip(books, date(2026, 12, 15)) == (
        [december, uk], [("GBP", 2, "12.5", "GBP 1,700.00", "GBP 850.00"),
                         ("USD", 3, "20", "USD 3,200.00", "USD 1,500.00")])
    assert _wip(books, date(2026, 12, 15), legal_entity="UK01")[0] == [uk]
    assert _wip(books, date(2026, 12, 15), contract_id=A)[0] == [december]
    assert _wip(books, date(2026, 12, 31)) == ([], [])


def test_the_waterfall_is_revenue_recognised_per_contract_and_period(books: FakeWorld) -> None:
    """C-006A: Nov 10,600, Dec 5,000, total 15,600; C-007B: Nov 0, Dec 1,700. Totals per currency are the same
    (one contract each). From Dec: only December's column."""
    found = waterfall_report(books.hub)
    assert found.periods == (NOV, DEC)
    assert [(x.contract_id, x.legal_entity, {p.label: str(m) for p, m in x.amounts.items()}, str(x.total))
            for x in found.lines] == [
        (A, "US01", {"2026-11": "USD 10,600.00", "2026-12": "USD 5,000.00"}, "USD 15,600.00"),
        (B, "UK01", {"2026-11": "GBP 0.00", "2026-12": "GBP 1,700.00"}, "GBP 1,700.00")]
    assert [(t.currency, str(t.total)) for t in found.totals] == [("GBP", "GBP 1,700.00"), ("USD", "USD 15,600.00")]
    december = waterfall_report(books.hub, first=DEC)
    assert december.periods == (DEC,)
    assert [(x.contract_id, str(x.total)) for x in december.lines] == [(A, "USD 5,000.00"), (B, "GBP 1,700.00")]
    assert waterfall_report(books.hub, last=NOV, legal_entity="US01").grid().as_csv() == (
        "contract_id,legal_entity,currency,2026-11,total\nC-006A,US01,USD,10600.00,10600.00\n")


def test_the_rollforward_moves_deferred_revenue_from_opening_to_closing(books: FakeWorld) -> None:
    """November, C-006A: opening 0 + billed 3,600 + 5,000 + 5,000 = 13,600 - recognised 10,600 = closing 3,000
    (billing ahead of the fee's progress). C-007B billed and recognised nothing: not in deferred revenue.
    December, C-006A: opening 3,000 + billed -1,200 + 1,000 + 3,200 = 3,000 - recognised 5,000 = closing
    1,000. C-007B billed 1,700 and recognised 1,700: not in it. Both contracts were posted each month."""
    def figures(period: Period) -> tuple[int, list[tuple[str, ...]], list[tuple[str, str, str, str]]]:
        found = rollforward_report(books.hub, period=period)
        shown = [(x.contract_id, x.legal_entity, *(str(m) for m in (
            x.figures.opening, x.figures.billings, x.figures.revenue_recognised, x.figures.reclassified,
            x.figures.closing))) for x in found.lines]
        totals = [(t.currency, str(t.contracts), str(t.opening), str(t.closing)) for t in found.totals]
        return found.posted, shown, totals

    assert figures(NOV) == (2, [(A, "US01", "USD 0.00", "USD 13,600.00", "USD 10,600.00", "USD 0.00",
                                 "USD 3,000.00")], [("USD", "1", "USD 0.00", "USD 3,000.00")])
    assert figures(DEC) == (2, [(A, "US01", "USD 3,000.00", "USD 3,000.00", "USD 5,000.00", "USD 0.00",
                                 "USD 1,000.00")], [("USD", "1", "USD 3,000.00", "USD 1,000.00")])
    uk = rollforward_report(books.hub, period=DEC, legal_entity="UK01")
    assert (uk.posted, uk.lines, uk.totals) == (1, (), ())
    assert rollforward_report(books.hub, period=Period(2027, 1)).posted == 0


def test_remaining_performance_obligations_are_the_allocated_price_not_yet_recognised(books: FakeWorld) -> None:
    """End of November: milestones 15,000 - 5,000 (Blueprint) = 10,000; fixed fee 10,000 - 2,000 = 8,000;
    18,000 in all, timing unscheduled (it follows milestones and hours). End of December: 10,000 and 10,000 -
    4,000 = 6,000: 16,000. The T&M phases (C-006A-1, C-007B-1) are recognised as invoiced and left out.
    End of October: both contracts were signed Nov 2: nothing."""
    def figures(period: Period) -> list[tuple[str, ...]]:
        return [(x.obligation.obligation_id, x.obligation.method.value, str(x.obligation.allocated),
                 str(x.obligation.recognised), str(x.obligation.remaining), str(x.obligation.within_12_months))
                for x in rpo_report(books.hub, period=period).lines]

    assert figures(NOV) == [("C-006A-2", "output_milestones", "USD 15,000.00", "USD 5,000.00", "USD 10,000.00",
                             "None"),
                            ("C-006A-3", "input_hours", "USD 10,000.00", "USD 2,000.00", "USD 8,000.00", "None")]
    december = rpo_report(books.hub, period=DEC)
    assert [str(x.obligation.remaining) for x in december.lines] == ["USD 10,000.00", "USD 6,000.00"]
    (total,) = december.totals
    assert (str(total.remaining), str(total.within_12_months), str(total.later), str(total.unscheduled)) == (
        "USD 16,000.00", "USD 0.00", "USD 0.00", "USD 16,000.00")
    assert december.right_to_invoice == ((A, "C-006A-1"), (B, "C-007B-1"))
    assert rpo_report(books.hub, period=DEC, contract_id=B).lines == ()
    october = rpo_report(books.hub, period=Period(2026, 10))
    assert (october.lines, october.right_to_invoice) == ((), ())


def test_invoices_by_month_per_currency_and_status_with_credit_notes_negative(books: FakeWorld) -> None:
    """November USD: INV-SF-M1 paid (1, 5,000); INV-C-006A-1-20261130 3,600 and INV-C-006A-3-20261130 5,000
    posted (2, 8,600); the month 3 invoices, 13,600. December USD posted: INV-C-006A-1-20261208 1,000 and
    INV-C-006A-1-20261231 3,200 (4,200 invoiced), CN-1-INV-C-006A-1-20261130 -1,200 credited: 3,000.
    December GBP posted: INV-C-007B-1-20261231 1,700."""
    found = invoices_report(books.hub)
    assert [(x.month.label, x.currency, x.status, x.invoices, x.credit_notes, str(x.invoiced), str(x.credited),
             str(x.total)) for x in found.lines] == [
        ("2026-11", "USD", "paid", 1, 0, "USD 5,000.00", "USD 0.00", "USD 5,000.00"),
        ("2026-11", "USD", "posted", 2, 0, "USD 8,600.00", "USD 0.00", "USD 8,600.00"),
        ("2026-12", "GBP", "posted", 1, 0, "GBP 1,700.00", "GBP 0.00", "GBP 1,700.00"),
        ("2026-12", "USD", "posted", 2, 1, "USD 4,200.00", "USD -1,200.00", "USD 3,000.00")]
    assert [(x.month.label, x.currency, x.status, x.invoices, str(x.total)) for x in found.totals] == [
        ("2026-11", "USD", None, 3, "USD 13,600.00"), ("2026-12", "GBP", None, 1, "GBP 1,700.00"),
        ("2026-12", "USD", None, 2, "USD 3,000.00")]
    uk = invoices_report(books.hub, legal_entity="UK01")
    assert [(x.month.label, str(x.total)) for x in uk.lines] == [("2026-12", "GBP 1,700.00")]


def test_bad_arguments_are_refused_naming_them(books: FakeWorld) -> None:
    for text in ("2026-1", "2026-13", "26-11", "November", "2026-11-30"):
        with pytest.raises(ReportRefused, match=rf"^period: '{text}' is not a period: use YYYY-MM") as refused:
            parse_period(text, argument="period")
        assert refused.value.argument == "period"
    for text in ("2026-02-30", "20261130", "2026-11"):
        with pytest.raises(ReportRefused, match=rf"^as_of: '{text}' is not a date: use YYYY-MM-DD"):
            parse_day(text, argument="as_of")
    with pytest.raises(ReportRefused, match=r"^contract: 'C-NOPE' is not a contract q2c holds \(known: C-006A, "
                                            r"C-007B\)") as unknown:
        rollforward_report(books.hub, period=DEC, contract_id="C-NOPE")
    assert unknown.value.argument == "contract"
    with pytest.raises(ReportRefused, match=r"^legal_entity: 'DE01' is not a legal entity q2c knows \(known: UK01, "
                                            r"US01\)"):
        invoices_report(books.hub, legal_entity="DE01")
    with pytest.raises(ReportRefused, match=r"^to: 2026-11 is before the first period asked for \(2026-12\)"):
        waterfall_report(books.hub, first=DEC, last=NOV)


def test_the_reports_read_the_same_on_either_database(tmp_path: Path, db_url: str) -> None:
    """The same books on SQLite and PostgreSQL: the December figures above, as data."""
    w = controller_books(tmp_path, db_url)
    assert wip_report(w.hub, as_of=date(2026, 12, 15)).to_json()["totals"] == [
        {"currency": "GBP", "entries": 2, "hours": "12.5", "at_bill_rate": "1700.00", "at_cost": "850.00"},
        {"currency": "USD", "entries": 3, "hours": "20", "at_bill_rate": "3200.00", "at_cost": "1500.00"}]
    assert waterfall_report(w.hub).to_json()["totals"][1] == {
        "currency": "USD", "periods": {"2026-11": "10600.00", "2026-12": "5000.00"}, "total": "15600.00"}
    assert rollforward_report(w.hub, period=DEC).to_json()["contracts"] == [
        {"contract_id": A, "legal_entity": "US01", "currency": "USD", "opening": "3000.00", "billed": "3000.00",
         "recognised": "5000.00", "reclassified": "0.00", "closing": "1000.00"}]
    assert [t["remaining"] for t in rpo_report(w.hub, period=DEC).to_json()["totals"]] == ["16000.00"]
    assert [(m["month"], m["currency"], m["total"]) for m in invoices_report(w.hub).to_json()["totals"]] == [
        ("2026-11", "USD", "13600.00"), ("2026-12", "GBP", "1700.00"), ("2026-12", "USD", "3000.00")]
