"""Reading a client's JSON body into a row's values, property by property, and lookups by number or id.

Unknown properties are refused with OData's message; a read-only property may be sent back unchanged (a
client echoing what it read) but not changed; every value is read as its property's kind. Code fields
(`No.`, `External Document No.`, codes: AL type Code[n]) are kept in capitals, as Business Central does.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from q2c.sandboxes.business_central.query import coerce
from q2c.sandboxes.business_central.schema import EntitySet
from q2c.sandboxes.business_central.store import Book, Row, blank
from q2c.sandboxes.business_central.wire import EMPTY_GUID, BcError, bad_request, dialog

CENT = Decimal("0.01")
# Code fields: Business Central stores them in capitals, whatever case a client sends
CODE_FIELDS = frozenset({
    "number", "code", "valueCode", "jobNumber", "jobTaskNumber", "employeeNumber", "customerNumber",
    "billToCustomerNumber", "currencyCode", "lineObjectNumber", "documentNumber", "externalDocumentNumber",
    "accountNumber", "balancingAccountNumber", "serviceOffering", "legalEntity", "unitOfMeasureCode", "taxCode",
    "salespersonCode", "shortcutDimension1Code", "shortcutDimension2Code", "invoiceNumber"})


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def read_body(spec: EntitySet, body: Any, current: dict[str, Any] | None,
              nested: tuple[str, ...] = ()) -> dict[str, Any]:
    """The writable values in `body` (keys of `nested` navigation properties are left to the caller)."""
    if not isinstance(body, dict):
        raise bad_request(f"The request body for {spec.name} must be a JSON object.")
    values: dict[str, Any] = {}
    for name, raw in body.items():
        if name.startswith("@odata.") or name in nested:
            continue
        prop = spec.prop(name)
        if prop is None:
            raise bad_request(f"The property '{name}' does not exist on type 'Microsoft.NAV.{spec.entity}'. Make sure "
                              "to only use property names that are defined by the type.")
        value = coerce(prop.kind, raw, f"{spec.entity}.{name}") if raw is not None else blank(prop.kind)
        if name in CODE_FIELDS and isinstance(value, str):
            value = value.upper()
        if prop.options and value not in prop.options:
            raise bad_request(f"'{raw}' is not an option. The existing options are: {','.join(prop.options)}")
        if prop.max_length is not None and isinstance(value, str) and len(value) > prop.max_length:
            raise BcError(400, "Application_StringExceededLength",
                          f"The length of the string is {len(value)}, but it must be less than or equal to "
                          f"{prop.max_length} characters. Value: {value}")
        if not prop.writable:
            have = current.get(name) if current is not None else blank(prop.kind, prop.options)
            if value != have and name != "id":
                raise bad_request(f"The property '{name}' of {spec.entity} is read-only.")
            continue
        values[name] = value
    return values


def by_number_or_id(book: Book, table: str, caption: str, number_field: str, number: Any, row_id: Any,
                    *, what: str) -> Row | None:
    """The row a document points at by id or by number (id wins); None when neither is given."""
    if row_id not in (None, "", EMPTY_GUID):
        row = book.table(table).get(str(row_id))
        if row is None:
            raise dialog(f"The {caption} does not exist. Identification fields and values: Id='{row_id}' ({what}).")
        return row
    if number not in (None, ""):
        found = book.find(table, **{number_field: number})
        if found is None:
            raise dialog(f"The {caption} does not exist. Identification fields and values: No.='{number}' ({what}).")
        return found
    return None


def require_unique(book: Book, spec: EntitySet, caption: str, row: Row | None, **key: Any) -> None:
    for other in book.table(spec.name).values():
        if other is not row and all(other.values.get(k) == v for k, v in key.items()):
            shown = ",".join(f"{k}='{v}'" for k, v in key.items())
            raise BcError(400, "Internal_EntityWithSameKeyExists",
                          f"The {caption} already exists. Identification fields and values: {shown}")


def series_number(book: Book, series: str, start: int, width: int, prefix: str, taken: set[str]) -> str:
    while True:
        number = f"{prefix}{book.next_number(series, start):0{width}d}"
        if number not in taken:
            return number
