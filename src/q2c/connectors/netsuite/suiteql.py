"""SuiteQL literals for the queries the connector builds: strings quoted, IN lists rendered safely.

The connector only builds queries of one shape (`SELECT columns FROM one table [WHERE simple
conditions joined by AND] [ORDER BY columns]`, with `BUILTIN.DF(column)` for display names); the
sandbox evaluates exactly that shape with its own parser and refuses the rest by name.
"""

from __future__ import annotations

from collections.abc import Iterable


def quote(value: str) -> str:
    """A SuiteQL string literal: single quotes, embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def in_list(values: Iterable[str]) -> str:
    """`('a', 'b')` for an IN condition; callers keep lists to a few hundred values."""
    items = [quote(v) for v in values]
    if not items:
        raise ValueError("an IN list needs at least one value")
    return "(" + ", ".join(items) + ")"
