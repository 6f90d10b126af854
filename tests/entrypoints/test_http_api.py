"""The HTTP API: health, signed webhook intake (auth, validation, size limit, dedupe), the exception
queue with replay, and audit verification. Runs on SQLite and PostgreSQL through the `db` fixture.

Every rejected webhook must leave the queue and the inbox untouched, so each bad-request case
checks both tables after the response.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from q2c.connectors.salesforce.ids import id18
from q2c.domain.violations import Violation
from q2c.engine.replay import Correction, CorrectionRefused
from q2c.entrypoints.http_api import SIGNATURE_TOLERANCE_SECONDS, create_app, sign, verify_signature
from q2c.store import queue
from q2c.store.db import create_db_engine, migrate
from q2c.store.exceptions import ExceptionRow, Subject, raise_exception
from q2c.store.schema import audit_log, events, work_items
from q2c.store.users import Role
from support.api_auth import bearer

SECRET = "whsec-5f0c1e-shared-with-the-salesforce-flow"
LIMIT = 4096
WEBHOOK = "/webhooks/salesforce/opportunity-won"
OPP_15 = "0065g00000AbCdE"
OPP_18 = id18(OPP_15)


@pytest.fixture
def client(db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(db, webhook_secret=SECRET, max_body_bytes=LIMIT), headers=bearer(db)) as c:
        yield c


@pytest.fixture(scope="module")
def intake_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One SQLite hub for the rejection matrix: requests that are turned away never reach the database, so
    the backend does not matter there (the dedupe and replay tests run on both backends via `db`)."""
    engine = create_db_engine(f"sqlite:///{tmp_path_factory.mktemp('intake') / 'hub.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def intake(intake_db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(intake_db, webhook_secret=SECRET, max_body_bytes=LIMIT), headers=bearer(intake_db)) as c:
        yield c
    with intake_db.begin() as conn:  # a test that fails by enqueueing must not leak into the next one
        conn.execute(work_items.delete())
        conn.execute(events.delete())


def signed_headers(body: bytes, *, secret: str = SECRET, timestamp: int | str | None = None) -> dict[str, str]:
    ts = str(int(time.time())) if timestamp is None else str(timestamp)
    return {"content-type": "application/json", "x-q2c-timestamp": ts, "x-q2c-signature": sign(secret, ts, body)}


def deliver(client: TestClient, payload: Any, *, timestamp: int | None = None) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response: httpx.Response = client.post(WEBHOOK, content=body, headers=signed_headers(body, timestamp=timestamp))
    return response


def won(opportunity_id: Any = OPP_18, **extra: Any) -> dict[str, Any]:
    return {"opportunityId": opportunity_id, "isWon": True, "stageName": "Closed Won", **extra}


def queued(db: Engine) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(work_items.c.kind, work_items.c.aggregate, work_items.c.payload,
                                      work_items.c.status).order_by(work_items.c.id)).all()
    return [dict(r._mapping) for r in rows]


def inbox_keys(db: Engine) -> list[str]:
    with db.connect() as conn:
        return [str(k) for k in conn.execute(sa.select(events.c.idempotency_key).order_by(events.c.id)).scalars()]


# --- health -----------------------------------------------------------------------------------------


def test_health_reports_queue_and_exception_counts(client: TestClient, db: Engine) -> None:
    empty = client.get("/health")
    assert empty.status_code == 200
    assert empty.json() == {"status": "ok", "reasons": [], "queue": {}, "exceptions": {}, "endpoints": []}

    assert deliver(client, won()).status_code == 202
    seed_exceptions(db)
    response = client.get("/health")
    assert response.status_code == 200  # degraded: the hub works, someone should look
    body = response.json()
    assert body["queue"] == {"pending": 1}
    assert body["exceptions"] == {"open": 3}
    assert body["status"] == "degraded"
    assert body["reasons"] == ["3 exceptions are open in the exception queue"]


def test_health_includes_the_endpoints_the_service_reports(db: Engine) -> None:
    endpoint = {"system": "netsuite", "endpoint": "account", "circuit": "closed", "requests": 12, "throttled": 1,
                "transient_failures": 2, "retries": 3}
    app = create_app(db, webhook_secret=SECRET, health_extra=lambda: {"endpoints": [endpoint]})
    with TestClient(app) as c:  # no token: /health is open
        body = c.get("/health").json()
    assert body["endpoints"] == [endpoint] and body["status"] == "ok" and body["reasons"] == []


# --- webhook intake: the good path and dedupe ----------------------------------------------------------


def test_signed_won_deal_is_accepted_once_and_a_redelivery_is_a_duplicate(client: TestClient, db: Engine) -> None:
    first = deliver(client, won())
    assert first.status_code == 202
    correlation = first.json()["correlationId"]
    assert first.json() == {"accepted": True, "duplicate": False, "opportunityId": OPP_18,
                            "correlationId": correlation}
    assert first.headers["x-correlation-id"] == correlation and len(correlation) == 32
    assert queued(db) == [{"kind": "deal.setup", "aggregate": f"opportunity:SF-{OPP_18}",
                           "payload": {"opportunity_id": f"SF-{OPP_18}"}, "status": "pending"}]
    with db.connect() as conn:  # the setup is followed by it: the queued item carries it
        assert conn.execute(sa.select(work_items.c.correlation_id)).scalar_one() == correlation

    again = deliver(client, won(), timestamp=int(time.time()) - 7)  # a redelivery: new timestamp and signature
    assert again.status_code == 202
    assert again.json() == {"accepted": True, "duplicate": True, "opportunityId": OPP_18,
                            "correlationId": correlation}  # the first delivery's: that is what ran
    assert len(queued(db)) == 1
    assert inbox_keys(db) == [f"opportunity.won:SF-{OPP_18}"]


def test_different_deals_each_get_one_work_item(client: TestClient, db: Engine) -> None:
    other = id18("0065g00000ZyXwV")
    for opportunity_id in (OPP_18, other, OPP_18, other):
        assert deliver(client, won(opportunity_id)).status_code == 202
    assert [item["aggregate"] for item in queued(db)] == [f"opportunity:SF-{OPP_18}", f"opportunity:SF-{other}"]


def test_a_15_character_id_is_accepted(client: TestClient, db: Engine) -> None:
    response = deliver(client, won(OPP_15))
    assert response.status_code == 202 and response.json()["duplicate"] is False
    assert len(queued(db)) == 1


def test_15_and_18_character_forms_of_one_deal_are_one_event(client: TestClient, db: Engine) -> None:
    assert deliver(client, won(OPP_15)).json()["duplicate"] is False
    second = deliver(client, won(OPP_18))
    assert second.status_code == 202
    assert second.json()["duplicate"] is True
    assert len(queued(db)) == 1


# --- webhook intake: everything that must be turned away -------------------------------------------------


@dataclass(frozen=True)
class BadDelivery:
    name: str
    body: bytes
    status: int
    detail: str  # a fragment the error detail must contain
    headers: Callable[[bytes], dict[str, str]] = field(default=signed_headers)
    streamed: bool = False  # sent chunked, without a Content-Length, so only the body's real size tells

    def send(self, client: TestClient) -> httpx.Response:
        content: bytes | Iterator[bytes] = iter([self.body]) if self.streamed else self.body
        response: httpx.Response = client.post(WEBHOOK, content=content, headers=self.headers(self.body))
        return response


def _without(name: str) -> Callable[[bytes], dict[str, str]]:
    def build(body: bytes) -> dict[str, str]:
        headers = signed_headers(body)
        del headers[name]
        return headers
    return build


def _at(offset_seconds: int) -> Callable[[bytes], dict[str, str]]:
    return lambda body: signed_headers(body, timestamp=int(time.time()) + offset_seconds)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


GOOD = _json(won())
BAD_DELIVERIES = [
    BadDelivery("forged signature", GOOD, 401, "does not match",
                lambda body: signed_headers(body, secret="guessed-secret")),
    BadDelivery("signature of another body", GOOD, 401, "does not match",
                lambda body: signed_headers(_json(won(id18("0065g00000ZyXwV"))))),
    BadDelivery("signature without the sha256= prefix", GOOD, 401, "does not match",
                lambda body: {**signed_headers(body),
                              "x-q2c-signature": signed_headers(body)["x-q2c-signature"].removeprefix("sha256=")}),
    BadDelivery("missing signature header", GOOD, 401, "missing X-Q2C-Timestamp or X-Q2C-Signature",
                _without("x-q2c-signature")),
    BadDelivery("missing timestamp header", GOOD, 401, "missing X-Q2C-Timestamp or X-Q2C-Signature",
                _without("x-q2c-timestamp")),
    BadDelivery("no auth headers at all", GOOD, 401, "missing", lambda body: {"content-type": "application/json"}),
    BadDelivery("timestamp is not a number", GOOD, 401, "not a Unix timestamp",
                lambda body: signed_headers(body, timestamp="2026-11-02T10:00:00Z")),
    BadDelivery("stale timestamp", GOOD, 401, f"allowed: {SIGNATURE_TOLERANCE_SECONDS} s",
                _at(-(SIGNATURE_TOLERANCE_SECONDS + 60))),
    BadDelivery("timestamp from the future", GOOD, 401, "away from now", _at(SIGNATURE_TOLERANCE_SECONDS + 60)),
    BadDelivery("malformed JSON", b'{"opportunityId": "0065g00000AbCdE", ', 400, "not valid JSON"),
    BadDelivery("body is not UTF-8", b'{"opportunityId": "\x80\x81"}', 400, "not valid JSON"),
    BadDelivery("JSON array", _json([won()]), 400, "must be a JSON object"),
    BadDelivery("JSON string", _json("0065g00000AbCdE"), 400, "must be a JSON object"),
    BadDelivery("missing opportunityId", _json({"isWon": True}), 400, "'opportunityId'"),
    BadDelivery("opportunityId is a number", _json(won(65000000)), 400, "'opportunityId'"),
    BadDelivery("opportunityId is null", _json(won(None)), 400, "'opportunityId'"),
    BadDelivery("opportunityId of an Account", _json(won("0015g00000AbCdEAAZ")), 400, "'opportunityId'"),
    BadDelivery("opportunityId too short", _json(won("0065g00000AbCd")), 400, "'opportunityId'"),
    BadDelivery("opportunityId with punctuation", _json(won("0065g00000AbC-E")), 400, "'opportunityId'"),
    BadDelivery("opportunityId with SQL", _json(won("006' OR '1'='1")), 400, "'opportunityId'"),
    BadDelivery("isWon false", _json({"opportunityId": OPP_18, "isWon": False}), 400, "'isWon'"),
    BadDelivery("isWon missing", _json({"opportunityId": OPP_18}), 400, "'isWon'"),
    BadDelivery("isWon as a string", _json({"opportunityId": OPP_18, "isWon": "true"}), 400, "'isWon'"),
    BadDelivery("isWon as 1", _json({"opportunityId": OPP_18, "isWon": 1}), 400, "'isWon'"),
    BadDelivery("body over the limit", _json(won(notes="x" * LIMIT)), 413, f"over the {LIMIT}-byte limit"),
    BadDelivery("streamed body over the limit", _json(won(notes="x" * LIMIT)), 413,
                f"body is over the {LIMIT}-byte limit", streamed=True),
    BadDelivery("declared Content-Length over the limit", GOOD, 413, f"{LIMIT * 10} bytes is over",
                lambda body: {**signed_headers(body), "content-length": str(LIMIT * 10)}),
]


@pytest.mark.parametrize("bad", BAD_DELIVERIES, ids=[b.name for b in BAD_DELIVERIES])
def test_bad_delivery_is_turned_away_and_enqueues_nothing(intake: TestClient, intake_db: Engine,
                                                          bad: BadDelivery) -> None:
    response = bad.send(intake)
    assert response.status_code == bad.status, response.text
    assert bad.detail in response.json()["error"]["message"]
    assert queued(intake_db) == []
    assert inbox_keys(intake_db) == []


def test_after_every_kind_of_bad_delivery_only_the_good_ones_are_queued(client: TestClient, db: Engine) -> None:
    other = id18("0065g00000ZyXwV")
    assert deliver(client, won()).status_code == 202
    for bad in BAD_DELIVERIES:
        assert bad.send(client).status_code == bad.status, bad.name
    assert deliver(client, won(other)).status_code == 202
    assert [(i["kind"], i["payload"]) for i in queued(db)] == [
        ("deal.setup", {"opportunity_id": f"SF-{OPP_18}"}), ("deal.setup", {"opportunity_id": f"SF-{other}"})]
    assert inbox_keys(db) == [f"opportunity.won:SF-{OPP_18}", f"opportunity.won:SF-{other}"]
    assert client.get("/health").json()["queue"] == {"pending": 2}


def test_without_a_webhook_secret_every_delivery_is_refused(intake_db: Engine) -> None:
    with TestClient(create_app(intake_db, webhook_secret=""), headers=bearer(intake_db)) as c:
        signed_with_empty_key = deliver(c, won())
        unsigned = c.post(WEBHOOK, json=won())
    for response in (signed_with_empty_key, unsigned):
        assert response.status_code == 401
        assert "no webhook_secret is configured" in response.json()["error"]["message"]
    assert queued(intake_db) == []


def test_signature_tolerance_is_300_seconds_either_way() -> None:
    body = GOOD

    def check(ts: int) -> str | None:
        return verify_signature(SECRET, {"x-q2c-timestamp": str(ts), "x-q2c-signature": sign(SECRET, str(ts), body)},
                                body, now=1_800_000_000.0)

    assert check(1_800_000_000) is None
    assert check(1_800_000_000 - 300) is None
    assert check(1_800_000_000 + 300) is None
    assert check(1_799_999_699) == "timestamp is 301 s away from now (allowed: 300 s)"
    assert check(1_800_000_301) == "timestamp is 301 s away from now (allowed: 300 s)"


def test_deeply_nested_json_is_a_400_not_a_server_error(intake_db: Engine) -> None:
    with TestClient(create_app(intake_db, webhook_secret=SECRET), raise_server_exceptions=False,
                    headers=bearer(intake_db)) as c:
        response = deliver(c, b"[" * 5000 + b"]" * 5000)
    assert response.status_code == 400
    assert queued(intake_db) == []


MALFORMED_IDS = {
    "16 characters": OPP_15 + "A",
    "17 characters": OPP_15 + "AA",
    "18 characters with a wrong case-safe suffix": OPP_15 + "ZZZ",
    "non-ASCII letters": "006" + "Ä" * 12,
}


@pytest.mark.parametrize("opportunity_id", list(MALFORMED_IDS.values()), ids=list(MALFORMED_IDS))
def test_malformed_opportunity_id_is_rejected(intake: TestClient, intake_db: Engine, opportunity_id: str) -> None:
    response = deliver(intake, won(opportunity_id))
    assert response.status_code == 400
    assert "'opportunityId'" in response.json()["error"]["message"]
    assert queued(intake_db) == []


# --- the size limit over a real socket --------------------------------------------------------------------


@dataclass(frozen=True)
class LiveApi:
    host: str
    port: int
    engine: Engine

    def raw_post(self, headers: str, body: bytes = b"") -> socket.socket:
        """Open a connection and send a webhook request byte for byte (the caller reads and closes)."""
        sock = socket.create_connection((self.host, self.port), timeout=5)
        sock.sendall(f"POST {WEBHOOK} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                     f"X-Q2C-Timestamp: 1\r\nX-Q2C-Signature: sha256=00\r\nConnection: close\r\n{headers}\r\n".encode()
                     + body)
        return sock


def read_answer(sock: socket.socket, *, wait: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection, or what came within `wait` seconds."""
    sock.settimeout(wait)
    answer = b""
    try:
        while part := sock.recv(65536):
            answer += part
    except TimeoutError:
        pass
    return answer


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[LiveApi]:
    """The API under uvicorn on a loopback port, as `q2c serve` runs it (SQLite: the socket is what is tested)."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'live.sqlite'}")
    migrate(engine)
    app: FastAPI = create_app(engine, webhook_secret=SECRET, max_body_bytes=LIMIT)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "API server did not start"
        time.sleep(0.01)
    yield LiveApi("127.0.0.1", int(server.servers[0].sockets[0].getsockname()[1]), engine)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_declared_oversized_body_is_refused_before_it_is_sent(live_api: LiveApi) -> None:
    with live_api.raw_post(f"Content-Length: {LIMIT * 100}\r\n") as sock:  # no body follows
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert queued(live_api.engine) == []


def test_chunked_body_over_the_limit_is_refused_once_complete(live_api: LiveApi) -> None:
    body = _chunk(b"x" * LIMIT) + _chunk(b"x") + b"0\r\n\r\n"
    with live_api.raw_post("Transfer-Encoding: chunked\r\n", body) as sock:
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert f"body is over the {LIMIT}-byte limit".encode() in answer
    assert queued(live_api.engine) == []


def test_chunked_body_over_the_limit_is_cut_off_while_it_streams(live_api: LiveApi) -> None:
    with live_api.raw_post("Transfer-Encoding: chunked\r\n", _chunk(b"x" * (LIMIT + 1))) as sock:  # left open
        early = read_answer(sock, wait=1.5)
        if not early:  # end the stream so the server finishes this request cleanly before the test reports
            sock.sendall(b"0\r\n\r\n")
            read_answer(sock)
    assert early.startswith(b"HTTP/1.1 413"), "no answer while an over-limit body was still streaming in"
    assert queued(live_api.engine) == []


# --- exceptions, replay and the audit trail -------------------------------------------------------------


def seed_exceptions(db: Engine) -> dict[str, int]:
    """Three open exceptions of the kinds the demo produces."""
    rows: dict[str, tuple[Violation, str, str, dict[str, Any]]] = {
        "task": (Violation(system="harvest", object="time_entry", record_id="HV-101", field="task",
                           rule="time.task_unknown", message="task 'TRAVEL' is not a task of project P-1",
                           action="Move the entry in Harvest to one of the project's tasks"),
                 "time.deliver", "project:P-1", {"entry_ids": [101]}),
        "resource": (Violation(system="harvest", object="time_entry", record_id="HV-102", field="user",
                               rule="time.resource_unknown", message="resource 'carol@example.com' is not known",
                               action="Add the person to `resources` in the q2c config, then replay"),
                     "time.deliver", "project:P-1", {"entry_ids": [102]}),
        "tax": (Violation(system="salesforce", object="Account", record_id="SF-001Dn0000000004IAA",
                          field="Account.Tax_Id__c", rule="customer.tax_id_missing",
                          message="account 'Initech' has no tax id", action="Enter the customer's tax id in the CRM"),
                "deal.setup", f"opportunity:{OPP_18}", {"opportunity_id": OPP_18}),
    }
    ids: dict[str, int] = {}
    with db.begin() as conn:
        for name, (violation, kind, aggregate, payload) in rows.items():
            ids[name] = raise_exception(conn, violation, work_kind=kind, aggregate=aggregate, payload=payload,
                                        correlation_id=f"corr-{name}")
    return ids


def test_exception_list_filters_by_status_rule_and_system(client: TestClient, db: Engine) -> None:
    ids = seed_exceptions(db)

    def listed(**params: str) -> list[int]:
        response = client.get("/exceptions", params=params)
        assert response.status_code == 200
        return [e["id"] for e in response.json()]

    assert listed() == [ids["task"], ids["resource"], ids["tax"]]
    assert listed(rule="time.task_unknown") == [ids["task"]]
    assert listed(rule="time.*") == [ids["task"], ids["resource"]]
    assert listed(system="salesforce") == [ids["tax"]]
    assert listed(system="harvest", rule="time.resource_unknown") == [ids["resource"]]
    assert listed(system="netsuite") == []
    assert listed(status="replayed") == []
    assert listed(limit="1") == [ids["task"]]

    client.post(f"/exceptions/{ids['task']}/replay", json={})
    assert listed() == [ids["resource"], ids["tax"]]
    assert listed(status="replayed") == [ids["task"]]
    assert listed(status="") == [ids["task"], ids["resource"], ids["tax"]]  # empty status: every status

    (entry,) = client.get("/exceptions", params={"system": "salesforce"}).json()
    assert entry["rule"] == "customer.tax_id_missing" and entry["record_id"] == "SF-001Dn0000000004IAA"
    assert entry["field"] == "Account.Tax_Id__c" and entry["action"] == "Enter the customer's tax id in the CRM"
    assert entry["status"] == "open" and entry["occurrences"] == 1 and entry["work_kind"] == "deal.setup"


def test_exception_list_refuses_a_negative_limit(db: Engine) -> None:
    seed_exceptions(db)
    with TestClient(create_app(db, webhook_secret=SECRET), raise_server_exceptions=False, headers=bearer(db)) as c:
        response = c.get("/exceptions", params={"limit": "-1"})
    assert response.status_code == 422


def test_show_exception_with_its_payload_and_404_for_an_unknown_id(client: TestClient, db: Engine) -> None:
    ids = seed_exceptions(db)
    shown = client.get(f"/exceptions/{ids['task']}")
    assert shown.status_code == 200
    body = shown.json()
    assert body["payload"] == {"entry_ids": [101]}
    assert body["rule"] == "time.task_unknown" and body["record_id"] == "HV-101" and body["system"] == "harvest"
    assert body["message"] == "task 'TRAVEL' is not a task of project P-1"
    assert body["correlation_id"] == "corr-task" and body["replayed_as"] is None

    missing = client.get("/exceptions/999999")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"status": 404, "code": "not_found", "field": "exception_id",
                                        "message": "exception 999999 does not exist"}}
    assert client.post("/exceptions/999999/replay", json={}).status_code == 404
    assert client.get("/exceptions/not-a-number").status_code == 422


def test_replay_one_queues_the_work_once(client: TestClient, db: Engine) -> None:
    ids = seed_exceptions(db)
    finance = bearer(db, Role.OPERATOR, "finance@firm.example")  # the audit trail names the token's user
    first = client.post(f"/exceptions/{ids['task']}/replay", json={}, headers=finance)
    assert first.status_code == 200
    result = first.json()
    assert result["exception_id"] == ids["task"] and result["skipped"] is None
    assert isinstance(result["work_item_id"], int)
    assert queued(db) == [{"kind": "time.deliver", "aggregate": "project:P-1", "payload": {"entry_ids": [101]},
                           "status": "pending"}]
    assert client.get(f"/exceptions/{ids['task']}").json()["replayed_as"] == result["work_item_id"]

    second = client.post(f"/exceptions/{ids['task']}/replay", json={})
    assert second.json() == {"exception_id": ids["task"], "work_item_id": None, "skipped": "already replayed"}
    assert len(queued(db)) == 1

    with db.connect() as conn:
        (entry,) = conn.execute(sa.select(audit_log)).all()
    assert entry.actor == "finance@firm.example" and entry.action == "replay" and entry.record_id == "HV-101"


def accept_task_override(row: ExceptionRow, corrected: Mapping[str, Any], *, actor: str) -> Correction:
    """A correction policy for the tests' time delivery: only a task override on the exception's own entries."""
    if set(corrected) != {"entry_ids", "task_override"} or corrected["entry_ids"] != row.payload["entry_ids"]:
        raise CorrectionRefused(f"corrected payload for exception {row.id}: only task_override may change")
    return Correction(payload=dict(corrected))


def test_replay_with_a_corrected_payload_queues_the_correction(db: Engine) -> None:
    ids = seed_exceptions(db)
    corrected = {"entry_ids": [101], "task_override": "BUILD"}
    with TestClient(create_app(db, webhook_secret=SECRET, corrections={"time.deliver": accept_task_override}),
                    headers=bearer(db)) as c:
        response = c.post(f"/exceptions/{ids['task']}/replay", json={"corrected_payload": corrected})
    assert response.status_code == 200 and response.json()["skipped"] is None
    assert [i["payload"] for i in queued(db)] == [corrected]
    with db.connect() as conn:
        assert conn.execute(sa.select(audit_log.c.after)).scalar_one()["corrected"] is True


def test_a_refused_correction_is_a_400_naming_the_payload_and_queues_nothing(db: Engine) -> None:
    ids = seed_exceptions(db)
    with TestClient(create_app(db, webhook_secret=SECRET, corrections={"time.deliver": accept_task_override}),
                    headers=bearer(db)) as c:
        widened = c.post(f"/exceptions/{ids['task']}/replay",
                         json={"corrected_payload": {"entry_ids": [101, 102], "task_override": "BUILD"}})
        no_policy = c.post(f"/exceptions/{ids['tax']}/replay", json={"corrected_payload": {"opportunity_id": "x"}})
        still_open = c.get("/exceptions").json()
    assert widened.status_code == 400
    assert widened.json()["error"] == {
        "status": 400, "code": "bad_request", "field": "corrected_payload",
        "message": f"field 'corrected_payload': corrected payload for exception {ids['task']}: only task_override "
                   "may change"}
    assert no_policy.status_code == 400 and no_policy.json()["error"]["field"] == "corrected_payload"
    assert "cannot be replayed with a corrected payload" in no_policy.json()["error"]["message"]
    assert queued(db) == []
    assert len(still_open) == 3


def test_replay_request_is_validated(client: TestClient, db: Engine) -> None:
    ids = seed_exceptions(db)
    claimed = client.post(f"/exceptions/{ids['task']}/replay", json={"actor": "someone-else"})
    assert claimed.status_code == 422
    assert claimed.json()["error"]["field"] == "actor"
    assert "the actor is the authenticated caller" in claimed.json()["error"]["message"]
    assert client.post(f"/exceptions/{ids['task']}/replay", json={"corrected_payload": [1, 2]}).status_code == 422
    assert queued(db) == []


def test_replay_many_by_rule_leaves_the_others_open(client: TestClient, db: Engine) -> None:
    ids = seed_exceptions(db)
    response = client.post("/exceptions/replay", json={"rule": "time.*"})
    assert response.status_code == 200
    results = response.json()
    assert [r["exception_id"] for r in results] == [ids["task"], ids["resource"]]
    assert all(r["skipped"] is None and isinstance(r["work_item_id"], int) for r in results)
    assert [i["payload"] for i in queued(db)] == [{"entry_ids": [101]}, {"entry_ids": [102]}]
    assert [e["id"] for e in client.get("/exceptions").json()] == [ids["tax"]]

    again = client.post("/exceptions/replay", json={"rule": "time.*"})
    assert again.json() == []  # only open exceptions are picked up
    by_id = client.post("/exceptions/replay", json={"ids": [ids["task"], ids["tax"]]}).json()
    assert [(r["exception_id"], r["skipped"]) for r in by_id] == [(ids["tax"], None)]
    assert len(queued(db)) == 3


def test_bulk_replay_of_an_empty_id_list_replays_nothing(client: TestClient, db: Engine) -> None:
    seed_exceptions(db)
    response = client.post("/exceptions/replay", json={"ids": []})
    assert response.status_code in (200, 400)
    assert queued(db) == []
    assert len(client.get("/exceptions").json()) == 3


def _verdict(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("ok", "entries", "first_bad_seq", "reason")}


def test_audit_verify_reports_the_first_tampered_entry(client: TestClient, db: Engine) -> None:
    assert _verdict(client.get("/audit/verify").json()) == {"ok": True, "entries": 0, "first_bad_seq": None,
                                                             "reason": "chain intact"}
    seed_exceptions(db)
    replayed = client.post("/exceptions/replay", json={"rule": "*.*"}).json()
    assert len(replayed) == 3  # three audit entries
    intact = client.get("/audit/verify").json()
    assert _verdict(intact) == {"ok": True, "entries": 3, "first_bad_seq": None, "reason": "chain intact"}

    with db.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 2).values(actor="someone-else"))
    broken = client.get("/audit/verify").json()
    assert _verdict(broken) == {"ok": False, "entries": 1, "first_bad_seq": 2,
                                "reason": "entry 2 was altered after it was written"}
    assert broken["problem"] == "edited"


def test_replayed_work_shows_up_in_health(client: TestClient, db: Engine) -> None:
    ids = seed_exceptions(db)
    client.post(f"/exceptions/{ids['tax']}/replay", json={})
    body = client.get("/health").json()
    assert body["queue"] == {queue.PENDING: 1}
    assert body["exceptions"] == {"open": 2, "replayed": 1}


def test_an_exception_lists_every_record_it_holds_and_replay_payload(db: Engine) -> None:
    """Four entries behind one problem: the API shows the four, and the payload a replay re-delivers."""
    violation = Violation(system="netsuite", object="employee", record_id="dan@example.com", field="email",
                          rule="time.employee_missing", message="no employee", action="Create the employee")
    with db.begin() as conn:
        for n in range(1, 5):
            entry = {"id": f"HV-{n}", "hours": "8"}
            exception_id = raise_exception(
                conn, violation, work_kind="time.deliver", aggregate="project:P-1", correlation_id="c",
                payload={"entries": [entry]}, subjects=[Subject("time_entry", entry["id"], {"entries": [entry]})])
    client = TestClient(create_app(db, webhook_secret="s"), headers=bearer(db))
    (listed,) = client.get("/exceptions").json()
    assert [r["id"] for r in listed["records"]] == ["HV-1", "HV-2", "HV-3", "HV-4"]
    assert {r["status"] for r in listed["records"]} == {"open"}
    shown = client.get(f"/exceptions/{exception_id}").json()
    assert [e["id"] for e in shown["payload"]["entries"]] == ["HV-1", "HV-2", "HV-3", "HV-4"]


def test_resolve_and_ignore_settle_an_open_exception_once_with_the_caller_as_actor(db: Engine) -> None:
    """An operator resolves one exception (dealt with outside q2c) and ignores another (needs nothing), each
    with a reason; the audit trail names the operator and the reason; a second try is a 409; a reason that is
    missing or an `actor` in the body is a 422; the third exception stays open."""
    ids = seed_exceptions(db)
    with TestClient(create_app(db, webhook_secret=SECRET), headers=bearer(db, Role.OPERATOR, "olga")) as c:
        done = c.post(f"/exceptions/{ids['task']}/resolve", json={"reason": "moved to BUILD in Harvest"})
        assert done.status_code == 200 and done.json() == {"exception_id": ids["task"], "status": "resolved"}
        assert c.post(f"/exceptions/{ids['task']}/resolve", json={"reason": "again"}).status_code == 409
        assert c.post(f"/exceptions/{ids['resource']}/ignore", json={"reason": "carol left"}).json()[
            "status"] == "ignored"
        missing = c.post(f"/exceptions/{ids['tax']}/ignore", json={})
        assert missing.status_code == 422 and missing.json()["error"]["field"] == "reason"
        assert c.post(f"/exceptions/{ids['tax']}/ignore", json={"reason": "x", "actor": "mallory"}
                      ).status_code == 422
        assert c.post("/exceptions/999999/resolve", json={"reason": "x"}).status_code == 404
    with db.connect() as conn:
        assert {r.violation.record_id: r.status for r in exception_store_search(conn)} == {
            "HV-101": "resolved", "HV-102": "ignored", "SF-001Dn0000000004IAA": "open"}
        trail = conn.execute(sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.after).where(
            audit_log.c.action.in_(["resolve", "ignore"]))).all()
    assert sorted((actor, action, after["reason"]) for actor, action, after in trail) == [
        ("olga", "ignore", "carol left"), ("olga", "resolve", "moved to BUILD in Harvest")]


def exception_store_search(conn: sa.Connection) -> list[ExceptionRow]:
    from q2c.store import exceptions as exception_store

    return exception_store.search(conn, status=None)
