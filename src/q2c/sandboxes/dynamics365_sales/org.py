"""The organisation's data: rows by table, row versions, deletions kept for change tracking, and the
rules Dataverse applies on save (computed amounts, state transitions, alternate-key uniqueness).

Every write names the `systemuser` it runs as; that user lands in `_modifiedby_value`, which is how
an integration tells its own writes apart in the change feed.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from q2c.sandboxes.dynamics365_sales.errors import (
    DUPLICATE_KEY,
    DUPLICATE_RECORD,
    READ_ONLY_RECORD,
    DataverseError,
    bad_request,
    not_found,
)
from q2c.sandboxes.dynamics365_sales.tables import STATUS_OF_STATE, TABLES, Table

Row = dict[str, Any]
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Tombstone:
    table: str
    id: str
    version: int
    at: datetime


class DataverseOrg:
    """Rows of every table; thread-safe, since tests seed it while the server runs."""

    def __init__(self, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 change_tracking_days: int = 7) -> None:
        self.clock = clock
        self.change_tracking_days = change_tracking_days
        self.lock = threading.RLock()
        self.rows: dict[str, dict[str, Row]] = {name: {} for name in TABLES}
        self.tombstones: list[Tombstone] = []
        self.version = 1000
        self.base_currency_id = ""
        self.system_user_id = ""

    # --- reading ---------------------------------------------------------------------------------
    def table_rows(self, table: str) -> list[Row]:
        with self.lock:
            return list(self.rows[table].values())

    def get(self, table: str, row_id: str) -> Row | None:
        with self.lock:
            return self.rows[table].get(row_id.lower())

    def require(self, table: str, row_id: str) -> Row:
        row = self.get(table, row_id)
        if row is None:
            raise not_found(table, row_id)
        return row

    def find_by_key(self, table: str, key: dict[str, Any]) -> Row | None:
        with self.lock:
            for row in self.rows[table].values():
                if all(_same(row.get(name), value) for name, value in key.items()):
                    return row
        return None

    def currency_code(self, currency_id: str | None) -> str | None:
        row = self.get("transactioncurrency", currency_id) if currency_id else None
        return None if row is None else str(row["isocurrencycode"])

    def currency_by_code(self, code: str) -> Row | None:
        return self.find_by_key("transactioncurrency", {"isocurrencycode": code})

    def user_for_app(self, application_id: str) -> Row | None:
        return self.find_by_key("systemuser", {"applicationid": application_id.lower()})

    # --- writing ---------------------------------------------------------------------------------
    def create(self, table: Table, values: Row, *, actor: str) -> Row:
        with self.lock:
            row_id = str(values.get(table.primary_id) or uuid.uuid4()).lower()
            if row_id in self.rows[table.logical]:
                raise DataverseError(412, DUPLICATE_RECORD, "A record with matching key values already exists.")
            row: Row = {c.name: None for c in table.columns}
            row.update(values)
            row[table.primary_id] = row_id
            self._defaults(table, row)
            self._check(table, row, None)
            now = self.clock().replace(microsecond=0)
            for name in ("createdon", "modifiedon"):
                if name in row:
                    row[name] = now
            for name in ("createdby", "modifiedby"):
                if name in row:
                    row[name] = actor
            if "ownerid" in row and row["ownerid"] is None:
                row["ownerid"] = actor
            self.rows[table.logical][row_id] = row
            self._stamp(row)
            self._after_save(table, row, actor)
            return row

    def update(self, table: Table, row_id: str, values: Row, *, actor: str, system: bool = False) -> Row:
        with self.lock:
            row = self.require(table.logical, row_id)
            if not system:
                self._check_editable(table, row, values)
            merged = {**row, **values}
            self._check(table, merged, row)
            row.update(values)
            self._derive(table, row)
            if "modifiedon" in row:
                row["modifiedon"] = self.clock().replace(microsecond=0)
            if "modifiedby" in row:
                row["modifiedby"] = actor
            self._stamp(row)
            self._after_save(table, row, actor)
            return row

    def delete(self, table: Table, row_id: str, *, actor: str) -> None:
        with self.lock:
            row = self.require(table.logical, row_id)
            if table.logical == "opportunityproduct":
                self._check_parent_open(row)
            del self.rows[table.logical][row[table.primary_id]]
            self.version += 1
            self.tombstones.append(Tombstone(table.logical, row[table.primary_id], self.version, self.clock()))
            self._cascade(table, row, actor)
            self._after_save(table, row, actor)

    def win(self, opportunity_id: str, status: int, close: Row, *, actor: str) -> Row:
        """WinOpportunity: the opportunity becomes Won with its close activity."""
        with self.lock:
            opportunity = self.require("opportunity", opportunity_id)
            if status not in STATUS_OF_STATE["opportunity"][1]:
                raise bad_request(f"{status} is not a valid status code for state code OpportunityState.Won on "
                                  f"opportunity with Id {opportunity_id}.")
            if opportunity["statecode"] != 0:
                raise DataverseError(400, READ_ONLY_RECORD, f"The opportunity {opportunity_id} is already "
                                     "closed; reopen it before closing it again.")
            close_date = close.get("actualend") or self.clock().date()
            revenue = close.get("actualrevenue")
            values = {"statecode": 1, "statuscode": status, "actualclosedate": close_date,
                      "actualvalue": revenue if revenue is not None else (opportunity["totalamount"]
                                                                           or opportunity["estimatedvalue"])}
            self.create(TABLES["opportunityclose"], {**close, "opportunityid": opportunity_id,
                                                      "actualend": close_date}, actor=actor)
            return self.update(TABLES["opportunity"], opportunity_id, values, actor=actor, system=True)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing, as a `$batch` change set is."""
        with self.lock:
            saved = (copy.deepcopy(self.rows), list(self.tombstones), self.version)
            try:
                yield
            except BaseException:
                self.rows, self.tombstones, self.version = saved
                raise

    def reset(self) -> None:
        with self.lock:
            keep = {"transactioncurrency", "systemuser"}
            for name in self.rows:
                if name not in keep:
                    self.rows[name].clear()
            self.tombstones.clear()

    # --- rules -----------------------------------------------------------------------------------
    def _stamp(self, row: Row) -> None:
        self.version += 1
        row["versionnumber"] = self.version

    def _defaults(self, table: Table, row: Row) -> None:
        if table.column("statecode") is not None and row.get("statecode") is None:
            row["statecode"] = 0
        if table.column("statuscode") is not None and row.get("statuscode") is None:
            row["statuscode"] = 1
        if table.logical == "opportunity" and row["statecode"] != 0:
            raise bad_request("An opportunity is created open; close it with WinOpportunity or LoseOpportunity.")
        if table.logical == "opportunityproduct":
            parent = self.require("opportunity", str(row.get("opportunityid") or ""))
            row["transactioncurrencyid"] = parent["transactioncurrencyid"]
            self._check_parent_open(row)
        elif table.column("transactioncurrencyid") is not None and row.get("transactioncurrencyid") is None:
            row["transactioncurrencyid"] = self._inherited_currency(table, row)
        if table.logical == "opportunityproduct" and row.get("isproductoverridden") is None:
            row["isproductoverridden"] = True
        self._derive(table, row)

    def _inherited_currency(self, table: Table, row: Row) -> str:
        if table.logical == "opportunity":
            account = self.get("account", str(row.get("customerid") or row.get("parentaccountid") or ""))
            if account is not None and account.get("transactioncurrencyid"):
                return str(account["transactioncurrencyid"])
        return self.base_currency_id

    def _derive(self, table: Table, row: Row) -> None:
        if table.logical == "opportunityproduct":
            quantity = row.get("quantity") or Decimal(0)
            price = row.get("priceperunit") or ZERO
            base = (Decimal(quantity) * Decimal(price)).quantize(ZERO)
            row["baseamount"] = base
            row["extendedamount"] = (base - (row.get("manualdiscountamount") or ZERO)).quantize(ZERO)
            row["opportunityproductname"] = row.get("productdescription")
        elif table.logical == "systemuser":
            row["fullname"] = " ".join(p for p in (row.get("firstname"), row.get("lastname")) if p)

    def _check(self, table: Table, row: Row, before: Row | None) -> None:
        for key in table.alternate_keys:
            values = {name: row.get(name) for name in key}
            if any(v is None for v in values.values()):
                continue
            if before is not None and all(_same(before.get(n), v) for n, v in values.items()):
                continue
            clash = self.find_by_key(table.logical, values)
            if clash is not None and clash[table.primary_id] != row[table.primary_id]:
                names = ",".join(getattr(table.column(n), "label", n) for n in key)
                raise DataverseError(412, DUPLICATE_KEY, f"A record that has the attribute values {names} "
                                     f"already exists. The entity key {names} Key requires that this set of "
                                     "attributes contains unique values.")
        for col in table.columns:
            if col.kind in ("lookup", "owner") and row.get(col.name) and not any(
                    self.get(t, str(row[col.name])) is not None for t in col.targets):
                raise not_found(col.targets[0], str(row[col.name]))
        state, status = row.get("statecode"), row.get("statuscode")
        allowed = STATUS_OF_STATE.get(table.logical, {}).get(int(state)) if state is not None else None
        if allowed is not None and status not in allowed:
            raise bad_request(f"{status} is not a valid status code for state code {state} on {table.logical} "
                              f"with Id {row[table.primary_id]}.")

    def _check_editable(self, table: Table, row: Row, values: Row) -> None:
        if table.logical == "opportunity":
            # a closed opportunity's columns stay writable through the API (only the app's form locks them)
            if values.get("statecode") in (1, 2) and values.get("statecode") != row["statecode"]:
                raise bad_request("Close an opportunity with the WinOpportunity or LoseOpportunity action, not "
                                  "by setting its statecode.")
            if values.get("statecode") == 0 and row["statecode"] != 0 and "statuscode" not in values:
                values["statuscode"] = 1
        if table.logical == "opportunityproduct":
            self._check_parent_open(row)

    def _check_parent_open(self, line: Row) -> None:
        parent = self.get("opportunity", str(line.get("opportunityid") or ""))
        if parent is not None and parent["statecode"] != 0:
            raise DataverseError(400, READ_ONLY_RECORD, f"The opportunity {parent['opportunityid']} is closed: "
                                 "its products cannot be added, changed or removed.")

    def _after_save(self, table: Table, row: Row, actor: str) -> None:
        """Roll an opportunity's products up into its total amount (a system recalculation)."""
        if table.logical != "opportunityproduct":
            return
        parent = self.get("opportunity", str(row.get("opportunityid") or ""))
        if parent is None:
            return
        total = sum((line["extendedamount"] or ZERO for line in self.rows["opportunityproduct"].values()
                     if line["opportunityid"] == parent["opportunityid"]), ZERO)
        if parent["totalamount"] != total:
            parent["totalamount"] = total
            parent["modifiedon"] = self.clock().replace(microsecond=0)
            parent["modifiedby"] = actor
            self._stamp(parent)

    def _cascade(self, table: Table, row: Row, actor: str) -> None:
        """Deleting an opportunity deletes its products and milestones; an account's children lose the link."""
        row_id = row[table.primary_id]
        if table.logical == "opportunity":
            for child, link in (("opportunityproduct", "opportunityid"), ("q2c_milestone", "q2c_opportunityid"),
                                ("opportunityclose", "opportunityid")):
                key = TABLES[child].primary_id
                for line in [r for r in self.rows[child].values() if r.get(link) == row_id]:
                    del self.rows[child][line[key]]
                    self.version += 1
                    self.tombstones.append(Tombstone(child, line[key], self.version, self.clock()))
        if table.logical == "account":
            for sub_account in [r for r in self.rows["account"].values() if r.get("parentaccountid") == row_id]:
                self.update(TABLES["account"], sub_account["accountid"], {"parentaccountid": None}, actor=actor,
                            system=True)


def _same(stored: Any, wanted: Any) -> bool:
    if isinstance(stored, str) and isinstance(wanted, str):
        return stored.lower() == wanted.lower()
    return bool(stored == wanted)
