"""SOQL literals: what the connector renders reads back through Salesforce's grammar, as the sandbox reads it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.connectors.salesforce.soql import literal
from q2c.sandboxes.salesforce.soql import parse


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_string_literal_round_trips(value: str) -> None:
    parsed = parse(f"SELECT Id FROM Account WHERE Name = {literal(value)}")
    assert parsed.where[0].value == value


def test_literals_refuse_floats_and_naive_datetimes() -> None:
    assert literal(datetime(2024, 5, 31, 12, 0, tzinfo=UTC)) == "2024-05-31T12:00:00.000Z"
    assert literal(Decimal("12.50")) == "12.50"
    assert literal(None) == "null" and literal(False) == "false"
    with pytest.raises(TypeError):
        literal(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        literal(datetime(2024, 5, 31, 12, 0))
