"""People changing time while a client pages through it: changes made between two `GET /v2/time_entries`.

A test hook, not part of Harvest: `POST /__sandbox/between_pages` with `{"after": n, "changes": [...]}`
makes the changes once `n` more time entry listings have been answered (n >= 1), so they land exactly
between the n-th listing the client reads and the next one. A change is one of
`{"create": <POST /v2/time_entries body>}`, `{"update": {"id": .., <PATCH fields>}}`, `{"delete": id}`,
`{"approve": [ids]}` and `{"withdraw_approval": [ids]}`, made as the token's user would (approvals as in
the web UI). `GET /__sandbox/between_pages` says how many are still waiting and what each made did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from q2c.sandboxes.harvest.account import SandboxAccount
from q2c.sandboxes.harvest.errors import HarvestRefusal
from q2c.sandboxes.harvest.fields import as_int
from q2c.sandboxes.harvest.wire import Json


def _ids(value: Any, kind: str) -> list[int]:
    if not isinstance(value, list):
        raise HarvestRefusal(f"{kind} takes a list of time entry ids")
    return [as_int(v, kind) for v in value]


def _maker(change: Any) -> Callable[[SandboxAccount], Any]:
    """The change as a function of the account, checked for shape now (values are checked when made)."""
    if not isinstance(change, Mapping) or len(change) != 1:
        raise HarvestRefusal("each change is one of create, update, delete, approve, withdraw_approval")
    ((kind, value),) = change.items()
    if kind == "create" and isinstance(value, Mapping):
        return lambda account: account.create_time_entry(value)["id"]
    if kind == "update" and isinstance(value, Mapping) and "id" in value:
        entry_id = as_int(value["id"], "id")
        fields = {k: v for k, v in value.items() if k != "id"}
        return lambda account: account.update_time_entry(entry_id, fields)["id"]
    if kind == "delete":
        entry_id = as_int(value, "delete")
        return lambda account: account.delete_time_entry(entry_id)
    if kind == "approve":
        ids = _ids(value, kind)
        return lambda account: account.approve(ids)
    if kind == "withdraw_approval":
        ids = _ids(value, kind)
        return lambda account: account.withdraw_approval(ids)
    raise HarvestRefusal(f"unknown change {kind!r}: create, update, delete, approve or withdraw_approval")


@dataclass
class _Batch:
    after: int
    changes: list[Json]
    makers: list[Callable[[SandboxAccount], Any]]


@dataclass
class BetweenPages:
    """Changes waiting for their listing, and what the ones already made did."""

    waiting: list[_Batch] = field(default_factory=list)
    made: list[Json] = field(default_factory=list)

    def schedule(self, after: int, changes: Any) -> None:
        if after < 1:
            raise HarvestRefusal("after must be 1 or more: the changes come after that many listings")
        if not isinstance(changes, list) or not changes:
            raise HarvestRefusal("changes must be a non-empty list")
        self.waiting.append(_Batch(after, list(changes), [_maker(c) for c in changes]))

    def listing_answered(self, account: SandboxAccount) -> None:
        """One more listing is answered: make the changes that were waiting for it."""
        due = []
        for batch in self.waiting:
            batch.after -= 1
            if batch.after == 0:
                due.append(batch)
        for batch in due:
            self.waiting.remove(batch)
            for change, make in zip(batch.changes, batch.makers, strict=True):
                try:
                    self.made.append({"change": change, "result": make(account)})
                except HarvestRefusal as exc:
                    self.made.append({"change": change, "error": exc.message})

    def report(self) -> Json:
        return {"waiting": sum(len(b.changes) for b in self.waiting), "made": list(self.made)}
