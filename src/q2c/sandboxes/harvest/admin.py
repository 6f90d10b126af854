"""The sandbox's own routes under `/__sandbox/`: the person in the Harvest web UI, and synthetic load.

Harvest has no approval endpoints; these routes play the person who approves, reopens or invoices
time in the web UI, or changes someone's permissions (Team > Edit > Permissions), generate entries for
benchmarks, switch how time entries page, line up changes between two listings (between_pages), and
summarise the account. A real Harvest has none of them, and connectors never call them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from q2c.sandboxes.harvest.account import SandboxAccount
from q2c.sandboxes.harvest.errors import HarvestRefusal
from q2c.sandboxes.harvest.fields import as_date, as_int
from q2c.sandboxes.harvest.served import Account, ServedHere
from q2c.sandboxes.harvest.wire import Json, body_of, json_response

router = APIRouter(prefix="/__sandbox", include_in_schema=False)


def _ids(body: Json) -> list[int]:
    raw = body.get("ids") or []
    if not isinstance(raw, list):
        raise HarvestRefusal("ids must be a list of time entry ids")
    return [as_int(str(i), "ids") for i in raw]


def _number(body: Json, name: str, default: int) -> int:
    return as_int(str(body.get(name, default)), name)


@router.post("/approve")
async def approve(request: Request, account: Account) -> Response:
    body = await body_of(request)
    return json_response({"approved": account.approve(_ids(body), all_submitted=bool(body.get("all_submitted")))})


@router.post("/withdraw_approval")
async def withdraw(request: Request, account: Account) -> Response:
    return json_response({"reopened": account.withdraw_approval(_ids(await body_of(request)))})


@router.post("/invoice")
async def invoice(request: Request, account: Account) -> Response:
    body = await body_of(request)
    return json_response(account.mark_invoiced(_ids(body), number=body.get("number")))


@router.post("/generate")
async def generate(request: Request, account: Account) -> Response:
    body = await body_of(request)
    start = as_date(str(body.get("start", "2024-01-01")), "start")
    result = account.generate_time_entries(
        _number(body, "count", 0), people=_number(body, "people", 20), projects=_number(body, "projects", 10),
        start=start, days=_number(body, "days", 365),
        approved_share=float(body.get("approved_share", 0.0)),  # a probability, not an amount
        seed=_number(body, "seed", 0))
    return json_response(result)


@router.put("/paging")
async def paging(request: Request, served: ServedHere) -> Response:
    mode: Any = (await body_of(request)).get("time_entries")
    if mode not in ("page", "cursor"):
        raise HarvestRefusal("time_entries must be 'page' or 'cursor'")
    served.time_entry_paging = mode
    return json_response({"time_entries": mode})


async def _set_roles(user_id: int, request: Request, account: SandboxAccount) -> Response:
    roles = (await body_of(request)).get("access_roles")
    if not isinstance(roles, list):
        raise HarvestRefusal('access_roles must be a list, e.g. ["manager", "project_creator"]')
    user = account.set_access_roles(user_id, roles)
    return json_response({"id": user["id"], "access_roles": user["access_roles"]})


@router.put("/users/me/access_roles")
async def my_access_roles(request: Request, account: Account) -> Response:
    """The access token's own user."""
    return await _set_roles(account.me_id, request, account)


@router.put("/users/{user_id}/access_roles")
async def access_roles(user_id: int, request: Request, account: Account) -> Response:
    return await _set_roles(user_id, request, account)


@router.post("/between_pages")
async def between_pages(request: Request, served: ServedHere) -> Response:
    body = await body_of(request)
    served.between_pages.schedule(_number(body, "after", 1), body.get("changes"))
    return json_response(served.between_pages.report())


@router.get("/between_pages")
async def between_pages_report(served: ServedHere) -> Response:
    return json_response(served.between_pages.report())


@router.get("/summary")
async def summary(account: Account) -> Response:
    return json_response({"account_id": account.account_id, "users": len(account.users),
                          "clients": len(account.clients), "projects": len(account.projects),
                          "tasks": len(account.tasks), "time_entries": account.time_entry_count})
