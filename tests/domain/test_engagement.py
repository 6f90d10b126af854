"""From a won deal to a contract and a project: stable ids, one phase per line, each phase with its own tasks."""

from __future__ import annotations

import string
from datetime import date
from itertools import pairwise
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from q2c.domain.engagement import TaskTemplate, ancestors_top_down, engagement_ids, plan_engagement
from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Contract,
    Customer,
    Milestone,
    Opportunity,
    OpportunityLine,
    Project,
    RateCard,
    RateCardLine,
)
from q2c.domain.money import Money

SF_ID = "SF-006Hs00000AbCdEfGH"  # "SF-" + an 18-character Salesforce id
KEY = "0000AbCdEfGH"  # its last twelve characters


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


CUSTOMER = Customer(id="SF-001A", name="Acme Corp", legal_entity="US01",
                    billing_terms=BillingTerms(payment_terms="Net 30", payment_terms_days=30))
RATE_CARD = RateCard(id="RC-USD", currency="USD", lines=(
    RateCardLine(role="Consultant", rate=usd("185.00"), effective_from=date(2026, 1, 1)),))
CATALOGUE = {
    "Implementation": (TaskTemplate("PM", "Project management", billable=False), TaskTemplate("DEV", "Development")),
    "Training": (TaskTemplate("TRN", "Training delivery"), TaskTemplate("PM", "Training coordination")),
    "Advisory": (TaskTemplate("ADV", "Advisory"),),
}

GO_LIVE = Milestone(id="M-1", name="Go-live", amount=usd("10000.00"))
BUILD = OpportunityLine(id="SF-00kL1", service_offering="Implementation", billing_type=BillingType.MILESTONE,
                        amount=usd("10000.00"), milestones=(GO_LIVE,))
TRAIN = OpportunityLine(id="SF-00kL2", service_offering="Training", billing_type=BillingType.FIXED_FEE,
                        amount=usd("3000.00"))
SUPPORT = OpportunityLine(id="SF-00kL3", service_offering="Implementation", billing_type=BillingType.TIME_AND_MATERIALS,
                          amount=usd("5000.00"), cap=usd("6000.00"))
UNNAMED = OpportunityLine(id="SF-00kL4", service_offering=None, billing_type=BillingType.TIME_AND_MATERIALS,
                          amount=usd("800.00"))


def deal(**changes: Any) -> Opportunity:
    base = Opportunity(id=SF_ID, name="Acme rollout", customer_id="SF-001A", stage="Closed Won", is_won=True,
                       close_date=date(2026, 3, 1), amount=usd("18800.00"), start_date=date(2026, 3, 15),
                       end_date=date(2026, 9, 30), lines=(BUILD, TRAIN, SUPPORT, UNNAMED))
    return base.model_copy(update=changes)


def plan(opportunity: Opportunity | None = None) -> tuple[Contract, Project]:
    opportunity = opportunity or deal()
    return plan_engagement(opportunity, CUSTOMER, legal_entity="US01", rate_card=RATE_CARD,
                           source_id=opportunity.id.removeprefix("SF-"),
                           offering_tasks=CATALOGUE)


# --- ids ----------------------------------------------------------------------------------------


def test_ids_derive_from_the_last_twelve_characters_of_the_salesforce_id() -> None:
    assert engagement_ids(deal()) == (f"C-{KEY}", f"P-{KEY}")


def test_ids_are_stable_for_the_same_deal_whatever_else_changed() -> None:
    changed = deal(name="Renamed", amount=usd("1"), lines=(), stage="Closed Won (amended)")
    assert engagement_ids(changed) == engagement_ids(deal())


def test_sequential_guids_that_share_their_last_group_name_different_engagements() -> None:
    """Dataverse makes sequential GUIDs: Microsoft's own paging example lists three rows whose ids all end
    0022481d68cd. Their tails would give the three deals one engagement; a hash of the whole id does not,
    and it is the same for the same id in either case."""
    ids = ["7a8c9e52-1e2f-ec11-b6e6-0022481d68cd", "7c8c9e52-1e2f-ec11-b6e6-0022481d68cd",
           "7e8c9e52-1e2f-ec11-b6e6-0022481d68cd"]
    named = {engagement_ids(deal(id=f"D365-{guid}"), source_id=guid) for guid in ids}
    assert len(named) == 3
    assert all(len(contract) == len("C-") + 12 for contract, _ in named)
    upper = ids[0].upper()
    assert engagement_ids(deal(id=f"D365-{upper}"), source_id=upper) == engagement_ids(
        deal(id=f"D365-{ids[0]}"), source_id=ids[0])


def test_short_ids_are_kept_whole() -> None:
    assert engagement_ids(deal(id="OPP-1")) == ("C-OPP-1", "P-OPP-1")
    assert engagement_ids(deal(id="SF-42"), source_id="42") == ("C-42", "P-42")


salesforce_ids = st.text(alphabet=string.ascii_letters + string.digits, min_size=18, max_size=18)


@given(salesforce_ids, salesforce_ids)
def test_ids_fit_every_target_and_tell_deals_apart(first: str, second: str) -> None:
    a, b = deal(id=f"SF-{first}"), deal(id=f"SF-{second}")
    contract_id, project_id = engagement_ids(a)
    assert len(contract_id) == len(project_id) == 14
    assert contract_id[2:] == project_id[2:] == first[-12:]
    assert (engagement_ids(a) == engagement_ids(b)) == (first[-12:] == second[-12:])


# --- the plan -----------------------------------------------------------------------------------


def test_planning_the_same_deal_twice_gives_the_same_records() -> None:
    assert plan() == plan()


def test_contract_takes_the_deal_terms() -> None:
    contract, project = plan()
    assert contract.id == f"C-{KEY}" and project.id == f"P-{KEY}"
    assert (contract.customer_id, contract.opportunity_id, contract.name) == ("SF-001A", SF_ID, "Acme rollout")
    assert (contract.legal_entity, contract.currency) == ("US01", "USD")
    assert (contract.start_date, contract.end_date) == (date(2026, 3, 15), date(2026, 9, 30))
    assert contract.rate_card == RATE_CARD and contract.billing_terms == CUSTOMER.billing_terms
    assert (project.contract_id, project.customer_id, project.name) == (contract.id, "SF-001A", "Acme rollout")


def test_contract_starts_on_the_close_date_when_the_deal_has_no_start() -> None:
    contract, _ = plan(deal(start_date=None, end_date=None))
    assert contract.start_date == date(2026, 3, 1) and contract.end_date is None


def test_one_phase_per_line_in_line_order() -> None:
    contract, _ = plan()
    lines = deal().lines
    assert [p.id for p in contract.phases] == [f"C-{KEY}-{i}" for i in range(1, len(lines) + 1)]
    for phase, line in zip(contract.phases, lines, strict=True):
        assert (phase.billing_type, phase.amount, phase.cap, phase.milestones, phase.service_offering) == (
            line.billing_type, line.amount, line.cap, line.milestones, line.service_offering)
    assert [p.name for p in contract.phases] == ["Implementation (milestone)", "Training (fixed_fee)",
                                                 "Implementation (time_and_materials)", "Services (time_and_materials)"]


def test_each_phase_gets_its_own_tasks_and_a_taken_code_takes_the_phase_number() -> None:
    """Implementation (phase 1) and Training (2) both catalogue a PM task, and Implementation is sold again
    as T&M (3): every phase gets its tasks, so T&M time can never land on the milestone phase."""
    _, project = plan()
    by_code = {t.code: t for t in project.tasks}
    assert list(by_code) == ["PM", "DEV", "TRN", "PM-2", "PM-3", "DEV-3"]
    assert {c: t.phase_id for c, t in by_code.items()} == {
        "PM": f"C-{KEY}-1", "DEV": f"C-{KEY}-1", "TRN": f"C-{KEY}-2", "PM-2": f"C-{KEY}-2", "PM-3": f"C-{KEY}-3",
        "DEV-3": f"C-{KEY}-3"}
    assert by_code["PM"].name == "Project management" and by_code["PM"].billable is False
    assert by_code["PM-2"].name == "Training coordination (phase 2)" and by_code["PM-2"].billable is True
    assert by_code["DEV-3"].name == "Development (phase 3)"
    assert all(t.id == f"P-{KEY}-{t.code}" and t.project_id == f"P-{KEY}" for t in project.tasks)


def test_lines_without_a_catalogued_offering_add_no_tasks() -> None:
    _, project = plan(deal(lines=(UNNAMED, UNNAMED.model_copy(update={"id": "x", "service_offering": "Catering"}))))
    assert project.tasks == ()


def test_a_deal_without_lines_plans_an_empty_engagement() -> None:
    contract, project = plan(deal(lines=()))
    assert contract.phases == () and project.tasks == ()


offerings = st.lists(st.sampled_from([*CATALOGUE, "Catering", None]), max_size=12)


@given(offerings)
def test_every_phase_has_each_catalogued_task_of_its_offering_once(sold: list[str | None]) -> None:
    lines = tuple(SUPPORT.model_copy(update={"id": f"L{i}", "service_offering": o}) for i, o in enumerate(sold))
    contract, project = plan(deal(lines=lines))
    assert [p.service_offering for p in contract.phases] == sold
    assert len({t.code for t in project.tasks}) == len(project.tasks)  # a code names one task
    for phase in contract.phases:
        mine = [t for t in project.tasks if t.phase_id == phase.id]
        wanted = CATALOGUE.get(phase.service_offering or "", ())
        assert [t.code.split("-")[0] for t in mine] == [tpl.code for tpl in wanted]
        assert [t.billable for t in mine] == [tpl.billable for tpl in wanted]


# --- the account hierarchy ----------------------------------------------------------------------


def account(id: str, parent_id: str | None = None) -> Customer:
    return Customer(id=id, name=f"Account {id}", parent_id=parent_id)


def by_id(*accounts: Customer) -> dict[str, Customer]:
    return {c.id: c for c in accounts}


def ids(accounts: list[Customer]) -> list[str]:
    return [c.id for c in accounts]


def test_ancestors_come_top_down_ending_with_the_account() -> None:
    child, parent, top = account("C", "B"), account("B", "A"), account("A")
    assert ids(ancestors_top_down(child, by_id(child, parent, top))) == ["A", "B", "C"]


def test_an_account_without_a_parent_is_alone() -> None:
    assert ids(ancestors_top_down(account("C"), {})) == ["C"]


def test_a_parent_that_cannot_be_read_ends_the_chain() -> None:
    child, parent = account("C", "B"), account("B", "A")
    assert ids(ancestors_top_down(child, by_id(child, parent))) == ["B", "C"]


def test_a_cycle_stops_without_repeating_an_account() -> None:
    a, b = account("A", "B"), account("B", "A")
    assert ids(ancestors_top_down(a, by_id(a, b))) == ["B", "A"]
    selfish = account("S", "S")
    assert ids(ancestors_top_down(selfish, by_id(selfish))) == ["S"]


@given(st.dictionaries(st.sampled_from("ABCDEFGH"), st.sampled_from([*"ABCDEFGHXY", None]), min_size=1),
       st.data())
def test_any_hierarchy_gives_a_finite_parent_chain(parents: dict[str, str | None], data: st.DataObject) -> None:
    accounts = {i: account(i, p) for i, p in parents.items()}
    start = accounts[data.draw(st.sampled_from(sorted(accounts)))]
    chain = ancestors_top_down(start, accounts)
    assert chain[-1] == start
    assert len(set(ids(chain))) == len(chain)
    for upper, lower in pairwise(chain):
        assert lower.parent_id == upper.id
    top = chain[0]
    assert top.parent_id is None or top.parent_id not in accounts or top.parent_id in ids(chain)
