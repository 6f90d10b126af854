"""Salesforce record ids: 15 case-sensitive characters, or 18 with a case-safe suffix.

Users paste 15-character ids from URLs and reports into text fields; the API always returns 18.
Comparing the two needs the suffix Salesforce computes, which is what `normalize_id` does.
"""

from __future__ import annotations

import re

_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_SHAPE = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")


def id18(id15: str) -> str:
    """Append the suffix: one character per 5-character chunk, encoding which characters are capitals."""
    suffix = ""
    for chunk_start in range(0, 15, 5):
        chunk = id15[chunk_start: chunk_start + 5]
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None if it is not a well-formed id."""
    if not _ID_SHAPE.match(value):
        return None
    full = id18(value[:15])
    if len(value) == 18 and full[15:].upper() != value[15:].upper():
        return None
    return full
