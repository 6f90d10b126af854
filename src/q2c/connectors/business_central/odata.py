"""OData as Business Central speaks it: string literals in `$filter`, `in` lists, the error body, ETags.

Business Central's API is OData v4: a string literal is single-quoted with a quote doubled inside
(OData ABNF), `in ('a','b')` lists values (only with `$schemaversion=2.1`: confirmed, "Using filter
expressions in OData URIs"), and an
error is `{"error": {"code": "...", "message": "... CorrelationId: ..."}}` (documented: "Error codes"
in the API reference). The correlation id is kept out of the message a person reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

_T = TypeVar("_T")
IN_CHUNK = 40  # values per `in (...)` filter: keeps a URL well under the limits of proxies (2,048 bytes)
_CORRELATION = re.compile(r"\s*CorrelationId:\s*[0-9a-fA-F-]+\.?\s*$")
# "The field Customer No. of table Sales Header contains a value (X) that cannot be found ..." and the like
_FIELD = re.compile(r"[Ff]ield '?(?P<field>[A-Za-z][\w ./&-]*?)'? (?:of table|must|in table|contains|is)")
_PROPERTY = re.compile(r"property '?(?P<field>[A-Za-z]\w*)'?", re.IGNORECASE)


def literal(value: str) -> str:
    """A string literal for `$filter`: single-quoted, a quote inside doubled."""
    return "'" + value.replace("'", "''") + "'"


def eq(field: str, value: str) -> str:
    return f"{field} eq {literal(value)}"


SCHEMA_21 = {"$schemaversion": "2.1"}  # `in (...)` "only works in $schemaversion=2.1" (Using filter expressions in
# OData URIs); one_of's filters are sent with it


def one_of(field: str, values: Sequence[str]) -> str:
    """`field in ('a','b')` (sent with `$schemaversion=2.1`); one value as `eq` (the form every OData server takes)."""
    if len(values) == 1:
        return eq(field, values[0])
    return f"{field} in ({','.join(literal(v) for v in values)})"


def uses_in(filter: str | None) -> bool:
    """Whether a `$filter` has an `in (...)` list outside its string literals."""
    return filter is not None and " in (" in re.sub(r"'(?:[^']|'')*'", "''", filter)


def chunks(values: Iterable[_T], size: int = IN_CHUNK) -> Iterator[list[_T]]:
    batch: list[_T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class ODataError:
    code: str
    message: str  # without the correlation id
    correlation_id: str | None
    field: str | None  # the field the message names, when it names one


def parse_error(body: Any, status: int) -> ODataError:
    """Business Central's error body, or what can be said of a body that is not one."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ODataError(f"HTTP {status}", f"HTTP {status} without Business Central's error body", None, None)
    code = str(error.get("code") or f"HTTP {status}")
    text = str(error.get("message") or "").strip()
    found = _CORRELATION.search(text)
    correlation = found.group(0).split(":", 1)[1].strip().rstrip(".") if found else None
    message = _CORRELATION.sub("", text).strip() or code
    named = _FIELD.search(message) or _PROPERTY.search(message)
    return ODataError(code, message, correlation, named.group("field").strip() if named else None)


def etag(entity: dict[str, Any]) -> str:
    """The entity's `@odata.etag`, sent back as If-Match; `*` when the answer carries none."""
    value = entity.get("@odata.etag")
    return value if isinstance(value, str) and value else "*"
