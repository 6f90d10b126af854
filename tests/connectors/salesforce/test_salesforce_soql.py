"""The SOQL subset: what parses, what is refused by name, and literals that survive a round trip."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.connectors.salesforce.soql import SoqlSyntaxError, literal, parse


def test_parses_the_queries_the_connector_sends() -> None:
    query = parse("SELECT Id, Name, Account.Parent.Name FROM Opportunity "
                  "WHERE IsWon = true AND SystemModstamp > 2024-05-31T10:00:00.123Z AND Amount >= 100.5 "
                  "AND StageName IN ('Closed Won', 'Closed Lost') AND Name LIKE 'Glo%' AND AccountId != null "
                  "ORDER BY SystemModstamp, Id DESC NULLS FIRST LIMIT 10 OFFSET 5")
    assert query.fields == ("Id", "Name", "Account.Parent.Name")
    assert query.sobject == "Opportunity"
    assert [(c.path, c.operator, c.value) for c in query.conditions] == [
        ("IsWon", "=", True),
        ("SystemModstamp", ">", datetime(2024, 5, 31, 10, 0, 0, 123000, tzinfo=UTC)),
        ("Amount", ">=", Decimal("100.5")),
        ("StageName", "IN", ("Closed Won", "Closed Lost")),
        ("Name", "LIKE", "Glo%"),
        ("AccountId", "!=", None),
    ]
    assert [(o.path, o.descending, o.nulls_last) for o in query.order_by] == [
        ("SystemModstamp", False, False), ("Id", True, False)]
    assert (query.limit, query.offset) == (10, 5)


def test_keywords_are_case_insensitive_and_dates_parse() -> None:
    query = parse("select Id from Account where CloseDate < 2024-01-31 and Name not in ('a')")
    assert query.conditions[0].value == date(2024, 1, 31)
    assert query.conditions[1].operator == "NOT IN"


@pytest.mark.parametrize(("soql", "named"), [
    ("SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b'", "OR"),
    ("SELECT Id FROM Account WHERE NOT Name = 'a'", "NOT"),
    ("SELECT Id FROM Account WHERE (Name = 'a')", "parenthesised"),
    ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "sub-query"),
    ("SELECT COUNT() FROM Account", "COUNT"),
    ("SELECT Id FROM Account WHERE CreatedDate = TODAY", "TODAY"),
    ("SELECT Id FROM Account WHERE Id IN :ids", "bind variables"),
    ("SELECT Id FROM Account GROUP BY Name", "GROUP BY"),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity)", "semi-join"),
    ("SELECT Id FROM Account, Contact", "more than one object"),
])
def test_unsupported_syntax_is_named(soql: str, named: str) -> None:
    with pytest.raises(SoqlSyntaxError) as caught:
        parse(soql)
    assert named in str(caught.value)
    assert "ERROR at Row:1:Column:" in str(caught.value)


@pytest.mark.parametrize("soql", [
    "SELECT FROM Account",
    "SELECT Id Account",
    "SELECT Id FROM Account WHERE",
    "SELECT Id FROM Account WHERE Name = 'unterminated",
    "SELECT Id FROM Account LIMIT ten",
    "SELECT Id FROM Account WHERE Amount > null",
])
def test_broken_queries_are_syntax_errors(soql: str) -> None:
    with pytest.raises(SoqlSyntaxError):
        parse(soql)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_string_literal_round_trips(value: str) -> None:
    parsed = parse(f"SELECT Id FROM Account WHERE Name = {literal(value)}")
    assert parsed.conditions[0].value == value


def test_literals_refuse_floats_and_naive_datetimes() -> None:
    assert literal(datetime(2024, 5, 31, 12, 0, tzinfo=UTC)) == "2024-05-31T12:00:00.000Z"
    assert literal(Decimal("12.50")) == "12.50"
    assert literal(None) == "null" and literal(False) == "false"
    with pytest.raises(TypeError):
        literal(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        literal(datetime(2024, 5, 31, 12, 0))
