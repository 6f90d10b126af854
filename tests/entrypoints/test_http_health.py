"""/health tells the truth: ok, degraded (200, with the reasons) or down (503).

Each case is brought about the way it happens in service: a real worker gives up on an item or
reschedules it, a worker dies holding a lease, and the database really goes away: a SQLite volume
removed, a PostgreSQL database dropped. On SQLite and on PostgreSQL through the `db` fixtures.
(Circuits: test_http_health_circuits.py.)
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from q2c.connectors.salesforce.ids import id18
from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected, Rejected, TransientError
from q2c.engine.worker import DeliveryPolicy, Worker, per_item
from q2c.entrypoints.http_api import create_app, sign
from q2c.store import queue
from q2c.store.db import create_db_engine, migrate
from q2c.store.queue import WorkItem
from support.api_auth import bearer

SECRET = "whsec-health"
CLOSED = {"system": "netsuite", "endpoint": "account", "circuit": "closed", "requests": 4, "throttled": 0,
          "transient_failures": 0, "retries": 0}


def health(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/health")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return response.status_code, body


def enqueue(db: Engine, kind: str, aggregate: str = "project:P-1") -> int:
    with db.begin() as conn:
        return queue.enqueue(conn, kind=kind, aggregate=aggregate, payload={"n": 1}, correlation_id="corr-1")


# --- degraded by the hub's own work -------------------------------------------------------------------------


def reject(item: WorkItem) -> None:
    raise RecordRejected(Violation(system="netsuite", object="timebill", record_id="HV-7", field="employee",
                                   rule="time.employee_missing", message="no employee for carol@example.com",
                                   action="Create the employee in NetSuite, then replay"))


def test_a_dead_work_item_degrades_health_until_it_is_replayed(db: Engine) -> None:
    enqueue(db, "test.reject")
    Worker(db, {"test.reject": per_item(reject)}).run_once()
    with TestClient(create_app(db, webhook_secret=SECRET), headers=bearer(db)) as c:
        status, body = health(c)
        assert status == 200
        assert body["status"] == "degraded"
        assert body["reasons"] == ["1 work item is dead: stopped on an open exception (fix it, then replay)",
                                   "1 exception is open in the exception queue"]
        assert body["queue"] == {"dead": 1} and body["exceptions"] == {"open": 1}

        (exception,) = c.get("/exceptions").json()
        assert c.post(f"/exceptions/{exception['id']}/replay", json={}).status_code == 200
        status, body = health(c)
    assert status == 200
    assert body == {"status": "ok", "reasons": [], "queue": {"dead": 1, "pending": 1},
                    "exceptions": {"replayed": 1}, "endpoints": []}


def reject_twice(item: WorkItem) -> None:
    raise Rejected([Violation(system="salesforce", object="Account", record_id="SF-1", field=field, rule=rule,
                              message=f"{field} is missing", action=f"Enter the {field} in the CRM")
                    for field, rule in (("Tax_Id__c", "customer.tax_id_missing"),
                                        ("Legal_Entity__c", "customer.legal_entity_missing"))])


def test_a_dead_item_with_two_problems_is_one_dead_item(db: Engine) -> None:
    enqueue(db, "test.reject_twice", "opportunity:006")
    Worker(db, {"test.reject_twice": per_item(reject_twice)}).run_once()
    with TestClient(create_app(db, webhook_secret=SECRET), headers=bearer(db)) as c:
        status, body = health(c)
    assert status == 200 and body["exceptions"] == {"open": 2}
    assert body["reasons"] == ["1 work item is dead: stopped on an open exception (fix it, then replay)",
                               "2 exceptions are open in the exception queue"]


def flaky(item: WorkItem) -> None:
    raise TransientError("netsuite", "503 Service Unavailable")


def test_a_retry_no_worker_takes_is_overdue(db: Engine) -> None:
    enqueue(db, "test.flaky")
    retried = Worker(db, {"test.flaky": per_item(flaky)}, policy=DeliveryPolicy(base_seconds=0, cap_seconds=0))
    retried.run_once()
    assert retried.stats.retried == 1  # due again at once, and nobody runs it
    time.sleep(0.01)
    with TestClient(create_app(db, webhook_secret=SECRET, overdue_after_seconds=0), headers=bearer(db)) as strict:
        status, body = health(strict)
    assert status == 200 and body["status"] == "degraded"
    assert body["reasons"] == ["1 retry is overdue: due more than 0 s ago and not taken by any worker (are the "
                               "workers running?)"]
    with TestClient(create_app(db, webhook_secret=SECRET),
                    headers=bearer(db)) as patient:  # the default minute has not passed
        assert health(patient)[1]["status"] == "ok"


def test_a_lease_that_ran_out_with_nobody_taking_over_is_an_overdue_retry(db: Engine) -> None:
    enqueue(db, "test.any", "project:P-1")
    enqueue(db, "test.any", "project:P-2")
    with db.begin() as conn:  # a worker claims both and dies
        assert len(queue.claim(conn, worker="gone:1", limit=2, lease_seconds=0)) == 2
    time.sleep(0.01)
    with TestClient(create_app(db, webhook_secret=SECRET, overdue_after_seconds=0.005), headers=bearer(db)) as c:
        status, body = health(c)
    assert status == 200 and body["queue"] == {"running": 2}
    assert body["reasons"] == ["2 retries are overdue: due more than 0.005 s ago and not taken by any worker (are "
                               "the workers running?)"]


def test_fresh_work_waiting_for_its_first_attempt_is_not_a_problem(db: Engine) -> None:
    enqueue(db, "test.any")
    with TestClient(create_app(db, webhook_secret=SECRET, overdue_after_seconds=0), headers=bearer(db)) as c:
        assert health(c) == (200, {"status": "ok", "reasons": [], "queue": {"pending": 1}, "exceptions": {},
                                   "endpoints": []})


def test_endpoint_figures_that_cannot_be_read_degrade_health_but_do_not_break_it(db: Engine) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("guard registry unavailable")

    for source in (broken, lambda: {"endpoints": [{**CLOSED, "circuit": "melted"}]}):
        with TestClient(create_app(db, webhook_secret=SECRET, health_extra=source), headers=bearer(db)) as c:
            status, body = health(c)
        assert status == 200 and body["status"] == "degraded" and body["endpoints"] == []
        assert len(body["reasons"]) == 1
        assert body["reasons"][0].startswith("the vendor endpoints' figures could not be read (")


# --- down: the database goes away ---------------------------------------------------------------------------


@dataclass
class VanishingDatabase:
    """A hub database the test can take away and bring back."""

    url: str
    go: Callable[[Engine], None]
    come_back: Callable[[], None]
    name: str  # must not show in what the API answers


@pytest.fixture
def vanishing(db_url: str, tmp_path: Path) -> Iterator[VanishingDatabase]:
    if db_url.startswith("sqlite"):
        volume = tmp_path / "volume"
        url = f"sqlite:///{volume / 'hub.sqlite'}"

        def unmount(engine: Engine) -> None:  # the volume holding the file is gone
            engine.dispose()
            shutil.rmtree(volume)

        def remount() -> None:
            volume.mkdir()
            _migrate(url)

        remount()
        yield VanishingDatabase(url, unmount, remount, str(volume))
        return

    server = create_db_engine(db_url)
    name = f"{sa.engine.make_url(db_url).database}_vanishing"
    url = sa.engine.make_url(db_url).set(database=name).render_as_string(hide_password=False)

    def ddl(statement: str) -> None:
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(statement))

    def drop(engine: Engine) -> None:  # dropped under the app's open connections
        ddl(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def create() -> None:
        ddl(f'CREATE DATABASE "{name}"')
        _migrate(url)

    create()
    yield VanishingDatabase(url, drop, create, name)
    ddl(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.dispose()


def _migrate(url: str) -> None:
    engine = create_db_engine(url)
    migrate(engine)
    engine.dispose()


def test_health_is_503_down_while_the_database_is_gone_and_ok_when_it_is_back(vanishing: VanishingDatabase) -> None:
    engine = create_db_engine(vanishing.url)
    app = create_app(engine, webhook_secret=SECRET, health_extra=lambda: {"endpoints": [CLOSED]})
    try:
        with TestClient(app, headers=bearer(engine)) as c:  # the token is checked in the database too
            assert health(c) == (200, {"status": "ok", "reasons": [], "queue": {}, "exceptions": {},
                                       "endpoints": [CLOSED]})
            vanishing.go(engine)

            response = c.get("/health")
            assert response.status_code == 503
            assert response.json() == {
                "status": "down", "queue": None, "exceptions": None, "endpoints": [CLOSED],
                "reasons": ["the database does not answer (OperationalError; details are in the service log)"]}

            for answer in (c.get("/exceptions"), c.get("/audit/verify"), _signed_webhook(c)):
                assert answer.status_code == 503
                assert answer.json() == {"error": {
                    "status": 503, "code": "database_unavailable", "field": None,
                    "message": "the database does not answer; try again later (details are in the service log)"}}
                assert answer.headers["retry-after"] == "5"
                assert vanishing.name not in answer.text

            vanishing.come_back()  # a new, empty database: its users too
            status, body = health(c)
            assert (status, body["status"]) == (200, "ok")
            assert c.get("/exceptions").status_code == 401
            c.headers.update(bearer(engine))
            assert c.get("/exceptions").json() == []
    finally:
        engine.dispose()


def _signed_webhook(client: TestClient) -> Any:
    body = json.dumps({"opportunityId": id18("0065g00000AbCdE"), "isWon": True}).encode()
    stamp = str(int(time.time()))
    return client.post("/webhooks/salesforce/opportunity-won", content=body,
                       headers={"content-type": "application/json", "x-q2c-timestamp": stamp,
                                "x-q2c-signature": sign(SECRET, stamp, body)})
