"""The OpenAPI document, read from /openapi.json as a client generator would: every route has a named
response schema and documents the errors it can answer with, every error in the one error shape; the webhook
carries its signature scheme, /health none, and every other route the HTTP bearer scheme with its 401 and 403
and the role it needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from q2c.entrypoints.http_api import create_app
from q2c.store.db import create_db_engine, migrate

# route -> (success status, its schema, the errors it documents)
AUTH = {"401", "403"}
SETTLE_ERRORS = {"404", "409", "413", "422", "503"} | AUTH
ROUTES: dict[tuple[str, str], tuple[str, str, set[str]]] = {
    ("get", "/health"): ("200", "Health", {"503"}),
    ("post", "/webhooks/salesforce/opportunity-won"): ("202", "WebhookAccepted", {"400", "401", "413", "503"}),
    ("get", "/exceptions"): ("200", "ExceptionSummary[]", {"422", "503"} | AUTH),
    ("get", "/exceptions/{exception_id}"): ("200", "ExceptionDetail", {"404", "422", "503"} | AUTH),
    ("post", "/exceptions/{exception_id}/replay"): ("200", "ReplayOutcome", {"400", "404", "413", "422", "503"} | AUTH),
    ("post", "/exceptions/replay"): ("200", "ReplayOutcome[]", {"400", "413", "422", "503"} | AUTH),
    ("post", "/exceptions/{exception_id}/resolve"): ("200", "SettleOutcome", SETTLE_ERRORS),
    ("post", "/exceptions/{exception_id}/ignore"): ("200", "SettleOutcome", SETTLE_ERRORS),
    ("get", "/audit/verify"): ("200", "AuditVerification", {"503"} | AUTH),
}
ROLES = {("get", "/exceptions"): "viewer", ("get", "/exceptions/{exception_id}"): "viewer",
         ("post", "/exceptions/{exception_id}/replay"): "operator", ("post", "/exceptions/replay"): "operator",
         ("post", "/exceptions/{exception_id}/resolve"): "operator",
         ("post", "/exceptions/{exception_id}/ignore"): "operator",
         ("get", "/audit/verify"): "viewer"}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    engine = create_db_engine(f"sqlite:///{Path(tmp_path_factory.mktemp('openapi')) / 'hub.sqlite'}")
    migrate(engine)
    with TestClient(create_app(engine, webhook_secret="whsec-test")) as c:
        response = c.get("/openapi.json")
        assert response.status_code == 200
        yield response.json()
    engine.dispose()


def schema_name(content: dict[str, Any]) -> str:
    """`#/components/schemas/X` -> X; an array of them -> X[]; anything inline -> what it is."""
    schema = content["application/json"]["schema"]
    if schema.get("type") == "array":
        return str(schema["items"]["$ref"]).rsplit("/", 1)[-1] + "[]"
    return str(schema.get("$ref", f"inline {schema}")).rsplit("/", 1)[-1]


def test_every_route_is_documented_and_nothing_else(openapi: dict[str, Any]) -> None:
    documented = {(method, path) for path, ops in openapi["paths"].items() for method in ops}
    assert documented == set(ROUTES)


@pytest.mark.parametrize(("method", "path"), list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_each_route_documents_its_response_schema_and_its_errors(openapi: dict[str, Any], method: str,
                                                                 path: str) -> None:
    success, schema, errors = ROUTES[(method, path)]
    responses = openapi["paths"][path][method]["responses"]
    assert set(responses) == {success} | errors
    assert schema_name(responses[success]["content"]) == schema
    for status in errors:
        expected = "Health" if path == "/health" else "ErrorResponse"  # a down hub still reports its health
        assert schema_name(responses[status]["content"]) == expected, status
        assert responses[status]["description"]


def test_the_error_shape_is_one_schema_and_fastapis_own_is_gone(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorResponse"]["required"] == ["error"]
    detail = schemas["ErrorDetail"]
    assert set(detail["properties"]) == {"status", "code", "message", "field"}
    assert set(detail["required"]) == {"status", "code", "message", "field"}


def test_response_schemas_name_their_fields(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    assert set(schemas["Health"]["properties"]) == {"status", "reasons", "queue", "exceptions", "endpoints"}
    assert schemas["Health"]["properties"]["status"]["enum"] == ["ok", "degraded", "down"]
    assert schemas["EndpointHealth"]["properties"]["circuit"]["enum"] == ["closed", "open", "half_open"]
    assert set(schemas["WebhookAccepted"]["properties"]) == {"accepted", "duplicate", "opportunityId", "correlationId"}
    assert {"payload", "rule", "record_id", "field", "action"} <= set(schemas["ExceptionDetail"]["properties"])
    assert set(schemas["ReplayOutcome"]["properties"]) == {"exception_id", "work_item_id", "skipped"}


def test_the_bounds_are_in_the_document(openapi: dict[str, Any]) -> None:
    params = {p["name"]: p["schema"] for p in openapi["paths"]["/exceptions/{exception_id}"]["get"]["parameters"]}
    assert params["exception_id"]["minimum"] == 1 and params["exception_id"]["maximum"] == 2**63 - 1
    listed = {p["name"]: p["schema"] for p in openapi["paths"]["/exceptions"]["get"]["parameters"]}
    assert listed["limit"]["minimum"] == 1 and listed["limit"]["maximum"] == 10_000
    assert listed["rule"]["anyOf"][0]["maxLength"] == 120
    bulk = openapi["components"]["schemas"]["BulkReplayRequest"]
    ids = bulk["properties"]["ids"]["anyOf"][0]
    assert ids["maxItems"] == 1000 and ids["items"]["minimum"] == 1
    assert ids["items"]["maximum"] == 2**63 - 1 and isinstance(ids["items"]["maximum"], int)  # not 2**63 as a float
    assert bulk["additionalProperties"] is False


def test_only_the_webhook_is_signed_and_every_other_route_but_health_takes_a_bearer_token(
        openapi: dict[str, Any]) -> None:
    scheme = openapi["components"]["securitySchemes"]["webhookSignature"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "X-Q2C-Signature",
                      "description": scheme["description"]}
    assert "security" not in openapi  # no global authentication
    for (method, path) in ROUTES:
        operation = openapi["paths"][path][method]
        if path.startswith("/webhooks/"):
            assert operation["security"] == [{"webhookSignature": []}]
            assert [p["name"] for p in operation["parameters"]] == ["X-Q2C-Timestamp"]
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body["required"] == ["opportunityId", "isWon"]
        elif path == "/health":
            assert "security" not in operation and "401" not in operation["responses"]
        else:
            assert operation["security"] == [{"bearerToken": []}]
            assert f"Needs the **{ROLES[(method, path)]}** role" in operation["description"]
            assert ROLES[(method, path)] in operation["responses"]["403"]["description"]
            assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]


def test_the_bearer_scheme_is_http_bearer(openapi: dict[str, Any]) -> None:
    scheme = openapi["components"]["securitySchemes"]["bearerToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "q2c tokens create" in scheme["description"]


def test_no_request_body_offers_an_actor(openapi: dict[str, Any]) -> None:
    """Who acts is the caller the token names: no body schema has an `actor` a client could fill in."""
    for name, schema in openapi["components"]["schemas"].items():
        if name.endswith("Request"):
            assert "actor" not in schema.get("properties", {}), name
