"""`systems.tracker` with `type: toggl`: config errors name the key, and `q2c doctor`'s check for Toggl."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from toggl_fixtures import ADA_TOKEN, Workspace, seed_workspace

from q2c.config import ConfigError, parse_config
from q2c.connectors.toggl.doctor import check
from q2c.connectors.toggl.settings import TogglSettings
from q2c.entrypoints.demo import demo_settings
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.registry import make_sandbox, sandbox_spec
from q2c.sandboxes.toggl.app import TogglSandbox, create_sandbox


@pytest.fixture
def config_of(tmp_path: Path) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A whole q2c config (the demo's firm, the Salesforce and NetSuite sandboxes' blocks) around `tracker`."""
    others = {role: sandbox_spec(name).settings(make_sandbox(name), "http://127.0.0.1:9", tmp_path)
              for role, name in (("crm", "salesforce"), ("erp", "netsuite"))}

    def build(tracker: dict[str, Any]) -> dict[str, Any]:
        return demo_settings(database="sqlite:///:memory:", systems={**others, "tracker": tracker})

    return build


@pytest.mark.parametrize(("given", "key", "words"), [
    ({"workspace_id": 0}, "systems.tracker.workspace_id", "greater than or equal to 1"),
    ({"api_token": " "}, "systems.tracker.api_token", "API token of a workspace admin"),
    ({"base_url": "https://api.track.toggl.com/api/v9"}, "systems.tracker.base_url", "without /api/v9"),
    ({"timezone": "Mars/Olympus"}, "systems.tracker.timezone", "IANA timezone"),
    ({"requests_per_second": 0}, "systems.tracker.requests_per_second", "greater than or equal to 1"),
])
def test_a_bad_toggl_setting_is_named_by_its_key(config_of: Callable[[dict[str, Any]], dict[str, Any]],
                                                given: dict[str, Any], key: str, words: str, tmp_path: Path) -> None:
    tracker = {"type": "toggl", "workspace_id": 7700001, "api_token": "1971800d4d82861d8f2c1651fea4d212", **given}
    with pytest.raises(ConfigError) as caught:
        parse_config(config_of(tracker), base_dir=tmp_path)
    line = next(ln for ln in str(caught.value).splitlines() if key in ln)
    assert words in line, str(caught.value)


def test_a_good_toggl_config_loads_with_the_documented_defaults(
        config_of: Callable[[dict[str, Any]], dict[str, Any]], tmp_path: Path) -> None:
    raw = config_of({"type": "toggl", "workspace_id": 7700001, "api_token": "t" * 32})
    loaded = parse_config(raw, base_dir=tmp_path).systems.tracker
    assert isinstance(loaded, TogglSettings)
    assert (loaded.base_url, loaded.requests_per_second, loaded.page_size) == ("https://api.track.toggl.com", 1, 50)


def _at(server: SandboxServer, workspace_id: int, token: str) -> TogglSettings:
    """Settings for the sandbox; faster than Toggl's 1 request a second, which the sandbox does not enforce."""
    return TogglSettings(base_url=server.url, workspace_id=workspace_id, api_token=token, requests_per_second=100)


def test_doctor_passes_for_an_admin_with_approvals(server: SandboxServer, sandbox: TogglSandbox,
                                                   ws: Workspace) -> None:
    result = check(_at(server, sandbox.workspace_id, sandbox.token),
                   "systems.tracker", 5.0)
    assert result.ok and "an admin, with approvals in use" in result.detail


def test_doctor_names_the_account_problems(server: SandboxServer, sandbox: TogglSandbox, ws: Workspace) -> None:
    member = check(_at(server, sandbox.workspace_id, ADA_TOKEN),
                   "systems.tracker", 5.0)
    assert (member.ok, member.blocking, member.key) == (False, False, "systems.tracker.api_token")
    assert "not an admin of Toggl workspace" in member.detail


def test_doctor_says_approvals_are_off_and_blocks_on_a_refused_token() -> None:
    box = create_sandbox()
    with SandboxServer(box) as server, httpx.Client(base_url=f"{server.url}/api/v9/workspaces/{box.workspace_id}",
                                                    auth=(box.token, "api_token")) as owner:
        seed_workspace(box, owner, setups=False)
        off = check(_at(server, box.workspace_id, box.token),
                    "systems.tracker", 5.0)
        refused = check(_at(server, box.workspace_id, "0" * 32),
                        "systems.tracker", 5.0)
        elsewhere = check(_at(server, box.workspace_id + 1, box.token),
                          "systems.tracker", 5.0)
    assert (off.ok, off.blocking, off.key) == (False, False, "systems.tracker.workspace_id")
    assert "no timesheet setups" in off.detail
    assert (refused.blocking, refused.key) == (True, "systems.tracker.api_token") and "HTTP 403" in refused.detail
    assert (elsewhere.blocking, elsewhere.key) == (True, "systems.tracker.workspace_id")
