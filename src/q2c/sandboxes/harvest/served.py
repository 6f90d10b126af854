"""What one sandbox's routes serve: its account, the token it accepts, how time entries page, and the
changes a test has lined up between two listings (between_pages).

The routes are plain module-level functions shared by every sandbox; each app carries its own
`Served` in `app.state`, and a route reaches it through the `served_by` dependency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, cast

from fastapi import Depends, Request

from q2c.sandboxes.harvest.account import SandboxAccount
from q2c.sandboxes.harvest.between_pages import BetweenPages
from q2c.sandboxes.harvest.paging import Paging


@dataclass
class Served:
    account: SandboxAccount
    token: str  # the personal access token a client sends as `Authorization: Bearer`
    time_entry_paging: Paging  # changed at run time through PUT /__sandbox/paging
    between_pages: BetweenPages = field(default_factory=BetweenPages)

    def reset(self) -> None:
        self.account.reset()
        self.between_pages = BetweenPages()


def served_by(request: Request) -> Served:
    return cast(Served, request.app.state.served)


def account_of(request: Request) -> SandboxAccount:
    return served_by(request).account


ServedHere = Annotated[Served, Depends(served_by)]
Account = Annotated[SandboxAccount, Depends(account_of)]
