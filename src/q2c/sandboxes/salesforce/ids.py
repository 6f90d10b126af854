"""Record ids as Salesforce mints them: 15 case-sensitive characters, and the 18-character form.

A 15-character id is a 3-character key prefix naming the object (001 Account, 003 Contact,
006 Opportunity, 00k OpportunityLineItem; a custom object gets an org-specific prefix), two
characters naming the server instance, a reserved character and nine base-62 digits. The API
answers with 18 characters: a suffix of one character per 5-character chunk that spells which
letters of the chunk are capitals (bit i set when character i is upper case), in the alphabet
A-Z then 0-5. Salesforce's published CASESAFEID/LongSfid examples follow this, e.g.
0036000000QKv5T -> 0036000000QKv5TAAT.

Because the suffix records the capitals, an 18-character id still names its record when a
case-insensitive tool has changed its case: the capitals are restored from the suffix (from
recall: Salesforce accepts 18-character ids that way).
"""

from __future__ import annotations

import itertools
import string

SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
INSTANCE = "Dn"  # the sandbox's server instance, as in 001Dn0000000001
_ID_CHARS = frozenset(string.ascii_letters + string.digits)


def case_safe_suffix(id15: str) -> str:
    """The three suffix characters of a 15-character id."""
    letters = []
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start:start + 5]):
            if char in string.ascii_uppercase:
                bits |= 1 << position
        letters.append(SUFFIX_ALPHABET[bits])
    return "".join(letters)


def id18(id15: str) -> str:
    """The 18-character form of a 15-character id."""
    return id15 + case_safe_suffix(id15)


def _restore_case(id18_text: str) -> str | None:
    """The 15-character id an 18-character one names, whatever case it was written in."""
    restored = []
    for chunk, marker in enumerate(id18_text[15:].upper()):
        bits = SUFFIX_ALPHABET.find(marker)
        if bits < 0:
            return None
        for position, char in enumerate(id18_text[chunk * 5:chunk * 5 + 5]):
            capital = bool(bits & (1 << position))
            if capital and not char.isalpha():
                return None
            restored.append(char.upper() if capital else char.lower())
    return "".join(restored)


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when `value` is not an id."""
    if len(value) not in (15, 18) or not set(value) <= _ID_CHARS:
        return None
    if len(value) == 15:
        return id18(value)
    id15 = _restore_case(value)
    return None if id15 is None else id18(id15)


def base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def record_id(key_prefix: str, number: int) -> str:
    """The 18-character id of the `number`th record minted on this instance under `key_prefix`."""
    return id18(f"{key_prefix}{INSTANCE}0{base62(number, 9)}")


class IdMint:
    """One org's id sequence: every id it mints, whatever the object, takes the next number."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def new(self, key_prefix: str) -> str:
        return record_id(key_prefix, next(self._numbers))
