"""The story in a NetSuite account: employees added, records counted by type, a timebill deleted by mistake."""

from __future__ import annotations

from q2c.sandboxes.kit import Sandbox
from q2c.sandboxes.netsuite.app import NetSuiteSandbox
from q2c.sandboxes.registry import ErpCount

RECORD_TYPES: dict[ErpCount, str] = {"customer": "customer", "project": "job", "task": "projecttask",
                                     "contract": "salesorder", "timebill": "timebill", "invoice": "invoice",
                                     "journal_entry": "journalentry"}


def _account(box: Sandbox) -> NetSuiteSandbox:
    assert isinstance(box, NetSuiteSandbox), f"{box.name} is not the NetSuite sandbox"
    return box


class NetSuiteScenario:
    def employee(self, box: Sandbox, *, first: str, last: str, email: str) -> None:
        _account(box).state.seed("employee", {"firstName": first, "lastName": last, "email": email,
                                              "entityId": f"{first} {last}"})

    def count(self, box: Sandbox, kind: ErpCount) -> int:
        return _account(box).state.count(RECORD_TYPES[kind])

    def delete_timebill(self, box: Sandbox, external_id: str) -> bool:
        state = _account(box).state
        found = state.by_external_id("timebill", external_id)
        if found is None:
            return False
        state.delete(found)
        return True

    def timebill_ids(self, box: Sandbox) -> list[str]:
        return [str(r.values.get("externalid")) for r in _account(box).state.records["timebill"].values()]

    def created(self, box: Sandbox, kind: ErpCount) -> int:
        return _account(box).state.created(RECORD_TYPES[kind])
