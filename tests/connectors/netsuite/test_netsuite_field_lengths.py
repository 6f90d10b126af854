"""Text that does not fit a NetSuite field: refused by NetSuite, so q2c fits it first, and says so.

NetSuite counts bytes and refuses (it never cuts). Time entry notes are shortened to the timebill
memo with a warning on the entry; journal memos, q2c's own summary, are fitted by dropping trailing
detail; a customer's or project's name that is too long is refused, naming the record and field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from netsuite_fixtures import ClientFactory, seed_project
from netsuite_records import contract, customer, journal_entry, project, timebill

from q2c.connectors.netsuite import limits
from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.erp import NetSuiteErp
from q2c.engine.errors import RecordRejected
from q2c.sandboxes.netsuite.app import NetSuiteSandbox

NOTES = "Workshop with the client's finance team. " * 25_000  # a little over 1 MB


# --- fitting text -------------------------------------------------------------------------------


@given(st.text(max_size=400), st.integers(min_value=3, max_value=300))
def test_cut_text_fits_and_is_the_start_of_the_original(text: str, limit: int) -> None:
    kept = limits.cut(text, limit)
    assert limits.size(kept) <= limit
    if limits.fits(text, limit):
        assert kept == text
    else:
        assert kept.endswith(limits.ELLIPSIS) and text.startswith(kept[:-1])


def test_cut_never_splits_a_character() -> None:
    text = "\u00e9" * 3000  # 2 bytes each: 6,000 bytes
    kept = limits.cut(text, 4000)
    assert limits.size(kept) <= 4000 and kept[:-1] == "\u00e9" * 1998


def test_a_composed_summary_keeps_each_part_s_headline_first() -> None:
    catch_ups = "; ".join(f"catch-up PO-{n} 12.34" for n in range(200))
    memo = (f"Revenue C-1 2026-11: recognised 100.00 USD, billed 0.00 USD; {catch_ups}; 3 late fact(s)"
            " | translated to EUR at 0.9 (USD->EUR of 2026-11-30); rounding 0.01 EUR to 7990 FX Rounding")
    fitted = limits.fit_summary(memo, 999)
    assert limits.size(fitted) <= 999 < limits.size(memo)
    assert fitted.startswith("Revenue C-1 2026-11: recognised 100.00 USD, billed 0.00 USD; catch-up PO-0 12.34")
    assert " | translated to EUR at 0.9 (USD->EUR of 2026-11-30)" in fitted
    dropped = int(fitted.rsplit(f"{limits.ELLIPSIS} ", 1)[1].split()[0])
    assert fitted.endswith(f"{dropped} more in q2c") and dropped > 100
    short = "Revenue C-1 2026-11: recognised 1.00 USD"
    assert limits.fit_summary(short, 999) == short


# --- NetSuite refuses what does not fit -------------------------------------------------------------


def _time_body(ids: dict[str, Any], memo: str) -> dict[str, Any]:
    return {"employee": {"id": ids["employees"][0]}, "customer": {"id": ids["job"]}, "hours": Decimal("1"),
            "tranDate": "2026-11-02", "memo": memo}


@pytest.mark.parametrize("memo", ["x" * 4001, "\u00e9" * 2001], ids=["ascii", "two-byte letters"])
def test_the_account_refuses_a_memo_longer_than_its_field(client: NetSuiteClient, sandbox: NetSuiteSandbox,
                                                          memo: str) -> None:
    ids = seed_project(sandbox)
    with pytest.raises(RecordRejected) as refused:
        client.upsert("timebill", "TE-1", _time_body(ids, memo))
    violation = refused.value.violation
    assert (violation.rule, violation.field) == ("netsuite.USER_ERROR", "memo")
    assert "maximum number ( 4000 )" in violation.message
    assert sandbox.state.count("timebill") == 0
    assert client.upsert("timebill", "TE-1", _time_body(ids, "\u00e9" * 2000))  # 4,000 bytes fit


def test_the_restlet_refuses_it_too(make_client: ClientFactory, sandbox: NetSuiteSandbox) -> None:
    ids = seed_project(sandbox)
    client = make_client(bulk_threshold=1)
    (result,) = client.bulk_upsert("timebill", [{"externalId": "TE-1", **_time_body(ids, "x" * 4001)}])
    assert result.status == "error" and result.error is not None
    assert result.error.field == "memo" and "4000" in result.error.message


def test_journal_memos_over_the_transaction_memo_are_refused(client: NetSuiteClient,
                                                             sandbox: NetSuiteSandbox) -> None:
    ids = sandbox.state.reference_ids()
    lines = {"items": [{"account": {"id": ids["account"]["1200"]}, "debit": Decimal("1")},
                       {"account": {"id": ids["account"]["4000"]}, "credit": Decimal("1")}]}
    body = {"subsidiary": {"id": ids["subsidiary"]["US01 Consulting Inc."]}, "tranDate": "2026-11-30",
            "memo": "m" * 1000, "line": lines}
    with pytest.raises(RecordRejected) as refused:
        client.upsert("journalentry", "JE-1", body)
    assert refused.value.violation.field == "memo" and "( 999 )" in refused.value.violation.message


# --- q2c fits its own text, and says so when it shortened someone's ------------------------------------


@pytest.fixture
def erp(make_client: ClientFactory, sandbox: NetSuiteSandbox, request: pytest.FixtureRequest) -> NetSuiteErp:
    seed_project(sandbox, customer="CUST-SEED", project="PRJ-SEED")
    adapter = NetSuiteErp(make_client(bulk_threshold=getattr(request, "param", 50)))
    adapter.upsert_customer(customer("1"))
    adapter.upsert_project(project("1"), contract("1"))
    return adapter


@pytest.mark.parametrize("erp", [50, 1], ids=["one-by-one", "bulk"], indirect=True)
def test_long_notes_are_shortened_with_a_warning_on_the_entry(erp: NetSuiteErp, sandbox: NetSuiteSandbox) -> None:
    results = {r.canonical_id: r for r in erp.upsert_timebills([timebill("HV-123", notes=NOTES),
                                                                timebill("HV-124", notes="Short note")])}
    long, short = results["HV-123"], results["HV-124"]
    assert long.violation is None and short.violation is None and short.warnings == ()
    (warning,) = long.warnings
    assert (warning.system, warning.object, warning.record_id, warning.field, warning.rule) == (
        "netsuite", "timebill", "HV-123", "memo", "field.truncated")
    assert f"the first 3,997 of {len(NOTES):,} characters were sent" in warning.message  # + a 3-byte ellipsis
    assert warning.action.startswith("Nothing to do unless the full text matters in NetSuite")
    stored = sandbox.state.by_external_id("timebill", "HV-123")
    assert stored is not None and stored.id == long.external_id
    memo = stored.values["memo"]
    assert limits.size(memo) <= 4000 and memo.endswith(limits.ELLIPSIS) and NOTES.startswith(memo[:-1])
    assert len(memo) == 3998


def test_a_customer_name_longer_than_netsuite_holds_is_refused_naming_it(erp: NetSuiteErp,
                                                                         sandbox: NetSuiteSandbox) -> None:
    before = sandbox.stats.requests
    with pytest.raises(RecordRejected) as refused:
        erp.upsert_customer(customer("2", name="A" * 84))
    violation = refused.value.violation
    assert (violation.object, violation.record_id, violation.field, violation.rule) == (
        "customer", "SF-0012", "name", "netsuite.mapping.field_too_long")
    assert "84 characters" in violation.message and "83" in violation.message
    assert "Shorten name of customer SF-0012 to at most 83 characters" in violation.action
    assert sandbox.stats.requests == before  # refused before anything was sent
    with pytest.raises(RecordRejected, match="as NetSuite counts them"):
        erp.upsert_customer(customer("2", name="\u00e9" * 42))
    assert erp.upsert_customer(customer("2", name="A" * 83))


def test_a_project_name_too_long_is_refused(erp: NetSuiteErp) -> None:
    with pytest.raises(RecordRejected) as refused:
        erp.upsert_project(project("2", name="P" * 90), contract("2"))
    assert (refused.value.violation.object, refused.value.violation.field) == ("project", "name")


def test_a_long_journal_memo_is_fitted_keeping_the_headline(erp: NetSuiteErp, sandbox: NetSuiteSandbox) -> None:
    catch_ups = "; ".join(f"catch-up PO-{n} 1.00" for n in range(300))
    memo = f"Revenue C-1 2026-11: recognised 270.00 USD, billed 270.00 USD; {catch_ups}; 2 late fact(s)"
    internal = erp.post_journal_entry(journal_entry("JE-9", memo=memo))
    stored = sandbox.state.get("journalentry", internal)
    assert stored is not None
    body_memo = stored.values["memo"]
    assert limits.size(body_memo) <= 999
    assert body_memo.startswith("Revenue C-1 2026-11: recognised 270.00 USD, billed 270.00 USD; catch-up PO-0")
    assert body_memo.endswith("more in q2c")
    assert all(limits.size(line["memo"]) <= 999 for line in stored.values["line"])


def test_time_for_an_unknown_email_is_not_shortened_or_sent(erp: NetSuiteErp) -> None:
    (result,) = erp.upsert_timebills([timebill("HV-7", notes=NOTES, email="nobody@firm.example")])
    assert result.violation is not None and result.violation.rule == "time.employee_missing"
    assert result.warnings == ()
