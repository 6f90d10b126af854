"""Reference data on the fake systems: rate cards in force on the work date, re-pricing unbilled time after a
rate change, the FX rates file and the FX check.

The deal (fakes.deal): T&M phase C-006A-1 (tasks DESIGN, BUILD, INTERNAL), cap USD 12,000; Alice is a
Consultant (150/h, cost 70 on card RC-USD from 2026-01-01), Bob an Architect (200/h, cost 95).
"""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import FakeWorld, fake_world, usd

from q2c.config import RateCardSetting
from q2c.engine.replay import replay
from q2c.entrypoints.wiring import drain
from q2c.store import audit, records, reference, time_entries
from q2c.store import exceptions as exception_store
from q2c.workflows import reference_data
from q2c.workflows.billing_run import enqueue_billing
from q2c.workflows.cash_receipts import record_cash
from q2c.workflows.integrity import all_violations

C, P, PHASE = "C-006A", "P-006A", "C-006A-1"
ALICE, BOB = "alice@example.com", "bob@example.com"


def card(*extra: dict[str, str], card_id: str = "RC-USD") -> RateCardSetting:
    return RateCardSetting.model_validate({"id": card_id, "currency": "USD", "lines": [
        {"role": "Consultant", "rate": "150.00", "cost_rate": "70.00", "effective_from": "2026-01-01"},
        {"role": "Architect", "rate": "200.00", "cost_rate": "95.00", "effective_from": "2026-01-01"}, *extra]})


RAISE = {"role": "Consultant", "rate": "165.00", "cost_rate": "75.00", "effective_from": "2026-11-16"}


def set_cards(w: FakeWorld, *cards: RateCardSetting) -> None:
    """The integration engineer edits `rate_cards` in the config (and q2c is restarted with it)."""
    w.hub.config = w.hub.config.model_copy(update={"rate_cards": cards})


def logged(w: FakeWorld, who: str, task: str, day: date, hours: str) -> str:
    entry = w.tracker.log(P, task, who, day, hours)
    w.tracker.approve(entry)
    return entry


def bill(w: FakeWorld, on: date) -> None:
    enqueue_billing(w.hub, invoice_date=on)
    drain(w.hub)


def rated(w: FakeWorld, entry_id: str) -> dict[str, str]:
    with w.hub.engine.connect() as conn:
        rec = records.get_record(conn, entity=time_entries.ENTITY, canonical_id=entry_id)
    assert rec is not None
    return {k: rec.payload["rated"][k]["amount"] if isinstance(rec.payload["rated"][k], dict)
            else rec.payload["rated"][k] for k in ("rate", "amount", "cost", "rate_effective_from")} | \
        {"state": rec.state}


def open_rules(w: FakeWorld) -> list[str]:
    with w.hub.engine.connect() as conn:
        return sorted(r.violation.rule for r in exception_store.search(conn))


def test_live_contracts_are_rated_with_the_card_in_force_on_the_work_date(tmp_path: Path) -> None:
    """The contract was set up with Consultant 150. The config then adds Consultant 165 from 2026-11-16:
    Alice's Nov 13 (8 h) is 8 x 150 = 1,200.00 (cost 8 x 70 = 560.00), her Nov 16 (8 h) 8 x 165 = 1,320.00
    (cost 8 x 75 = 600.00): the card in force on each work date, while the contract keeps the card as agreed."""
    w = fake_world(tmp_path)
    w.set_up()
    set_cards(w, card(RAISE))
    before = logged(w, ALICE, "BUILD", date(2026, 11, 13), "8")
    after = logged(w, ALICE, "BUILD", date(2026, 11, 16), "8")
    w.sync()
    assert rated(w, before) == {"rate": "150.00", "amount": "1200.00", "cost": "560.00",
                                "rate_effective_from": "2026-01-01", "state": "synced"}
    assert rated(w, after) == {"rate": "165.00", "amount": "1320.00", "cost": "600.00",
                               "rate_effective_from": "2026-11-16", "state": "synced"}
    assert w.erp.kind("timebill")[after].rated.rate == usd("165.00")
    with w.hub.engine.connect() as conn:
        contract = records.get_record(conn, entity="contract", canonical_id=C)
        assert contract is not None and len(contract.payload["rate_card"]["lines"]) == 2  # as agreed at setup
        assert reference.rate_card(conn, "RC-USD") == w.hub.config.rate_card("RC-USD")  # the hub's copy
        assert all_violations(conn) == []  # unbilled time carries the rate in force
    assert open_rules(w) == []


def test_a_card_the_config_no_longer_has_holds_the_time_naming_contract_and_card(tmp_path: Path) -> None:
    """The card is renamed RC-USD-2027 in the config: Alice's entry cannot be rated, an exception names contract
    C-006A and card RC-USD and nothing is posted. With RC-USD back, replaying it posts 8 x 150 = 1,200.00."""
    w = fake_world(tmp_path)
    w.set_up()
    set_cards(w, card(card_id="RC-USD-2027"))
    entry = logged(w, ALICE, "BUILD", date(2026, 11, 13), "8")
    w.sync()
    with w.hub.engine.connect() as conn:
        (held,) = exception_store.search(conn)
    v = held.violation
    assert (v.rule, v.object, v.record_id, v.field) == ("reference.rate_card_missing", "contract", C, "rate_card")
    assert "rate card RC-USD, which the config no longer has" in v.message and "1 time entry waits" in v.message
    assert [s.record_id for s in held.open_subjects] == [entry]
    assert "timebill" not in w.erp.records
    with w.hub.engine.connect() as conn:
        assert all_violations(conn) == []  # held by an open exception: nothing is lost
    set_cards(w, card(card_id="RC-USD-2027"), card())
    replay(w.hub.engine, [held], actor="controller")
    drain(w.hub)
    assert rated(w, entry)["amount"] == "1200.00" and open_rules(w) == []


def test_a_rate_change_reprices_only_unbilled_time_from_its_date(tmp_path: Path, db_url: str) -> None:
    """Alice BUILD Nov 10 8 h, Nov 17 8 h, Nov 18 4 h; Bob DESIGN Nov 18 2 h; all rated at 150 and 200.
    Billing run Nov 17: Alice's Nov 10 and Nov 17, 2 x 8 x 150 = 2,400.00.
    Consultant 165 from Nov 16 enters the config; Alice's Nov 24 2 h is then rated 2 x 165 = 330.00.
    A billing run now is refused: Alice's Nov 18 still carries 150 where 165 is in force.
    Preview: Alice Nov 18, 4 h, 150 -> 165, 600.00 -> 660.00, +60.00; Alice Nov 17 is billed (it would be
    1,320.00): unchanged; Bob's Nov 18 (Architect) and Alice's Nov 24 are at the rate in force already.
    Apply: the ERP timebill carries 165, the entry 660.00 (cost 4 x 75 = 300.00), audited 600.00 -> 660.00.
    Applying again changes nothing. Billing run Nov 30: 660.00 + 400.00 + 330.00 = 1,390.00."""
    w = fake_world(tmp_path, db_url)
    w.set_up()
    e = [logged(w, ALICE, "BUILD", date(2026, 11, 10), "8"), logged(w, ALICE, "BUILD", date(2026, 11, 17), "8"),
         logged(w, ALICE, "BUILD", date(2026, 11, 18), "4"), logged(w, BOB, "DESIGN", date(2026, 11, 18), "2")]
    w.sync()
    bill(w, date(2026, 11, 17))
    first = f"INV-{PHASE}-20261117"
    assert w.erp.kind("invoice")[first].total == usd("2400.00")

    set_cards(w, card(RAISE))
    late = logged(w, ALICE, "BUILD", date(2026, 11, 24), "2")
    w.sync()
    assert rated(w, late)["amount"] == "330.00"
    bill(w, date(2026, 11, 30))
    assert f"INV-{PHASE}-20261130" not in w.erp.kind("invoice")
    with w.hub.engine.connect() as conn:
        (refused,) = exception_store.search(conn, rule="integrity.rate_mismatch")
    assert e[2] in refused.violation.message and "the rate in force on 2026-11-18 is USD 165.00" in \
        refused.violation.message

    preview = reference_data.preview_reprice(w.hub)
    assert not preview.applied and preview.projects_checked == 1
    (p,) = preview.projects
    assert (p.status, p.project_id, p.rate_card_id, p.unchanged) == ("to_reprice", P, "RC-USD", 2)
    assert [(x.entry_id, x.hours, x.old_rate, x.new_rate, x.old_amount, x.new_amount, x.difference, x.rate_from)
            for x in p.entries] == [(e[2], Decimal(4), usd("150.00"), usd("165.00"), usd("600.00"), usd("660.00"),
                                     usd("60.00"), date(2026, 11, 16))]
    (kept,) = p.billed
    assert (kept.entry_id, kept.old_amount, kept.new_amount, kept.invoice_id) == (e[1], usd("1200.00"),
                                                                                   usd("1320.00"), first)
    assert "unchanged (billed time changes only through a credit note" in kept.note
    assert (p.hours, p.old_total, p.new_total, p.difference) == (Decimal(4), usd("600.00"), usd("660.00"),
                                                                 usd("60.00"))
    assert preview.totals == (usd("60.00"),)
    assert rated(w, e[2])["amount"] == "600.00"  # a preview changes nothing

    queued = reference_data.enqueue_reprice(w.hub, preview)
    assert len(queued) == 1
    drain(w.hub)
    outcome = reference_data.reprice_outcome(preview, reference_data.preview_reprice(w.hub))
    assert [x.status for x in outcome.projects] == ["applied"] and not outcome.open_problems
    assert rated(w, e[2]) == {"rate": "165.00", "amount": "660.00", "cost": "300.00",
                              "rate_effective_from": "2026-11-16", "state": "synced"}
    assert w.erp.kind("timebill")[e[2]].rated.amount == usd("660.00")
    assert rated(w, e[1])["amount"] == "1200.00" and rated(w, e[1])["state"] == "billed"
    with w.hub.engine.connect() as conn:
        (trail,) = [a for a in audit.history(conn, record_id=P) if a["action"] == "reprice"]
    assert trail["before"]["total"] == "600.00" and trail["after"]["total"] == "660.00"
    assert trail["after"]["difference"] == "60.00" and trail["after"]["billed_untouched"] == [e[0], e[1]]
    assert [x["id"] for x in trail["after"]["entries"]] == [e[2]]

    again = reference_data.preview_reprice(w.hub)  # the billed entry is still shown, nothing is to re-price
    assert [(x.status, x.entries, [b.entry_id for b in x.billed]) for x in again.projects] == [
        ("nothing_to_reprice", (), [e[1]])]
    assert reference_data.enqueue_reprice(w.hub, again) == []

    bill(w, date(2026, 11, 30))
    assert w.erp.kind("invoice")[f"INV-{PHASE}-20261130"].total == usd("1390.00")
    assert w.erp.kind("invoice")[first].total == usd("2400.00")
    assert open_rules(w) == []
    with w.hub.engine.connect() as conn:
        assert all_violations(conn) == []


def test_repricing_refused_for_a_missing_card_and_held_when_the_erp_refuses(tmp_path: Path, db_url: str) -> None:
    """Alice BUILD Nov 18 4 h at 150 (600.00). The card is dropped from the config: the preview says the
    project is refused and applying it raises an exception naming contract and card. With the card back and
    165 from Nov 16, the ERP refuses Alice's timebill (no employee): the entry keeps 600.00 and an exception
    holds it; once she is an employee, replaying re-prices it to 4 x 165 = 660.00."""
    w = fake_world(tmp_path, db_url)
    w.set_up()
    entry = logged(w, ALICE, "BUILD", date(2026, 11, 18), "4")
    w.sync()
    set_cards(w, card(card_id="RC-OTHER"))
    preview = reference_data.preview_reprice(w.hub)
    (p,) = preview.projects
    assert p.status == "refused" and p.problem is not None and p.problem.rule == "reference.rate_card_missing"
    reference_data.enqueue_reprice(w.hub, preview)
    drain(w.hub)
    with w.hub.engine.connect() as conn:
        (missing,) = exception_store.search(conn, rule="reference.rate_card_missing")
    assert (missing.violation.record_id, missing.work_kind, missing.aggregate) == (C, "reference.reprice",
                                                                                   f"contract:{C}")
    assert "rate card RC-USD" in missing.violation.message

    set_cards(w, card(RAISE))
    w.erp.employees.discard(ALICE)
    before = reference_data.preview_reprice(w.hub)
    reference_data.enqueue_reprice(w.hub, before)
    drain(w.hub)
    outcome = reference_data.reprice_outcome(before, reference_data.preview_reprice(w.hub))
    assert [(x.status, x.left) for x in outcome.projects] == [("not_applied", (entry,))] and outcome.open_problems
    assert rated(w, entry)["amount"] == "600.00"
    with w.hub.engine.connect() as conn:
        (refused,) = exception_store.search(conn, rule="time.employee_missing")
        assert exception_store.search(conn, rule="reference.rate_card_missing") == []  # the card is back
    assert [s.record_id for s in refused.open_subjects] == [entry]

    w.erp.employees.add(ALICE)
    replay(w.hub.engine, [refused], actor="controller")
    drain(w.hub)
    assert rated(w, entry)["amount"] == "660.00" and open_rules(w) == []


def test_rate_card_changes_reach_the_hub_once_and_are_audited(tmp_path: Path, db_url: str) -> None:
    """Publishing the config's cards twice records one change; a card dropped from the config is retired."""
    w = fake_world(tmp_path, db_url)
    assert [c.card_id for c in reference_data.publish_rate_cards(w.hub)] == ["RC-USD"]
    assert reference_data.publish_rate_cards(w.hub) == []
    set_cards(w, card(RAISE), card(card_id="RC-NEW"))
    changes = reference_data.publish_rate_cards(w.hub)
    assert [(c.card_id, c.before is not None, c.state) for c in changes] == [("RC-USD", True, "in_force"),
                                                                           ("RC-NEW", False, "in_force")]
    set_cards(w, card(RAISE))
    (retired,) = reference_data.publish_rate_cards(w.hub)
    assert (retired.card_id, retired.after, retired.state) == ("RC-NEW", None, "retired")
    with w.hub.engine.connect() as conn:
        trail = [a for a in audit.history(conn, record_id="RC-USD")]
        assert reference.rate_cards(conn)["RC-NEW"].state == "retired"
    assert [len(a["after"]["lines"]) for a in sorted(trail, key=lambda a: a["seq"])] == [2, 3]


# --- FX rates ---------------------------------------------------------------------------------------------

HIST_CSV = ("Date,USD,JPY,BGN,CYP,GBP,\n"
            "2026-11-24,1.1250,176.80,1.9558,N/A,0.85300,\n"
            "2026-11-20,1.1298,178.49,1.9558,N/A,0.85373,\n")
DAILY_CSV = "Date, USD, JPY, GBP, \n26 November 2026, 1.1200, 176.10, 0.85120, \n"
DAILY_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
    xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube>
    <Cube time='2026-11-27'>
      <Cube currency='USD' rate='1.1150'/>
      <Cube currency='GBP' rate='0.84960'/>
    </Cube>
  </Cube>
</gesmes:Envelope>
"""


def test_reference_rates_files_as_published() -> None:
    """The history CSV (ISO dates, N/A, trailing commas), the daily CSV (`26 November 2026`, spaces) and the
    XML read alike. Crossed through EUR: 1 USD = 0.85373 / 1.1298 GBP = 0.7556470172 (10 significant digits:
    1.1298 x 0.7556 = 0.85367688, and 0.00005312 / 1.1298 = 0.0000470172); 1 GBP = 1 / 0.85373 EUR =
    1.171330514; EUR into GBP is the published 0.85373."""
    hist = reference_data.parse_eurofxref_csv(HIST_CSV, source="eurofxref-hist.csv")
    assert sorted(hist.days) == [date(2026, 11, 20), date(2026, 11, 24)]
    nov20 = hist.days[date(2026, 11, 20)]
    assert nov20 == {"USD": Decimal("1.1298"), "JPY": Decimal("178.49"), "BGN": Decimal("1.9558"),
                     "GBP": Decimal("0.85373")}
    assert reference_data.cross_rate(nov20, "USD", "GBP") == Decimal("0.7556470172")
    assert reference_data.cross_rate(nov20, "GBP", "EUR") == Decimal("1.171330514")
    assert reference_data.cross_rate(nov20, "EUR", "GBP") == Decimal("0.85373")
    assert reference_data.cross_rate(nov20, "CYP", "GBP") is None
    daily = reference_data.parse_eurofxref_csv(DAILY_CSV, source="eurofxref.csv")
    assert daily.days == {date(2026, 11, 26): {"USD": Decimal("1.1200"), "JPY": Decimal("176.10"),
                                               "GBP": Decimal("0.85120")}}
    xml = reference_data.parse_eurofxref_xml(DAILY_XML, source="eurofxref-daily.xml")
    assert xml.days == {date(2026, 11, 27): {"USD": Decimal("1.1150"), "GBP": Decimal("0.84960")}}


@pytest.mark.parametrize(("text", "message"), [
    ("Day,USD,\n2026-11-20,1.1,\n", "eurofxref.csv line 1: expected the header"),
    ("Date,USD,GBP,\n2026-11-20,1.1\n", "eurofxref.csv line 2: 2 cells, the header has 3"),
    ("Date,USD,\n20/11/2026,1.1,\n", "eurofxref.csv line 2: '20/11/2026' is not a date"),
    ("Date,USD,\n2026-11-20,1,1,\n", "eurofxref.csv line 2: 3 cells, the header has 2"),
    ("Date,USD,\n2026-11-20,-1.1,\n", "eurofxref.csv line 2 USD: '-1.1' is not a positive rate"),
    ("Date,USD,\n2026-11-20,abc,\n", "eurofxref.csv line 2 USD: 'abc' is not a rate"),
    ("Date,USD,\n2026-11-20,1.1,\n2026-11-20,1.2,\n", "eurofxref.csv line 3: 2026-11-20 appears twice"),
])
def test_a_bad_rates_file_is_named_with_its_line(text: str, message: str) -> None:
    with pytest.raises(reference_data.RatesFileError, match=message.replace("(", r"\(")):
        reference_data.parse_eurofxref_csv(text, source="eurofxref.csv")
    with pytest.raises(reference_data.RatesFileError, match=r"x.xml line 3: not well-formed XML"):
        reference_data.parse_eurofxref_xml(b"<a>\n<b>\n</a>", source="x.xml")


def test_the_zip_as_downloaded_is_read(tmp_path: Path) -> None:
    path = tmp_path / "eurofxref-hist.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("eurofxref-hist.csv", HIST_CSV)
    assert len(reference_data.read_eurofxref(path).days) == 2
    with pytest.raises(reference_data.RatesFileError, match="cannot be read"):
        reference_data.read_eurofxref(tmp_path / "missing.csv")


def gbp_books(tmp_path: Path, rates_file: Path | None, database: str | None = None) -> FakeWorld:
    """The deal in USD, booked by US01 in GBP (its functional currency), rates read from `rates_file`."""
    w = fake_world(tmp_path, database, functional="GBP")
    w.hub.config = w.hub.config.model_copy(update={"reference": w.hub.config.reference.model_copy(
        update={"fx_rates_file": rates_file})})
    return w


def test_a_missing_fx_rate_is_an_open_exception_before_the_close(tmp_path: Path, db_url: str) -> None:
    """USD contract C-006A, books in GBP. The file has USD->GBP from 2026-11-20 (0.85373 / 1.1298 =
    0.7556470172) and 2026-11-24 (0.85300 / 1.1250 = 0.7582222222). Dates the close needs: 2026-11-30 (end of
    the first period: the Nov 24 rate), and the cash received 2026-11-10 (no rate on or before it): one open
    exception names C-006A, USD->GBP and 2026-11-10. With a 2026-11-02 rate in the file, replaying it closes it."""
    rates = tmp_path / "eurofxref-hist.csv"
    rates.write_text(HIST_CSV)
    w = gbp_books(tmp_path, rates, db_url)
    w.set_up()
    record_cash(w.hub, contract_id=C, receipt_id="WIRE-1", amount=usd("5000.00"), received_on=date(2026, 11, 10),
                reference="advance", actor="controller")
    result = reference_data.refresh_reference_data(w.hub)
    assert (result.fx.pairs, result.fx.added, result.fx.changed, result.fx.days) == (("USD->GBP",), 2, 0, 2)
    (gap,) = result.fx_missing
    assert (gap.rule, gap.object, gap.record_id) == ("reference.fx_rate_missing", "contract", C)
    assert "no USD->GBP rate is in force on 2026-11-10 (cash receipt WIRE-1 received 2026-11-10)" in gap.message
    assert "the earliest USD->GBP rate the hub has is of 2026-11-20" in gap.message
    with w.hub.engine.connect() as conn:
        assert [(r.on, r.rate) for r in reference.fx_rates(conn)] == [
            (date(2026, 11, 20), Decimal("0.7556470172")), (date(2026, 11, 24), Decimal("0.7582222222"))]
        (held,) = exception_store.search(conn)
    assert reference_data.refresh_reference_data(w.hub).fx.added == 0  # read again: nothing new
    with w.hub.engine.connect() as conn:
        assert exception_store.get(conn, held.id).occurrences == 2  # type: ignore[union-attr]

    rates.write_text(HIST_CSV + "2026-11-02,1.1600,170.00,1.9558,N/A,0.87000,\n")
    replay(w.hub.engine, [held], actor="controller")
    drain(w.hub)
    assert open_rules(w) == []
    with w.hub.engine.connect() as conn:
        assert reference.fx_rates(conn)[0].rate == Decimal("0.75")  # 0.87 / 1.16


def test_config_rates_cover_what_the_file_misses_and_an_unreadable_file_is_held(tmp_path: Path) -> None:
    """A config fx_rates entry USD->GBP 0.7600 on 2026-11-01 covers Nov 10; the first read of a broken file is an
    open exception naming the file and line, closed by the next good read (the rates kept stay)."""
    rates = tmp_path / "eurofxref-hist.csv"
    rates.write_text("Date,USD,GBP,\n2026-11-20,1.1298\n")
    w = fake_world(tmp_path, functional="GBP", fx_rates=[{"from": "USD", "to": "GBP", "rate": "0.7600",
                                                         "on": "2026-11-01"}])
    w.hub.config = w.hub.config.model_copy(update={"reference": w.hub.config.reference.model_copy(
        update={"fx_rates_file": rates})})
    w.set_up()
    result = reference_data.refresh_reference_data(w.hub)
    assert result.fx.error is not None and "line 2: 2 cells, the header has 3" in result.fx.error
    assert result.fx_missing == () and result.needs_attention
    with w.hub.engine.connect() as conn:
        (broken,) = exception_store.search(conn)
    assert (broken.violation.rule, broken.violation.record_id) == ("reference.fx_file_unreadable",
                                                                  "eurofxref-hist.csv")
    rates.write_text(HIST_CSV)
    assert not reference_data.refresh_reference_data(w.hub).needs_attention
    assert open_rules(w) == []
    view = reference_data.reference_view(w.hub, fx_limit=2)
    (pair,) = view.fx_pairs
    assert (pair.from_currency, pair.to_currency, pair.count, pair.first, pair.last) == (
        "USD", "GBP", 3, date(2026, 11, 1), date(2026, 11, 24))
    assert [(r.on, r.source) for r in pair.rates] == [(date(2026, 11, 24), "eurofxref-hist.csv"),
                                                      (date(2026, 11, 20), "eurofxref-hist.csv")]
    assert [(c.id, c.contracts, c.in_hub) for c in view.rate_cards] == [("RC-USD", 1, "current")]
    assert [r.role for r in view.resources] == ["Consultant", "Architect"]
