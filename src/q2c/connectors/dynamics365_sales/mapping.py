"""Dataverse rows to canonical customers and opportunities, and the ERP ids written back.

Pure functions over the rows the Web API returns (`client.DataverseClient.opportunity_bundle`); no I/O.
Every problem is collected and raised together as `MappingError`, each a `Violation` naming the table,
row id and column, phrased like the Salesforce mapping's for the same facts (a won deal without
product lines, milestones that do not add up to their line, a cap on a fixed fee, ...), so the
domain's deal rules (`q2c.domain.validation.deal`) then judge both CRMs' deals alike.

Canonical ids are "D365-" + the row's GUID. Which columns are read comes from the settings
(`columns`, the milestone table, the contract-change and retainer columns).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from q2c.connectors.dynamics365_sales.settings import Dynamics365SalesSettings
from q2c.connectors.dynamics365_sales.values import (
    FORMATTED,
    LABEL,
    LOOKUP_TABLE,
    SYSTEM,
    MappingError,
    Reader,
    build,
    payment_terms_days,
    raise_if,
)
from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Customer,
    Milestone,
    MilestoneStatus,
    Opportunity,
    OpportunityLine,
    TaxProfile,
)
from q2c.domain.violations import Violation

ID_PREFIX = "D365-"
ACCOUNT, OPPORTUNITY, LINE = "account", "opportunity", "opportunityproduct"
STATE_OPEN, STATE_WON, STATE_LOST = 0, 1, 2
STATES = {STATE_OPEN: "Open", STATE_WON: "Won", STATE_LOST: "Lost"}

BILLING_TYPES: Mapping[str, BillingType] = {
    "Fixed Fee": BillingType.FIXED_FEE,
    "Time and Materials": BillingType.TIME_AND_MATERIALS,
    "Milestone": BillingType.MILESTONE,
    "Retainer": BillingType.RETAINER,
}


@dataclass(frozen=True)
class ChangeTerms:
    """What the opportunity row says about a change of a won deal's terms, from the columns the settings name."""

    approved: bool | None  # None: no approval column configured (a change then counts as approved)
    amends_id: str | None  # a change order: the canonical id of the deal it amends
    effective: date | None


def change_terms(row: Mapping[str, Any], settings: Dynamics365SalesSettings) -> ChangeTerms:
    """The approval column's value (a Yes/No column's true/false, or a choice's label) matched against
    `change_approval_values`; the change-order lookup; the effective date."""
    approved = None
    if settings.change_approval_column:
        value = row.get(settings.change_approval_column)
        label = row.get(settings.change_approval_column + FORMATTED)
        said = {str(value).lower(), str(label).lower()} if value is not None else set()
        approved = bool(said & {v.lower() for v in settings.change_approval_values})
    amends = row.get(f"_{settings.change_order_column}_value") if settings.change_order_column else None
    effective = row.get(settings.change_effective_date_column) if settings.change_effective_date_column else None
    return ChangeTerms(approved=approved, amends_id=canonical_id(str(amends)) if amends else None,
                       effective=date.fromisoformat(str(effective)[:10]) if effective else None)


def canonical_id(guid: str) -> str:
    return ID_PREFIX + guid.lower()


def erp_owned_columns(settings: Dynamics365SalesSettings) -> dict[str, frozenset[str]]:
    """The columns the ERP owns, by table: only q2c writes them, from the ERP's answers."""
    c = settings.columns
    return {ACCOUNT: frozenset({c.customer_number}), OPPORTUNITY: frozenset({c.contract_id, c.project_id})}


def erp_writeback_columns(settings: Dynamics365SalesSettings, customer_number: str | None, contract_id: str | None,
                          project_id: str | None) -> dict[str, dict[str, str]]:
    """The ERP-owned columns to write, by table; unknown values are left out, never blanked."""
    c = settings.columns
    account = {c.customer_number: customer_number} if customer_number else {}
    opportunity = {k: v for k, v in ((c.contract_id, contract_id), (c.project_id, project_id)) if v}
    return {ACCOUNT: account, OPPORTUNITY: opportunity}


def erp_owned_copy(values: Mapping[str, str]) -> str:
    """The text of the opportunity's copy column: the ERP-owned values q2c wrote, as compact JSON by column
    (`{"q2c_contractid":"C-1","q2c_projectid":"P-1"}`), so a person reading the record sees what q2c wrote."""
    return json.dumps(dict(sorted(values.items())), separators=(",", ":"), ensure_ascii=False)


def read_erp_owned_copy(text: Any, owned: Collection[str]) -> dict[str, str]:
    """The ERP-owned values a copy column says q2c wrote: only the columns in `owned`, only text values. No copy
    (a row set up before the column was configured), or text that is not such JSON, says nothing: {}."""
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        said = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(said, dict):
        return {}
    return {c: v for c, v in said.items() if c in owned and isinstance(v, str)}


def _customer(row: Mapping[str, Any], settings: Dynamics365SalesSettings, currencies: Mapping[str, str],
              violations: list[Violation]) -> Customer | None:
    c = settings.columns
    r = Reader(ACCOUNT, row, "accountid", violations)
    before = len(violations)
    account_id = r.guid("accountid", required=True)
    name = r.text("name", required=True)
    parent = r.guid("_parentaccountid_value")
    if parent is not None and parent == account_id:
        r.flag("_parentaccountid_value", "hierarchy", "the account is its own parent account")
        parent = None
    terms = r.label(c.payment_terms)
    days = None
    if terms is not None:
        days = payment_terms_days(terms)
        if days is None:
            r.flag(c.payment_terms, "payment_terms",
                   f"{c.payment_terms} is {terms!r}; q2c understands 'Net <days>' or 'Due on Receipt'")
    currency = r.currency("_transactioncurrencyid_value", currencies)
    tax = TaxProfile(tax_id=r.text(c.tax_id), tax_code=r.text(c.tax_code))
    legal_entity = r.text(c.legal_entity)
    country = r.text("address1_country")
    if account_id is None or name is None or len(violations) > before:
        return None
    return build(lambda: Customer(
        id=canonical_id(account_id), name=name, parent_id=canonical_id(parent) if parent else None,
        legal_entity=legal_entity, country=country, tax_profile=tax,
        billing_terms=BillingTerms(payment_terms=terms, payment_terms_days=days, currency=currency)), r)


def customers_from_bundle(bundle: Mapping[str, Any], settings: Dynamics365SalesSettings) -> list[Customer]:
    """The bundle's account and its parent accounts, top of the hierarchy first (parents must exist first)."""
    violations: list[Violation] = []
    rows = [a for a in [bundle.get("account"), *(bundle.get("parent_accounts") or [])] if isinstance(a, Mapping)]
    currencies = bundle.get("currencies") or {}
    customers = [x for x in (_customer(a, settings, currencies, violations) for a in reversed(rows)) if x is not None]
    raise_if(violations)
    return customers


def _milestone(row: Mapping[str, Any], settings: Dynamics365SalesSettings, currency: str | None,
               currencies: Mapping[str, str], violations: list[Violation]) -> Milestone | None:
    table = settings.milestones_table
    r = Reader(table, row, f"{table}id", violations)
    before = len(violations)
    milestone_id = r.guid(f"{table}id", required=True)
    name = r.text("q2c_name", required=True)
    own = r.currency("_transactioncurrencyid_value", currencies)
    if own is not None and currency is not None and own != currency:
        r.flag("_transactioncurrencyid_value", "currency", f"the milestone is in {own} but the opportunity is in "
               f"{currency}")
    amount = r.money("q2c_amount", currency, required=True)
    due = r.day("q2c_duedate")
    statuses = {label: MilestoneStatus(state) for label, state in settings.milestone_status_labels.items()}
    status = r.picklist("q2c_status", statuses) or MilestoneStatus.PENDING
    done_column = settings.milestone_completed_on_column
    completed_on = r.day(done_column) if done_column else None
    if status is not MilestoneStatus.PENDING and completed_on is None:
        if done_column:
            r.flag(done_column, "required", f"q2c_status is {r.label('q2c_status')!r} but {done_column} is empty",
                   f"Fill in {done_column} on {table} {r.record_id} in {LABEL} (project manager), then replay")
        else:
            modified = r.moment("modifiedon")
            completed_on = modified.date() if modified is not None else None
            if completed_on is None:
                r.flag("modifiedon", "required", f"q2c_status is {r.label('q2c_status')!r} and the table has no "
                       "completion date column, but the row has no modifiedon to date it by")
    if len(violations) > before or milestone_id is None or name is None or amount is None:
        return None
    return build(lambda: Milestone(id=canonical_id(milestone_id), name=name, amount=amount, due_date=due,
                                   status=status, completed_on=completed_on), r)


def _retainer_terms(r: Reader, billing_type: BillingType | None, label: str | None, currency: str | None,
                    settings: Dynamics365SalesSettings) -> dict[str, Any]:
    """Term months, overage rate and rollover months of a Retainer line, from the columns the settings name."""
    columns = {"term_months": settings.line_term_months_column, "overage_rate": settings.line_overage_rate_column,
               "rollover_months": settings.line_rollover_months_column}
    out: dict[str, Any] = {}
    for key, minimum in (("term_months", 1), ("rollover_months", 0)):
        column = columns[key]
        out[key] = r.months(column, minimum=minimum) if column else None
    column = columns["overage_rate"]
    out["overage_rate"] = r.money(column, currency) if column else None
    given = [str(columns[k]) for k in ("term_months", "overage_rate", "rollover_months") if out[k] is not None]
    if given and billing_type is not None and billing_type is not BillingType.RETAINER:
        r.flag(given[0], "retainer", f"{', '.join(given)} set on a {label} line; these terms apply only to "
               "Retainer lines")
    return out


def _line(row: Mapping[str, Any], opportunity_id: str | None, currency: str | None,
          milestones: tuple[Milestone, ...], milestone_rows: int, settings: Dynamics365SalesSettings,
          currencies: Mapping[str, str], violations: list[Violation]) -> OpportunityLine | None:
    """`milestone_rows` counts the milestone rows attached, mapped or not, so a broken milestone is reported
    once, on itself, not again as a line without milestones."""
    c = settings.columns
    r = Reader(LINE, row, "opportunityproductid", violations)
    before = len(violations)
    line_id = r.guid("opportunityproductid", required=True)
    parent = r.guid("_opportunityid_value")
    if parent is not None and opportunity_id is not None and parent != opportunity_id:
        r.flag("_opportunityid_value", "reference", f"the line belongs to opportunity {parent}, not {opportunity_id}")
    own = r.currency("_transactioncurrencyid_value", currencies)
    if own is not None and currency is not None and own != currency:
        r.flag("_transactioncurrencyid_value", "currency", f"the line is in {own} but the opportunity is in "
               f"{currency}")
    billing_type = r.picklist(c.billing_type, BILLING_TYPES, required=True)
    label = r.label(c.billing_type)
    amount = r.money("extendedamount", currency, required=True)
    hours = r.number("quantity")
    if hours is not None and hours < 0:
        r.flag("quantity", "negative", f"quantity (estimated hours) is {hours}")
    cap = r.money(c.cap_amount, currency)
    if cap is not None and billing_type is not BillingType.TIME_AND_MATERIALS:
        r.flag(c.cap_amount, "cap", f"{c.cap_amount} is set on a {label} line; a not-to-exceed cap applies only to "
               "Time and Materials")
    table = settings.milestones_table
    if billing_type is BillingType.MILESTONE and not milestone_rows:
        r.flag(c.billing_type, "milestones", f"the line is billed by milestone but has no {table} rows",
               f"Add the milestones of opportunityproduct {r.record_id} in {LABEL} ({table} rows with q2c_lineitemid "
               f"= this line), or fix {c.billing_type}, then replay")
    if milestone_rows and billing_type is not None and billing_type is not BillingType.MILESTONE:
        r.flag(c.billing_type, "milestones", f"the line has {milestone_rows} milestone(s) but is billed as {label}")
    if milestones and len(milestones) == milestone_rows and amount is not None:
        total = sum((m.amount.amount for m in milestones), Decimal(0))
        if total != amount.amount:
            r.flag("extendedamount", "milestones", f"the milestones add up to {total} but extendedamount is "
                   f"{amount.amount}")
    offering = r.text(c.service_offering)
    start_column = settings.line_service_start_column
    service_start = r.day(start_column) if start_column else None
    retainer = _retainer_terms(r, billing_type, label, currency, settings)
    if len(violations) > before or line_id is None or billing_type is None or amount is None:
        return None
    return build(lambda: OpportunityLine(
        id=canonical_id(line_id), service_offering=offering, billing_type=billing_type, amount=amount,
        estimated_hours=hours, cap=cap, milestones=milestones, service_start=service_start, **retainer), r)


def account_of(r: Reader) -> str | None:
    """The opportunity's account: its potential customer when that is an account, else its parent account."""
    customer = r.guid("_customerid_value")
    kind = r.record.get("_customerid_value" + LOOKUP_TABLE)
    if customer is not None and kind in (None, ACCOUNT):
        return customer
    parent = r.guid("_parentaccountid_value")
    if parent is None:
        column = "_customerid_value" if customer is None else "_parentaccountid_value"
        what = "has no potential customer" if customer is None else f"has a {kind} as its potential customer"
        r.flag(column, "required", f"the opportunity {what} and no account; q2c invoices an account",
               f"Set the potential customer (or the account) of opportunity {r.record_id} to an account in "
               f"{LABEL} (sales operations), then replay")
    return parent


def _by_line(rows: Any, settings: Dynamics365SalesSettings, opportunity_id: str | None, line_ids: set[str],
             violations: list[Violation]) -> dict[str, list[Mapping[str, Any]]]:
    """Each line's milestone rows (by q2c_lineitemid), each checked to belong to this opportunity and one of
    its lines; one that does not is reported on itself."""
    table = settings.milestones_table
    out: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows if isinstance(rows, list) else []:
        r = Reader(table, row, f"{table}id", violations)
        owner = r.guid("_q2c_opportunityid_value")
        if owner is not None and opportunity_id is not None and owner != opportunity_id:
            r.flag("_q2c_opportunityid_value", "reference", f"the milestone belongs to opportunity {owner}, not "
                   f"{opportunity_id}")
            continue
        line_ref = r.guid("q2c_lineitemid", required=True)
        if line_ref is None:
            continue
        if line_ref not in line_ids:
            r.flag("q2c_lineitemid", "reference", f"q2c_lineitemid {line_ref!r} is not a product line of opportunity "
                   f"{opportunity_id}")
            continue
        out.setdefault(line_ref, []).append(row)
    return out


def opportunity_from_bundle(bundle: Mapping[str, Any], settings: Dynamics365SalesSettings) -> Opportunity:
    """A canonical opportunity from its row, its product lines and its milestone rows (`bundle` keys
    "opportunity", "line_items", "milestones", and "currencies": transactioncurrencyid -> ISO code)."""
    violations: list[Violation] = []
    row = bundle.get("opportunity")
    if not isinstance(row, Mapping):
        raise MappingError([Violation(system=SYSTEM, object=OPPORTUNITY, record_id="(unknown)", field=None,
                                      rule=f"{SYSTEM}.mapping.required", message="the bundle has no opportunity",
                                      action="Report this to the q2c maintainers: the connector sent no row")])
    c = settings.columns
    currencies: Mapping[str, str] = bundle.get("currencies") or {}
    r = Reader(OPPORTUNITY, row, "opportunityid", violations)
    opportunity_id = r.guid("opportunityid", required=True)
    name = r.text("name", required=True)
    account_id = account_of(r)
    state = r.whole_number("statecode")
    if state is not None and state not in STATES:
        r.flag("statecode", "choice", f"statecode is {state}; Dataverse's opportunity states are 0, 1 and 2")
    is_won = state == STATE_WON
    stage = r.label("statuscode") or STATES.get(state if state is not None else -1)
    if stage is None:
        r.raw("statecode", True)
    close_column = "actualclosedate" if is_won else "estimatedclosedate"
    close_date = r.day(close_column, required=True)
    currency = r.currency("_transactioncurrencyid_value", currencies, required=True)
    line_rows = [li for li in bundle.get("line_items") or [] if isinstance(li, Mapping)]
    if not line_rows:
        r.flag(LINE, "no_lines", "the won opportunity has no product lines (opportunityproduct), so there is "
               "nothing to set up or bill", f"Add the sold services as products of opportunity {r.record_id} in "
               f"{LABEL} (sales operations), then replay")
    amount = r.money("totalamount", currency, required=bool(line_rows))
    legal_entity = r.text(c.legal_entity)
    start = r.day(c.start_date)
    end = r.day(c.end_date)
    if start is not None and end is not None and end < start:
        r.flag(c.end_date, "dates", f"{c.end_date} {end} is before {c.start_date} {start}")
    updated = r.moment("modifiedon")

    line_ids = {str(li.get("opportunityproductid") or "").lower() for li in line_rows}
    by_line = _by_line(bundle.get("milestones") or [], settings, opportunity_id, line_ids, violations)
    lines: list[OpportunityLine] = []
    for record in line_rows:
        attached = by_line.get(str(record.get("opportunityproductid") or "").lower(), [])
        milestones = tuple(m for m in (_milestone(x, settings, currency, currencies, violations) for x in attached)
                           if m is not None)
        line = _line(record, opportunity_id, currency, milestones, len(attached), settings, currencies, violations)
        if line is not None:
            lines.append(line)
    if lines and amount is not None and not violations:
        total = sum((line.amount.amount for line in lines), Decimal(0))
        if total != amount.amount:
            r.flag("totalamount", "amount", f"totalamount is {amount.amount} but the product lines add up to {total}")
    raise_if(violations)
    assert opportunity_id and name and account_id and stage and close_date and amount
    result = build(lambda: Opportunity(
        id=canonical_id(opportunity_id), name=name, customer_id=canonical_id(account_id), stage=stage,
        is_won=is_won, close_date=close_date, amount=amount, legal_entity=legal_entity, start_date=start,
        end_date=end, lines=tuple(lines), source_updated_at=updated), r)
    raise_if(violations)
    assert result is not None
    return result
