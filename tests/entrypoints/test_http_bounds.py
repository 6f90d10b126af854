"""Every input of the HTTP API is bounded, and everything out of bounds is a 4xx in the one error shape,
naming the field, never a 500: ids (path and body) within 1..2**63-1, at most 1,000 ids, filters no wider
than their columns and free of control characters, `limit` within 1..10,000. A bulk replay whose filters
would match everything is refused. All of it on SQLite and on PostgreSQL, where an id past BIGINT or a NUL
character in a string is what the database itself would fail on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from q2c.domain.violations import Violation
from q2c.entrypoints.api_models import MAX_API_BODY_BYTES
from q2c.entrypoints.http_api import create_app
from q2c.store.exceptions import raise_exception
from q2c.store.schema import audit_log, work_items
from support.api_auth import bearer

LIMIT = 4096  # the webhook's body limit
BIGINT_MAX = 2**63 - 1


@pytest.fixture
def api(db: Engine) -> Iterator[TestClient]:
    """The API over a real hub database; a server error would come back as a 500, not as an exception."""
    with TestClient(create_app(db, webhook_secret="whsec-test", max_body_bytes=LIMIT),
                    raise_server_exceptions=False, headers=bearer(db)) as c:
        yield c


def seed(db: Engine) -> dict[str, int]:
    def violation(system: str, record_id: str, rule: str) -> Violation:
        return Violation(system=system, object="time_entry", record_id=record_id, field="task", rule=rule,
                         message=f"{rule} on {record_id}", action="Fix it, then replay")

    rows = {"task": violation("harvest", "HV-1", "time.task_unknown"),
            "hours": violation("harvest", "HV-2", "time.hours_absurd"),
            "tax": violation("salesforce", "SF-1", "customer.tax_id_missing")}
    with db.begin() as conn:
        return {name: raise_exception(conn, v, work_kind="time.deliver", aggregate=f"project:{name}",
                                      payload={"entry": name}, correlation_id=f"corr-{name}")
                for name, v in rows.items()}


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The error body, checked to be the one shape with the response's own status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"status", "code", "message", "field"}, error
    assert error["status"] == status and isinstance(error["code"], str) and error["message"]
    return error


def nothing_replayed(db: Engine) -> bool:
    with db.connect() as conn:
        items = conn.execute(sa.select(sa.func.count()).select_from(work_items)).scalar_one()
        audits = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
    return items == 0 and audits == 0


# --- ids in the path ---------------------------------------------------------------------------------------

OUT_OF_RANGE_PATH_IDS = {
    "2**70": str(2**70),
    "2**63": str(2**63),
    "zero": "0",
    "negative": "-1",
    "5,000 digits": "9" * 5000,
    "not a number": "twelve",
}


@pytest.mark.parametrize("raw_id", list(OUT_OF_RANGE_PATH_IDS.values()), ids=list(OUT_OF_RANGE_PATH_IDS))
def test_an_id_out_of_range_in_the_path_is_a_422_naming_it(api: TestClient, db: Engine, raw_id: str) -> None:
    seed(db)
    for response in (api.get(f"/exceptions/{raw_id}"), api.post(f"/exceptions/{raw_id}/replay", json={})):
        error = error_of(response, 422)
        assert error["field"] == "exception_id" and error["code"] == "validation_error"
        assert error["message"].startswith("field 'exception_id': ")
    assert nothing_replayed(db)


def test_the_largest_id_is_in_range_and_simply_not_found(api: TestClient, db: Engine) -> None:
    seed(db)
    error = error_of(api.get(f"/exceptions/{BIGINT_MAX}"), 404)
    assert error == {"status": 404, "code": "not_found", "message": f"exception {BIGINT_MAX} does not exist",
                     "field": "exception_id"}
    assert error_of(api.post(f"/exceptions/{BIGINT_MAX}/replay", json={}), 404)["field"] == "exception_id"


# --- ids in the body ------------------------------------------------------------------------------------------

BAD_BODY_IDS: dict[str, tuple[Any, str, str]] = {  # the ids, the field named, a fragment of the message
    "2**70": ([2**70], "ids[0]", "less than or equal to 9223372036854775807"),
    "2**63 after good ones": ([1, 2, 2**63], "ids[2]", "less than or equal to 9223372036854775807"),
    "zero": ([0], "ids[0]", "greater than or equal to 1"),
    "negative": ([5, -5], "ids[1]", "greater than or equal to 1"),
    "a string": (["1"], "ids[0]", "valid integer"),
    "a boolean": ([True], "ids[0]", "valid integer"),
    "a float": ([1.0], "ids[0]", "valid integer"),
    "1,001 ids": (list(range(1, 1002)), "ids", "at most 1000 items"),
    "not a list": (7, "ids", "valid list"),
}


@pytest.mark.parametrize(("ids", "field", "fragment"), list(BAD_BODY_IDS.values()), ids=list(BAD_BODY_IDS))
def test_bad_ids_in_a_bulk_replay_are_a_422_naming_the_entry(api: TestClient, db: Engine, ids: Any, field: str,
                                                             fragment: str) -> None:
    seed(db)
    error = error_of(api.post("/exceptions/replay", json={"ids": ids}), 422)
    assert error["field"] == field
    assert fragment in error["message"] and f"field '{field}'" in error["message"]
    assert nothing_replayed(db)


def test_a_thousand_ids_and_the_largest_id_are_accepted(api: TestClient, db: Engine) -> None:
    """About 20 KB of body: over the webhook's limit here, which bounds only the webhook."""
    ids = seed(db)
    thousand = [*range(BIGINT_MAX - 997, BIGINT_MAX + 1), ids["task"], ids["tax"]]
    assert len(thousand) == 1000
    body = json.dumps({"ids": thousand}).encode()
    assert len(body) > LIMIT
    response = api.post("/exceptions/replay", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert [r["exception_id"] for r in response.json()] == [ids["task"], ids["tax"]]
    assert [e["id"] for e in api.get("/exceptions").json()] == [ids["hours"]]


# --- filters, limit and the actor -----------------------------------------------------------------------------

BAD_QUERIES: dict[str, tuple[dict[str, str], str]] = {
    "rule over 120 characters": ({"rule": "time." + "x" * 116}, "rule"),
    "rule with a NUL": ({"rule": "time.\x00"}, "rule"),
    "rule with a newline": ({"rule": "time.\ntask"}, "rule"),
    "system over 40 characters": ({"system": "s" * 41}, "system"),
    "system with a NUL": ({"system": "harvest\x00"}, "system"),
    "status over 16 characters": ({"status": "o" * 17}, "status"),
    "status with upper case": ({"status": "OPEN"}, "status"),
    "status with a NUL": ({"status": "open\x00"}, "status"),
    "limit zero": ({"limit": "0"}, "limit"),
    "limit over 10,000": ({"limit": "10001"}, "limit"),
    "limit past BIGINT": ({"limit": str(2**70)}, "limit"),
    "limit not a number": ({"limit": "all"}, "limit"),
}


@pytest.mark.parametrize(("params", "field"), list(BAD_QUERIES.values()), ids=list(BAD_QUERIES))
def test_a_bad_list_filter_is_a_422_naming_it(api: TestClient, db: Engine, params: dict[str, str],
                                              field: str) -> None:
    seed(db)
    error = error_of(api.get("/exceptions", params=params), 422)
    assert error["field"] == field and error["message"].startswith(f"field '{field}': ")


def test_filters_at_their_bounds_are_accepted(api: TestClient, db: Engine) -> None:
    ids = seed(db)
    params = {"rule": "*" + "x" * 119, "system": "s" * 40, "status": "o" * 16, "limit": "10000"}
    response = api.get("/exceptions", params=params)
    assert response.status_code == 200 and response.json() == []
    assert [e["id"] for e in api.get("/exceptions", params={"limit": "1"}).json()] == [ids["task"]]


BAD_REPLAY_BODIES: dict[str, tuple[dict[str, Any], str]] = {
    "rule over 120 characters": ({"rule": "r" * 121}, "rule"),
    "rule with a NUL": ({"rule": "time.\x00*"}, "rule"),
    "system over 40 characters": ({"system": "s" * 41}, "system"),
    "an actor claimed": ({"ids": [1], "actor": "ops"}, "actor"),  # the actor is the token's user
    "an actor with a NUL": ({"ids": [1], "actor": "ops\x00"}, "actor"),
    "empty actor": ({"ids": [1], "actor": ""}, "actor"),
    "a misspelt filter": ({"rules": "time.*"}, "rules"),
    "rule as a number": ({"rule": 5}, "rule"),
}


@pytest.mark.parametrize(("body", "field"), list(BAD_REPLAY_BODIES.values()), ids=list(BAD_REPLAY_BODIES))
def test_a_bad_bulk_replay_body_is_a_422_naming_the_field(api: TestClient, db: Engine, body: dict[str, Any],
                                                          field: str) -> None:
    seed(db)
    error = error_of(api.post("/exceptions/replay", json=body), 422)
    assert error["field"] == field
    assert nothing_replayed(db)


def test_a_bad_single_replay_body_is_a_422_naming_the_field(api: TestClient, db: Engine) -> None:
    ids = seed(db)
    for body, field in (({"actor": "ops\x00"}, "actor"), ({"corrected_payload": [1]}, "corrected_payload"),
                        ({"correctedPayload": {}}, "correctedPayload")):
        error = error_of(api.post(f"/exceptions/{ids['task']}/replay", json=body), 422)
        assert error["field"] == field
    assert nothing_replayed(db)


def test_several_problems_are_all_named_and_the_first_is_the_field(api: TestClient, db: Engine) -> None:
    error = error_of(api.post("/exceptions/replay", json={"ids": [0, 2**70], "rule": 5}), 422)
    assert error["field"] == "ids[0]"
    assert "field 'ids[0]'" in error["message"] and "field 'ids[1]'" in error["message"]
    assert "field 'rule'" in error["message"]


# --- bodies ---------------------------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_or_too_big_is_refused_in_the_error_shape(api: TestClient, db: Engine) -> None:
    ids = seed(db)
    headers = {"content-type": "application/json"}
    broken = error_of(api.post("/exceptions/replay", content=b'{"ids": [1', headers=headers), 422)
    assert broken["field"] is None and "not valid JSON" in broken["message"]
    big = b'{"ids": [1], "actor": "' + b"a" * MAX_API_BODY_BYTES + b'"}'
    for path in ("/exceptions/replay", f"/exceptions/{ids['task']}/replay"):
        error = error_of(api.post(path, content=big, headers=headers), 413)
        assert error["code"] == "payload_too_large"
        assert error["message"] == f"body of {len(big)} bytes is over the {MAX_API_BODY_BYTES}-byte limit"
        streamed = error_of(api.post(path, content=iter([big]), headers=headers), 413)
        assert streamed["message"] == f"body is over the {MAX_API_BODY_BYTES}-byte limit"
    assert error_of(api.post("/exceptions/replay"), 422)["message"] == "body: Field required"
    assert nothing_replayed(db)


def test_deeply_nested_json_in_a_replay_body_is_a_400(db: Engine) -> None:
    ids = seed(db)
    nested = b'{"corrected_payload": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    with TestClient(create_app(db, webhook_secret="whsec-test"), raise_server_exceptions=False,
                    headers=bearer(db)) as c:
        response = c.post(f"/exceptions/{ids['task']}/replay", content=nested,
                          headers={"content-type": "application/json"})
    assert error_of(response, 400)["code"] == "bad_request"
    assert nothing_replayed(db)


def test_unknown_routes_and_methods_answer_in_the_error_shape(api: TestClient) -> None:
    assert error_of(api.get("/no-such-thing"), 404)["code"] == "not_found"
    not_allowed = api.delete("/exceptions/1")
    assert error_of(not_allowed, 405)["code"] == "method_not_allowed"
    assert not_allowed.headers["allow"] == "GET"


# --- a bulk replay must say what it replays ------------------------------------------------------------------------

EVERYTHING: dict[str, tuple[dict[str, Any], str | None]] = {
    "no filter at all": ({}, None),
    "explicit nulls": ({"ids": None, "rule": None, "system": None}, None),
    "rule *": ({"rule": "*"}, "rule"),
    "rule ***": ({"rule": "***"}, "rule"),
    "empty rule": ({"rule": ""}, "rule"),
    "empty system": ({"system": ""}, "system"),
    "rule * and an empty system": ({"rule": "*", "system": ""}, "rule"),
}


@pytest.mark.parametrize(("body", "field"), list(EVERYTHING.values()), ids=list(EVERYTHING))
def test_a_bulk_replay_that_would_match_everything_is_refused(api: TestClient, db: Engine, body: dict[str, Any],
                                                              field: str | None) -> None:
    seed(db)
    error = error_of(api.post("/exceptions/replay", json=body), 400)
    assert error["field"] == field
    assert "replaying everything at once is not offered" in error["message"]
    if field is not None:
        assert error["message"].startswith(f"field '{field}': ")
    assert nothing_replayed(db)
    assert len(api.get("/exceptions").json()) == 3


def test_percent_and_underscore_in_a_rule_match_only_themselves(api: TestClient, db: Engine) -> None:
    seed(db)
    for rule in ("%", "%%", "time.%", "time._ask_unknown", "_%"):
        response = api.post("/exceptions/replay", json={"rule": rule})
        assert response.status_code == 200 and response.json() == [], rule
    assert nothing_replayed(db)
    assert len(api.get("/exceptions").json()) == 3


def test_a_wildcard_rule_narrowed_by_a_system_or_ids_replays_only_those(api: TestClient, db: Engine) -> None:
    ids = seed(db)
    by_system = api.post("/exceptions/replay", json={"rule": "*", "system": "harvest"})
    assert by_system.status_code == 200
    assert [r["exception_id"] for r in by_system.json()] == [ids["task"], ids["hours"]]
    by_ids = api.post("/exceptions/replay", json={"rule": "*", "ids": [ids["tax"]]})
    assert [r["exception_id"] for r in by_ids.json()] == [ids["tax"]]
    assert api.get("/exceptions").json() == []


def test_an_empty_id_list_replays_nothing(api: TestClient, db: Engine) -> None:
    seed(db)
    response = api.post("/exceptions/replay", json={"ids": []})
    assert response.status_code == 200 and response.json() == []
    assert nothing_replayed(db)
