"""SOQL's words and literals, as the SOQL and SOSL Reference spells them.

- Quoted strings ("Quoted String Escape Sequences"): backslash escapes \\n \\r \\t \\b \\f (either
  case), \\" \\' \\\\ and \\u with four hex digits; \\% and \\_ only inside a LIKE pattern; any
  other backslash is an error. \\b is read as a backspace: the reference's English table says "bell", its other
  languages and every client (simple-salesforce included) say backspace.
- Dates YYYY-MM-DD and datetimes YYYY-MM-DDThh:mm:ss followed by Z, +hh:mm or -hh:mm, unquoted
  ("Date Formats and Date Literals"). Milliseconds (…:ss.SSSZ) are accepted too: from recall, not
  in that table.
- Numbers with an optional sign and fraction; names start with a letter; keywords are
  case-insensitive words.

A `SoqlError` reads like Salesforce's MALFORMED_QUERY message: the query's row, a caret under the
column, `ERROR at Row:R:Column:C`, then the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

Value = str | Decimal | bool | date | datetime | None
TokenKind = Literal["word", "string", "number", "date", "datetime", "symbol", "end"]

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})(?![\w:.+-])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:.])")
_DATE_LIKE = re.compile(r"\d{4}-\d")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?(?![\w.])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_UNICODE = re.compile(r"[0-9A-Fa-f]{4}")
_SYMBOLS = ("!=", "<=", ">=", "<>", "=", "<", ">", "(", ")", ",", ".", ":")
_ESCAPES = {**{code: char for code, char in zip("nrtbf", "\n\r\t\b\f", strict=True)},
            **{code: char for code, char in zip("NRTBF", "\n\r\t\b\f", strict=True)},
            '"': '"', "'": "'", "\\": "\\"}


class SoqlError(ValueError):
    """The text is not SOQL, or is SOQL outside the sandbox's subset."""

    def __init__(self, problem: str, query: str, at: int) -> None:
        self.problem = problem
        row_start = query.rfind("\n", 0, at) + 1
        row_end = query.find("\n", at)
        self.row = query.count("\n", 0, at) + 1
        self.column = at - row_start + 1
        line = query[row_start:row_end if row_end >= 0 else len(query)]
        super().__init__(f"\n{line}\n{' ' * (self.column - 1)}^\nERROR at Row:{self.row}:Column:{self.column}\n"
                         f"{problem}")


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # for a string: the characters between the quotes, escapes still in place
    at: int
    value: Value = None

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words

    def is_symbol(self, *symbols: str) -> bool:
        return self.kind == "symbol" and self.text in symbols


@dataclass(frozen=True)
class LikePattern:
    """A LIKE pattern: % any run of characters, _ one character, \\% and \\_ themselves; no case."""

    source: str
    regex: re.Pattern[str]

    def matches(self, text: str) -> bool:
        return self.regex.fullmatch(text) is not None


def _string(query: str, start: int) -> Token:
    at = start + 1
    while at < len(query):
        if query[at] == "\\":
            at += 2
        elif query[at] == "'":
            return Token("string", query[start + 1:at], start)
        else:
            at += 1
    raise SoqlError("unterminated string literal", query, start)


def _literal(query: str, at: int) -> Token | None:
    """A datetime, date or number starting at `at`, or None when none starts there."""
    if match := _DATETIME.match(query, at):
        text = match.group()
        try:
            return Token("datetime", text, at, datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC))
        except ValueError:
            raise SoqlError(f"invalid datetime: {text}", query, at) from None
    if match := _DATE.match(query, at):
        try:
            return Token("date", match.group(), at, date.fromisoformat(match.group()))
        except ValueError:
            raise SoqlError(f"invalid date: {match.group()}", query, at) from None
    if _DATE_LIKE.match(query, at):
        raise SoqlError("invalid date or datetime: use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with Z or an offset "
                        "such as +01:00", query, at)
    if match := _NUMBER.match(query, at):
        return Token("number", match.group(), at, Decimal(match.group()))
    return None


def _next_token(query: str, at: int) -> Token:
    char = query[at]
    if char == "'":
        return _string(query, at)
    literal = _literal(query, at) if char.isdigit() or char in "+-" else None
    if literal is not None:
        return literal
    if word := _WORD.match(query, at):
        return Token("word", word.group(), at)
    symbol = next((s for s in _SYMBOLS if query.startswith(s, at)), None)
    if symbol is None:
        raise SoqlError(f"unexpected character {char!r}", query, at)
    return Token("symbol", symbol, at)


def tokens(query: str) -> list[Token]:
    """The query's tokens, ending with an `end` token."""
    found: list[Token] = []
    at = 0
    while at < len(query):
        if query[at].isspace():
            at += 1
            continue
        token = _next_token(query, at)
        found.append(token)
        at = token.at + len(token.text) + (2 if token.kind == "string" else 0)
    found.append(Token("end", "<EOF>", len(query)))
    return found


def _characters(token: Token, query: str, *, like: bool) -> list[tuple[str, bool]]:
    """A string literal's characters, each marked True when it was escaped (so never a LIKE wildcard)."""
    raw = token.text
    out: list[tuple[str, bool]] = []
    index = 0
    while index < len(raw):
        if raw[index] != "\\":
            out.append((raw[index], False))
            index += 1
            continue
        code = raw[index + 1:index + 2]
        if code in _ESCAPES:
            out.append((_ESCAPES[code], True))
            index += 2
        elif code == "u" and _UNICODE.fullmatch(raw, index + 2, index + 6):
            out.append((chr(int(raw[index + 2:index + 6], 16)), True))
            index += 6
        elif code in {"%", "_"} and like:
            out.append((code, True))
            index += 2
        else:
            where = "outside a LIKE pattern" if code in {"%", "_"} else "in a string literal"
            raise SoqlError(f"invalid escape sequence \\{code} {where}", query, token.at + 1 + index)
    return out


def decode_string(token: Token, query: str) -> str:
    """The characters a string literal stands for (outside LIKE, where \\% and \\_ are errors)."""
    return "".join(char for char, _ in _characters(token, query, like=False))


def like_pattern(token: Token, query: str) -> LikePattern:
    """The matcher of a LIKE pattern literal (case-insensitive, as Salesforce compares text)."""
    characters = _characters(token, query, like=True)
    parts = [re.escape(char) if escaped or char not in "%_" else ".*" if char == "%" else "."
             for char, escaped in characters]
    source = "".join(char for char, _ in characters)
    return LikePattern(source, re.compile("".join(parts), re.IGNORECASE | re.DOTALL))
