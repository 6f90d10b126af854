"""Invoice status pushed by Business Central: q2c's webhook subscriptions, the handshake, and a payment in
Business Central reaching q2c's books without waiting for the next poll round.

The demo story on Salesforce + Harvest + Business Central bills the T&M invoice (Alice 40 h x 150.00 =
6,000.00 + Bob 18.5 h x 200.00 = 3,700.00 -> 9,700.00) and the milestone invoice (10,000.00), both posted.
Then `q2c serve`'s pieces run as they do there: its API under uvicorn (only the route that receives the
notices is needed here), the scheduler with a poll round of an hour (so only a notice can bring news in
within the test), and a worker. The scheduler's first round subscribes to both companies' salesInvoices and
salesCreditMemos (4 subscriptions, each through the handshake); the 9,700.00 invoice is marked paid in
Business Central; its notification arrives at the route, open to it in an API that asks every other caller
for a bearer token, within the sandbox's one-second delay, the scheduler polls invoice
status at once and the worker records it: paid in q2c within seconds. A notification without q2c's
clientState is refused (401) and changes nothing.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from q2c.connectors.business_central import BusinessCentralClient, BusinessCentralErp
from q2c.entrypoints.api_erp_notices import PATH, erp_notices_router
from q2c.entrypoints.demo import DemoWorld, run_scenario, summary
from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.wiring import schedule, worker_for
from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import free_port
from q2c.store import records
from q2c.workflows.hub import Hub
from support.serving import served

STATE = "q2c-notices-7Jm2xQv9sLr4"


@pytest.fixture
def story(tmp_path: Path) -> Iterator[tuple[DemoWorld, Hub]]:
    world = DemoWorld(tmp_path, systems={"crm": "salesforce", "tracker": "harvest",
                                         "erp": "business_central"}).start()
    try:
        hub = world.hub()
        run_scenario(world, hub, console=None)
        yield world, hub
    finally:
        world.stop()


@contextmanager
def running(threads: list[threading.Thread], stop: threading.Event) -> Iterator[None]:
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)


def _until(check: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return True
        time.sleep(0.05)
    return False


def test_a_payment_in_business_central_reaches_q2c_by_its_notice(story: tuple[DemoWorld, Hub]) -> None:
    world, hub = story
    box = world.erp
    assert isinstance(box, BusinessCentralSandbox) and isinstance(hub.erp, BusinessCentralErp)
    invoices = summary(world, hub)["invoices"]
    (tm_id,) = [i for i, amount in invoices.items() if amount == Decimal("9700.00")]

    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}{PATH}"
    settings = hub.erp.settings.model_copy(update={"notification_url": url,
                                                   "notification_client_state": SecretStr(STATE)})
    hour = hub.config.time.model_copy(update={"poll_seconds": 3600.0})
    hub = dataclasses.replace(hub, erp=BusinessCentralErp(BusinessCentralClient(settings, hub.guards)),
                              config=hub.config.model_copy(update={"time": hour}))
    stop, wake = threading.Event(), threading.Event()
    app = create_app(hub.engine, webhook_secret="s", routers=[erp_notices_router(hub, wake.set)])  # as serve does
    threads = [threading.Thread(target=schedule, args=(hub, stop), kwargs={"wake": wake}, daemon=True),
               threading.Thread(target=worker_for(hub).run_forever, args=(stop,), daemon=True)]
    with served(app, port=port), running(threads, stop):
        assert _until(lambda: len(box.store.subscriptions) == 4, 30), box.store.subscriptions
        assert {r.values["_set"] for r in box.store.subscriptions.values()} == {"salesInvoices", "salesCreditMemos"}

        forged = httpx.post(url, json={"value": [{"subscriptionId": "x", "clientState": "not-ours",
                                                  "resource": "api/v2.0/companies(1)/salesInvoices(2)",
                                                  "changeType": "updated"}]})
        assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"
        assert not wake.is_set()

        (company, bc_id), = [(c, str(r["id"])) for c in box.company_ids() for r in box.records(c, "salesInvoices")
                             if str(r["externalDocumentNumber"]).upper() == tm_id.upper()]
        started = time.monotonic()
        box.mark_paid(company, bc_id)

        def paid() -> bool:
            with hub.engine.connect() as conn:
                record = records.get_record(conn, entity="invoice", canonical_id=tm_id)
            return record is not None and record.state == "paid"

        assert _until(paid, 20), "the payment did not reach q2c by its notice"
        assert time.monotonic() - started < 20
        assert any(d["status"] == 202 for d in box.webhooks.delivered)
