"""What q2c reads from and writes to the environment's tables: the columns, a deal's bundle, won deals,
and the ERP's ids written back.

Standard tables (Dataverse table reference): `account` (entity set accounts), `opportunity`
(opportunities), `opportunityproduct` (opportunityproducts), `transactioncurrency`
(transactioncurrencies); the firm's milestone table (`q2c_milestone`, entity set q2c_milestones) and
custom columns are named by the settings. A lookup is read as `_<name>_value`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from q2c.connectors.dynamics365_sales.client import DataverseClient, StaleRow, odata_datetime
from q2c.connectors.dynamics365_sales.mapping import (
    ACCOUNT,
    LINE,
    OPPORTUNITY,
    STATE_WON,
    erp_owned_columns,
    erp_owned_copy,
    erp_writeback_columns,
    read_erp_owned_copy,
)
from q2c.connectors.dynamics365_sales.settings import Dynamics365SalesSettings
from q2c.connectors.dynamics365_sales.values import LABEL, SYSTEM, as_guid
from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected

MAX_HIERARCHY_DEPTH = 10
ENTITY_SETS = {ACCOUNT: "accounts", OPPORTUNITY: "opportunities", LINE: "opportunityproducts"}
# A deal's lines in the order the form shows them (Sequence Number), then as created; the id last, so the
# order, and with it the contract's phase numbers, is the same on every read.
LINE_ORDER = "sequencenumber asc,createdon asc,opportunityproductid asc"


def account_columns(s: Dynamics365SalesSettings) -> list[str]:
    c = s.columns
    return ["accountid", "name", "accountnumber", "_parentaccountid_value", "_transactioncurrencyid_value",
            "address1_country", c.legal_entity, c.tax_id, c.tax_code, c.payment_terms, c.customer_number, "modifiedon"]


def opportunity_columns(s: Dynamics365SalesSettings) -> list[str]:
    c = s.columns
    extra = [x for x in (s.change_approval_column, s.change_effective_date_column) if x]
    lookup = [f"_{s.change_order_column}_value"] if s.change_order_column else []
    return ["opportunityid", "name", "_customerid_value", "_parentaccountid_value", "statecode", "statuscode",
            "actualclosedate", "estimatedclosedate", "_transactioncurrencyid_value", "totalamount", c.legal_entity,
            c.start_date, c.end_date, c.contract_id, c.project_id, "modifiedon", "_modifiedby_value", *extra, *lookup]


def line_columns(s: Dynamics365SalesSettings) -> list[str]:
    c = s.columns
    extra = [x for x in (s.line_term_months_column, s.line_overage_rate_column, s.line_rollover_months_column,
                         s.line_service_start_column) if x]
    return ["opportunityproductid", "_opportunityid_value", "productdescription", "quantity", "priceperunit",
            "extendedamount", "_transactioncurrencyid_value", c.service_offering, c.billing_type, c.cap_amount, *extra]


def milestone_columns(s: Dynamics365SalesSettings) -> list[str]:
    table = s.milestones_table
    extra = [s.milestone_completed_on_column] if s.milestone_completed_on_column else []
    return [f"{table}id", "q2c_name", "_q2c_opportunityid_value", "q2c_lineitemid", "q2c_amount", "q2c_duedate",
            "q2c_status", "modifiedon", *extra]


def needed_columns(s: Dynamics365SalesSettings) -> dict[str, list[str]]:
    """Each table's columns by logical name (a lookup `_x_value` is column x), for the doctor's check."""
    def logical(columns: list[str]) -> list[str]:
        return [c[1:-6] if c.startswith("_") and c.endswith("_value") else c for c in columns]
    copy = [s.columns.erp_owned_copy] if s.columns.erp_owned_copy else []
    return {ACCOUNT: logical(account_columns(s)), OPPORTUNITY: [*logical(opportunity_columns(s)), *copy],
            LINE: logical(line_columns(s)), s.milestones_table: logical(milestone_columns(s))}


def won_opportunities(client: DataverseClient, since: datetime | None) -> list[dict[str, Any]]:
    """Won opportunities (statecode 1) modified after `since` (all of them when None), oldest change first."""
    conditions = [f"statecode eq {STATE_WON}"]
    if since is not None:
        conditions.append(f"modifiedon gt {odata_datetime(since)}")
    return list(client.rows("opportunities", select=["opportunityid", "modifiedon", "actualclosedate"],
                            filter=" and ".join(conditions), orderby="modifiedon asc,opportunityid asc",
                            table=OPPORTUNITY))


def _not_found(table: str, row_id: str) -> RecordRejected:
    return RecordRejected(Violation(
        system=SYSTEM, object=table, record_id=row_id, field=None, rule=f"{SYSTEM}.not_found",
        message=f"the {table} does not exist or the application user cannot see it",
        action=f"Check that the {table} was not deleted in {LABEL} and that q2c's application user can read it"))


def opportunity_bundle(client: DataverseClient, opportunity_id: str) -> dict[str, Any]:
    """The opportunity with its account, the account's parents (nearest first), its product lines, its
    milestone rows, and the environment's currencies (id -> ISO code)."""
    s = client.settings
    row_id = as_guid(opportunity_id)
    opportunity = client.row("opportunities", row_id, select=opportunity_columns(s), table=OPPORTUNITY)
    if opportunity is None:
        raise _not_found(OPPORTUNITY, row_id)
    account_id = opportunity.get("_customerid_value") or opportunity.get("_parentaccountid_value")
    kind = opportunity.get("_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
    if kind not in (None, ACCOUNT):
        account_id = opportunity.get("_parentaccountid_value")
    account = client.row("accounts", str(account_id), select=account_columns(s), table=ACCOUNT) if account_id else None
    parents: list[dict[str, Any]] = []
    seen = {str(account["accountid"]).lower()} if account else set()
    parent_id = account.get("_parentaccountid_value") if account else None
    while parent_id and str(parent_id).lower() not in seen and len(parents) < MAX_HIERARCHY_DEPTH:
        parent = client.row("accounts", str(parent_id), select=account_columns(s), table=ACCOUNT)
        if parent is None:
            break
        parents.append(parent)
        seen.add(str(parent_id).lower())
        parent_id = parent.get("_parentaccountid_value")
    lines = list(client.rows("opportunityproducts", select=line_columns(s),
                             filter=f"_opportunityid_value eq {row_id}", orderby=LINE_ORDER,
                             table=LINE))
    milestones = list(client.rows(s.milestones_set, select=milestone_columns(s),
                                  filter=f"_q2c_opportunityid_value eq {row_id}", table=s.milestones_table))
    currencies = client.currencies()
    named = {str(r.get("_transactioncurrencyid_value") or "").lower()
             for r in [opportunity, *lines, *milestones, *([account] if account else []), *parents]} - {""}
    if named - currencies.keys():
        currencies = client.currencies(refresh=True)
    return {"opportunity": opportunity, "account": account, "parent_accounts": parents, "line_items": lines,
            "milestones": milestones, "currencies": currencies}


def write_erp_ids(client: DataverseClient, *, account_id: str | None, opportunity_id: str | None,
                  customer_number: str | None, contract_id: str | None, project_id: str | None) -> int:
    """Write the ERP's ids into the columns the ERP owns (nothing is ever blanked), each row PATCHed with
    `If-Match` on the ETag just read, so a row deleted meanwhile is not re-created; a value already there is
    not written again (no new version, no echo). With `columns.erp_owned_copy`, the opportunity's PATCH also
    sets that column to the ERP-owned values q2c has written (those of its earlier copy, updated with these), in
    the same request: one version, one echo, and the copy can never say what the row did not get. Returns the
    number of rows written."""
    s = client.settings
    values = erp_writeback_columns(s, customer_number, contract_id, project_id)
    copy_column = s.columns.erp_owned_copy
    owned = erp_owned_columns(s)[OPPORTUNITY]
    written = 0
    for table, row_id in ((ACCOUNT, account_id), (OPPORTUNITY, opportunity_id)):
        wanted = values[table]
        if not row_id or not wanted:
            continue
        entity_set = ENTITY_SETS[table]
        copied = copy_column if table == OPPORTUNITY else None
        for attempt in range(3):
            select = [f"{table}id", *wanted, *([copied] if copied else [])]
            current = client.row(entity_set, row_id, select=select, table=table)
            if current is None:
                raise _not_found(table, row_id)
            changes: dict[str, str] = {k: v for k, v in wanted.items() if current.get(k) != v}
            if copied:
                copy = erp_owned_copy({**read_erp_owned_copy(current.get(copied), owned), **wanted})
                if current.get(copied) != copy:
                    changes[copied] = copy
            if not changes:
                break
            try:
                client.update(entity_set, row_id, changes, etag=str(current.get("@odata.etag") or "*"), table=table)
            except StaleRow:
                if attempt < 2:
                    continue  # someone changed the row meanwhile: read its new version and write again
                raise
            written += 1
            break
    return written
