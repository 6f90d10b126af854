"""What in a Harvest account keeps time from reaching q2c whole, phrased as violations a person can fix
(each action says what to change in Harvest, or in q2c's config).

Read from two cheap answers: `GET /v2/company` (`approval_feature`: whether the Approvals module is on)
and `GET /v2/users/me` (the token's user, whose `access_roles` are "administrator, manager or member",
a manager possibly also "project_creator", "client_and_task_manager" and others; Users,
https://help.getharvest.com/api-v2/users-api/users/users/). A personal access token acts as its user.

Harvest's help centre, Team permissions
(https://support.getharvest.com/hc/en-us/articles/360048687451-Team-permissions): a Member reports only on
their own time; a Manager on others' time "only for projects they manage and/or their assigned people",
and (What can people with Manager permissions never access) never sees cost rates; an Administrator sees
everything. Creating clients and tasks, and creating projects, take an Administrator or a Manager "with
additional permission"; assigning people only to projects the Manager manages. So q2c, which must see
every person's time and sets projects up, needs an Administrator's token. A time listing answers with
what the token may see, without an error (the API documents this scoping for expenses; for time entries
it is from recall): a Member's token syncs that one person's time, and nothing else says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from q2c.domain.violations import Violation

SYSTEM = "harvest"
ADMINISTRATOR, MANAGER = "administrator", "manager"
PROJECT_GRANTS = {"project_creator": "Create projects", "client_and_task_manager": "Create and edit clients and tasks"}
_PERMISSIONS = "Team > Actions > Edit > Permissions"


def _roles(me: Mapping[str, Any]) -> list[str]:
    roles = me.get("access_roles")
    return [str(r) for r in roles] if isinstance(roles, list) else []


def _person(me: Mapping[str, Any]) -> str:
    name = " ".join(str(me.get(k) or "") for k in ("first_name", "last_name")).strip()
    email = str(me.get("email") or "")
    return f"{name} ({email})" if name and email else name or email or f"user {me.get('id')}"


def _level(roles: list[str]) -> str:
    return "Administrator" if ADMINISTRATOR in roles else "Manager" if MANAGER in roles else "Member"


def _make_admin(me: Mapping[str, Any], account_id: str) -> str:
    return (f"An Administrator of Harvest account {account_id} makes {_person(me)} an Administrator "
            f"({_PERMISSIONS}, Administrator, Update permissions), or q2c is given the personal access token "
            "of an Administrator (Harvest ID > Developers, then systems.tracker.access_token)")


def approvals_off(company: Mapping[str, Any], account_id: str) -> list[Violation]:
    """With Approvals off no entry is ever approved, so q2c would wait for ever, in silence."""
    if company.get("approval_feature", True) is not False:
        return []
    return [Violation(
        system=SYSTEM, object="company", record_id=account_id, field="approval_feature", rule="harvest.approvals_off",
        message=f"Approvals are switched off in Harvest account {account_id} "
                f"({company.get('name', 'this account')}): no time entry is ever approved, so none reaches "
                "the ERP or an invoice",
        action="Turn Approvals on in Harvest (Settings > Modules)")]


def time_access(me: Mapping[str, Any], account_id: str) -> list[Violation]:
    """Whether the token's user sees everyone's time (only an Administrator does)."""
    roles = _roles(me)
    if ADMINISTRATOR in roles:
        return []
    if MANAGER in roles:
        rule, sees = "harvest.managed_time_only", ("only the time on projects they manage and of their assigned "
                                                   "people, without cost rates")
    else:
        rule, sees = "harvest.own_time_only", "only their own time"
    return [Violation(
        system=SYSTEM, object="user", record_id=str(me.get("id")), field="access_roles", rule=rule,
        message=f"q2c reads Harvest account {account_id} as {_person(me)}, a {_level(roles)} "
                f"(access_roles {', '.join(roles) or 'none'}): Harvest shows a {_level(roles)} {sees}, so "
                "everyone else's time is missing from the ERP, from invoices and from revenue, and nothing "
                "else says so",
        action=_make_admin(me, account_id))]


def project_setup(me: Mapping[str, Any], account_id: str) -> list[Violation]:
    """Whether the token's user can create the clients, projects and tasks of a won deal's project."""
    roles = _roles(me)
    if ADMINISTRATOR in roles:
        return []
    missing = [label for grant, label in PROJECT_GRANTS.items() if MANAGER not in roles or grant not in roles]
    if not missing:
        return []
    return [Violation(
        system=SYSTEM, object="user", record_id=str(me.get("id")), field="access_roles",
        rule="harvest.cannot_set_up_projects",
        message=f"{_person(me)}, a {_level(roles)} in Harvest account {account_id}, may not "
                f"{' or '.join(m.lower() for m in missing)}, which q2c does to set up each won deal's project "
                f"(a Manager may, with the permissions {' and '.join(PROJECT_GRANTS.values())}, but assigns "
                "people only to projects they manage)",
        action=_make_admin(me, account_id))]
