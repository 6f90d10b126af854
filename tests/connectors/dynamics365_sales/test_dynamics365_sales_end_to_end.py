"""Dynamics 365 Sales as the firm's CRM, end to end through the normal CLI path: `q2c sync` and `q2c doctor`
against the Dynamics 365 Sales, Harvest and NetSuite sandboxes, with `systems.crm.type: dynamics365_sales`.

The config is the one `q2c sandbox up` writes (`start_sandboxes` with the CRM role played by the
`dynamics365_sales` sandbox, over HTTPS with its own Entra ID tenant). A salesperson enters Hooli (US01,
Net 30, USD) and an opportunity with one Time and Materials product, 120 h at 150.00, and wins it
(WinOpportunity). Figures, by hand:

    won:      120 h x 150.00 = 18,000.00 USD  (opportunityproduct.extendedamount = opportunity.totalamount)
    changed:  140 h x 150.00 = 21,000.00 USD  (the salesperson reopens the deal, edits the product, wins it again)
    change:   +20 h, +3,000.00 on the one line

`q2c sync deals` sets the deal up: a customer, a project and an 18,000.00 sales order in NetSuite, a project
`P-<last 12 of the opportunity id>` in Harvest, and the ERP's ids in the opportunity's q2c_contractid and
q2c_projectid and the account's q2c_customernumber. The second `q2c sync deals` (a new process, as a
scheduled run is) sees the edit through change tracking and applies it as contract change CHG-...-1 with
the line's amount 18,000.00 -> 21,000.00 and hours 120 -> 140; NetSuite's sales order then comes to 21,000.00.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from q2c.entrypoints import cli
from q2c.entrypoints.sandbox_up import RunningSandboxes, start_sandboxes
from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox

SYSTEMS = {"crm": "dynamics365_sales", "tracker": "harvest", "erp": "netsuite"}
TIME_AND_MATERIALS = 100000000  # the sandbox org's q2c_billingtype choice value


def _engagement_key(opportunity: str) -> str:
    """A Dataverse opportunity (a GUID) names its engagement by 12 hex digits of its id's SHA-256."""
    return hashlib.sha256(opportunity.lower().encode()).hexdigest()[:12]


def q2c(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"Q2C_CONFIG": None})


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningSandboxes]:
    started = start_sandboxes(tmp_path / "firm", sandboxes=SYSTEMS)
    yield started
    started.stop()


def _won_deal(box: DataverseSandbox) -> tuple[str, str, str]:
    """(account id, opportunity id, product line id), entered and won by the salesperson in the app."""
    account = box.ui_create("account", {
        "name": "Hooli", "accountnumber": "HOOLI", "q2c_legalentity": "US01", "q2c_taxid": "US-45-1234567",
        "q2c_taxcode": "US-CA-STD", "paymenttermscode": 1, "address1_country": "US",
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({box.currency_id('USD')})"})
    opportunity = box.ui_create("opportunity", {
        "name": "Hooli data platform", "customerid_account@odata.bind": f"/accounts({account['accountid']})",
        "q2c_legalentity": "US01", "q2c_startdate": "2026-11-02", "q2c_enddate": "2027-03-31",
        "estimatedclosedate": "2026-11-02"})
    line = box.ui_create("opportunityproduct", {
        "opportunityid@odata.bind": f"/opportunities({opportunity['opportunityid']})",
        "productdescription": "Implementation (T&M)", "quantity": 120, "priceperunit": 150,
        "q2c_billingtype": TIME_AND_MATERIALS, "q2c_serviceoffering": "IMPL"})
    box.win(opportunity["opportunityid"], actual_end="2026-11-02")
    return str(account["accountid"]), str(opportunity["opportunityid"]), str(line["opportunityproductid"])


def _order_total(running: RunningSandboxes, contract_id: str) -> Decimal:
    (order,) = [r.values for r in running.netsuite.state.records["salesorder"].values()
                if r.values["externalid"] == contract_id]
    return sum((Decimal(str(item["amount"])) for item in order["item"]), Decimal(0))


def test_a_deal_won_in_dynamics_is_set_up_written_back_and_its_change_applied(running: RunningSandboxes) -> None:
    config = running.config_path
    written = yaml.safe_load(config.read_text())
    assert written["systems"]["crm"]["type"] == "dynamics365_sales"
    assert written["systems"]["crm"]["org_url"].startswith("https://127.0.0.1:")
    box = running.boxes["crm"]
    assert isinstance(box, DataverseSandbox)
    account, opportunity, _line = _won_deal(box)

    first = q2c("sync", "deals", "--config", str(config))
    assert first.exit_code == 0, first.output
    assert "no open exceptions" in first.output, first.output

    key = _engagement_key(opportunity)
    contract_id, project_id = f"C-{key}", f"P-{key}"
    ns = running.netsuite.state
    assert (ns.count("customer"), ns.count("salesorder"), ns.count("job")) == (1, 1, 1)
    assert _order_total(running, contract_id) == Decimal("18000.00")
    assert [p["code"] for p in running.harvest.state.projects.values() if p["code"].startswith("P-")] == [project_id]
    row = box.read("opportunity", opportunity)
    assert (row["q2c_contractid"], row["q2c_projectid"]) == (contract_id, project_id)
    assert row["_modifiedby_value"] == box.application_user_id()  # written as q2c's application user
    assert box.read("account", account)["q2c_customernumber"]

    # the salesperson reopens the won deal, sells 20 more hours, and wins it again
    box.ui_update("opportunity", opportunity, {"statecode": 0})
    box.ui_update("opportunityproduct", _line, {"quantity": 140})
    box.win(opportunity, actual_end="2026-11-02")
    assert box.read("opportunity", opportunity)["totalamount"] == Decimal("21000.00")

    second = q2c("sync", "deals", "--config", str(config))
    assert second.exit_code == 0, second.output
    flat = " ".join(second.output.split())
    assert "crm changes: 1 events, 0 echoes" in flat and "0 ownership conflicts" in flat, second.output

    listed = q2c("changes", "list", "--all", "--json", "--config", str(config))
    assert listed.exit_code == 0, listed.output
    (change,) = json.loads(listed.stdout)
    assert change["contract_id"] == contract_id and change["state"] == "applied"
    assert sorted(change["plan"]["amendments"]) == [
        f"line D365-{_line} amount: USD 18,000.00 -> USD 21,000.00",
        f"line D365-{_line} estimated_hours: 120 -> 140"]
    assert _order_total(running, contract_id) == Decimal("21000.00")

    healthy = q2c("doctor", "--config", str(config))
    assert healthy.exit_code == 0, healthy.output
    assert "application user" in " ".join(healthy.output.split()), healthy.output


def test_in_a_running_hub_an_edit_of_an_erp_owned_column_is_a_conflict_and_q2c_s_write_an_echo(
        running: RunningSandboxes) -> None:
    """`q2c serve` keeps one adapter: its change feed knows each row's columns as they were, so a salesperson's
    edit of q2c_contractid after q2c wrote it is an ownership conflict, and q2c's own write an echo."""
    from q2c.config import load_config
    from q2c.entrypoints.wiring import build_hub, drain
    from q2c.store import exceptions as exception_store
    from q2c.workflows.crm_changes import consume_crm_changes

    box = running.boxes["crm"]
    assert isinstance(box, DataverseSandbox)
    _account, opportunity, _line = _won_deal(box)
    hub = build_hub(load_config(running.config_path))
    first = consume_crm_changes(hub)  # read from the start: the won deal is queued for set-up
    assert (first.events, first.won) == (1, 1)
    drain(hub)
    contract_id = f"C-{_engagement_key(opportunity)}"
    assert box.read("opportunity", opportunity)["q2c_contractid"] == contract_id

    echo = consume_crm_changes(hub)
    assert (echo.events, echo.echoes, echo.conflicts) == (1, 1, 0)

    box.ui_update("opportunity", opportunity, {"q2c_contractid": "C-typed-by-hand"})
    conflict = consume_crm_changes(hub)
    assert (conflict.events, conflict.echoes, conflict.conflicts) == (1, 0, 1)
    with hub.engine.connect() as conn:
        (found,) = [e.violation for e in exception_store.search(conn) if e.violation.rule == "ownership.conflict"]
    assert (found.system, found.object, found.record_id, found.field) == (
        "dynamics365_sales", "opportunity", f"D365-{opportunity}", "q2c_contractid")
    assert "'C-typed-by-hand'" in found.message and "Dana Seller" in found.message


def test_an_edit_of_an_erp_owned_column_between_two_scheduled_runs_is_a_conflict(running: RunningSandboxes) -> None:
    """Each `q2c sync deals` is a new process. The first sets the deal up and writes the ERP's ids back with its
    copy in q2c_erpownedcopy; the salesperson then overwrites q2c_contractid while no q2c runs; the next run,
    which never saw the write, still raises the ownership conflict from the copy the row keeps."""
    from q2c.config import load_config
    from q2c.entrypoints.wiring import build_hub
    from q2c.store import exceptions as exception_store

    config = running.config_path
    assert yaml.safe_load(config.read_text())["systems"]["crm"]["columns"]["erp_owned_copy"] == "q2c_erpownedcopy"
    box = running.boxes["crm"]
    assert isinstance(box, DataverseSandbox)
    _account, opportunity, _line = _won_deal(box)
    first = q2c("sync", "deals", "--config", str(config))
    assert first.exit_code == 0 and "no open exceptions" in first.output, first.output
    key = _engagement_key(opportunity)
    assert json.loads(box.read("opportunity", opportunity)["q2c_erpownedcopy"]) == {
        "q2c_contractid": f"C-{key}", "q2c_projectid": f"P-{key}"}

    box.ui_update("opportunity", opportunity, {"q2c_contractid": "C-TYPO"})
    second = q2c("sync", "deals", "--config", str(config))
    assert second.exit_code == 1, second.output  # an open exception for a person to act on
    assert "1 ownership conflicts" in " ".join(second.output.split()), second.output
    with build_hub(load_config(config)).engine.connect() as conn:
        (found,) = [e.violation for e in exception_store.search(conn) if e.violation.rule == "ownership.conflict"]
    assert (found.record_id, found.field) == (f"D365-{opportunity}", "q2c_contractid")
    assert "'C-TYPO'" in found.message and "Dana Seller" in found.message
