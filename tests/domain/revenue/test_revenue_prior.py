"""`prior` is what was posted; without it nothing was. The engine never assumes that an earlier period was
recognised from the facts dated in it."""

from __future__ import annotations

from datetime import date

from revenue_builders import contract, obligation, usd

from q2c.domain.money import Money
from q2c.domain.revenue import (
    Billed,
    MilestoneReached,
    MilestoneTarget,
    Period,
    PeriodCalendar,
    ProgressFact,
    RecognitionMethod,
    RevenueContract,
    recognise,
    recognise_periods,
)

NOV, DEC = Period(2026, 11), Period(2026, 12)


def _contract() -> RevenueContract:
    """T&M as invoiced; a retainer of 1,200 a month over November-December; a 3,000 milestone."""
    return contract([
        obligation("TM", RecognitionMethod.RIGHT_TO_INVOICE, None),
        obligation("RT", RecognitionMethod.RATABLE_MONTHLY, 2400, start=date(2026, 11, 1), end=date(2026, 12, 31)),
        obligation("MS", RecognitionMethod.OUTPUT_MILESTONES, 3000,
                   milestones=(MilestoneTarget("M1", "Design signed off", usd(3000)),)),
    ], 5400, start=date(2026, 11, 1))


def _facts() -> list[ProgressFact]:
    return [Billed(id="INV-11:TM", obligation_id="TM", on=date(2026, 11, 30), amount=usd(5000)),
            MilestoneReached(id="M1:completed", obligation_id="MS", on=date(2026, 11, 20), milestone_id="M1"),
            Billed(id="INV-12:TM", obligation_id="TM", on=date(2026, 12, 31), amount=usd(2000))]


def _line(rec: object, ob: str, kind: str) -> Money | None:
    lines = [x for x in rec.obligation(ob).lines if x.kind == kind]  # type: ignore[attr-defined]
    return lines[0].amount if lines else None


def test_without_prior_a_closed_november_never_posted_is_recognised_in_december_as_late() -> None:
    """November is closed for US01 but nothing was ever posted for the contract: December without `prior` recognises
    November's 5,000 of T&M, 1,200 of retainer and the 3,000 milestone as late lines (9,200), and December's own
    2,000 + 1,200 as progress: 12,400 in all, what the contract earned to date. Each late fact has a note saying no
    revenue was posted for November."""
    calendar = PeriodCalendar("US01").close(NOV)
    dec = recognise(_contract(), _facts(), period=DEC, calendar=calendar)
    assert dec.revenue == usd(12400) and dec.previously == usd(0) and dec.cumulative == usd(12400)
    assert (_line(dec, "TM", "late"), _line(dec, "RT", "late"), _line(dec, "MS", "late")) == (
        usd(5000), usd(1200), usd(3000))
    assert (_line(dec, "TM", "progress"), _line(dec, "RT", "progress"), _line(dec, "MS", "progress")) == (
        usd(2000), usd(1200), None)
    assert dec.billed_before == usd(0) and dec.billed_in_period == usd(7000)
    assert ("late fact INV-11:TM (Billed, dated 2026-11-30): no revenue was posted for period 2026-11 for this "
            "contract, which is closed for US01; recognised in 2026-12") in dec.notes
    assert any("no earlier recognition was given for revenue contract RC-1" in n for n in dec.notes)
    assert "no revenue was posted for RT before 2026-12" in dec.obligation("RT").lines[0].reason


def test_with_prior_december_recognises_only_december() -> None:
    """The close that posted November passes it back: December then recognises 2,000 + 1,200 = 3,200, and a fact
    dated in November that arrived after November was posted lands in December with the 'already recognised' note."""
    rc = _contract()
    known_in_november = [f for f in _facts() if f.id != "M1:completed"]
    nov = recognise(rc, known_in_november, period=NOV)
    assert nov.revenue == usd(6200)
    dec = recognise(rc, _facts(), period=DEC, prior=nov)
    assert dec.revenue == usd(3200 + 3000) and dec.previously == usd(6200)
    assert _line(dec, "MS", "late") == usd(3000) and _line(dec, "TM", "late") is None
    assert dec.notes == ("late fact M1:completed (MilestoneReached, dated 2026-11-20): period 2026-11 was already "
                         "recognised; its effect is recognised in 2026-12",)
    assert dec.billed_before == usd(5000) and dec.billed_in_period == usd(2000)


def test_no_prior_equals_the_whole_chain_and_the_chain_equals_the_periods() -> None:
    rc = _contract()
    nov, dec = recognise_periods(rc, _facts(), first=NOV, last=DEC)
    alone = recognise(rc, _facts(), period=DEC)
    assert alone.cumulative == dec.cumulative and alone.revenue == nov.revenue + dec.revenue
    assert alone.billed_in_period == nov.billed_in_period + dec.billed_in_period
    assert [line.kind for line in dec.obligation("RT").lines] == ["progress"]


def test_a_period_skipped_since_the_prior_is_late_not_a_catch_up() -> None:
    """The last recognition posted is October's (before the contract began); December is closed next, November
    never was: November's 1,200 of retainer and its invoice are late lines (not a catch-up), with notes; December
    has its own progress."""
    rc = _contract()
    october = recognise(rc, _facts(), period=Period(2026, 10))
    assert october.cumulative == usd(0)
    dec = recognise(rc, _facts(), period=DEC, prior=october)
    assert [x.kind for x in dec.obligation("RT").lines] == ["late", "progress"]
    assert _line(dec, "RT", "late") == usd(1200) and _line(dec, "TM", "late") == usd(5000)
    assert "in periods not recognised for this contract" in dec.obligation("RT").lines[0].reason
    assert ("period 2026-11 was not recognised for revenue contract RC-1 (the last recognised is 2026-10): what was "
            "earned then is recognised in 2026-12") in dec.notes
    assert any(n.startswith("late fact INV-11:TM (Billed, dated 2026-11-30): no revenue was posted for period 2026-11")
               for n in dec.notes)
    assert dec.cumulative == recognise(rc, _facts(), period=DEC).cumulative
