"""Dataverse rows to canonical records (pure): exact values, the hierarchy, every bad column named, and the same
verdicts as the Salesforce mapping for the same facts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from dynamics365_sales_fixtures import (
    ACC,
    LINE_FF,
    LINE_MS,
    MS_1,
    OPP,
    PARENT,
    bundle,
    salesforce_bundle,
    settings,
)

from q2c.connectors.dynamics365_sales.mapping import (
    ChangeTerms,
    change_terms,
    customers_from_bundle,
    erp_owned_copy,
    erp_writeback_columns,
    opportunity_from_bundle,
    read_erp_owned_copy,
)
from q2c.connectors.dynamics365_sales.values import MappingError
from q2c.connectors.salesforce.mapping import MappingError as SalesforceMappingError
from q2c.connectors.salesforce.mapping import opportunity_from_salesforce
from q2c.domain.model import BillingType, MilestoneStatus, Opportunity
from q2c.domain.money import Money

F = "@OData.Community.Display.V1.FormattedValue"


def test_a_won_deal_maps_exactly() -> None:
    opportunity = opportunity_from_bundle(bundle(), settings(milestone_completed_on_column="q2c_completedon"))
    assert opportunity.id == f"D365-{OPP}" and opportunity.customer_id == f"D365-{ACC}"
    assert opportunity.amount == Money(amount=Decimal("20000.1"), currency="EUR")
    assert opportunity.is_won and opportunity.stage == "Won" and opportunity.close_date == date(2024, 6, 28)
    assert (opportunity.start_date, opportunity.end_date) == (date(2024, 7, 1), date(2024, 9, 30))
    assert opportunity.source_updated_at == datetime(2024, 6, 28, 9, 15, 2, tzinfo=UTC)
    fixed, milestone = opportunity.lines
    assert (fixed.id, fixed.billing_type, fixed.amount.amount) == (f"D365-{LINE_FF}", BillingType.FIXED_FEE,
                                                                   Decimal("12000.1"))
    assert (milestone.id, milestone.billing_type, milestone.service_offering) == (
        f"D365-{LINE_MS}", BillingType.MILESTONE, "Cutover")
    (done,) = milestone.milestones
    assert (done.id, done.status, done.completed_on) == (f"D365-{MS_1}", MilestoneStatus.ACCEPTED, date(2024, 9, 12))


def test_without_a_completion_column_a_done_milestone_is_dated_by_its_last_change() -> None:
    (done,) = opportunity_from_bundle(bundle(), settings()).lines[1].milestones
    assert done.completed_on == date(2024, 9, 12)


def test_the_hierarchy_comes_top_down_with_terms_currency_and_tax() -> None:
    group, gmbh = customers_from_bundle(bundle(), settings())
    assert (group.id, group.parent_id, group.billing_terms and group.billing_terms.currency) == (
        f"D365-{PARENT}", None, "USD")
    assert gmbh.parent_id == f"D365-{PARENT}" and gmbh.legal_entity == "DE01" and gmbh.country == "DE"
    assert gmbh.billing_terms is not None and (gmbh.billing_terms.payment_terms,
                                               gmbh.billing_terms.payment_terms_days) == ("Net 30", 30)
    assert gmbh.tax_profile is not None and gmbh.tax_profile.tax_id == "DE123456789"


def _rules(exc: MappingError | SalesforceMappingError) -> set[tuple[str, str | None]]:
    return {(v.rule.rsplit(".", 1)[1], v.object) for v in exc.violations}


def _d365(over: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    b = bundle()
    over(b)
    return b


def _sf(over: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    b = salesforce_bundle()
    over(b)
    return b


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(b: dict[str, Any]) -> None:
        target: Any = b
        for step in path[:-1]:
            target = target[step]
        if value is _DROP:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return apply


_DROP = object()

# (what, the Dataverse edit, the Salesforce edit of the same fact, the rule both must report)
SAME_FACTS = [
    ("no product lines", _set(("line_items",), []), _set(("line_items",), []), "no_lines"),
    ("a cap on a fixed fee", _set(("line_items", 0, "q2c_capamount"), Decimal(500)),
     _set(("line_items", 0, "Cap_Amount__c"), Decimal(500)), "cap"),
    ("milestones short of their line", _set(("milestones", 0, "q2c_amount"), Decimal(7000)),
     _set(("milestones", 0, "Amount__c"), Decimal(7000)), "milestones"),
    ("end before start", _set(("opportunity", "q2c_enddate"), "2024-06-01"),
     _set(("opportunity", "End_Date__c"), "2024-06-01"), "dates"),
    ("a total that is not the lines' sum", _set(("opportunity", "totalamount"), Decimal(19000)),
     _set(("opportunity", "Amount"), Decimal(19000)), "amount"),
    ("a negative line amount", _set(("line_items", 0, "extendedamount"), Decimal(-1)),
     _set(("line_items", 0, "TotalPrice"), Decimal(-1)), "negative"),
    ("an unknown billing type", _set(("line_items", 0, "q2c_billingtype"), "Subscription"),
     _set(("line_items", 0, "Billing_Type__c"), "Subscription"), "choice"),
]


@pytest.mark.parametrize(("what", "d365_edit", "sf_edit", "rule"), SAME_FACTS, ids=[c[0] for c in SAME_FACTS])
def test_the_same_bad_fact_gets_the_same_verdict_as_in_salesforce(
        what: str, d365_edit: Callable[[dict[str, Any]], None], sf_edit: Callable[[dict[str, Any]], None],
        rule: str) -> None:
    with pytest.raises(MappingError) as d365:
        opportunity_from_bundle(_d365(d365_edit), settings())
    with pytest.raises(SalesforceMappingError) as sf:
        opportunity_from_salesforce(_sf(sf_edit))
    d365_rules = {r for r, _ in _rules(d365.value)}
    sf_rules = {r for r, _ in _rules(sf.value)}
    picklist = {"picklist": "choice"}  # Salesforce's word for a choice column
    assert rule in d365_rules and d365_rules == {picklist.get(r, r) for r in sf_rules}, (d365_rules, sf_rules)


def test_a_good_deal_maps_to_the_same_terms_as_in_salesforce() -> None:
    mine = opportunity_from_bundle(bundle(), settings())
    theirs = opportunity_from_salesforce(salesforce_bundle())

    def terms(o: Opportunity) -> Any:
        return (o.amount, o.close_date, o.start_date, o.end_date, o.legal_entity,
                [(li.billing_type, li.amount, li.service_offering, li.estimated_hours,
                  [(m.amount, m.due_date, m.status) for m in li.milestones]) for li in o.lines])
    assert terms(mine) == terms(theirs)
    assert [li.id for li in mine.lines] == [f"D365-{LINE_FF}", f"D365-{LINE_MS}"]


def test_every_bad_column_is_named_with_its_table_and_row() -> None:
    b = bundle()
    b["opportunity"]["q2c_startdate"] = "July"
    b["line_items"][1]["quantity"] = "lots"
    b["account"]["paymenttermscode"] = 2
    b["account"]["paymenttermscode" + F] = "2% 10, Net 30"
    with pytest.raises(MappingError) as caught:
        opportunity_from_bundle(b, settings())
    named = {(v.object, v.record_id, v.field) for v in caught.value.violations}
    assert ("opportunity", OPP, "q2c_startdate") in named and ("opportunityproduct", LINE_MS, "quantity") in named
    with pytest.raises(MappingError) as terms:
        customers_from_bundle(b, settings())
    (v,) = terms.value.violations
    assert (v.object, v.record_id, v.field, v.rule) == ("account", ACC, "paymenttermscode",
                                                        "dynamics365_sales.mapping.payment_terms")
    assert "Dynamics 365 Sales" in v.action


def test_a_contact_as_potential_customer_falls_back_to_the_account_column() -> None:
    b = bundle()
    b["opportunity"]["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = "contact"
    b["opportunity"]["_customerid_value"] = "4f6c2a10-0b7e-4d4a-8a61-3c2d1e0000ff"
    assert opportunity_from_bundle(b, settings()).customer_id == f"D365-{ACC}"
    b["opportunity"]["_parentaccountid_value"] = None
    with pytest.raises(MappingError) as caught:
        opportunity_from_bundle(b, settings())
    assert [v.field for v in caught.value.violations] == ["_parentaccountid_value"]


def test_a_choice_without_its_label_and_an_unknown_currency_are_refused() -> None:
    b = bundle()
    del b["line_items"][0]["q2c_billingtype" + F]
    b["currencies"] = {}
    with pytest.raises(MappingError) as caught:
        opportunity_from_bundle(b, settings())
    rules = {(v.field, v.rule.rsplit(".", 1)[1]) for v in caught.value.violations}
    assert ("q2c_billingtype", "choice") in rules and ("_transactioncurrencyid_value", "currency") in rules


def test_milestone_labels_come_from_the_settings() -> None:
    b = bundle()
    b["milestones"][0]["q2c_status" + F] = "Billed"
    with pytest.raises(MappingError):
        opportunity_from_bundle(b, settings())
    mapped = opportunity_from_bundle(b, settings(milestone_status_labels={"Billed": "accepted"}))
    assert mapped.lines[1].milestones[0].status is MilestoneStatus.ACCEPTED


def test_write_back_never_blanks_a_column() -> None:
    s = settings()
    assert erp_writeback_columns(s, "CUST-7", None, "P-1") == {
        "account": {"q2c_customernumber": "CUST-7"}, "opportunity": {"q2c_projectid": "P-1"}}
    assert erp_writeback_columns(s, None, None, None) == {"account": {}, "opportunity": {}}


def test_a_retainer_line_reads_its_terms_from_the_configured_columns() -> None:
    b = bundle()
    b["line_items"][0].update({"q2c_billingtype": 100000002, "q2c_billingtype" + F: "Retainer", "quantity": 120,
                               "q2c_termmonths": 6, "q2c_overagerate": Decimal(175), "q2c_rollover": 1,
                               "q2c_servicestart": "2024-07-01"})
    s = settings(line_term_months_column="q2c_termmonths", line_overage_rate_column="q2c_overagerate",
                 line_rollover_months_column="q2c_rollover", line_service_start_column="q2c_servicestart")
    retainer = opportunity_from_bundle(b, s).lines[0]
    assert (retainer.billing_type, retainer.term_months, retainer.rollover_months) == (BillingType.RETAINER, 6, 1)
    assert retainer.overage_rate == Money(amount=Decimal(175), currency="EUR")
    assert retainer.service_start == date(2024, 7, 1) and retainer.estimated_hours == Decimal(120)


def test_retainer_terms_on_another_line_get_the_same_verdict_as_in_salesforce() -> None:
    b = bundle()
    b["line_items"][0]["q2c_termmonths"] = 6
    with pytest.raises(MappingError) as d365:
        opportunity_from_bundle(b, settings(line_term_months_column="q2c_termmonths"))
    sf = salesforce_bundle()
    sf["line_items"][0]["Term_Months__c"] = 6
    sf["retainer_fields"] = {"term_months": "Term_Months__c"}
    with pytest.raises(SalesforceMappingError) as theirs:
        opportunity_from_salesforce(sf)
    assert {r for r, _ in _rules(d365.value)} == {r for r, _ in _rules(theirs.value)} == {"retainer"}


@pytest.mark.parametrize(("row", "approved"), [
    ({"q2c_changeapproved": True}, True),
    ({"q2c_changeapproved": False}, False),
    ({"q2c_changeapproved": None}, False),
    ({"q2c_changeapproved": 100000001, "q2c_changeapproved" + F: "Approved"}, True),
])
def test_the_change_approval_column_and_the_change_order_lookup(row: dict[str, Any], approved: bool) -> None:
    s = settings(change_approval_column="q2c_changeapproved", change_approval_values=("true", "Approved"),
                 change_order_column="q2c_originalopportunity", change_effective_date_column="q2c_effective")
    terms = change_terms({**row, "_q2c_originalopportunity_value": OPP, "q2c_effective": "2024-08-01"}, s)
    assert (terms.approved, terms.amends_id, terms.effective) == (approved, f"D365-{OPP}", date(2024, 8, 1))
    assert change_terms(row, settings()) == ChangeTerms(approved=None, amends_id=None, effective=None)


def test_the_erp_owned_copy_is_compact_json_and_only_q2cs_json_is_read_back() -> None:
    owned = {"q2c_contractid", "q2c_projectid"}
    text = erp_owned_copy({"q2c_projectid": "P-1", "q2c_contractid": "C-ü"})
    assert text == '{"q2c_contractid":"C-ü","q2c_projectid":"P-1"}'  # sorted, readable in the app
    assert read_erp_owned_copy(text, owned) == {"q2c_contractid": "C-ü", "q2c_projectid": "P-1"}
    assert read_erp_owned_copy(text, {"q2c_contractid"}) == {"q2c_contractid": "C-ü"}  # a renamed column: unknown
    for said in (None, "", "ask finance", "[1, 2]", '{"q2c_contractid": 7}', 42):
        assert read_erp_owned_copy(said, owned) == {}, said
