"""Dated FX rates from the ERP (`reference.fx_source: erp`) on the fake systems: read, kept and audited like the
rates file's, read again only as changed, checked before the close and translated with by it.

The deal (fakes.deal): contract C-006A in USD from 2026-11-02, legal entity US01 keeping its books in EUR here;
Alice is a Consultant at 150/h.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from fakes import FakeWorld, fake_world

from q2c.config import ReferenceSettings
from q2c.domain.model import JournalEntry
from q2c.domain.revenue import FxRate, check_balanced
from q2c.domain.violations import Violation
from q2c.engine.replay import replay
from q2c.entrypoints.wiring import drain
from q2c.store import audit, records, reference
from q2c.store import exceptions as exception_store
from q2c.workflows import reference_data
from q2c.workflows.time_approved import poll_time

C, P = "C-006A", "P-006A"
NOV2, NOV27, NOV30 = date(2026, 11, 2), date(2026, 11, 27), date(2026, 11, 30)
SOURCE = "the ERP currency exchange rates"


def eur_books(tmp_path: Path, database: str | None = None, **config: Any) -> FakeWorld:
    """US01 keeps its books in EUR and reads its dated rates from the ERP; the hub's day is Nov 30."""
    w = fake_world(tmp_path, database, functional="EUR", **config)
    w.hub.config = w.hub.config.model_copy(update={"reference": ReferenceSettings(fx_source="erp")})
    w.hub.today = lambda: NOV30
    return w


def open_rules(w: FakeWorld) -> list[str]:
    with w.hub.engine.connect() as conn:
        return sorted(r.violation.rule for r in exception_store.search(conn))


def kept(w: FakeWorld) -> list[tuple[str, str, date, Decimal, str]]:
    with w.hub.engine.connect() as conn:
        return [(r.from_currency, r.to_currency, r.on, r.rate, r.source) for r in reference.fx_rates(conn)]


def fx_audit(w: FakeWorld) -> list[dict[str, Any]]:
    with w.hub.engine.connect() as conn:
        return [a for a in reversed(audit.history(conn, record_id="USD/EUR")) if a["action"] == "fx_rates"]


def test_the_erps_rates_are_kept_audited_once_and_read_again_only_as_changed(tmp_path: Path, db_url: str) -> None:
    """The ERP holds USD in EUR 0.8650 from Nov 2 and 0.8612 from Nov 27 (entered those days), and GBP in EUR, a
    pair no entity needs (not kept). The first read takes all; the next reads from Nov 29 (a day before the last
    read's day) and changes nothing; an accountant's correction of Nov 27 to 0.861237, made Nov 30, is one change,
    audited with the rate before."""
    w = eur_books(tmp_path, db_url)
    w.set_up()
    w.erp.rates = [(FxRate("USD", "EUR", Decimal("0.8650"), NOV2), NOV2),
                   (FxRate("USD", "EUR", Decimal("0.8612"), NOV27), NOV27),
                   (FxRate("GBP", "EUR", Decimal("1.1480"), NOV27), NOV27)]
    first = reference_data.sync_fx_rates(w.hub)
    assert (first.source, first.pairs, first.added, first.changed, first.days, first.error) == (
        SOURCE, ("USD->EUR",), 2, 0, 2, None)
    assert kept(w) == [("USD", "EUR", NOV2, Decimal("0.8650"), SOURCE),
                       ("USD", "EUR", NOV27, Decimal("0.8612"), SOURCE)]
    again = reference_data.sync_fx_rates(w.hub)
    assert (again.added, again.changed) == (0, 0) and w.erp.rate_reads == [None, date(2026, 11, 29)]
    (entry,) = fx_audit(w)
    assert entry["before"] is None and entry["after"] == {"source": SOURCE, "added": 2, "first": "2026-11-02",
                                                          "last": "2026-11-27", "changed": {}}

    w.erp.rates[1] = (FxRate("USD", "EUR", Decimal("0.861237"), NOV27), NOV30)
    corrected = reference_data.sync_fx_rates(w.hub)
    assert (corrected.added, corrected.changed) == (0, 1)
    assert kept(w)[1] == ("USD", "EUR", NOV27, Decimal("0.861237"), SOURCE)
    assert reference_data.sync_fx_rates(w.hub).changed == 0  # read again: the same rate, no second audit
    assert [(a["before"], a["after"]["changed"]) for a in fx_audit(w)][1:] == [
        ({"changed": {"2026-11-27": "0.8612"}}, {"2026-11-27": "0.861237"})]
    assert reference_data.check_fx_rates(w.hub) == [] and open_rules(w) == []


def test_the_close_translates_at_the_erps_rate_and_the_configs_wins_on_its_day(tmp_path: Path) -> None:
    """Alice 8 h x 150 = USD 1,200.00, invoiced and recognised at the Nov 30 close. The ERP's USD->EUR rate in force
    on Nov 30 is its Nov 27 rate 0.861237: 1,200.00 x 0.861237 = 1,033.4844, EUR 1,033.48 revenue. The config's
    fx_rates entry for Nov 27 (0.8700) wins over the ERP's on that pair and day: EUR 1,044.00."""
    w = eur_books(tmp_path)
    w.set_up()
    w.erp.rates = [(FxRate("USD", "EUR", Decimal("0.861237"), NOV27), NOV27)]
    w.tracker.approve(w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8"))
    poll_time(w.hub)
    drain(w.hub)
    reference_data.sync_fx_rates(w.hub)
    assert reference_data.check_fx_rates(w.hub) == []
    with w.hub.engine.connect() as conn:
        table = reference_data.fx_table(w.hub, conn)
    assert table.rate("USD", "EUR", NOV30).rate == Decimal("0.861237")
    w.close(NOV30)
    assert open_rules(w) == []
    eur = journal(w, f"JE-REV-{C}-2026-11-EUR")
    check_balanced(eur)
    assert revenue(eur) == Decimal("-1033.48")

    (tmp_path / "config").mkdir()
    config = eur_books(tmp_path / "config", fx_rates=[{"from": "USD", "to": "EUR", "rate": "0.8700",
                                                        "on": "2026-11-27"}])
    config.set_up()
    config.erp.rates = list(w.erp.rates)
    assert reference_data.sync_fx_rates(config.hub).added == 1
    with config.hub.engine.connect() as conn:
        assert reference_data.fx_table(config.hub, conn).rate("USD", "EUR", NOV30).rate == Decimal("0.8700")


def journal(w: FakeWorld, entry_id: str) -> JournalEntry:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="journal_entry", canonical_id=entry_id)
    assert rec is not None, entry_id
    return JournalEntry.model_validate(rec.payload)


def revenue(entry: JournalEntry) -> Decimal:
    return sum((line.debit.amount - line.credit.amount for line in entry.lines
                if line.account == "4000 Services Revenue"), Decimal(0))


def test_a_date_the_erp_has_no_rate_for_is_held_before_the_close(tmp_path: Path, db_url: str) -> None:
    """The ERP's first USD->EUR rate is of Dec 1: the close of November (Nov 30) has none. The exception names the
    contract, pair and date, and says to enter the rate in the ERP; once it holds a Nov 27 rate, replaying the
    exception reads it and closes it."""
    w = eur_books(tmp_path, db_url)
    w.set_up()
    w.erp.rates = [(FxRate("USD", "EUR", Decimal("0.8590"), date(2026, 12, 1)), NOV30)]
    reference_data.sync_fx_rates(w.hub)
    (gap,) = reference_data.check_fx_rates(w.hub)
    assert (gap.rule, gap.record_id) == (reference_data.FX_RATE_MISSING, C)
    assert "no USD->EUR rate is in force on 2026-11-30" in gap.message
    assert "the earliest USD->EUR rate the hub has is of 2026-12-01" in gap.message
    assert "in the ERP's currency exchange rates (base currency EUR, currency USD)" in gap.action
    w.erp.rates.append((FxRate("USD", "EUR", Decimal("0.861237"), NOV27), NOV30))
    with w.hub.engine.connect() as conn:
        (held,) = exception_store.search(conn)
    replay(w.hub.engine, [held], actor="controller")
    drain(w.hub)
    assert open_rules(w) == []


def test_a_rate_the_erp_cannot_give_as_read_is_held_naming_it(tmp_path: Path, db_url: str) -> None:
    """A rate that cannot be read refuses the read: an open exception naming the ERP's record; the rates kept stay,
    and the next good read closes it."""
    w = eur_books(tmp_path, db_url)
    w.set_up()
    w.erp.rates = [(FxRate("USD", "EUR", Decimal("0.8650"), NOV2), NOV2)]
    reference_data.sync_fx_rates(w.hub)
    w.erp.unreadable_rate = Violation(
        system="erp", object="currencyrate", record_id="501", field="exchangerate",
        rule="erp.currency_rate_unreadable", message="currency rate 501: exchangerate '1,0852' is not a number",
        action="Correct currency rate 501 in the ERP")
    failed = reference_data.sync_fx_rates(w.hub)
    assert failed.error is not None and "currencyrate 501 field exchangerate" in failed.error
    with w.hub.engine.connect() as conn:
        (held,) = exception_store.search(conn)
    assert (held.violation.object, held.violation.record_id, held.violation.field) == (
        "currencyrate", "501", "exchangerate")
    assert len(kept(w)) == 1
    w.erp.unreadable_rate = None
    assert reference_data.sync_fx_rates(w.hub).error is None
    assert open_rules(w) == []


class OlderErp:
    """An ERP adapter from a connector written before the port had currency rates."""

    def __init__(self, erp: Any) -> None:
        self._erp = erp
        self.names = erp.names

    def __getattr__(self, name: str) -> Any:
        if name == "currency_rates":
            raise AttributeError(name)
        return getattr(self._erp, name)


def test_erp_rates_from_a_connector_that_offers_none_are_refused_naming_the_key(tmp_path: Path) -> None:
    w = eur_books(tmp_path)
    w.set_up()
    w.hub.erp = cast(Any, OlderErp(w.erp))
    assert not reference_data.erp_offers_rates(w.hub.erp) and reference_data.erp_offers_rates(w.erp)
    refused = reference_data.sync_fx_rates(w.hub)
    assert refused.error is not None and "reference.fx_source is erp" in refused.error
    with w.hub.engine.connect() as conn:
        (held,) = exception_store.search(conn)
    assert (held.violation.rule, held.violation.field) == (reference_data.FX_SOURCE_UNAVAILABLE, "reference.fx_source")
    assert "Set reference.fx_source to file" in held.violation.action
