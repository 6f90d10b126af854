"""The CRM port over the sandbox: won deals, a deal with its account hierarchy and milestones, write-back of the
ERP-owned columns, and opportunity changes from change tracking (positions, echoes, conflicts, replays, a
restart, an expired delta token)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from dynamics365_sales_fixtures import enter_deal

from q2c.connectors.dynamics365_sales import DataverseClient, Dynamics365SalesCrm
from q2c.domain.model import BillingType, MilestoneStatus
from q2c.engine.errors import Rejected
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox


def test_won_deals_are_listed_by_last_change_and_filtered_by_since(crm: Dynamics365SalesCrm,
                                                                   box: DataverseSandbox) -> None:
    _a, first, _l = enter_deal(box, name="First")
    enter_deal(box, name="Open", win=False)
    (found,) = crm.won_deal_ids(None)
    assert found[0] == f"D365-{first}" and found[1].tzinfo is not None
    assert crm.won_deal_ids(found[1]) == []
    box.advance_clock(5)
    _a, second, _l = enter_deal(box, name="Second")
    assert [i for i, _ in crm.won_deal_ids(found[1])] == [f"D365-{second}"]


def test_a_deal_comes_with_its_account_hierarchy_and_milestones(crm: Dynamics365SalesCrm,
                                                                box: DataverseSandbox) -> None:
    group = box.ui_create("account", {"name": "Hooli Group", "q2c_legalentity": "US01", "paymenttermscode": 1})
    account, opportunity, _line = enter_deal(box, parent=str(group["accountid"]), win=False)
    milestone_line = box.ui_create("opportunityproduct", {
        "opportunityid@odata.bind": f"/opportunities({opportunity})", "productdescription": "Cutover",
        "quantity": 1, "priceperunit": 5000, "q2c_billingtype": 100000003, "q2c_serviceoffering": "IMPL"})
    line_id = str(milestone_line["opportunityproductid"])
    box.ui_create("q2c_milestone", {"q2c_name": "Go-live", "q2c_lineitemid": line_id, "q2c_amount": 5000,
                                    "q2c_opportunityid@odata.bind": f"/opportunities({opportunity})",
                                    "q2c_duedate": "2027-01-15"})
    box.win(opportunity, actual_end="2026-11-02")
    deal = crm.deal(f"D365-{opportunity}")
    assert list(deal.customers) == [f"D365-{group['accountid']}", f"D365-{account}"]
    assert deal.customers[f"D365-{account}"].parent_id == f"D365-{group['accountid']}"
    assert deal.opportunity.amount.amount == Decimal("23000.00")  # 120 x 150 + 5,000
    by_type = {li.billing_type: li for li in deal.opportunity.lines}
    (go_live,) = by_type[BillingType.MILESTONE].milestones
    assert (go_live.name, go_live.amount.amount, go_live.status) == ("Go-live", Decimal("5000.00"),
                                                                     MilestoneStatus.PENDING)
    assert deal.field_names["service_offering"] == "opportunityproduct.q2c_serviceoffering"
    assert deal.change_approved is None


def test_a_deals_lines_keep_the_forms_order_on_every_read(crm: Dynamics365SalesCrm, box: DataverseSandbox) -> None:
    """The contract's phases are numbered in line order, so the order must not follow the lines' GUIDs: the
    form's Sequence Number first (here the line added second is shown first), then creation."""
    _account, opportunity, first = enter_deal(box, win=False)
    second = box.ui_create("opportunityproduct", {
        "opportunityid@odata.bind": f"/opportunities({opportunity})", "productdescription": "Cutover",
        "quantity": 1, "priceperunit": 5000, "q2c_billingtype": 100000001, "q2c_serviceoffering": "IMPL",
        "sequencenumber": 1})
    box.ui_update("opportunityproduct", first, {"sequencenumber": 2})
    box.win(opportunity, actual_end="2026-11-02")
    reads = [[line.id for line in crm.deal(f"D365-{opportunity}").opportunity.lines] for _ in range(3)]
    assert reads[0] == [f"D365-{second['opportunityproductid']}", f"D365-{first}"]
    assert reads[0] == reads[1] == reads[2]


def test_a_bad_deal_is_rejected_with_every_column_named(crm: Dynamics365SalesCrm, box: DataverseSandbox) -> None:
    _a, opportunity, line = enter_deal(box, win=False)
    box.ui_update("opportunityproduct", line, {"q2c_capamount": 100, "q2c_billingtype": 100000001})
    box.ui_update("opportunity", opportunity, {"q2c_enddate": "2026-01-01"})
    box.win(opportunity)
    with pytest.raises(Rejected) as caught:
        crm.deal(f"D365-{opportunity}")
    named = {(v.object, v.field) for v in caught.value.violations}
    assert named == {("opportunityproduct", "q2c_capamount"), ("opportunity", "q2c_enddate")}


def test_write_back_fills_the_erp_owned_columns_once(crm: Dynamics365SalesCrm, box: DataverseSandbox) -> None:
    account, opportunity, _l = enter_deal(box)
    deal = crm.deal(f"D365-{opportunity}")
    crm.write_back(deal, customer_number="CUST-100", contract_id="C-1", project_id="P-1")
    row = box.read("opportunity", opportunity)
    assert (row["q2c_contractid"], row["q2c_projectid"]) == ("C-1", "P-1")
    assert box.read("account", account)["q2c_customernumber"] == "CUST-100"
    version = row["versionnumber"]
    crm.write_back(deal, customer_number="CUST-100", contract_id="C-1", project_id="P-1")
    assert box.read("opportunity", opportunity)["versionnumber"] == version  # nothing written twice
    assert crm.erp_owned_fields() == {"q2c_contractid", "q2c_projectid"}


def test_changes_carry_positions_echoes_and_the_columns_changed(crm: Dynamics365SalesCrm,
                                                                box: DataverseSandbox) -> None:
    _a, opportunity, _l = enter_deal(box, win=False)
    (start,) = crm.opportunity_changes(None)
    assert start.opportunity_ids == (f"D365-{opportunity}",) and not start.won and not start.by_q2c
    assert crm.opportunity_changes(start.position) == []

    box.win(opportunity)
    (won,) = crm.opportunity_changes(start.position)
    assert won.won and won.position > start.position and {"statecode", "statuscode"} <= set(won.changed_fields)
    assert won.origin == "Dana Seller"

    crm.write_back(crm.deal(f"D365-{opportunity}"), customer_number="CUST-1", contract_id="C-1", project_id="P-1")
    (echo,) = crm.opportunity_changes(won.position)
    assert echo.by_q2c and set(echo.changed_fields) >= {"q2c_contractid", "q2c_projectid"} and not echo.won

    box.ui_update("opportunity", opportunity, {"q2c_contractid": "C-typo"})  # a salesperson edits an ERP-owned column
    (conflict,) = crm.opportunity_changes(echo.position)
    assert not conflict.by_q2c and "q2c_contractid" in conflict.changed_fields
    assert conflict.values["q2c_contractid"] == "C-typo"
    # the hub did not store that position: asking again after the echo gives the same change again
    (again,) = crm.opportunity_changes(echo.position)
    assert (again.position, again.changed_fields) == (conflict.position, conflict.changed_fields)


def test_after_a_restart_the_feed_finds_its_place_by_row_version(client: DataverseClient, crm: Dynamics365SalesCrm,
                                                                 box: DataverseSandbox) -> None:
    _a, quiet, _l = enter_deal(box, name="Quiet")
    _a, busy, _l = enter_deal(box, name="Busy")
    position = max(c.position for c in crm.opportunity_changes(None))
    box.ui_update("opportunity", busy, {"q2c_projectid": "P-edited", "name": "Busy (renamed)"})

    restarted = Dynamics365SalesCrm(DataverseClient(client.settings, GuardRegistry()))
    (change,) = restarted.opportunity_changes(position)
    assert change.opportunity_ids == (f"D365-{busy}",) and change.position > position
    assert "name" in change.changed_fields and "q2c_projectid" not in change.changed_fields  # unknown: not claimed
    assert not change.won and restarted.feed.baselines == 1
    assert f"D365-{quiet}" not in {i for c in restarted.opportunity_changes(position) for i in c.opportunity_ids}


def test_an_expired_delta_token_falls_back_to_reading_every_row(crm: Dynamics365SalesCrm,
                                                                box: DataverseSandbox) -> None:
    _a, opportunity, _l = enter_deal(box)
    (first,) = crm.opportunity_changes(None)
    box.advance_clock(timedelta(days=8).total_seconds())
    box.ui_update("opportunity", opportunity, {"name": "Renamed after a week"})
    (change,) = crm.opportunity_changes(first.position)
    assert change.values["name"] == "Renamed after a week" and crm.feed.baselines == 2


def _restarted(client: DataverseClient) -> Dynamics365SalesCrm:
    """A new q2c process: a new client and a new change feed, nothing remembered but what the environment keeps."""
    return Dynamics365SalesCrm(DataverseClient(client.settings, GuardRegistry()))


def _set_up(crm: Dynamics365SalesCrm, box: DataverseSandbox, name: str, key: str) -> str:
    """A won deal set up by q2c: the ERP's ids written back to it. Its opportunity id."""
    _a, opportunity, _l = enter_deal(box, name=name)
    crm.write_back(crm.deal(f"D365-{opportunity}"), customer_number=f"CUST-{key}", contract_id=f"C-{key}",
                   project_id=f"P-{key}")
    return opportunity


def test_after_a_restart_an_edit_of_an_erp_owned_column_is_still_a_changed_column(
        client: DataverseClient, crm: Dynamics365SalesCrm, box: DataverseSandbox) -> None:
    """The write-back keeps a copy of what q2c wrote in the row itself, so a process that never saw the write
    still tells the salesperson's edit of q2c_contractid from an edit of the name."""
    typo = _set_up(crm, box, "Typo", "1")
    renamed = _set_up(crm, box, "Renamed", "2")
    assert box.read("opportunity", typo)["q2c_erpownedcopy"] == '{"q2c_contractid":"C-1","q2c_projectid":"P-1"}'
    position = max(c.position for c in crm.opportunity_changes(None))  # the hub stores it, then q2c stops

    box.ui_update("opportunity", typo, {"q2c_contractid": "C-TYPO"})
    box.ui_update("opportunity", renamed, {"name": "Renamed (phase 2)"})
    restarted = _restarted(client)
    changes = {c.opportunity_ids[0]: c for c in restarted.opportunity_changes(position)}
    assert set(changes) == {f"D365-{typo}", f"D365-{renamed}"} and restarted.feed.baselines == 1
    edited = changes[f"D365-{typo}"]
    assert "q2c_contractid" in edited.changed_fields and edited.values["q2c_contractid"] == "C-TYPO"
    assert "q2c_projectid" not in edited.changed_fields and not edited.by_q2c and edited.origin == "Dana Seller"
    other = changes[f"D365-{renamed}"]
    assert "name" in other.changed_fields and not set(other.changed_fields) & restarted.erp_owned_fields()

    # q2c writes its value back (a replay of the conflict): an echo, and the copy still says what q2c wrote
    _restarted(client).write_back(restarted.deal(f"D365-{typo}"), customer_number="CUST-1", contract_id="C-1",
                                  project_id="P-1")
    (echo,) = _restarted(client).opportunity_changes(edited.position)
    assert echo.by_q2c and echo.values["q2c_contractid"] == "C-1"


def test_the_copy_column_is_never_reported_as_a_change(client: DataverseClient, crm: Dynamics365SalesCrm,
                                                        box: DataverseSandbox) -> None:
    _a, opportunity, _l = enter_deal(box)
    (start,) = crm.opportunity_changes(None)
    crm.write_back(crm.deal(f"D365-{opportunity}"), customer_number="CUST-1", contract_id="C-1", project_id="P-1")
    (echo,) = crm.opportunity_changes(start.position)
    assert echo.by_q2c and {"q2c_contractid", "q2c_projectid"} <= set(echo.changed_fields)
    box.ui_update("opportunity", opportunity, {"q2c_erpownedcopy": '{"q2c_contractid":"C-9"}'})
    (edit,) = crm.opportunity_changes(echo.position)  # the row changed: who changed it last, not the copy
    assert not set(edit.changed_fields) - {"_modifiedby_value", "modifiedon"}
    for feed in (crm, _restarted(client)):
        for change in [*feed.opportunity_changes(None), *feed.opportunity_changes(start.position)]:
            assert "q2c_erpownedcopy" not in change.changed_fields and "q2c_erpownedcopy" not in change.values


def test_what_this_process_wrote_outweighs_a_copy_edited_by_hand(crm: Dynamics365SalesCrm,
                                                                  box: DataverseSandbox) -> None:
    """A salesperson who edits the id and the copy to match hides nothing from the process that wrote it."""
    opportunity = _set_up(crm, box, "Hidden", "1")
    box.ui_update("opportunity", opportunity, {"q2c_contractid": "C-TYPO",
                                               "q2c_erpownedcopy": '{"q2c_contractid":"C-TYPO","q2c_projectid":"P-1"}'})
    (change,) = crm.opportunity_changes(None)  # the first request: every row
    assert change.changed_fields[-1:] == ("q2c_contractid",) and change.values["q2c_contractid"] == "C-TYPO"


def test_a_copy_that_is_not_q2cs_says_nothing_and_a_row_without_one_behaves_as_before(
        client: DataverseClient, crm: Dynamics365SalesCrm, box: DataverseSandbox) -> None:
    garbled = _set_up(crm, box, "Garbled", "1")
    position = max(c.position for c in crm.opportunity_changes(None))
    box.ui_update("opportunity", garbled, {"q2c_erpownedcopy": "ask finance", "q2c_contractid": "C-TYPO"})
    (change,) = _restarted(client).opportunity_changes(position)
    assert "q2c_contractid" not in change.changed_fields  # what q2c wrote is not known: not claimed


def test_without_a_copy_column_nothing_is_copied_and_a_restart_knows_nothing(
        client: DataverseClient, box: DataverseSandbox) -> None:
    columns = client.settings.columns.model_copy(update={"erp_owned_copy": None})
    settings = client.settings.model_copy(update={"columns": columns})
    crm = Dynamics365SalesCrm(DataverseClient(settings, GuardRegistry()))
    opportunity = _set_up(crm, box, "Plain", "1")
    row = box.read("opportunity", opportunity)
    assert (row["q2c_contractid"], row["q2c_erpownedcopy"]) == ("C-1", None)
    position = max(c.position for c in crm.opportunity_changes(None))
    box.ui_update("opportunity", opportunity, {"q2c_contractid": "C-TYPO", "name": "Plain (renamed)"})
    restarted = Dynamics365SalesCrm(DataverseClient(settings, GuardRegistry()))
    (change,) = restarted.opportunity_changes(position)
    assert "name" in change.changed_fields and "q2c_contractid" not in change.changed_fields
    assert "q2c_erpownedcopy" not in change.values
    # the process that wrote it still knows
    (known,) = crm.opportunity_changes(position)
    assert "q2c_contractid" in known.changed_fields
