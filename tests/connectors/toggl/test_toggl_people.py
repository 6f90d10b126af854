"""The workspace's people through the tracker port (`GET /workspaces/{wid}/users`), on the Toggl sandbox."""

from __future__ import annotations

from toggl_fixtures import Clock, Workspace, make_tracker

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.toggl.app import OWNER_EMAIL, TogglSandbox


def test_people_are_the_members_with_lower_cased_emails_and_no_roles(server: SandboxServer, sandbox: TogglSandbox,
                                                                     clock: Clock, ws: Workspace) -> None:
    grace = next(uid for uid, u in sandbox.store.users.items() if u["email"] == "grace@example.com")
    sandbox.store.members[grace].update(active=False, inactive=True)  # an admin deactivated her in the web app
    people = {p.email: p for p in make_tracker(server, sandbox, clock).people()}
    assert sorted(e or "" for e in people) == ["ada.lovelace@example.com", "grace@example.com", OWNER_EMAIL]
    ada = people["ada.lovelace@example.com"]
    assert (ada.name, ada.active, ada.roles, ada.employee_number) == ("Ada Lovelace", True, (), None)
    assert (people["grace@example.com"].active, people["grace@example.com"].system_id) == (False, str(grace))
    assert people[OWNER_EMAIL].roles == ()  # the workspace role (admin) is a permission, not a business role
