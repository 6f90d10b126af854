"""The account's people (`/v2/users`): an email is unique in the account, whatever its case; access roles
are checked as permissions.checked_roles says; business `roles` are free names (for reports, no permission)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from q2c.sandboxes.harvest.errors import HarvestRefusal, NotFound
from q2c.sandboxes.harvest.fields import as_bool, as_optional_decimal, as_text, required
from q2c.sandboxes.harvest.permissions import checked_roles
from q2c.sandboxes.harvest.stamps import Stamps
from q2c.sandboxes.harvest.wire import Json

WEEKLY_CAPACITY = 144000  # seconds: Harvest's default of 40 hours


def full_name(user: Json) -> str:
    """How Harvest names a person inside other records (`{"id", "name"}`)."""
    return f"{user['first_name']} {user['last_name']}"


def _names(value: Any, name: str) -> list[str]:
    """An array of strings (a user's business `roles`: names for reports, no permission)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise HarvestRefusal(f"{name} must be an array of strings")
    return list(value)  # each checked as text where the user is made


class People:
    def __init__(self, stamps: Stamps) -> None:
        self.users: dict[int, Json] = {}
        self._stamps = stamps

    def add(self, first_name: str, last_name: str, email: str, *, is_active: bool = True,
            is_contractor: bool = False, default_hourly_rate: Decimal | None = None,
            cost_rate: Decimal | None = None, access_roles: Iterable[str] = ("member",),
            timezone: str = "Etc/UTC", roles: Iterable[str] = ()) -> Json:
        email = as_text(email, "email").strip()
        business_roles = [as_text(r, "roles") for r in roles]
        roles = checked_roles(access_roles)
        if "@" not in email:
            raise HarvestRefusal("Email is invalid")
        if any(u["email"].lower() == email.lower() for u in self.users.values()):
            raise HarvestRefusal("Email has already been taken")
        _, now_text = self._stamps.now()
        user: Json = {
            "id": self._stamps.new_id("user"), "first_name": first_name, "last_name": last_name,
            "email": email, "telephone": "", "timezone": timezone,
            "has_access_to_all_future_projects": False, "is_contractor": is_contractor,
            "is_active": is_active, "weekly_capacity": WEEKLY_CAPACITY,
            "default_hourly_rate": default_hourly_rate, "cost_rate": cost_rate,
            "roles": business_roles, "access_roles": roles, "avatar_url": None,
            "created_at": now_text, "updated_at": now_text,
        }
        self.users[user["id"]] = user
        return user

    def create(self, body: Mapping[str, Any]) -> Json:
        """`POST /v2/users`: first name, last name and email are required."""
        return self.add(
            as_text(required(body, "first_name"), "first_name"),
            as_text(required(body, "last_name"), "last_name"),
            as_text(required(body, "email"), "email"),
            is_contractor=as_bool(body.get("is_contractor", False), "is_contractor"),
            is_active=as_bool(body.get("is_active", True), "is_active"),
            default_hourly_rate=as_optional_decimal(body.get("default_hourly_rate"), "default_hourly_rate"),
            cost_rate=as_optional_decimal(body.get("cost_rate"), "cost_rate"),
            access_roles=body.get("access_roles") or ("member",),
            roles=_names(body.get("roles"), "roles"),
        )

    def set_access_roles(self, user_id: int, roles: Iterable[str]) -> Json:
        """What an Administrator does under Team > Edit > Permissions."""
        user = self.get(user_id)
        user["access_roles"] = checked_roles(roles)
        user["updated_at"] = self._stamps.now()[1]
        return user

    def get(self, user_id: int) -> Json:
        if user_id not in self.users:
            raise NotFound("User")
        return self.users[user_id]
