"""What one sandbox's routes serve: its account, the token it accepts, and how time entries page.

The routes are plain module-level functions shared by every sandbox; each app carries its own
`Served` in `app.state`, and a route reaches it through the `served_by` dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request

from q2c.sandboxes.harvest.account import SandboxAccount
from q2c.sandboxes.harvest.paging import Paging


@dataclass
class Served:
    account: SandboxAccount
    token: str  # the personal access token a client sends as `Authorization: Bearer`
    time_entry_paging: Paging  # changed at run time through PUT /__sandbox/paging


def served_by(request: Request) -> Served:
    return cast(Served, request.app.state.served)


def account_of(request: Request) -> SandboxAccount:
    return served_by(request).account


ServedHere = Annotated[Served, Depends(served_by)]
Account = Annotated[SandboxAccount, Depends(account_of)]
