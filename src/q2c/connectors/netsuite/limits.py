"""How much text NetSuite's fields hold, and how q2c makes its text fit them.

NetSuite refuses a value longer than its field ("The field memo contained more than the maximum
number ( 4000 ) of characters allowed.", USER_ERROR); it does not cut it. Its limits count bytes,
so a character outside ASCII uses up to four of them: sizes here are UTF-8 bytes, and text is cut
on a character boundary, never inside one.

The lengths, and where they come from:
- transaction body memo 999 and item line description 4,000: NetSuite's own SuiteCommerce code
  checks a return authorization's memo and line descriptions against these before it saves;
- timebill memo 4,000: billed time becomes an invoice line, the memo its description;
- entity companyName (customer, project) 83: NetSuite's entity import template;
- free-form text custom fields (q2c's custcol_q2c_*) 300: NetSuite's custom field types;
- journal line memo: not documented where we looked, so held to the body memo's 999.
"""

from __future__ import annotations

TRANSACTION_MEMO = 999
LINE_DESCRIPTION = 4000
TIMEBILL_MEMO = 4000
ENTITY_NAME = 83
FREE_FORM_TEXT = 300
JOURNAL_LINE_MEMO = 999

ELLIPSIS = "\u2026"  # marks text that goes on in q2c
_PARTS = " | "
_CLAUSES = "; "


def size(text: str) -> int:
    """Bytes the text takes in a NetSuite field."""
    return len(text.encode("utf-8"))


def fits(text: str, limit: int) -> bool:
    return size(text) <= limit


def cut(text: str, limit: int) -> str:
    """The longest start of `text` that fits in `limit` bytes with an ellipsis after it."""
    if fits(text, limit):
        return text
    budget = max(limit - size(ELLIPSIS), 0)
    return text.encode("utf-8")[:budget].decode("utf-8", "ignore") + ELLIPSIS


def fit_summary(text: str, limit: int) -> str:
    """Text q2c composes (parts joined by " | ", clauses by "; ") shortened by whole clauses.

    Each part leads with its key fact, so every part's first clause is kept first; then the
    other clauses in order while they fit; a closing note says how many stayed in q2c. Only when
    the key facts alone are too long is the text cut.
    """
    if fits(text, limit):
        return text
    parts = [part.split(_CLAUSES) for part in text.split(_PARTS)]
    kept = [clauses[:1] for clauses in parts]
    left_out = sum(len(clauses) - 1 for clauses in parts)

    def render(chosen: list[list[str]], missing: int) -> str:
        body = _PARTS.join(_CLAUSES.join(clauses) for clauses in chosen)
        return f"{body}{_CLAUSES}{ELLIPSIS} {missing} more in q2c" if missing else body

    if not fits(render(kept, left_out), limit):
        return cut(render(kept, 0), limit)
    for index, clauses in enumerate(parts):
        for clause in clauses[1:]:
            trial = [list(c) for c in kept]
            trial[index].append(clause)
            if not fits(render(trial, left_out - 1), limit):
                return render(kept, left_out)
            kept, left_out = trial, left_out - 1
    return render(kept, left_out)
