"""The Harvest tracker's account check: with the Approvals module off nothing is ever approved, so the
tracker says so (Harvest API v2, GET /v2/company, `approval_feature`) instead of leaving q2c to wait."""

from __future__ import annotations

from q2c.connectors.harvest.client import HarvestClient
from q2c.connectors.harvest.tracker import HarvestTracker
from q2c.sandboxes.harvest.app import HarvestSandbox


def test_approvals_off_is_an_account_problem_naming_the_setting(harvest: HarvestClient,
                                                                sandbox: HarvestSandbox) -> None:
    tracker = HarvestTracker(harvest)
    assert tracker.account_problems() == []
    sandbox.state.company["approval_feature"] = False
    (problem,) = tracker.account_problems()
    assert (problem.system, problem.object, problem.record_id, problem.field, problem.rule) == (
        "harvest", "company", harvest.config.account_id, "approval_feature", "harvest.approvals_off")
    assert "Settings > Modules" in problem.action
    sandbox.state.company["approval_feature"] = True
    assert tracker.account_problems() == []
