"""Whether a record read back from NetSuite carries what q2c sent.

When the answer to a write is lost (a cut-off body, a page from a proxy), the write may or may
not have happened. The record itself, read back by external id, is the proof: present with the
values sent, the write happened; absent, or still holding other values (an update that did not
land), it did not, and the write is sent again. Only the fields q2c sent are compared, in the
shapes the REST record service reads them back: references as `{"id", "refName", "links"}`,
numbers as decimals, sublists (read with expandSubResources) as `{"items": [...]}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any


def written_as_sent(sent: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """Every field of `sent` (except the externalId the record was found by) has that value in `stored`."""
    by_lower = {str(k).lower(): v for k, v in stored.items()}
    return all(_same(value, by_lower.get(key.lower())) for key, value in sent.items()
               if key.lower() != "externalid")


def _same(sent: Any, stored: Any) -> bool:
    if sent is None or sent == "":
        return stored is None or stored == ""
    if isinstance(sent, bool):
        return stored is sent
    if isinstance(sent, int | Decimal):
        return _number(stored) == Decimal(sent)
    if isinstance(sent, str):
        return isinstance(stored, str) and stored == sent
    if isinstance(sent, Mapping):
        if not isinstance(stored, Mapping):
            return False
        if set(sent) == {"id"}:
            return stored.get("id") is not None and str(stored["id"]) == str(sent["id"])
        if set(sent) == {"items"}:
            lines, kept = sent["items"], stored.get("items")
            return (isinstance(lines, list) and isinstance(kept, list) and len(lines) == len(kept)
                    and all(isinstance(a, Mapping) and isinstance(b, Mapping) and written_as_sent(a, b)
                            for a, b in zip(lines, kept, strict=True)))
        return written_as_sent(sent, stored)
    if isinstance(sent, list | tuple):
        return (isinstance(stored, list) and len(stored) == len(sent)
                and all(_same(a, b) for a, b in zip(sent, stored, strict=True)))
    return False


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(value) if isinstance(value, int | Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
