"""The account's records as SuiteQL tables.

SuiteQL reads NetSuite's analytics tables, not the REST records: names are lower-case, sales
orders, invoices and journal entries share `transaction` (told apart by `type`: `SalesOrd`,
`CustInvc`, `Journal`), service items live in `item`, and every table has `id`, `externalid`,
`datecreated` and `lastmodifieddate`. A transaction's `status` is its status letter (its display
name through BUILTIN.DF) and `foreigntotal` its total in the transaction's currency; a time entry
says whether it is `billed`. Reference columns hold the referenced internal id (so `currencyrate`,
the Currency Exchange Rates, gives `basecurrency` and `transactioncurrency` as currency ids).
"""

from __future__ import annotations

from collections.abc import Iterator

from q2c.sandboxes.netsuite.records import SCHEMAS, RecordSchema, StoredRecord
from q2c.sandboxes.netsuite.render import transaction_total
from q2c.sandboxes.netsuite.state import NetSuiteState
from q2c.sandboxes.netsuite.suiteql import SuiteQLError
from q2c.sandboxes.netsuite.suiteql_eval import Cell, Ref, TableView

_COMMON = ("id", "externalid", "datecreated", "lastmodifieddate")
_EXTRA = {"transaction": ("type", "tranid", "status", "foreigntotal"), "timebill": ("billed",)}


def table(state: NetSuiteState, name: str) -> TableView:
    """The table `name` over the account's records; an unknown name is refused as NetSuite words it."""
    schemas = [schema for schema in SCHEMAS.values() if schema.table == name]
    if not schemas:
        raise SuiteQLError("table", f"Invalid search type: {name}.")
    columns = list(_COMMON)
    for schema in schemas:
        columns += [f.name.lower() for f in schema.fields if f.kind != "sublist" and f.name.lower() not in columns]
    columns += _EXTRA.get(name, ())

    def rows() -> Iterator[dict[str, Cell]]:
        for schema in schemas:
            for record in state.records[schema.type].values():
                yield _row(state, schema, record)

    return TableView(name, tuple(columns), rows)


def _row(state: NetSuiteState, schema: RecordSchema, record: StoredRecord) -> dict[str, Cell]:
    row: dict[str, Cell] = {"id": int(record.id), "datecreated": record.created, "lastmodifieddate": record.modified}
    for key, value in record.values.items():
        spec = schema.spec(key)
        if spec is not None and spec.kind == "sublist":
            continue
        if spec is not None and spec.kind == "ref" and isinstance(value, str):
            row[key] = Ref(value, state.ref_name(spec.targets, value)[1])
        else:
            row[key] = value
    if schema.transaction_type is not None:
        row.update(type=schema.transaction_type, tranid=record.tran_id, foreigntotal=transaction_total(record),
                   status=Ref(record.status or "", state.status_name(record)))
    if schema.type == "timebill":
        row["billed"] = record.locked
    return row

