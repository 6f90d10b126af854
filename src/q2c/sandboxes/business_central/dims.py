"""Dimension set lines: the dimension values on a document, a line, a journal line or a G/L entry.

Documented (v2.0 reference, dimensionSetLine): reached under its parent
(`salesInvoices({id})/salesInvoiceLines({id})/dimensionSetLines`), `id` is the dimension's id, `code` its
code, `valueId`/`valueCode` the dimension value, `parentId`/`parentType` the owner; a client creates one
with either the ids or the codes. Recalled: one line per dimension on a parent (a second answers
`Internal_EntityWithSameKeyExists`).
"""

from __future__ import annotations

from typing import Any

from q2c.sandboxes.business_central.fields import by_number_or_id, require_unique
from q2c.sandboxes.business_central.rules import LINES, PARENT_TYPES, Write, editable_document
from q2c.sandboxes.business_central.store import Book, Row
from q2c.sandboxes.business_central.wire import EMPTY_GUID, dialog

TABLE = "dimensionSetLines"


def key(parent_id: str, dimension_id: str) -> str:
    return f"{parent_id}/{dimension_id}"


def lines_of(book: Book, parent_id: str) -> list[Row]:
    return [r for r in book.table(TABLE).values() if r.values["parentId"] == parent_id]


def header_of(book: Book, parent_set: str, parent: Row) -> tuple[str, Row] | None:
    """The document whose status decides whether `parent`'s dimensions may change."""
    if parent_set in LINES:
        header = book.table(LINES[parent_set]).get(str(parent.values["documentId"]))
        return (LINES[parent_set], header) if header is not None else None
    if parent_set in LINES.values():
        return parent_set, parent
    return None


def dimension_line(write: Write, values: dict[str, Any]) -> None:
    if write.parent is None or write.parent_set is None:
        raise dialog("Dimension set lines are reached under their parent record.")
    owner = header_of(write.book, write.parent_set, write.parent)
    if owner is not None:
        editable_document(write.book, *owner)
    if write.parent_set == "generalLedgerEntries":
        raise dialog("You cannot change the dimensions of a posted G/L entry.")
    dimension = write.book.table("dimensions").get(str(values.get("id", EMPTY_GUID)))
    if write.row is not None:
        dimension = write.book.table("dimensions").get(str(write.row.values["id"]))
    elif dimension is None:
        dimension = by_number_or_id(write.book, "dimensions", "Dimension", "code", values.get("code"),
                                    values.get("id"), what="dimension")
    if dimension is None:
        raise dialog("You must specify a dimension id or code for the dimension set line.")
    value = by_number_or_id(write.book, "dimensionValues", "Dimension Value", "code", None, values.get("valueId"),
                            what="valueId") if values.get("valueId") not in (None, EMPTY_GUID) else None
    if value is None and values.get("valueCode"):
        value = write.book.find("dimensionValues", dimensionId=dimension.values["id"],
                                code=str(values["valueCode"]).upper())
        if value is None:
            raise dialog(f"The Dimension Value does not exist. Identification fields and values: "
                         f"Dimension Code='{dimension.values['code']}',Code='{values['valueCode']}'")
    if value is None and write.row is None:
        raise dialog("You must specify a valueId or valueCode for the dimension set line.")
    if value is not None and value.values["dimensionId"] != dimension.values["id"]:
        raise dialog(f"Dimension Value {value.values['code']} does not belong to dimension "
                     f"{dimension.values['code']}.")
    if write.row is None:
        require_unique(write.book, write.spec, "Dimension Set Entry", None, parentId=write.parent.values["id"],
                       id=dimension.values["id"])
    values.update(id=dimension.values["id"], code=dimension.values["code"], displayName=dimension.values["displayName"],
                  consolidationCode=dimension.values["consolidationCode"], parentId=write.parent.values["id"],
                  parentType=PARENT_TYPES.get(write.parent_set, write.parent_set))
    if value is not None:
        values.update(valueId=value.values["id"], valueCode=value.values["code"],
                      valueDisplayName=value.values["displayName"],
                      valueConsolidationCode=value.values["consolidationCode"])


def codes(book: Book, *parent_ids: str) -> dict[str, str]:
    """Dimension code -> value code over several owners (a line's own values win over its header's)."""
    out: dict[str, str] = {}
    for parent_id in parent_ids:
        for row in lines_of(book, parent_id):
            out[str(row.values["code"])] = str(row.values["valueCode"])
    return out
