"""SuiteQL: the grammar the sandbox accepts, Oracle's semantics where they show, and the REST envelope."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from netsuite_sandbox_calls import Caller, first_detail

from q2c.sandboxes.netsuite.app import NetSuiteSandbox
from q2c.sandboxes.netsuite.suiteql import Column, Predicate, Query, SortKey, SuiteQLError, parse
from q2c.sandboxes.netsuite.suiteql_eval import Cell, Ref, TableView, run

# --- grammar ------------------------------------------------------------------------------------


def test_the_queries_of_the_grammar_parse_to_their_tree() -> None:
    query = parse("select Id, BUILTIN.DF(EntityStatus) AS StatusName, companyname name FROM Job "
                  "WHERE externalid IN ('P-1', 'O''Neil') AND entitystatus <> 1 AND parent IS NOT NULL "
                  "AND hours >= -1.5 ORDER BY statusname DESC, id;")
    assert query == Query(
        table="job",
        columns=(Column("id", "id"), Column("entitystatus", "statusname", display=True),
                 Column("companyname", "name")),
        where=(Predicate("externalid", "IN", ("P-1", "O'Neil")), Predicate("entitystatus", "<>", (Decimal(1),)),
               Predicate("parent", "IS NOT NULL"), Predicate("hours", ">=", (Decimal("-1.5"),))),
        order_by=(SortKey("statusname", descending=True), SortKey("id")))
    assert parse("SELECT * FROM employee WHERE email != 'x' AND id NOT IN (1, 2)").where == (
        Predicate("email", "<>", ("x",)), Predicate("id", "NOT IN", (Decimal(1), Decimal(2))))
    assert parse("SELECT * FROM employee").columns is None


@pytest.mark.parametrize(("text", "named"), [
    ("SELECT id FROM employee WHERE email = 'a' OR email = 'b'", "OR"),
    ("SELECT e.id FROM employee e JOIN job j ON j.id = e.id", "qualified names"),
    ("SELECT id FROM employee e", "table aliases"),
    ("SELECT COUNT(*) FROM employee", "COUNT"),
    ("SELECT DISTINCT email FROM employee", "DISTINCT"),
    ("SELECT email FROM employee GROUP BY email", "GROUP BY"),
    ("SELECT id FROM employee WHERE email LIKE 'a%'", "LIKE"),
    ("SELECT id FROM job WHERE parent IN (SELECT id FROM customer)", "subqueries"),
], ids=["or", "join", "alias", "function", "distinct", "group", "like", "subquery"])
def test_sql_outside_the_slice_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(SuiteQLError) as refused:
        parse(text)
    assert refused.value.kind == "unsupported" and named in str(refused.value)


@pytest.mark.parametrize("text", ["SELECT FROM employee", "SELECT id employee", "SELECT id FROM employee WHERE",
                                  "SELECT id FROM employee WHERE email = 'open", "SELECT id FROM employee ORDER id",
                                  "SELECT id FROM employee WHERE email NOT = 'a'", "UPDATE employee SET id = 1",
                                  "SELECT id FROM employee WHERE id = id", "SELECT id FROM employee @"])
def test_malformed_queries_are_syntax_errors(text: str) -> None:
    with pytest.raises(SuiteQLError) as refused:
        parse(text)
    assert refused.value.kind in ("syntax", "unsupported")


# --- semantics ------------------------------------------------------------------------------------

_ROWS: list[dict[str, Cell]] = [
    {"id": 1, "name": "Ann O'Neil", "hours": Decimal("1.5"), "status": Ref("2", "In Progress"),
     "day": date(2026, 5, 31), "flag": True, "modified": datetime(2026, 5, 31, 23, 0, tzinfo=UTC)},
    {"id": 2, "name": "bob", "hours": Decimal("8"), "status": Ref("1", "Closed"), "flag": False, "note": ""},
    {"id": 10, "name": "Cy", "hours": None, "status": Ref("2", "In Progress"), "flag": False},
]
_TABLE = TableView("t", ("id", "name", "hours", "status", "day", "flag", "note", "modified"), lambda: _ROWS)


def _ids(text: str) -> list[str]:
    return [row["id"] for row in run(parse(text), _TABLE)]


def test_comparisons_are_typed_by_the_column() -> None:
    assert _ids("SELECT id FROM t WHERE hours > 1 AND status <> '1'") == ["1"]
    assert _ids("SELECT id FROM t WHERE id IN ('2', '10') ORDER BY id DESC") == ["10", "2"]  # text turned number
    assert _ids("SELECT id FROM t WHERE id > '9'") == ["10"]  # numerically, not as text
    assert _ids("SELECT id FROM t WHERE name = 'Bob'") == []  # text compares exactly
    assert _ids("SELECT id FROM t WHERE name = 'Ann O''Neil'") == ["1"]
    assert _ids("SELECT id FROM t WHERE flag = 'T'") == ["1"]
    assert _ids("SELECT id FROM t WHERE status = 2") == ["1", "10"]
    assert _ids("SELECT id FROM t WHERE day = '5/31/2026'") == ["1"]
    assert _ids("SELECT id FROM t WHERE modified >= '5/31/2026'") == ["1"]
    with pytest.raises(SuiteQLError, match="invalid number"):
        _ids("SELECT id FROM t WHERE hours = 'many'")
    with pytest.raises(SuiteQLError, match="M/D/YYYY"):
        _ids("SELECT id FROM t WHERE day = '2026-05-31'")


def test_null_matches_only_is_null_and_empty_text_is_null() -> None:
    assert _ids("SELECT id FROM t WHERE hours IS NULL") == ["10"]
    assert _ids("SELECT id FROM t WHERE note IS NULL") == ["1", "2", "10"]
    assert _ids("SELECT id FROM t WHERE hours <> 1.5") == ["2"]
    assert _ids("SELECT id FROM t WHERE hours NOT IN (8)") == ["1"]


def test_order_puts_nulls_last_ascending_and_first_descending() -> None:
    assert _ids("SELECT id FROM t ORDER BY hours") == ["1", "2", "10"]
    assert _ids("SELECT id FROM t ORDER BY hours DESC") == ["10", "2", "1"]
    assert _ids("SELECT id FROM t ORDER BY id") == ["1", "2", "10"]  # numbers, not text
    assert _ids("SELECT id, BUILTIN.DF(status) AS s FROM t ORDER BY s, id DESC") == ["2", "10", "1"]


def test_items_hold_strings_and_leave_nulls_out() -> None:
    first, _, third = run(parse("SELECT id, BUILTIN.DF(status) AS statusname, status, day, hours, flag, modified "
                                "FROM t ORDER BY id"), _TABLE)
    assert first == {"id": "1", "statusname": "In Progress", "status": "2", "day": "5/31/2026", "hours": "1.5",
                     "flag": "T", "modified": "5/31/2026"}
    assert "hours" not in third and "day" not in third
    assert set(run(parse("SELECT * FROM t WHERE id = 2"), _TABLE)[0]) == {"id", "name", "hours", "status", "flag"}


def test_names_the_table_lacks_are_unknown_identifiers() -> None:
    for text in ("SELECT shoe_size FROM t", "SELECT id FROM t WHERE shoe_size = 1", "SELECT id FROM t ORDER BY x"):
        with pytest.raises(SuiteQLError, match="Unknown identifier") as refused:
            run(parse(text), _TABLE)
        assert refused.value.kind == "field"


# --- over REST ------------------------------------------------------------------------------------


def _employees(sandbox: NetSuiteSandbox, count: int) -> None:
    for n in range(count):
        sandbox.state.seed("employee", {"firstName": "E", "lastName": str(n), "email": f"e{n}@firm.example",
                                        "externalId": f"EMP-{n:05d}", "isInactive": n % 10 == 0})


def test_pages_follow_has_more_with_links(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    _employees(sandbox, 5)
    answer = caller.suiteql("SELECT id, isinactive FROM employee ORDER BY id", limit=2, offset=2)
    assert answer.headers["content-type"].startswith("application/vnd.oracle.resource+json; type=collection")
    page = answer.json()
    assert (page["count"], page["hasMore"], page["offset"], page["totalResults"]) == (2, True, 2, 5)
    assert next(link["href"] for link in page["links"] if link["rel"] == "next").endswith("limit=2&offset=4")
    assert page["items"][0]["links"] == [] and page["items"][0]["isinactive"] in ("T", "F")
    last = caller.suiteql("SELECT id FROM employee ORDER BY id", limit=2, offset=4).json()
    assert (last["count"], last["hasMore"]) == (1, False)


def test_the_request_must_be_transient_and_within_the_page_limit(caller: Caller) -> None:
    no_prefer = caller.suiteql("SELECT id FROM employee", prefer="respond-async")
    assert no_prefer.status_code == 400 and first_detail(no_prefer)["o:errorHeader"] == "Prefer"
    too_big = caller.suiteql("SELECT id FROM employee", limit=1001)
    assert too_big.status_code == 400 and first_detail(too_big)["o:errorQueryParam"] == "limit"


@pytest.mark.parametrize(("query", "said"), [
    ("SELECT id FROM nosuchtable", "Invalid search type: nosuchtable."),
    ("SELECT shoe_size FROM employee", "Search error occurred: Unknown identifier 'shoe_size'."),
    ("SELECT id FROM employee WHERE email = 'a' OR email = 'b'", "Search error occurred: OR is outside"),
])
def test_refused_queries_answer_invalid_parameter_on_q(caller: Caller, query: str, said: str) -> None:
    answer = caller.suiteql(query)
    detail = first_detail(answer)
    assert answer.status_code == 400 and detail["o:errorCode"] == "INVALID_PARAMETER"
    assert detail["o:errorQueryParam"] == "q"
    assert detail["detail"].startswith("Invalid search query. Detailed unprocessed description follows. " + said)


def test_the_account_s_tables(caller: Caller, sandbox: NetSuiteSandbox) -> None:
    customer = sandbox.state.seed("customer", {"companyName": "Acme", "externalId": "C-1", "subsidiary": "2"})
    job = sandbox.state.seed("job", {"companyName": "Acme rollout", "externalId": "P-1", "parent": customer})
    invoice = sandbox.state.seed("invoice", {"entity": customer, "tranDate": "2026-11-30", "externalId": "INV-1",
                                             "item": {"items": [{"item": "10", "quantity": 2, "rate": 100}]}})
    sandbox.state.pay_invoice(invoice)
    assert caller.rows("SELECT id, externalid, entitystatus, BUILTIN.DF(entitystatus) AS statusname FROM job "
                       "WHERE externalid IN ('P-1')") == [{"id": job, "externalid": "P-1", "entitystatus": "2",
                                                           "statusname": "In Progress"}]
    assert caller.rows("SELECT id, externalid, tranid, status, BUILTIN.DF(status) AS s, foreigntotal FROM transaction "
                       "WHERE type = 'CustInvc' AND externalid IN ('INV-1')") == [
        {"id": invoice, "externalid": "INV-1", "tranid": f"INV{invoice}", "status": "B", "s": "Paid In Full",
         "foreigntotal": "200"}]
    assert caller.rows("SELECT id FROM transaction WHERE type = 'SalesOrd'") == []
    assert caller.rows("SELECT id, acctnumber FROM account WHERE acctnumber IN ('1200', '4000') ORDER BY acctnumber") \
        == [{"id": "30", "acctnumber": "1200"}, {"id": "33", "acctnumber": "4000"}]
    assert {row["id"] for row in caller.rows("SELECT id FROM subsidiary")} == {"1", "2", "3"}
    assert caller.rows("SELECT itemid FROM item WHERE id = 10") == [{"itemid": "Professional Services"}]
