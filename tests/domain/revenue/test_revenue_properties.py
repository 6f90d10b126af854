"""Properties that must hold for every contract, not only the examples: checked on generated contracts."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from revenue_builders import ACCOUNTS, DIMENSIONS, contract

from q2c.domain.model import JournalEntry
from q2c.domain.money import Money
from q2c.domain.revenue import (
    AllocationRefused,
    Billed,
    Collected,
    Completed,
    ControlTransferred,
    CostToDate,
    DiscountAttribution,
    EstimateChanged,
    FxRate,
    FxTable,
    HoursToDate,
    MilestoneReached,
    MilestoneTarget,
    PerformanceObligation,
    Period,
    PeriodCalendar,
    PeriodClosed,
    ProgressFact,
    RecognitionMethod,
    RevenueContract,
    StandaloneSellingPrice,
    UnitsDelivered,
    balances,
    check_balanced,
    journal_entries,
    recognise,
    recognise_periods,
)
from q2c.domain.revenue.minor_units import from_units, to_units

M = RecognitionMethod
PROGRESS_METHODS = [M.POINT_IN_TIME, M.INPUT_HOURS, M.INPUT_COST, M.OUTPUT_UNITS, M.OUTPUT_MILESTONES,
                    M.RATABLE_MONTHLY, M.RATABLE_DAILY, M.RIGHT_TO_INVOICE]
YEAR = [Period(2026, m) for m in range(1, 13)]
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _usd(cents: int) -> Money:
    return from_units(cents, "USD")


@st.composite
def allocation_cases(draw: st.DrawFn) -> tuple[RevenueContract | None, int, list[str]]:
    n = draw(st.integers(1, 5))
    ssps = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n))
    price = draw(st.integers(0, 10**9))
    residual = draw(st.booleans()) and n > 1
    obs = []
    for i, s in enumerate(ssps):
        ssp = StandaloneSellingPrice.residual("highly variable") if residual and i == n - 1 else \
            StandaloneSellingPrice.observable(_usd(s), "list")
        obs.append(PerformanceObligation(id=f"P{i}", name=f"P{i}", method=M.POINT_IN_TIME, ssp=ssp))
    discount = None
    if n > 2 and draw(st.booleans()):
        targets = tuple(f"P{i}" for i in range(draw(st.integers(1, n - 2)) + 0, n - int(residual)) if i > 0)
        amount = _usd(draw(st.integers(1, 10**8))) if residual else None
        discount = DiscountAttribution(targets or ("P1",), True, True, True, "bundle evidence", amount=amount)
    return contract(obs, Decimal(price) / 100, discount=discount), price, [o.id for o in obs]


@FAST
@given(allocation_cases())
def test_allocations_sum_exactly_to_the_transaction_price(case: tuple[RevenueContract, int, list[str]]) -> None:
    rc, price, ids = case
    try:
        alloc = rc.allocation
    except AllocationRefused as refused:
        assert "revenue contract RC-1" in str(refused)  # refusals name the contract and field
        return
    amounts = [to_units(alloc.allocated(i) or _usd(0), what="a") for i in ids]
    assert sum(amounts) == price
    assert all(a >= 0 for a in amounts)
    if rc.discount is None and all(o.ssp.amount is not None for o in rc.obligations):
        ssps = [to_units(o.ssp.amount, what="s") for o in rc.obligations if o.ssp.amount is not None]
        if sum(ssps):
            for a, s in zip(amounts, ssps, strict=True):
                assert abs(a * sum(ssps) - price * s) < sum(ssps)  # within one cent of the exact share


def _obligation(i: int, method: RecognitionMethod, ssp: int, rnd: random.Random) -> PerformanceObligation:
    common = {"id": f"P{i}", "name": f"P{i}", "method": method,
              "ssp": StandaloneSellingPrice.observable(_usd(ssp), "list")}
    if method in (M.INPUT_HOURS, M.INPUT_COST, M.OUTPUT_UNITS):
        return PerformanceObligation(**common, estimated_total=Decimal(rnd.randint(1, 100000)) / 10)  # type: ignore[arg-type]
    if method is M.OUTPUT_MILESTONES:
        stones = tuple(MilestoneTarget(f"P{i}-m{j}", f"milestone {j}", _usd(rnd.randint(1, 10**6)))
                       for j in range(rnd.randint(1, 3)))
        return PerformanceObligation(**common, milestones=stones)  # type: ignore[arg-type]
    if method.ratable:
        start = date(2026, 1, 1) + timedelta(days=rnd.randint(0, 200))
        end = start + timedelta(days=rnd.randint(0, 364 - (start - date(2026, 1, 1)).days))
        return PerformanceObligation(**common, start=start, end=end)  # type: ignore[arg-type]
    return PerformanceObligation(**common)  # type: ignore[arg-type]


def _life_facts(rc: RevenueContract, rnd: random.Random) -> list[ProgressFact]:
    """Facts over 2026 that take every obligation to full satisfaction by 31 December, with estimate changes."""
    facts: list[ProgressFact] = []
    for ob in rc.obligations:
        months = sorted(rnd.sample(range(1, 13), rnd.randint(1, 6)))
        if ob.method in (M.INPUT_HOURS, M.INPUT_COST, M.OUTPUT_UNITS):
            total = ob.estimated_total or Decimal(1)
            done = Decimal(0)
            for m in months:
                if rnd.random() < 0.4:
                    total = max(Decimal(1), total + Decimal(rnd.randint(-500, 500)) / 10)
                    facts.append(EstimateChanged(id=f"{ob.id}-e{m}", obligation_id=ob.id, on=date(2026, m, 10),
                                                 total=total, reason="re-planned"))
                done = min(total, done + Decimal(rnd.randint(0, 5000)) / 10)
                on = date(2026, m, 20)
                if ob.method is M.INPUT_HOURS:
                    facts.append(HoursToDate(id=f"{ob.id}-h{m}", obligation_id=ob.id, on=on, hours=done))
                elif ob.method is M.INPUT_COST:
                    facts.append(CostToDate(id=f"{ob.id}-c{m}", obligation_id=ob.id, on=on, cost=done))
                else:
                    facts.append(UnitsDelivered(id=f"{ob.id}-u{m}", obligation_id=ob.id, on=on, units=done))
            facts.append(Completed(id=f"{ob.id}-done", obligation_id=ob.id, on=date(2026, 12, 31)))
        elif ob.method is M.OUTPUT_MILESTONES:
            for stone in ob.milestones:
                facts.append(MilestoneReached(id=f"{stone.id}-r", obligation_id=ob.id,
                                              on=date(2026, rnd.randint(1, 12), 15), milestone_id=stone.id))
        elif ob.method is M.POINT_IN_TIME:
            facts.append(ControlTransferred(id=f"{ob.id}-t", obligation_id=ob.id, on=date(2026, rnd.choice(months), 5)))
        elif ob.method is M.RIGHT_TO_INVOICE:
            for m in months:
                facts.append(Billed(id=f"{ob.id}-i{m}", obligation_id=ob.id, on=date(2026, m, 28),
                                    amount=_usd(rnd.randint(-1000, 10**6))))
    for m in sorted(rnd.sample(range(1, 13), rnd.randint(0, 4))):
        facts.append(Billed(id=f"bill-{m}", obligation_id="", on=date(2026, m, 1), amount=_usd(rnd.randint(0, 10**7))))
    for m in sorted(rnd.sample(range(1, 13), rnd.randint(0, 4))):  # cash, sometimes ahead of the invoices
        facts.append(Collected(id=f"cash-{m}", obligation_id="", on=date(2026, m, rnd.randint(1, 28)),
                               amount=_usd(rnd.randint(0, 10**7))))
    return facts


@st.composite
def lives(draw: st.DrawFn) -> tuple[RevenueContract, list[ProgressFact]]:
    rnd = random.Random(draw(st.integers(0, 2**32)))
    methods = [rnd.choice(PROGRESS_METHODS) for _ in range(rnd.randint(1, 4))]
    obs = [_obligation(i, m, rnd.randint(0, 10**8), rnd) for i, m in enumerate(methods)]
    priced = [o for o in obs if o.ssp.amount and o.method is not M.RIGHT_TO_INVOICE]
    if sum(to_units(o.ssp.amount, what="s") for o in priced if o.ssp.amount) == 0:
        obs.append(_obligation(len(obs), M.POINT_IN_TIME, 100, rnd))
    rc = contract(obs, Decimal(rnd.randint(0, 10**9)) / 100)
    return rc, _life_facts(rc, rnd)


@FAST
@given(lives())
def test_revenue_over_the_life_equals_the_allocated_price(life: tuple[RevenueContract, list[ProgressFact]]) -> None:
    rc, facts = life
    history = recognise_periods(rc, facts, first=YEAR[0], last=YEAR[-1])
    final = history[-1]
    for ob in rc.obligations:
        allocated = rc.allocation.allocated(ob.id)
        total = sum((rec.obligation(ob.id).revenue.amount for rec in history), Decimal(0))
        if allocated is None:  # right to invoice: revenue is what was invoiced for it
            invoiced = sum((f.amount.amount for f in facts if isinstance(f, Billed) and f.obligation_id == ob.id),
                           Decimal(0))
            assert total == invoiced
        else:
            assert final.obligation(ob.id).cumulative == allocated
            assert total == allocated.amount
        for rec in history:  # each period's lines explain its revenue
            line = rec.obligation(ob.id)
            assert sum((x.amount.amount for x in line.lines), Decimal(0)) == line.revenue.amount


def _ledger(entries: list[JournalEntry], currency: str) -> dict[str, int]:
    """Debit-positive totals per account of the entries' lines in `currency`, in minor units."""
    out: dict[str, int] = {}
    for entry in entries:
        check_balanced(entry)
        for ln in entry.lines:
            if ln.debit.currency == currency:
                out[ln.account] = out.get(ln.account, 0) + to_units(ln.debit, what="d") - to_units(ln.credit, what="c")
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lives(), st.randoms(use_true_random=False))
def test_journals_balance_and_post_exactly_the_balances_in_every_currency(
        life: tuple[RevenueContract, list[ProgressFact]], rnd: random.Random) -> None:
    """Over a year, in the contract currency and in two functional currencies with rates that move every fortnight:
    every entry balances; the receivable is never negative and a contract is never both asset and liability; and the
    accounts hold, to the cent, the balances the engine reports (no orphan balance in any currency)."""
    rc, facts = life
    days = [date(2025, 12, 31)] + [date(2026, m, d) for m in range(1, 13) for d in (1, 15)]
    fx = FxTable(tuple(FxRate("USD", cur, Decimal(rnd.randint(1, 10**6)) / scale, day)
                       for cur, scale in (("EUR", 10**6), ("JPY", 10**4)) for day in days))
    plain = recognise_periods(rc, facts, first=YEAR[0], last=YEAR[-1])
    for rec in plain:
        b = balances(rec)
        assert b.receivable.amount >= 0 and not (b.contract_asset.amount and b.contract_liability.amount)
    for functional in ("EUR", "JPY"):
        history = recognise_periods(rc, facts, first=YEAR[0], last=YEAR[-1], functional_currency=functional, fx=fx)
        entries = [e for rec in history for e in journal_entries(rec, accounts=ACCOUNTS, dimensions=DIMENSIONS)]
        assert all(e.entry_date.day >= 28 for e in entries)
        final = history[-1]
        assert [r.cumulative for r in history] == [r.cumulative for r in plain]
        usd_ledger, f_ledger = _ledger(entries, "USD"), _ledger(entries, functional)
        b = balances(final)
        expected = {ACCOUNTS.billing: b.receivable, ACCOUNTS.contract_asset: b.contract_asset,
                    ACCOUNTS.contract_liability: -b.contract_liability, ACCOUNTS.cash: b.collected_to_date,
                    ACCOUNTS.loss_provision: -b.loss_provision}
        for account, money in expected.items():
            assert usd_ledger.get(account, 0) == to_units(money, what=account), account
        assert final.functional is not None
        c = final.functional.closing
        expected_f = {ACCOUNTS.billing: c.receivable, ACCOUNTS.contract_asset: c.contract_asset,
                      ACCOUNTS.contract_liability: -c.contract_liability, ACCOUNTS.loss_provision: -c.loss_provision}
        for account, money in expected_f.items():
            assert f_ledger.get(account, 0) == to_units(money, what=account), account
        for txn, fun in ((b.receivable, c.receivable), (b.contract_asset, c.contract_asset),
                         (b.contract_liability, c.contract_liability), (b.loss_provision, c.loss_provision)):
            if txn.amount == 0:  # a settled balance leaves nothing behind in the functional currency
                assert fun.amount == 0
        assert sum(to_units(x.amount, what="l") for x in c.layers) == to_units(b.contract_liability, what="l")


@FAST
@given(lives(), st.integers(1, 10), st.randoms(use_true_random=False))
def test_nothing_posts_into_a_closed_period_and_late_facts_are_not_lost(
        life: tuple[RevenueContract, list[ProgressFact]], closed_through: int, rnd: random.Random) -> None:
    rc, facts = life
    late = {f.id for f in facts if f.on.month <= closed_through and rnd.random() < 0.3}
    known_then = [f for f in facts if f.id not in late]
    calendar = PeriodCalendar("US01")
    history = recognise_periods(rc, known_then, first=YEAR[0], last=YEAR[closed_through - 1], calendar=calendar)
    for p in YEAR[:closed_through]:
        calendar = calendar.close(p)
    for p in YEAR[:closed_through]:
        try:
            recognise(rc, facts, period=p, calendar=calendar)
        except PeriodClosed as refused:
            assert f"period {p}" in str(refused) and "closed for legal entity US01" in str(refused)
        else:
            raise AssertionError(f"{p} is closed but revenue was recognised in it")
    now = YEAR[closed_through]
    rec = recognise(rc, facts, period=now, prior=history[-1], calendar=calendar)
    for entry in journal_entries(rec, accounts=ACCOUNTS, dimensions=DIMENSIONS, calendar=calendar):
        assert calendar.is_open(Period.of(entry.entry_date))
    for fact in facts:
        post = calendar.post_date_for(fact.on)
        assert post >= fact.on and calendar.is_open(Period.of(post))
    late_known = [f for f in facts if f.id in late and f.on <= now.end]
    assert len(rec.notes) == len(late_known)
    fresh = recognise(rc, facts, period=now)  # everything known from the start: the same cumulative revenue
    assert rec.cumulative == fresh.cumulative and rec.billed_to_date == fresh.billed_to_date


@FAST
@given(lives(), st.integers(0, 11), st.randoms(use_true_random=False))
def test_replaying_facts_changes_nothing(life: tuple[RevenueContract, list[ProgressFact]], month: int,
                                         rnd: random.Random) -> None:
    rc, facts = life
    period = YEAR[month]
    once = recognise(rc, facts, period=period)
    replayed = list(facts) + rnd.sample(facts, k=len(facts) // 2) if facts else []
    rnd.shuffle(replayed)
    assert recognise(rc, replayed, period=period) == once
    if month:
        prior = recognise(rc, facts, period=YEAR[month - 1])
        assert recognise(rc, replayed, period=period, prior=prior) == recognise(rc, facts, period=period, prior=prior)
