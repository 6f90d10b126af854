"""The NetSuite account itself: its records, their external ids, issued tokens, and counters.

Every write ends in `store`, which keeps the external-id index right: an externalId is unique per
record type, a record found by it is updated in place (upsert), and changing a record's
externalId moves the index entry. A credit memo or customer payment that is stored settles the
invoices it applies to: an invoice nothing is due on any more is Paid In Full, a credit memo all
applied is Fully Applied. `void` is a direct void as NetSuite does it (the REST record service has
no void: a person uses the Void button, a script N/transaction): every line and so the total go to
zero, the status becomes Voided, and nothing about it changes afterwards. A new account holds only
the set-up lists an administrator would have entered (subsidiaries, currencies and their exchange
rates, terms, classes, departments, locations, items, tax codes, accounts). Tests and the demo read
the counters (`writes`, `token_grants`, `over_limit`, `max_in_flight`, `restlet_calls`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from q2c.sandboxes.netsuite.errors import Problem
from q2c.sandboxes.netsuite.paging import MAX_PAGES, MAX_RESULTS
from q2c.sandboxes.netsuite.records import (
    CLOSED_JOB_STATUS,
    LISTS,
    OPEN_JOB_STATUS,
    SCHEMAS,
    VOIDED,
    RecordSchema,
    StoredRecord,
)
from q2c.sandboxes.netsuite.rules import applied_to, save_problems
from q2c.sandboxes.netsuite.setup import AccountSetup
from q2c.sandboxes.netsuite.values import read_body

_SETUP: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("currency", "1", {"name": "US Dollar", "symbol": "USD"}),
    ("currency", "2", {"name": "British pound", "symbol": "GBP"}),
    ("currency", "3", {"name": "Canadian Dollar", "symbol": "CAD"}),
    ("currency", "4", {"name": "Euro", "symbol": "EUR"}),
    ("subsidiary", "1", {"name": "Parent Company", "currency": "1"}),
    ("subsidiary", "2", {"name": "US01 Consulting Inc.", "currency": "1"}),
    ("subsidiary", "3", {"name": "UK01 Consulting Ltd", "currency": "2"}),
    # Currency Exchange Rates an administrator entered for the two base currencies (USD, GBP) at the start of
    # the demo's month: 1 transaction currency in the base currency
    ("currencyrate", "40", {"basecurrency": "1", "transactioncurrency": "2", "exchangerate": Decimal("1.2650"),
                            "effectivedate": date(2026, 11, 2)}),
    ("currencyrate", "41", {"basecurrency": "1", "transactioncurrency": "3", "exchangerate": Decimal("0.7150"),
                            "effectivedate": date(2026, 11, 2)}),
    ("currencyrate", "42", {"basecurrency": "1", "transactioncurrency": "4", "exchangerate": Decimal("1.1560"),
                            "effectivedate": date(2026, 11, 2)}),
    ("currencyrate", "43", {"basecurrency": "2", "transactioncurrency": "1", "exchangerate": Decimal("0.790514"),
                            "effectivedate": date(2026, 11, 2)}),
    ("currencyrate", "44", {"basecurrency": "2", "transactioncurrency": "4", "exchangerate": Decimal("0.913834"),
                            "effectivedate": date(2026, 11, 2)}),
    ("term", "1", {"name": "Net 15", "daysuntilnetdue": Decimal(15)}),
    ("term", "2", {"name": "Net 30", "daysuntilnetdue": Decimal(30)}),
    ("term", "3", {"name": "Net 60", "daysuntilnetdue": Decimal(60)}),
    ("term", "4", {"name": "Due on receipt", "daysuntilnetdue": Decimal(0)}),
    # Classifications: classes by service line, departments, locations (ids as an administrator's account has)
    ("classification", "3", {"name": "IMPL"}),
    ("classification", "4", {"name": "ADV"}),
    ("classification", "5", {"name": "MS"}),
    ("department", "6", {"name": "CONS"}),
    ("department", "7", {"name": "PMO"}),
    ("location", "8", {"name": "US01"}),
    ("location", "9", {"name": "UK01"}),
    ("serviceitem", "10", {"itemid": "Professional Services"}),
    ("serviceitem", "11", {"itemid": "Fixed Fee Services"}),
    ("serviceitem", "12", {"itemid": "Retainer"}),
    ("serviceitem", "13", {"itemid": "Milestone Billing"}),
    ("salestaxitem", "20", {"itemid": "US-CA-STD", "rate": Decimal("7.25")}),
    ("salestaxitem", "21", {"itemid": "EXEMPT", "rate": Decimal(0)}),
    ("account", "30", {"acctnumber": "1200", "acctname": "Accounts Receivable"}),
    ("account", "31", {"acctnumber": "1250", "acctname": "Unbilled Receivables"}),
    ("account", "32", {"acctnumber": "2400", "acctname": "Deferred Revenue"}),
    ("account", "33", {"acctnumber": "4000", "acctname": "Services Revenue"}),
    ("account", "34", {"acctnumber": "7990", "acctname": "FX Rounding"}),
    ("account", "35", {"acctnumber": "1000", "acctname": "Cash"}),
    ("account", "36", {"acctnumber": "7980", "acctname": "Foreign Exchange Gain or Loss"}),
    ("account", "37", {"acctnumber": "2450", "acctname": "Provision for Contract Losses"}),
    ("account", "38", {"acctnumber": "5900", "acctname": "Loss on Onerous Contracts"}),
)
_FIRST_ID = 100  # internal ids of records written after set-up


@dataclass
class NetSuiteState:
    """Everything the account holds, plus counters a test can assert on."""

    account_id: str
    records: dict[str, dict[str, StoredRecord]] = field(default_factory=dict)
    external: dict[str, dict[str, str]] = field(default_factory=dict)  # type -> externalId -> internal id
    writes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, created|updated|deleted)
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (epoch seconds)
    token_scopes: dict[str, frozenset[str]] = field(default_factory=dict)  # access token -> its scopes
    setup: AccountSetup = field(default_factory=AccountSetup)  # permissions, integration, deployment
    nonces: dict[str, float] = field(default_factory=dict)  # TBA nonces seen -> when
    login_audit: list[dict[str, str]] = field(default_factory=list)  # refused logins, newest last
    token_grants: int = 0
    token_refusals: Counter[str] = field(default_factory=Counter)  # OAuth error code -> refusals
    in_flight: int = 0
    max_in_flight: int = 0
    over_limit: Counter[str] = field(default_factory=Counter)  # surface (rest, restlet) -> requests refused
    restlet_calls: int = 0
    # the most rows and pages a SuiteQL result or record list returns (NetSuite's 100,000 and 1,000); a test
    # lowers them to see a client read past the cap without writing 100,000 records
    max_results: int = MAX_RESULTS
    max_pages: int = MAX_PAGES
    _next_id: int = _FIRST_ID

    def __post_init__(self) -> None:
        self.reset()

    # --- seeding and inspection -----------------------------------------------------------------
    def reset(self) -> None:
        """Back to a fresh account with its set-up lists (subsidiaries, currencies, terms, items)."""
        self.records = {t: {} for t in SCHEMAS}
        self.external = {t: {} for t in SCHEMAS}
        self.writes.clear()
        self.tokens.clear()
        self.token_scopes.clear()
        self.setup = AccountSetup()
        self.nonces.clear()
        self.login_audit.clear()
        self.token_grants = 0
        self.token_refusals.clear()
        self.over_limit.clear()
        self.max_in_flight = 0
        self.restlet_calls = 0
        self.max_results, self.max_pages = MAX_RESULTS, MAX_PAGES
        self._next_id = _FIRST_ID
        now = datetime.now(UTC)
        for rtype, rid, values in _SETUP:
            self.records[rtype][rid] = StoredRecord(rtype, rid, dict(values), now, now)

    def reference_ids(self) -> dict[str, dict[str, str]]:
        """Set-up ids by name: subsidiaries, currencies (by ISO code), terms, service and tax items, accounts."""
        def names(rtype: str, key: str) -> dict[str, str]:
            return {str(r.values[key]): r.id for r in self.records[rtype].values()}
        return {"subsidiary": names("subsidiary", "name"), "currency": names("currency", "symbol"),
                "term": names("term", "name"), "serviceitem": names("serviceitem", "itemid"),
                "salestaxitem": names("salestaxitem", "itemid"), "account": names("account", "acctnumber"),
                "classification": names("classification", "name"), "department": names("department", "name"),
                "location": names("location", "name")}

    def seed(self, record_type: str, fields: Mapping[str, Any]) -> str:
        """Write a record as an administrator would; returns its internal id."""
        schema = SCHEMAS[record_type]
        values, problems = self.check(schema, fields, existing=None, strict=True, external_types=frozenset(SCHEMAS))
        if problems:
            raise ValueError("; ".join(f"{p.field}: {p.message}" for p in problems))
        return self.store(schema, values, None).id

    def get(self, record_type: str, internal_id: str) -> StoredRecord | None:
        return self.records[record_type].get(internal_id)

    def by_external_id(self, record_type: str, external_id: str) -> StoredRecord | None:
        rid = self.external[record_type].get(external_id)
        return None if rid is None else self.records[record_type][rid]

    @property
    def next_id(self) -> int:
        """The internal id the next new record gets (ids are one sequence across record types)."""
        return self._next_id

    def count(self, record_type: str) -> int:
        return len(self.records[record_type])

    def created(self, record_type: str) -> int:
        return self.writes[(record_type, "created")]

    def updated(self, record_type: str) -> int:
        return self.writes[(record_type, "updated")]

    def close_job(self, internal_id: str) -> None:
        self.records["job"][internal_id].values["entitystatus"] = CLOSED_JOB_STATUS

    def lock(self, record_type: str, internal_id: str) -> None:
        """Billed: NetSuite refuses edits of time that is on an invoice."""
        self.records[record_type][internal_id].locked = True

    def pay_invoice(self, internal_id: str) -> str:
        """The customer pays what the invoice still owes: a customer payment applied to it (as
        `POST .../customerpayment` writes one); returns the payment's internal id."""
        invoice = self.records["invoice"][internal_id]
        due = self._total(invoice) - applied_to(internal_id, self.records)
        return self.seed("customerpayment", {"customer": invoice.values["entity"], "payment": due,
                                             "apply": {"items": [{"doc": internal_id, "apply": True,
                                                                  "amount": due}]}})

    def void(self, record_type: str, internal_id: str) -> StoredRecord:
        """A direct void (Void button, or N/transaction's void): lines and total to zero, status Voided.

        An invoice with a payment or credit applied is refused, as NetSuite refuses it (wording from recall).
        """
        schema = SCHEMAS.get(record_type)
        record = self.records.get(record_type, {}).get(internal_id)
        if schema is None or record is None or schema.status_list is None \
                or VOIDED not in LISTS[schema.status_list]:
            raise ValueError(f"no voidable {record_type} {internal_id}")
        if record.status == VOIDED:
            raise ValueError(f"{record_type} {record.tran_id} is already voided")
        if record_type == "invoice" and applied_to(internal_id, self.records) > 0:
            raise ValueError(f"invoice {record.tran_id} has payments or credits applied: unapply them before "
                             "voiding it")
        for line in record.values.get("item") or []:
            line["amount"] = Decimal(0)
        record.status = VOIDED
        record.modified = datetime.now(UTC)
        self.writes[(record_type, "voided")] += 1
        if record_type in ("creditmemo", "customerpayment"):
            self._settle(record)
        return record

    def revoke_tokens(self) -> None:
        """Every issued access token stops working, as after an expiry or a revoked mapping."""
        self.tokens.clear()
        self.token_scopes.clear()

    def refused_login(self, surface: str, method: str, detail: str) -> None:
        """A line of the Login Audit Trail (Setup > Users/Roles > User Management > View Login Audit Trail)."""
        self.login_audit.append({"at": datetime.now(UTC).isoformat(timespec="seconds"), "surface": surface,
                                 "method": method, "detail": detail})
        del self.login_audit[:-200]

    # --- references (the values reader's lookup) ------------------------------------------------
    def exists(self, target: str, internal_id: str) -> bool:
        return internal_id in self.records.get(target, {})

    def internal_id(self, record_type: str, external_id: str) -> str | None:
        return self.external.get(record_type, {}).get(external_id)

    # --- writes ---------------------------------------------------------------------------------
    def check(self, schema: RecordSchema, body: Mapping[str, Any], *, existing: StoredRecord | None,
              strict: bool, external_types: frozenset[str] = frozenset()) -> tuple[dict[str, Any], list[Problem]]:
        """A write body as values to store, or why NetSuite refuses it (field problems first, then rules)."""
        values, problems = read_body(schema, body, creating=existing is None, strict=strict,
                                     external_types=external_types, lookup=self)
        if problems:
            return values, problems
        return values, save_problems(schema, values, existing, self.records)

    def store(self, schema: RecordSchema, values: Mapping[str, Any], existing: StoredRecord | None) -> StoredRecord:
        """Create (existing None) or update a record, keeping the external-id index in step."""
        record = self._new(schema) if existing is None else existing
        if existing is not None:
            record.modified = datetime.now(UTC)
        self.writes[(schema.type, "updated" if existing is not None else "created")] += 1
        before = record.external_id
        record.values.update(values)
        after = record.external_id
        if before != after:
            if before is not None:
                self.external[schema.type].pop(before, None)
            if after is not None:
                self.external[schema.type][after] = record.id
        if schema.type in ("creditmemo", "customerpayment"):
            self._settle(record)
        return record

    @staticmethod
    def _total(record: StoredRecord) -> Decimal:
        return sum((line.get("amount") or Decimal(0) for line in record.values.get("item") or []), Decimal(0))

    def _settle(self, document: StoredRecord) -> None:
        """The status of each invoice a credit memo or payment applies to, and of a credit memo itself."""
        for line in document.values.get("apply") or []:
            invoice = self.records["invoice"].get(str(line.get("doc")))
            if invoice is None or invoice.status == VOIDED:
                continue
            status = "B" if applied_to(invoice.id, self.records) >= self._total(invoice) > 0 else "A"
            if status != invoice.status:
                invoice.status = status
                invoice.modified = datetime.now(UTC)
        if document.type == "creditmemo" and document.status != VOIDED:
            applied = sum((line.get("amount") or Decimal(0) for line in document.values.get("apply") or []
                           if line.get("apply") is True), Decimal(0))
            document.status = "B" if applied >= self._total(document) > 0 else "A"

    def _new(self, schema: RecordSchema) -> StoredRecord:
        now = datetime.now(UTC)
        rid = str(self._next_id)
        self._next_id += 1
        record = StoredRecord(schema.type, rid, {}, now, now)
        if schema.type == "job":
            record.values["entitystatus"] = OPEN_JOB_STATUS
        if schema.number_prefix is not None:
            record.status = schema.initial_status
            record.tran_id = f"{schema.number_prefix}{rid}"
        self.records[schema.type][rid] = record
        return record

    def delete(self, record: StoredRecord) -> None:
        del self.records[record.type][record.id]
        if record.external_id is not None:
            self.external[record.type].pop(record.external_id, None)
        self.writes[(record.type, "deleted")] += 1

    # --- reading back ---------------------------------------------------------------------------
    def ref_name(self, targets: Iterable[str], rid: str) -> tuple[str, str]:
        """(record type or list, display name) of a reference."""
        for target in targets:
            if target in LISTS and rid in LISTS[target]:
                return target, LISTS[target][rid]
            record = self.records.get(target, {}).get(rid)
            if record is not None:
                return target, self.display(record)
        return "", rid

    def display(self, record: StoredRecord) -> str:
        """What NetSuite shows for a record: its transaction number, or its name field, or its id."""
        if record.tran_id is not None:
            return record.tran_id
        label_field = SCHEMAS[record.type].label_field
        label = record.values.get(label_field.lower()) if label_field is not None else None
        return str(label) if label is not None else record.id

    def status_name(self, record: StoredRecord) -> str:
        status_list = SCHEMAS[record.type].status_list
        if record.status is None or status_list is None:
            return ""
        return LISTS[status_list].get(record.status, record.status)
