"""The sandbox's SOQL reader: what parses, what is refused by name, and literal escapes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from q2c.sandboxes.salesforce.soql import LikePattern, SoqlError, parse


def test_reads_the_queries_q2c_sends() -> None:
    query = parse("SELECT Id, Name, Account.Parent.Name FROM Opportunity "
                  "WHERE IsWon = true AND SystemModstamp > 2024-05-31T10:00:00.123Z AND Amount >= -100.5 "
                  "AND StageName IN ('Closed Won', 'Closed Lost') AND AccountId != null "
                  "ORDER BY SystemModstamp, Id DESC NULLS LAST LIMIT 10 OFFSET 5")
    assert query.fields == ("Id", "Name", "Account.Parent.Name")
    assert query.sobject == "Opportunity"
    assert [(c.field, c.operator, c.value) for c in query.where] == [
        ("IsWon", "=", True),
        ("SystemModstamp", ">", datetime(2024, 5, 31, 10, 0, 0, 123000, tzinfo=UTC)),
        ("Amount", ">=", Decimal("-100.5")),
        ("StageName", "IN", ("Closed Won", "Closed Lost")),
        ("AccountId", "!=", None),
    ]
    assert [(o.field, o.descending, o.nulls_last) for o in query.order_by] == [
        ("SystemModstamp", False, False), ("Id", True, True)]
    assert (query.limit, query.offset) == (10, 5)


def test_keywords_are_case_insensitive_and_nulls_sort_first_by_default() -> None:
    query = parse("select Id from Account where CloseDate < 2024-01-31 and Name not in ('a') order by Name desc")
    assert query.where[0].value == date(2024, 1, 31)
    assert query.where[1].operator == "NOT IN"
    assert query.order_by[0].descending and not query.order_by[0].nulls_last


def test_datetime_offsets_are_from_utc() -> None:
    [condition] = parse("SELECT Id FROM Account WHERE CreatedDate > 1999-01-01T23:01:01+01:00").where
    assert condition.value == datetime(1999, 1, 1, 23, 1, 1, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(("literal", "value"), [
    (r"'Bob\'s BBQ'", "Bob's BBQ"),
    (r"'a\\b'", "a\\b"),
    (r"'line\nbreak\Ttab'", "line\nbreak\ttab"),
    (r"'say \"hi\"'", 'say "hi"'),
    (r"'caf\u00e9'", "café"),
    ("'100% _real_'", "100% _real_"),  # wildcards mean nothing outside LIKE
])
def test_string_escapes_are_the_documented_ones(literal: str, value: str) -> None:
    assert parse(f"SELECT Id FROM Account WHERE Name = {literal}").where[0].value == value


@pytest.mark.parametrize(("pattern", "matches", "misses"), [
    ("'Ter%'", ["Ter", "terrace", "Ter%x"], ["Bter"]),
    (r"'Ter\%'", ["Ter%", "ter%"], ["Ter", "Terx"]),
    (r"'Ter\%%'", ["Ter%", "Ter%abc"], ["Terabc"]),
    ("'_pple'", ["Apple", "apple"], ["pple", "Appple"]),
    (r"'a\_b'", ["a_b"], ["axb"]),
])
def test_like_patterns(pattern: str, matches: list[str], misses: list[str]) -> None:
    value = parse(f"SELECT Id FROM Account WHERE Name LIKE {pattern}").where[0].value
    assert isinstance(value, LikePattern)
    assert all(value.matches(text) for text in matches)
    assert not any(value.matches(text) for text in misses)


@pytest.mark.parametrize(("soql", "named"), [
    ("SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b'", "OR between conditions"),
    ("SELECT Id FROM Account WHERE NOT Name = 'a'", "NOT before a condition"),
    ("SELECT Id FROM Account WHERE (Name = 'a')", "parenthesised"),
    ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "sub-query"),
    ("SELECT COUNT() FROM Account", "COUNT()"),
    ("SELECT Id FROM Account WHERE DAY_ONLY(CreatedDate) = 2024-01-01", "DAY_ONLY()"),
    ("SELECT Id FROM Account WHERE CreatedDate = TODAY", "TODAY"),
    ("SELECT Id FROM Account WHERE Id IN :ids", "bind variables"),
    ("SELECT Id FROM Account GROUP BY Name", "GROUP BY"),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity)", "semi-join"),
    ("SELECT Id FROM Account, Contact", "more than one object"),
    ("SELECT Id FROM Account WHERE Name <> 'a'", "<>"),
    ("SELECT Id FROM Account WITH SECURITY_ENFORCED", "WITH"),
    ("SELECT Id FROM Account LIMIT 5 FOR UPDATE", "FOR"),
])
def test_soql_outside_the_subset_is_refused_by_name(soql: str, named: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(soql)
    assert named in str(caught.value) and "outside the sandbox's subset" in str(caught.value)


@pytest.mark.parametrize("soql", [
    "SELECT FROM Account",
    "SELECT Id Account",
    "SELECT Id FROM Account WHERE",
    "SELECT Id FROM Account WHERE Name = 'unterminated",
    "SELECT Id FROM Account LIMIT ten",
    "SELECT Id FROM Account WHERE Amount > null",
    "SELECT Id FROM Account WHERE Name = 'a\\qb'",
    "SELECT Id FROM Account WHERE Name = 'Ter\\%'",
    "SELECT Id FROM Account WHERE CreatedDate > 2024-01-01T00:00:00",
    "SELECT Id FROM Account WHERE CloseDate > 2024-02-30",
    "SELECT Id FROM Account WHERE Name LIKE Name",
    "SELECT Id FROM Account WHERE Name = 'a' ORDER Name",
])
def test_broken_queries_are_errors(soql: str) -> None:
    with pytest.raises(SoqlError):
        parse(soql)


def test_errors_point_at_the_row_and_column_as_salesforce_does() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id\nFROM Account\nWHERE Name = 'a' OR Name = 'b'")
    message = str(caught.value)
    assert (caught.value.row, caught.value.column) == (3, 18)
    assert message.startswith("\nWHERE Name = 'a' OR Name = 'b'\n" + " " * 17 + "^\nERROR at Row:3:Column:18\n")
