"""HTTP Basic authentication as Toggl Track takes it, and who may see a workspace.

Documented: Basic with `<api_token>:api_token` (or e-mail and password). A request without
credentials is answered 401 with an empty body (seen on real answers, with `X-Authorization-Missing:
true`); wrong credentials get 403 (the wording is from recall). A workspace the user is not a
member of answers 403 "User does not have access to this resource."
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Annotated, cast

from fastapi import Depends, Request

from q2c.sandboxes.toggl.store import Store
from q2c.sandboxes.toggl.wire import TogglRefusal

NO_ACCESS = "User does not have access to this resource."


def credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def user_for(store: Store, headers: Mapping[str, str]) -> int | None:
    """The user the request's credentials belong to, None without credentials; 403 when they are wrong."""
    given = credentials(headers)
    if given is None:
        return None
    name, password = given
    for user in store.users.values():
        if (password == "api_token" and name == user["api_token"]) or (
                user.get("password") and name.casefold() == user["email"].casefold() and password == user["password"]):
            return int(user["id"])
    raise TogglRefusal(403, "Incorrect username and/or password")


def store_of(request: Request) -> Store:
    return cast(Store, request.app.state.store)


def signed_in(request: Request) -> int:
    """The dependency every Toggl route runs first: the requesting user's id."""
    user_id = user_for(store_of(request), request.headers)
    if user_id is None:
        raise TogglRefusal(401, "")
    return user_id


def member(workspace_id: int, request: Request) -> int:
    """A workspace route: the requesting user must be a member of this workspace."""
    user_id = signed_in(request)
    store = store_of(request)
    if workspace_id != store.workspace_id or user_id not in store.members:
        raise TogglRefusal(403, NO_ACCESS)
    return user_id


StoreHere = Annotated[Store, Depends(store_of)]
Viewer = Annotated[int, Depends(signed_in)]
Member = Annotated[int, Depends(member)]
