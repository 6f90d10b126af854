"""A won deal set up in Business Central: the customer in every company, the project with its job tasks,
the contract as a sales order with one G/L account line per phase and its dimensions; twice is once."""

from __future__ import annotations

from decimal import Decimal

from business_central_fixtures import CONTRACT, CUSTOMER, PROJECT, set_up, usd

from q2c.connectors.business_central import BusinessCentralErp, BusinessCentralSettings
from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.workflows.ports import Erp


def test_business_central_deal_set_up_twice_is_set_up_once(erp: BusinessCentralErp, box: BusinessCentralSandbox,
                                                            settings: BusinessCentralSettings) -> None:
    port: Erp = erp  # the whole port (mypy checks the protocol)
    assert port.names.system == "business_central"
    first = set_up(erp)
    assert set_up(erp) == first
    number, project_id, order_id = first
    assert number == CUSTOMER.id.upper()  # Code[20]: Business Central keeps it in capitals
    for company in settings.companies.values():  # the customer is in every company
        (customer,) = [c for c in box.records(company, "customers") if c["number"] == number]
        assert (customer["displayName"], customer["taxRegistrationNumber"]) == ("Hooli", "US-45-1234567")
    us01 = settings.companies["US01"]
    terms = {t["id"]: t["code"] for t in box.records(us01, "paymentTerms")}
    (customer,) = [c for c in box.records(us01, "customers") if c["number"] == number]
    assert terms[customer["paymentTermsId"]] == "30 DAYS"
    assert [p["id"] for p in box.records(us01, "projects") if p["number"] == PROJECT.id.upper()] == [project_id]
    tasks = [t for t in box.records(us01, "jobTasks") if t["jobNumber"] == PROJECT.id.upper()]
    assert sorted((t["jobTaskNumber"], t["description"], t["jobTaskType"]) for t in tasks) == [
        ("BUILD", "Build", "Posting"), ("DESIGN", "Design", "Posting")]
    (order,) = [o for o in box.records(us01, "salesOrders") if o["externalDocumentNumber"] == CONTRACT.id.upper()]
    assert order["id"] == order_id and order["customerNumber"] == number
    lines = sorted((ln["lineObjectNumber"], ln["unitPrice"]) for ln in box.records(us01, "salesOrderLines")
                   if ln["documentId"] == order_id)
    assert lines == [("40100", Decimal("18000.00")), ("40200", Decimal("5000.00"))]
    held = erp.documents("contract", [CONTRACT.id])
    assert [(d.id, d.total, d.currency, len(d.lines)) for d in held] == [
        (CONTRACT.id, Decimal("23000.00"), "USD", 2)]


def test_business_central_sales_order_follows_a_changed_contract(erp: BusinessCentralErp,
                                                                 box: BusinessCentralSandbox,
                                                                 settings: BusinessCentralSettings) -> None:
    set_up(erp)
    grown = CONTRACT.model_copy(update={"phases": (CONTRACT.phases[0].model_copy(update={"amount": usd("21000.00")}),
                                                   CONTRACT.phases[1])})
    order_id = erp.upsert_contract(grown, project_id=PROJECT.id)
    (doc,) = erp.documents("contract", [CONTRACT.id])
    assert doc.system_id == order_id and doc.total == Decimal("26000.00")
    us01 = settings.companies["US01"]
    assert len([o for o in box.records(us01, "salesOrders") if o["externalDocumentNumber"] == CONTRACT.id.upper()]) == 1
