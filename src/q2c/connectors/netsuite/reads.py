"""Reconciliation reads: q2c's timebills and documents as NetSuite holds them now, read fresh on every call.

Only records with an external id are q2c's. Nothing is written and nothing read is kept between
calls: what a person changed or deleted in NetSuite a minute ago shows in the next read.

* Timebills by SuiteQL on `timebill`, streamed one list per page, so a caller can walk a million
  entries without holding them. A SuiteQL result holds at most 100,000 rows on at most 1,000 pages
  (Oracle: "Executing SuiteQL Queries Through REST Web Services", "Collection Paging"), so each
  query is ordered by id and, once it has given all it can, the next one starts after the last id
  read (keyset paging); `limit`/`offset` alone would stop at the cap without saying so.
  The jobs (project ids) and project tasks (task codes) are read once per call; this slice of
  SuiteQL has no joins.
* Documents: the header by SuiteQL on `transaction`, the lines by the record service with
  `expandSubResources=true` (the `item` sublist of sales orders, invoices and credit memos, `line`
  of journal entries), read concurrently within the account's limit. One GET per document: the
  lines come back in the fields q2c wrote them with, signs and all. Journal accounts are read by
  SuiteQL on `account` for their numbers; currencies map to ISO codes as `currency_rates` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from typing import Any

from q2c.connectors.netsuite.client import SUITEQL_PAGE, NetSuiteClient
from q2c.connectors.netsuite.mapping import currency_codes
from q2c.connectors.netsuite.reads_mapping import (
    RECORD_TYPES,
    ProjectTask,
    account_ids,
    document_from_netsuite,
    timebill_from_netsuite,
)
from q2c.connectors.netsuite.suiteql import in_list, quote
from q2c.workflows.ports import ErpDocument, ErpDocumentKind, ErpTimebill

SUITEQL_MAX_RESULTS = 100_000  # rows one SuiteQL query returns at most
SUITEQL_MAX_PAGES = 1000  # pages one query returns at most, whatever the page size
_IN_CHUNK = 500  # values per IN (...) list
_TRANSACTION_TYPES: dict[ErpDocumentKind, str] = {"contract": "SalesOrd", "invoice": "CustInvc",
                                                  "credit_note": "CustCred", "journal_entry": "Journal"}
_TIMEBILL_COLUMNS = "id, externalid, customer, casetaskevent, trandate, hours, rate, isbillable, billed"
_HEADER_COLUMNS = ("id, externalid, type, status, BUILTIN.DF(status) AS statusname, currency, foreigntotal, "
                   "trandate")


def _chunks(values: Sequence[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(values))
    return [unique[start:start + _IN_CHUNK] for start in range(0, len(unique), _IN_CHUNK)]


def _pages(rows: Iterable[ErpTimebill], size: int) -> Iterator[list[ErpTimebill]]:
    page: list[ErpTimebill] = []
    for row in rows:
        page.append(row)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


class NetSuiteReads:
    """The reads behind `NetSuiteErp.timebills` and `.documents`; `page_size` rows a request (NetSuite's
    1,000 at most), `max_results` a query (NetSuite's 100,000)."""

    def __init__(self, client: NetSuiteClient, *, page_size: int = SUITEQL_PAGE,
                 max_results: int = SUITEQL_MAX_RESULTS) -> None:
        if not 1 <= page_size <= SUITEQL_PAGE:
            raise ValueError(f"page_size is between 1 and {SUITEQL_PAGE}, not {page_size}")
        self.client = client
        self.page_size = page_size
        self.rows_per_query = min(max_results, SUITEQL_MAX_PAGES * page_size)

    def rows(self, table: str, columns: str, where: Sequence[str] = ()) -> Iterator[dict[str, str]]:
        """Every row of the query, by id, however many: a query at a time, each starting after the last id
        the one before read, a page at a time (the next page is asked for only when the caller gets there)."""
        after: str | None = None
        while True:
            conditions = [*where, *([f"id > {after}"] if after is not None else [])]
            query = (f"SELECT {columns} FROM {table}" + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
                     + " ORDER BY id")
            read = 0
            for row in self.client.suiteql(query, page_size=self.page_size):
                after = row.get("id", "")
                if not after.isdigit():  # it goes into the next query: NetSuite's internal ids are numbers
                    raise ValueError(f"{table} row with id {after!r}: an internal id is a number")
                yield row
                read += 1
                if read == self.rows_per_query:
                    break  # all a query gives: the next starts after this id
            if read < self.rows_per_query:
                return

    # --- timebills ------------------------------------------------------------------------------------
    def timebill_pages(self, project_ids: Sequence[str] | None = None) -> Iterator[list[ErpTimebill]]:
        """q2c's timebills, a page at a time, limited to the jobs of `project_ids` (canonical ids) when given."""
        if project_ids is None:
            jobs = self._jobs(["externalid IS NOT NULL"])
            tasks = self._tasks([])
            filters: list[list[str]] = [[]]
        else:
            jobs = {}
            for chunk in _chunks(project_ids):
                jobs.update(self._jobs([f"externalid IN {in_list(chunk)}"]))
            if not jobs:
                return
            tasks = {}
            filters = []
            for chunk in _chunks(sorted(jobs)):
                tasks.update(self._tasks([f"project IN {in_list(chunk)}"]))
                filters.append([f"customer IN {in_list(chunk)}"])
        rows = chain.from_iterable(self.rows("timebill", _TIMEBILL_COLUMNS, ["externalid IS NOT NULL", *f])
                                   for f in filters)
        yield from _pages((timebill_from_netsuite(row, jobs=jobs, tasks=tasks) for row in rows), self.page_size)

    def _jobs(self, where: Sequence[str]) -> dict[str, str]:
        """q2c's jobs: internal id -> external id (the canonical project id)."""
        return {row["id"]: row["externalid"] for row in self.rows("job", "id, externalid", where)
                if row.get("externalid")}

    def _tasks(self, where: Sequence[str]) -> dict[str, ProjectTask]:
        return {row["id"]: ProjectTask(row.get("externalid") or None, row.get("title", ""), row.get("project"))
                for row in self.rows("projecttask", "id, externalid, title, project", where)}

    # --- documents -------------------------------------------------------------------------------------
    def documents(self, kind: ErpDocumentKind, ids: Sequence[str] | None = None) -> list[ErpDocument]:
        """q2c's documents of one kind with their lines, by internal id; limited to `ids` (canonical) when given."""
        if kind not in _TRANSACTION_TYPES:
            raise ValueError(f"unknown document kind {kind!r} (known: {', '.join(_TRANSACTION_TYPES)})")
        where = [f"type = {quote(_TRANSACTION_TYPES[kind])}", "externalid IS NOT NULL"]
        filters = [[]] if ids is None else [[f"externalid IN {in_list(chunk)}"] for chunk in _chunks(ids)]
        headers = [row for f in filters for row in self.rows("transaction", _HEADER_COLUMNS, [*where, *f])]
        if not headers:
            return []
        records = self._records(RECORD_TYPES[kind], [row["id"] for row in headers])
        accounts: dict[str, str] = {}
        if kind == "journal_entry":
            accounts = self._account_numbers({account for row in headers if row["id"] in records
                                              for account in account_ids(records[row["id"]], row["externalid"])})
        currencies = self._currency_codes({row["currency"] for row in headers if row.get("currency")})
        return [document_from_netsuite(kind, row, records[row["id"]], currencies=currencies, accounts=accounts)
                for row in headers if row["id"] in records]  # one deleted since the header was read is gone

    def _records(self, record_type: str, internal_ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """Each record with its sublists, several at once (the account guard keeps them within its limit)."""
        workers = max(1, min(self.client.config.concurrency_limit, len(internal_ids)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="netsuite-read") as pool:
            bodies = list(pool.map(lambda internal: self.client.get(record_type, internal, expand=True),
                                   internal_ids))
        return {internal: body for internal, body in zip(internal_ids, bodies, strict=True) if body is not None}

    def _account_numbers(self, internal_ids: set[str]) -> dict[str, str]:
        numbers: dict[str, str] = {}
        for chunk in _chunks(sorted(internal_ids)):
            numbers.update({row["id"]: row["acctnumber"] for row in
                            self.rows("account", "id, acctnumber", [f"id IN {in_list(chunk)}"])
                            if row.get("acctnumber")})
        return numbers

    def _currency_codes(self, internal_ids: set[str]) -> dict[str, str]:
        """ISO codes by currency internal id: the config's, and the currency records' symbols only when needed."""
        refs = self.client.config.references
        codes = currency_codes(refs, {})
        if any(internal not in codes for internal in internal_ids):
            codes = currency_codes(refs, self.client.currency_symbols())
        return codes
