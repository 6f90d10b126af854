"""What the access token's user may see and do, by their access roles.

Harvest's API v2 user object (https://help.getharvest.com/api-v2/users-api/users/users/): `access_roles`
"determine the user's permissions in Harvest. Possible values: administrator, manager or member. Users
with the manager role can additionally be granted one or more of these roles: project_creator,
billable_rates_manager, managed_projects_invoice_drafter, managed_projects_invoice_manager,
client_and_task_manager, time_and_expenses_manager, estimates_manager"; a Manager given teammates also
gets `people_manager` (the teammates endpoint). A token acts as its user.

What each may do, from Harvest's help centre, "Team permissions"
(https://support.getharvest.com/hc/en-us/articles/360048687451-Team-permissions): a Member reports only on
their own time; a Manager on others' time "only for projects they manage and/or their assigned people";
an Administrator on everyone's. Creating clients and tasks, and creating projects, need an
Administrator or a Manager "with additional permission" (client_and_task_manager, project_creator).
The API docs add: `/v2/users` (other than `/v2/users/me`) needs an Administrator or a Manager with
assigned teammates, "Insufficient permissions will result in a 403 Forbidden status code" (users page);
projects need "Admin or Project Manager permissions" (projects page). The sandbox models a Manager's
managed projects (user assignments with `is_project_manager`), not their assigned people. The 403 body's
wording is from recall.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from q2c.sandboxes.harvest.entry_index import Visible
from q2c.sandboxes.harvest.errors import HarvestRefusal
from q2c.sandboxes.harvest.wire import Json

ADMINISTRATOR, MANAGER, MEMBER = "administrator", "manager", "member"
LEVELS = (ADMINISTRATOR, MANAGER, MEMBER)
MANAGER_GRANTS = ("project_creator", "billable_rates_manager", "managed_projects_invoice_drafter",
                  "managed_projects_invoice_manager", "client_and_task_manager", "time_and_expenses_manager",
                  "estimates_manager", "people_manager")


class Forbidden(HarvestRefusal):
    def __init__(self, what: str) -> None:
        super().__init__(f"You do not have permission to {what}", 403)


def checked_roles(roles: Iterable[str]) -> list[str]:
    """Exactly one level (administrator, manager, member); the extra grants only beside manager."""
    given = list(dict.fromkeys(str(r) for r in roles))
    levels = [r for r in given if r in LEVELS]
    unknown = [r for r in given if r not in LEVELS and r not in MANAGER_GRANTS]
    if unknown:
        raise HarvestRefusal(f"Access roles {', '.join(unknown)} are not known")
    if len(levels) != 1:
        raise HarvestRefusal("Access roles must hold exactly one of administrator, manager or member")
    if levels[0] != MANAGER and len(given) > 1:
        raise HarvestRefusal("Only a manager can be granted additional access roles")
    return given


def managed_projects(user_id: int, user_assignments: Mapping[int, Json]) -> frozenset[int]:
    return frozenset(a["project"]["id"] for a in user_assignments.values()
                     if a["user"]["id"] == user_id and a["is_project_manager"] and a["is_active"])


def time_visible_to(user: Json, user_assignments: Mapping[int, Json]) -> Visible | None:
    """None for an Administrator (everyone's time); else the people and projects whose time they see."""
    roles = user["access_roles"]
    if ADMINISTRATOR in roles:
        return None
    projects = managed_projects(user["id"], user_assignments) if MANAGER in roles else frozenset()
    return frozenset({user["id"]}), projects


def require(user: Json, what: str, *, grant: str | None = None) -> None:
    """Refuse (403) unless the user is an Administrator, or a Manager holding `grant` (when one is named)."""
    roles = user["access_roles"]
    if ADMINISTRATOR in roles or (grant is not None and MANAGER in roles and grant in roles):
        return
    raise Forbidden(what)


def may_list_users(user: Json) -> None:
    require(user, "list users", grant="people_manager")


def projects_visible_to(user: Json, user_assignments: Mapping[int, Json]) -> frozenset[int] | None:
    """None for an Administrator (every project); a Manager's managed projects; a Member is refused."""
    roles = user["access_roles"]
    if ADMINISTRATOR in roles:
        return None
    if MANAGER in roles:
        return managed_projects(user["id"], user_assignments)
    raise Forbidden("list projects")
