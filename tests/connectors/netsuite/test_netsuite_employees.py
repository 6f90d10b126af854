"""Employees as reference data through the ERP port (SuiteQL on `employee`), on the NetSuite sandbox."""

from __future__ import annotations

import pytest
from netsuite_fixtures import ClientFactory
from pydantic import ValidationError

from q2c.connectors.netsuite.erp import NetSuiteErp
from q2c.engine.errors import RecordRejected
from q2c.sandboxes.netsuite.app import NetSuiteSandbox


def _seed(sandbox: NetSuiteSandbox) -> None:
    sandbox.state.seed("employee", {"firstName": "Ada", "lastName": "Byron", "email": "Ada@Firm.example",
                                    "entityId": "EMP-007", "title": "Principal Consultant"})
    sandbox.state.seed("employee", {"firstName": "Old", "lastName": "Hand", "email": "old@firm.example",
                                    "entityId": "EMP-001", "isInactive": True})
    sandbox.state.seed("employee", {"firstName": "No", "lastName": "Mail", "entityId": "EMP-002"})


def test_resources_carry_name_number_activity_and_the_mapped_role(make_client: ClientFactory,
                                                                   sandbox: NetSuiteSandbox) -> None:
    _seed(sandbox)
    erp = NetSuiteErp(make_client(employee_role_field="Title"))
    people = {p.employee_number: p for p in erp.resources()}
    ada, old, nomail = people["EMP-007"], people["EMP-001"], people["EMP-002"]
    assert (ada.email, ada.name, ada.active, ada.roles) == ("ada@firm.example", "Ada Byron", True,
                                                            ("Principal Consultant",))
    assert (old.active, old.roles) == (False, ()) and (nomail.email, nomail.name) == (None, "No Mail")
    assert erp._employee_ids() == {"ada@firm.example": ada.system_id}  # who may post time, refreshed with it
    assert NetSuiteErp(make_client()).resources()[0].roles == ()  # no role field configured: no role


def test_a_role_field_netsuite_does_not_have_is_refused_naming_the_setting(make_client: ClientFactory,
                                                                           sandbox: NetSuiteSandbox) -> None:
    _seed(sandbox)
    with pytest.raises(RecordRejected) as refused:
        NetSuiteErp(make_client(employee_role_field="custentity_q2c_role")).resources()
    v = refused.value.violation
    assert (v.object, v.field) == ("employee", "custentity_q2c_role")
    assert "systems.erp.employee_role_field" in v.message and "q2c reference sync" in v.action


def test_a_role_field_that_is_no_employee_field_is_a_config_error(make_client: ClientFactory) -> None:
    with pytest.raises(ValidationError, match=r"must be title \(the employee's Job Title\) or the id of a custom"):
        make_client(employee_role_field="email; DROP")
