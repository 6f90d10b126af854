"""The sandboxes q2c can run, found by name: `q2c sandbox NAME`, `q2c sandbox up` and the demo use this.

Each vendor package registers one `SandboxSpec` through the `q2c.sandboxes` entry point group (see
pyproject.toml), so a new sandbox is found without editing this file. A spec says which system and
role it stands in for, how to start it, and what a client needs to reach it: the `systems.<role>`
block of a q2c config, and the entry of `sandboxes.json` that any client of the vendor's API uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, Protocol

from q2c.sandboxes.kit import Faults, Sandbox

ENTRY_POINT_GROUP = "q2c.sandboxes"


@dataclass(frozen=True)
class SandboxOptions:
    """How to start a sandbox: its faults, whether it keeps the vendor's documented limits, and whether it
    makes fresh random credentials (`sandbox up`) or keeps its fixed test ones (tests, the demo)."""

    faults: Faults = field(default_factory=Faults)
    vendor_limits: bool = False
    fresh_credentials: bool = False


BillingKind = Literal["time_and_materials", "fixed_fee", "milestone", "retainer"]
ErpCount = Literal["customer", "project", "task", "contract", "timebill", "invoice", "journal_entry"]


class CrmScenario(Protocol):
    """What a story (the demo, the delivery trials) does in a CRM sandbox, as a salesperson would in its UI.

    Dates are ISO `YYYY-MM-DD`; ids are the CRM's own. Each CRM sandbox maps these plain facts to its
    tables and custom fields (the ones its `settings()` names), so one story runs on any CRM."""

    def account(self, box: Sandbox, *, name: str, parent: str | None, tax_id: str | None, tax_code: str,
                payment_terms: str, currency: str, country: str, legal_entity: str) -> str: ...
    def deal(self, box: Sandbox, *, name: str, account: str, won: bool, close_date: str, currency: str,
             legal_entity: str | None, start: str | None = None, end: str | None = None) -> str: ...
    def line(self, box: Sandbox, deal: str, *, description: str, offering: str, billing: BillingKind,
             quantity: Decimal, amount: Decimal, currency: str, cap: Decimal | None = None) -> str: ...
    def milestone(self, box: Sandbox, deal: str, line: str, *, name: str, amount: Decimal, due: str,
                  currency: str) -> str: ...
    def complete_milestone(self, box: Sandbox, milestone: str, *, on: str) -> None: ...
    # a salesperson overwrites the ERP-owned contract id q2c wrote back on the deal
    def overwrite_contract_id(self, box: Sandbox, deal: str, value: str) -> None: ...


class TrackerScenario(Protocol):
    """What people do in a time tracker sandbox: join, log time on a project q2c set up, get it approved."""

    def person(self, box: Sandbox, *, first: str, last: str, email: str) -> str: ...
    # on the project whose code starts with `project_code`, adding the person and the task to it if need be
    def log_time(self, box: Sandbox, *, person: str, project_code: str, task: str, day: str, hours: Decimal,
                 notes: str = "") -> str: ...
    def approve(self, box: Sandbox, entries: Sequence[str]) -> None: ...
    def correct(self, box: Sandbox, entry: str, hours: Decimal) -> None: ...  # reopened, changed, approved again
    def projects(self, box: Sandbox, *, code_prefix: str) -> int: ...


class ErpScenario(Protocol):
    """What the story does in, or reads from, an ERP sandbox."""

    def employee(self, box: Sandbox, *, first: str, last: str, email: str) -> None: ...
    def count(self, box: Sandbox, kind: ErpCount) -> int: ...
    # someone deletes the ERP's time record that carries this external id (q2c's time entry id); False: none
    def delete_timebill(self, box: Sandbox, external_id: str) -> bool: ...
    # the external id of every time record the ERP holds, one per record (a duplicate shows twice)
    def timebill_ids(self, box: Sandbox) -> list[str]: ...
    def created(self, box: Sandbox, kind: ErpCount) -> int: ...  # ever created, deleted ones included


@dataclass(frozen=True)
class SandboxSpec:
    name: str  # the system it stands in for, as the config names it (`type: netsuite`)
    label: str
    role: str  # crm, tracker or erp
    create: Callable[[SandboxOptions], Sandbox]
    # (sandbox, its base URL, the folder config files go to) -> the `systems.<role>` block of q2c.yaml; it may
    # write files there (a key), named relative to the folder
    settings: Callable[[Sandbox, str, Path], dict[str, Any]]
    # (sandbox, its base URL, that folder) -> what a client of the vendor's API needs (sandboxes.json)
    connection: Callable[[Sandbox, str, Path], dict[str, str]]
    # what a story does in it (a CrmScenario, TrackerScenario or ErpScenario for its role); None: the demo
    # and the delivery trials cannot run on it
    scenario: Callable[[], Any] | None = None


class UnknownSandbox(ValueError):
    pass


@cache
def _registered() -> Mapping[str, SandboxSpec]:
    found: dict[str, SandboxSpec] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        spec = point.load()
        if not isinstance(spec, SandboxSpec):
            raise TypeError(f"entry point {point.name} = {point.value} in group {ENTRY_POINT_GROUP} is not a "
                            "SandboxSpec")
        if spec.name in found:
            raise ValueError(f"two sandboxes are registered as {spec.name!r}")
        found[spec.name] = spec
    return found


def sandbox_names() -> tuple[str, ...]:
    return tuple(sorted(_registered()))


def sandbox_spec(name: str) -> SandboxSpec:
    try:
        return _registered()[name]
    except KeyError:
        raise UnknownSandbox(f"unknown sandbox {name!r}; allowed: {', '.join(sandbox_names())}") from None


def sandbox_for(role: str, name: str) -> SandboxSpec:
    """The sandbox `name`, checked to stand in for `role`."""
    spec = sandbox_spec(name)
    if spec.role != role:
        raise UnknownSandbox(f"sandbox {name!r} plays the {spec.role} role, not the {role} role")
    return spec


def make_sandbox(name: str, *, faults: Faults | None = None, vendor_limits: bool = False,
                 fresh_credentials: bool = False) -> Sandbox:
    return sandbox_spec(name).create(SandboxOptions(faults=faults or Faults(), vendor_limits=vendor_limits,
                                                    fresh_credentials=fresh_credentials))
