"""Won-deal rules: each broken rule gives one violation naming the CRM record and field to fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Customer,
    Milestone,
    Opportunity,
    OpportunityLine,
    TaxProfile,
)
from q2c.domain.money import Money
from q2c.domain.validation.deal import MAX_HIERARCHY_DEPTH, DealReferenceData, deal_violations
from q2c.domain.violations import Violation

REF = DealReferenceData(legal_entities={"US01": "USD", "UK01": "GBP"},
                        service_offerings={"Implementation", "Advisory", "Training"},
                        payment_terms=("Net 30", "Net 45"), rate_card_currencies={"USD", "GBP"})

# Canonical field -> the name a person sees in the CRM.
CRM_FIELDS = {
    "customer_id": "Opportunity.AccountId",
    "parent_id": "Account.ParentId",
    "legal_entity": "Legal_Entity__c",
    "tax_profile.tax_id": "Account.Tax_Id__c",
    "tax_profile.exemption_certificate": "Account.Tax_Exemption_Certificate__c",
    "billing_terms.payment_terms": "Account.Payment_Terms__c",
    "currency": "Opportunity.CurrencyIsoCode",
    "lines": "OpportunityLineItem",
    "service_offering": "OpportunityLineItem.Service_Offering__c",
    "amount": "OpportunityLineItem.TotalPrice",
    "cap": "OpportunityLineItem.Cap_Amount__c",
    "milestones": "Opportunity_Milestone__c",
    "estimated_hours": "OpportunityLineItem.Quantity",
    "end_date": "Opportunity.End_Date__c",
}


CRM = "salesforce"


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def account(id: str = "SF-001A", **changes: Any) -> Customer:
    base = Customer(id=id, name=f"Account {id}", legal_entity="US01", country="US",
                    tax_profile=TaxProfile(tax_id="94-1234567"), billing_terms=BillingTerms(payment_terms="Net 30"))
    return base.model_copy(update=changes)


def milestone(id: str, amount: str) -> Milestone:
    return Milestone(id=id, name=f"Milestone {id}", amount=usd(amount))


FIXED = OpportunityLine(id="SF-00kFIX", service_offering="Implementation", billing_type=BillingType.FIXED_FEE,
                        amount=usd("20000.00"), estimated_hours=Decimal("120"))
MILESTONES = OpportunityLine(id="SF-00kMS", service_offering="Implementation", billing_type=BillingType.MILESTONE,
                             amount=usd("10000.00"), milestones=(milestone("M-1", "4000.00"),
                                                                 milestone("M-2", "6000.00")))
TM = OpportunityLine(id="SF-00kTM", service_offering="Advisory", billing_type=BillingType.TIME_AND_MATERIALS,
                     amount=usd("15000.00"), estimated_hours=Decimal("80"), cap=usd("18000.00"))


def deal(**changes: Any) -> Opportunity:
    base = Opportunity(id="SF-006A", name="Acme rollout", customer_id="SF-001A", stage="Closed Won", is_won=True,
                       close_date=date(2026, 3, 1), end_date=date(2026, 8, 31), amount=usd("45000.00"),
                       lines=(FIXED, MILESTONES, TM))
    return base.model_copy(update=changes)


def with_line(line_id: str, **changes: Any) -> Opportunity:
    lines = deal().lines
    return deal(lines=tuple(line.model_copy(update=changes) if line.id == line_id else line for line in lines))


def customers(*accounts: Customer) -> dict[str, Customer]:
    return {c.id: c for c in accounts}


def chain(depth: int, **top_changes: Any) -> dict[str, Customer]:
    """An account with `depth - 1` ancestors: SF-001A -> SF-L1 -> ... (all in US01)."""
    ids = ["SF-001A", *(f"SF-L{i}" for i in range(1, depth))]
    accounts = [account(ids[i], parent_id=ids[i + 1] if i + 1 < depth else None) for i in range(depth)]
    accounts[-1] = accounts[-1].model_copy(update=top_changes)
    return customers(*accounts)


def only(violations: list[Violation]) -> Violation:
    assert len(violations) == 1, [v.headline() for v in violations]
    return violations[0]


def test_a_clean_deal_has_no_violations() -> None:
    assert deal_violations(deal(), customers(account()), REF, system=CRM) == []
    assert deal_violations(deal(), customers(account()), REF, system=CRM, fields=CRM_FIELDS) == []


@dataclass(frozen=True)
class Broken:
    """One rule broken on an otherwise clean deal, and the violation it must give."""

    rule: str
    object: str
    record_id: str
    field: str
    says: str
    build: Callable[[], tuple[Opportunity, dict[str, Customer]]]


CASES = [
    Broken("deal.customer_missing", "Opportunity", "SF-006A", "customer_id", "SF-001A could not be read",
           lambda: (deal(), {})),
    Broken("customer.legal_entity_missing", "Account", "SF-001A", "legal_entity", "no contracting legal entity",
           lambda: (deal(), customers(account(legal_entity=None)))),
    Broken("customer.legal_entity_unknown", "Account", "SF-001A", "legal_entity", "'FR01' is not one of",
           lambda: (deal(), customers(account(legal_entity="FR01")))),
    Broken("customer.tax_id_missing", "Account", "SF-001A", "tax_profile.tax_id", "has no tax id",
           lambda: (deal(), customers(account(tax_profile=None)))),
    Broken("customer.tax_id_missing", "Account", "SF-001A", "tax_profile.tax_id", "not marked tax exempt",
           lambda: (deal(), customers(account(tax_profile=TaxProfile(tax_id=None))))),
    Broken("customer.exemption_unsupported", "Account", "SF-001A", "tax_profile.exemption_certificate",
           "without an exemption certificate",
           lambda: (deal(), customers(account(tax_profile=TaxProfile(exempt=True))))),
    Broken("customer.payment_terms_missing", "Account", "SF-001A", "billing_terms.payment_terms",
           "has no payment terms", lambda: (deal(), customers(account(billing_terms=None)))),
    Broken("customer.payment_terms_missing", "Account", "SF-001A", "billing_terms.payment_terms",
           "has no payment terms", lambda: (deal(), customers(account(billing_terms=BillingTerms(currency="USD"))))),
    Broken("customer.payment_terms_unknown", "Account", "SF-001A", "billing_terms.payment_terms",
           "'Net 90' are not offered",
           lambda: (deal(), customers(account(billing_terms=BillingTerms(payment_terms="Net 90"))))),
    Broken("deal.no_rate_card", "Opportunity", "SF-006A", "currency", "no rate card is priced in EUR",
           lambda: (deal(amount=Money.of("45000", "EUR"),
                         lines=tuple(ln.model_copy(update={"amount": Money.of(ln.amount.amount, "EUR"),
                                                           "cap": None, "milestones": ()})
                                     for ln in (FIXED, TM))),
                    customers(account()))),
    Broken("deal.no_lines", "Opportunity", "SF-006A", "lines", "no line items",
           lambda: (deal(lines=()), customers(account()))),
    Broken("deal.offering_missing", "OpportunityLineItem", "SF-00kFIX", "service_offering", "no service offering",
           lambda: (with_line("SF-00kFIX", service_offering=None), customers(account()))),
    Broken("deal.offering_missing", "OpportunityLineItem", "SF-00kFIX", "service_offering", "no service offering",
           lambda: (with_line("SF-00kFIX", service_offering=""), customers(account()))),
    Broken("deal.offering_unknown", "OpportunityLineItem", "SF-00kTM", "service_offering",
           "'Catering' is not in the catalogue",
           lambda: (with_line("SF-00kTM", service_offering="Catering"), customers(account()))),
    Broken("deal.line_currency", "OpportunityLineItem", "SF-00kFIX", "amount", "line is in GBP, the deal in USD",
           lambda: (with_line("SF-00kFIX", amount=Money.of("20000", "GBP")), customers(account()))),
    Broken("deal.line_negative", "OpportunityLineItem", "SF-00kFIX", "amount", "USD -0.01 is negative",
           lambda: (with_line("SF-00kFIX", amount=usd("-0.01")), customers(account()))),
    Broken("deal.milestones_missing", "OpportunityLineItem", "SF-00kMS", "milestones", "has no milestones",
           lambda: (with_line("SF-00kMS", milestones=()), customers(account()))),
    Broken("deal.milestones_sum", "OpportunityLineItem", "SF-00kMS", "milestones",
           "add up to 9999.99 but the line is 10000.00",
           lambda: (with_line("SF-00kMS", milestones=(milestone("M-1", "4000.00"), milestone("M-2", "5999.99"))),
                    customers(account()))),
    Broken("deal.cap_not_positive", "OpportunityLineItem", "SF-00kTM", "cap", "cap USD 0.00 must be above zero",
           lambda: (with_line("SF-00kTM", cap=usd("0")), customers(account()))),
    Broken("deal.cap_not_positive", "OpportunityLineItem", "SF-00kTM", "cap", "cap USD -5.00 must be above zero",
           lambda: (with_line("SF-00kTM", cap=usd("-5")), customers(account()))),
    Broken("deal.estimated_hours_missing", "OpportunityLineItem", "SF-00kFIX", "estimated_hours",
           "recognised as its hours are worked", lambda: (with_line("SF-00kFIX", estimated_hours=None),
                                                          customers(account()))),
    Broken("deal.estimated_hours_missing", "OpportunityLineItem", "SF-00kFIX", "estimated_hours", "has 0",
           lambda: (with_line("SF-00kFIX", estimated_hours=Decimal(0)), customers(account()))),
    Broken("deal.end_date_missing", "Opportunity", "SF-006A", "end_date", "billed in monthly instalments",
           lambda: (deal(end_date=None), customers(account()))),
    Broken("deal.end_date_missing", "Opportunity", "SF-006A", "end_date", "is a retainer",
           lambda: (deal(end_date=None, lines=(MILESTONES, TM, TM.model_copy(update={
               "id": "SF-00kRET", "billing_type": BillingType.RETAINER, "cap": None}))), customers(account()))),
    Broken("deal.end_before_start", "Opportunity", "SF-006A", "end_date", "before it starts 2026-03-01",
           lambda: (deal(end_date=date(2026, 2, 28)), customers(account()))),
    Broken("customer.parent_missing", "Account", "SF-001A", "parent_id",
           "parent account SF-001P of 'Account SF-001A' could not be read",
           lambda: (deal(), customers(account(parent_id="SF-001P")))),
    Broken("customer.hierarchy_cycle", "Account", "SF-001B", "parent_id",
           "account hierarchy loops: SF-001A -> SF-001B -> SF-001A",
           lambda: (deal(), customers(account(parent_id="SF-001B"), account("SF-001B", parent_id="SF-001A")))),
    Broken("customer.hierarchy_cycle", "Account", "SF-001A", "parent_id", "loops: SF-001A -> SF-001A",
           lambda: (deal(), customers(account(parent_id="SF-001A")))),
    Broken("customer.hierarchy_entity_mismatch", "Account", "SF-001A", "legal_entity",
           "contracts with US01 but its parent 'Account SF-001P' with UK01",
           lambda: (deal(), customers(account(parent_id="SF-001P"), account("SF-001P", legal_entity="UK01")))),
    Broken("customer.hierarchy_too_deep", "Account", "SF-001A", "parent_id",
           f"deeper than {MAX_HIERARCHY_DEPTH} levels",
           lambda: (deal(), chain(MAX_HIERARCHY_DEPTH + 1))),
]


def case_id(case: Broken) -> str:
    return case.rule


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_broken_rule_gives_one_violation_naming_record_and_field(case: Broken) -> None:
    opportunity, accounts = case.build()
    found = only(deal_violations(opportunity, accounts, REF, system=CRM))
    assert (found.system, found.rule, found.object, found.record_id, found.field) == (
        "salesforce", case.rule, case.object, case.record_id, case.field)
    assert case.says in found.message
    assert found.action and not found.retryable
    assert found.record_id in found.headline() and case.field in found.headline()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_field_is_shown_by_its_crm_name(case: Broken) -> None:
    opportunity, accounts = case.build()
    found = only(deal_violations(opportunity, accounts, REF, system="crm", fields=CRM_FIELDS))
    assert found.system == "crm"
    assert found.field == CRM_FIELDS[case.field]


def test_every_rule_is_covered() -> None:
    rules = {case.rule for case in CASES}
    assert len(rules) == 23


def test_actions_list_what_is_allowed() -> None:
    missing = only(deal_violations(deal(), customers(account(legal_entity=None)), REF, system=CRM))
    assert missing.action.endswith("(one of: UK01, US01)")
    unknown = only(deal_violations(with_line("SF-00kTM", service_offering="Catering"), customers(account()), REF,
                                   system=CRM))
    assert unknown.action == "Use one of: Advisory, Implementation, Training"
    terms = only(deal_violations(deal(), customers(account(billing_terms=None)), REF, system=CRM))
    assert "Net 30, Net 45" in terms.action


def test_legal_entity_on_the_opportunity_overrides_the_account() -> None:
    assert deal_violations(deal(legal_entity="US01"), customers(account(legal_entity=None)), REF, system=CRM) == []


def test_unknown_legal_entity_on_the_opportunity_names_the_opportunity() -> None:
    found = only(deal_violations(deal(legal_entity="FR01"), customers(account()), REF, system=CRM))
    assert found.rule == "deal.legal_entity_unknown"
    assert (found.object, found.record_id) == ("Opportunity", "SF-006A")


def test_exempt_customer_with_a_certificate_needs_no_tax_id() -> None:
    exempt = account(tax_profile=TaxProfile(exempt=True, exemption_certificate="CA-EX-123"))
    assert deal_violations(deal(), customers(exempt), REF, system=CRM) == []


def test_a_cap_is_only_checked_on_time_and_materials() -> None:
    assert deal_violations(with_line("SF-00kTM", cap=None), customers(account()), REF, system=CRM) == []
    assert deal_violations(with_line("SF-00kTM", cap=usd("0.01")), customers(account()), REF, system=CRM) == []


def test_a_zero_line_is_not_negative() -> None:
    assert deal_violations(with_line("SF-00kFIX", amount=usd("0")), customers(account()), REF, system=CRM) == []


def test_hierarchy_at_the_depth_limit_is_accepted() -> None:
    assert deal_violations(deal(), chain(MAX_HIERARCHY_DEPTH), REF, system=CRM) == []


def test_parents_without_a_legal_entity_are_not_a_mismatch() -> None:
    accounts = customers(account(parent_id="SF-001P"), account("SF-001P", legal_entity=None))
    assert deal_violations(deal(), accounts, REF, system=CRM) == []


def test_a_missing_grandparent_is_reported_on_the_parent() -> None:
    accounts = customers(account(parent_id="SF-001P"), account("SF-001P", parent_id="SF-001G"))
    found = only(deal_violations(deal(), accounts, REF, system=CRM))
    assert (found.rule, found.record_id) == ("customer.parent_missing", "SF-001P")


def test_an_entity_mismatch_with_several_ancestors_is_one_violation() -> None:
    accounts = customers(account(parent_id="SF-001P"), account("SF-001P", legal_entity="UK01", parent_id="SF-001G"),
                         account("SF-001G", legal_entity="UK01"))
    found = only(deal_violations(deal(), accounts, REF, system=CRM))
    assert found.rule == "customer.hierarchy_entity_mismatch"
    assert "its parent 'Account SF-001P'" in found.message


def test_a_missing_customer_stops_the_checks() -> None:
    found = only(deal_violations(deal(lines=()), {}, REF, system=CRM))
    assert found.rule == "deal.customer_missing"


def test_independent_problems_are_all_reported_in_order() -> None:
    opportunity = with_line("SF-00kTM", service_offering="Catering", cap=usd("0"))
    broken = account(tax_profile=None, billing_terms=BillingTerms(payment_terms="Net 90"))
    found = deal_violations(opportunity, customers(broken), REF, system=CRM)
    assert [v.rule for v in found] == ["customer.tax_id_missing", "customer.payment_terms_unknown",
                                       "deal.offering_unknown", "deal.cap_not_positive"]


def test_findings_on_several_lines_name_each_line() -> None:
    lines = tuple(line.model_copy(update={"service_offering": None}) for line in deal().lines)
    found = deal_violations(deal(lines=lines), customers(account()), REF, system=CRM)
    assert [(v.rule, v.record_id) for v in found] == [("deal.offering_missing", "SF-00kFIX"),
                                                       ("deal.offering_missing", "SF-00kMS"),
                                                       ("deal.offering_missing", "SF-00kTM")]


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=8), st.sampled_from([-1, 0, 1]))
def test_milestones_must_add_up_to_the_line_to_the_cent(cents: list[int], nudge: int) -> None:
    parts = tuple(milestone(f"M-{i}", str(Decimal(c).scaleb(-2))) for i, c in enumerate(cents))
    total = Decimal(sum(cents) + nudge).scaleb(-2)
    opportunity = with_line("SF-00kMS", milestones=parts, amount=usd(str(total)))
    found = deal_violations(opportunity, customers(account()), REF, system=CRM)
    if nudge == 0:
        assert found == []
    else:
        assert [(v.rule, v.record_id) for v in found if v.rule.startswith("deal.milestones")] == [
            ("deal.milestones_sum", "SF-00kMS")]
