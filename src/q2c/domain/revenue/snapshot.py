"""A recognition as JSON, and back, exactly: what the hub stores when it posts a period.

The next period's close reads it back and passes it as `prior`, so the engine starts from what the
ledger holds (cumulative revenue per obligation, billings, cash, the facts already applied, the
functional-currency balances and the loss provisions) instead of guessing. The JSON is plain:
amounts and Decimals as strings (never floats), dates ISO, fractions "n/d", sets as sorted lists.
`recognition_from_json(recognition_to_json(r)) == r` for every recognition; a malformed snapshot is
refused naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from q2c.domain.money import Money
from q2c.domain.revenue.errors import RevenueError
from q2c.domain.revenue.fx import FxRate
from q2c.domain.revenue.json_reader import JsonReader
from q2c.domain.revenue.losses import ExpectedLoss
from q2c.domain.revenue.obligations import RecognitionMethod
from q2c.domain.revenue.periods import Period
from q2c.domain.revenue.recognition import ObligationRecognition, Recognition, RevenueLine
from q2c.domain.revenue.translation import AdvanceLayer, FunctionalBalances, FunctionalPeriod

SNAPSHOT_VERSION = 1

__all__ = ["SNAPSHOT_VERSION", "recognition_from_json", "recognition_to_json"]


def _money(m: Money) -> dict[str, str]:
    return {"amount": str(m.amount), "currency": m.currency}


def _fraction(f: Fraction | None) -> str | None:
    return None if f is None else f"{f.numerator}/{f.denominator}"


def _line(line: RevenueLine) -> dict[str, Any]:
    return {"kind": line.kind, "amount": _money(line.amount), "reason": line.reason}


def _obligation(ob: ObligationRecognition) -> dict[str, Any]:
    return {
        "obligation_id": ob.obligation_id, "name": ob.name, "method": ob.method.value,
        "allocated": None if ob.allocated is None else _money(ob.allocated),
        "estimate_total": None if ob.estimate_total is None else str(ob.estimate_total),
        "progress": _fraction(ob.progress), "progress_text": ob.progress_text, "previously": _money(ob.previously),
        "cumulative": _money(ob.cumulative), "revenue": _money(ob.revenue), "lines": [_line(x) for x in ob.lines],
        "phase_id": ob.phase_id, "service_line": ob.service_line,
    }


def _loss(x: ExpectedLoss) -> dict[str, Any]:
    return {"obligation_id": x.obligation_id, **{name: _money(getattr(x, name)) for name in _LOSS_AMOUNTS}}


_LOSS_AMOUNTS = ("estimated_total_cost", "allocated", "expected_loss", "cost_to_date", "revenue_to_date",
                 "remaining_cost", "remaining_revenue", "provision", "provision_before")


def _rate(r: FxRate) -> dict[str, str]:
    return {"from_currency": r.from_currency, "to_currency": r.to_currency, "rate": str(r.rate), "on": r.on.isoformat()}


def _balances(b: FunctionalBalances) -> dict[str, Any]:
    return {
        "currency": b.currency, "receivable": _money(b.receivable), "contract_asset": _money(b.contract_asset),
        "contract_liability": _money(b.contract_liability), "loss_provision": _money(b.loss_provision),
        "layers": [{"arose_on": x.arose_on.isoformat(), "amount": _money(x.amount), "functional": _money(x.functional),
                    "rate": str(x.rate)} for x in b.layers],
    }


def _functional(f: FunctionalPeriod) -> dict[str, Any]:
    return {
        "currency": f.currency, "closing_rate": _rate(f.closing_rate), "opening": _balances(f.opening),
        "closing": _balances(f.closing), "cash": _money(f.cash),
        "revenue": [{"obligation_id": ob_id, "amount": _money(m)} for ob_id, m in f.revenue],
        "released": _money(f.released), "loss_charge": _money(f.loss_charge),
        "exchange_difference": _money(f.exchange_difference), "rates": [_rate(r) for r in f.rates],
    }


def recognition_to_json(rec: Recognition) -> dict[str, Any]:
    """The recognition as JSON-safe data (strings, lists, dicts, None)."""
    return {
        "snapshot_version": SNAPSHOT_VERSION,
        "revenue_contract_id": rec.revenue_contract_id, "contract_id": rec.contract_id,
        "customer_id": rec.customer_id, "version": rec.version, "legal_entity": rec.legal_entity,
        "currency": rec.currency, "period": rec.period.label,
        "obligations": [_obligation(ob) for ob in rec.obligations],
        "applied_fact_ids": sorted(rec.applied_fact_ids),
        "billed_before": _money(rec.billed_before), "billed_in_period": _money(rec.billed_in_period),
        "collected_before": _money(rec.collected_before), "collected_in_period": _money(rec.collected_in_period),
        "notes": list(rec.notes), "expected_losses": [_loss(x) for x in rec.expected_losses],
        "functional": None if rec.functional is None else _functional(rec.functional),
    }


def _reader(data: object) -> JsonReader:
    """Snapshots are read leniently (a key this engine does not know is left alone): they are the engine's own."""
    return JsonReader(data, "", bad=_bad, strict=False)


def _bad(key: str, problem: str) -> RevenueError:
    return RevenueError(f"revenue snapshot key {key}: {problem}")


def _read_line(r: JsonReader) -> RevenueLine:
    kind = r.text("kind")
    if kind not in ("catch_up", "late", "progress"):
        raise _bad(r.key("kind"), f"{kind!r} is not catch_up, late or progress")
    return RevenueLine(kind, r.money("amount"), r.text("reason"))


def _read_obligation(r: JsonReader) -> ObligationRecognition:
    method = r.text("method")
    try:
        parsed = RecognitionMethod(method)
    except ValueError:
        raise _bad(r.key("method"), f"{method!r} is not a recognition method") from None
    return ObligationRecognition(
        obligation_id=r.text("obligation_id"), name=r.text("name"), method=parsed, allocated=r.opt_money("allocated"),
        estimate_total=r.opt_decimal("estimate_total"), progress=r.opt_fraction("progress"),
        progress_text=r.text("progress_text"), previously=r.money("previously"), cumulative=r.money("cumulative"),
        revenue=r.money("revenue"), lines=r.items("lines", _read_line), phase_id=r.opt_text("phase_id"),
        service_line=r.opt_text("service_line"))


def _read_loss(r: JsonReader) -> ExpectedLoss:
    return ExpectedLoss(r.text("obligation_id"), *(r.money(name) for name in _LOSS_AMOUNTS))


def _read_rate(r: JsonReader) -> FxRate:
    return FxRate(r.text("from_currency"), r.text("to_currency"), r.decimal("rate"), r.day("on"))


def _read_layer(r: JsonReader) -> AdvanceLayer:
    return AdvanceLayer(r.day("arose_on"), r.money("amount"), r.money("functional"), r.decimal("rate"))


def _read_balances(r: JsonReader) -> FunctionalBalances:
    return FunctionalBalances(r.text("currency"), r.money("receivable"), r.money("contract_asset"),
                              r.money("contract_liability"), r.money("loss_provision"),
                              tuple(r.items("layers", _read_layer)))


def _read_revenue(r: JsonReader) -> tuple[str, Money]:
    return r.text("obligation_id"), r.money("amount")


def _read_functional(r: JsonReader) -> FunctionalPeriod:
    return FunctionalPeriod(
        currency=r.text("currency"), closing_rate=_read_rate(r.obj("closing_rate")),
        opening=_read_balances(r.obj("opening")), closing=_read_balances(r.obj("closing")), cash=r.money("cash"),
        revenue=tuple(r.items("revenue", _read_revenue)), released=r.money("released"),
        loss_charge=r.money("loss_charge"), exchange_difference=r.money("exchange_difference"),
        rates=tuple(r.items("rates", _read_rate)))


def recognition_from_json(data: Mapping[str, Any]) -> Recognition:
    """The recognition a snapshot holds; refuses a malformed one naming the key."""
    r = _reader(data)
    version = r.integer("snapshot_version")
    if version != SNAPSHOT_VERSION:
        raise _bad("snapshot_version", f"{version} is not a snapshot version this engine reads ({SNAPSHOT_VERSION})")
    label = r.text("period")
    try:
        period = Period.parse(label)
    except ValueError as exc:
        raise _bad("period", str(exc)) from None
    functional = r.opt_obj("functional")
    return Recognition(
        revenue_contract_id=r.text("revenue_contract_id"), contract_id=r.text("contract_id"),
        customer_id=r.text("customer_id"), version=r.integer("version"), legal_entity=r.text("legal_entity"),
        currency=r.text("currency"), period=period, obligations=tuple(r.items("obligations", _read_obligation)),
        applied_fact_ids=frozenset(r.strings("applied_fact_ids")), billed_before=r.money("billed_before"),
        billed_in_period=r.money("billed_in_period"), collected_before=r.money("collected_before"),
        collected_in_period=r.money("collected_in_period"), notes=tuple(r.strings("notes")),
        expected_losses=tuple(r.items("expected_losses", _read_loss)),
        functional=None if functional is None else _read_functional(functional))
