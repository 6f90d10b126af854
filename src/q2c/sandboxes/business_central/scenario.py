"""The story in a Business Central environment: employees hired in every company, q2c's records counted
across the companies, and a time entry deleted in the web client by mistake.

Each kind is the table q2c writes, counted over every company: customers, projects, the extension's
jobTasks and timeEntries, salesOrders (contracts), salesInvoices. Two kinds are counted as a person would:
a customer q2c keeps in every company under one number is one customer, and a journal entry is one
document no. that q2c's journal posts put in a company's general ledger, however many lines it had.
"""

from __future__ import annotations

from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.business_central.store import Book
from q2c.sandboxes.kit import Sandbox
from q2c.sandboxes.registry import ErpCount

TABLES: dict[ErpCount, str] = {"customer": "customers", "project": "projects", "task": "jobTasks",
                               "contract": "salesOrders", "timebill": "timeEntries", "invoice": "salesInvoices"}
TIME, CUSTOMERS = "timeEntries", "customers"


def _environment(box: Sandbox) -> BusinessCentralSandbox:
    assert isinstance(box, BusinessCentralSandbox), f"{box.name} is not the Business Central sandbox"
    return box


def _customers(books: list[Book], *, ever: bool) -> int:
    """Distinct customer numbers across the companies (now, or ever inserted)."""
    numbers: set[str] = set()
    for book in books:
        numbers |= (book.inserted_numbers.get(CUSTOMERS, set()) if ever else
                    {str(r.values["number"]) for r in book.table(CUSTOMERS).values()})
    return len(numbers)


def _journal_documents(book: Book) -> set[str]:
    """The journal documents of this company still in its general ledger (G/L entries are not deleted in
    Business Central, but the sandbox's web client can)."""
    held = {str(r.values["documentNumber"]).upper() for r in book.table("generalLedgerEntries").values()}
    return held & book.journal_documents


class BusinessCentralScenario:
    def employee(self, box: Sandbox, *, first: str, last: str, email: str) -> None:
        """Hired in every company (numbered from the series), unless a company has this email already."""
        env = _environment(box)
        for code in env.company_ids():
            if any(str(e.get("email", "")).lower() == email.lower() for e in env.records(code, "employees")):
                continue
            env.add_employee(code, "", first, last, email=email)

    def count(self, box: Sandbox, kind: ErpCount) -> int:
        env = _environment(box)
        with env.store.lock:
            books = list(env.store.books.values())
            if kind == "journal_entry":
                return sum(len(_journal_documents(b)) for b in books)
            if kind == "customer":
                return _customers(books, ever=False)
            return sum(len(b.table(TABLES[kind])) for b in books)

    def delete_timebill(self, box: Sandbox, external_id: str) -> bool:
        """The time entry whose externalId is this (matched without case), deleted in the web client."""
        env = _environment(box)
        wanted = external_id.strip().upper()
        with env.store.lock:
            for code in env.company_ids():
                for row in env.records(code, TIME):
                    if str(row["externalId"]).strip().upper() == wanted:
                        env.delete_record(code, TIME, str(row["id"]))
                        return True
        return False

    def timebill_ids(self, box: Sandbox) -> list[str]:
        env = _environment(box)
        with env.store.lock:
            return [str(r["externalId"]) for code in env.company_ids() for r in env.records(code, TIME)]

    def created(self, box: Sandbox, kind: ErpCount) -> int:
        env = _environment(box)
        with env.store.lock:
            books = list(env.store.books.values())
            if kind == "journal_entry":
                return sum(len(b.journal_documents) for b in books)
            if kind == "customer":
                return _customers(books, ever=True)
            return sum(b.inserted.get(TABLES[kind], 0) for b in books)
