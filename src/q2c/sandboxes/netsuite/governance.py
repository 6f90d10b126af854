"""Usage units, as NetSuite meters a script: what each call the bulk RESTlet makes costs.

From "SuiteScript 2.x API Governance" (NetSuite Help Center, section_157072844224) and "Script Type
Usage Unit Limits" (section_N3351480): a RESTlet has 5,000 units per call; record.create and
record.load cost 10 on a standard transaction and 5 on another standard record, Record.save 20 and 10,
Search.runPaged 5 and PagedData.fetch 5 for each page (up to 1,000 hits a page). Time (timebill) is
"a time transaction" (its record page, section_N3197386) and is metered as one. So a chunk of 200
time entries needs 6,000 units: the script stops early, and the rest is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass

RESTLET_UNITS = 5000
TRANSACTIONS = frozenset({"salesorder", "invoice", "journalentry", "timebill"})
_OPEN = {True: 10, False: 5}  # record.create / record.load
_SAVE = {True: 20, False: 10}  # Record.save
_SEARCH_RUN = 5
_SEARCH_PAGE = 5
_PAGE_SIZE = 1000


@dataclass
class Meter:
    """One script execution's units."""

    used: int = 0
    limit: int = RESTLET_UNITS

    @property
    def remaining(self) -> int:
        return self.limit - self.used

    def open(self, record_type: str) -> None:
        self.used += _OPEN[record_type in TRANSACTIONS]

    def save(self, record_type: str) -> None:
        self.used += _SAVE[record_type in TRANSACTIONS]

    def search(self, hits: int) -> None:
        """runPaged, then one fetch per page of hits (none when nothing matched)."""
        self.used += _SEARCH_RUN + _SEARCH_PAGE * -(-hits // _PAGE_SIZE)
