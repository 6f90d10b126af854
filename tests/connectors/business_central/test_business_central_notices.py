"""Business Central's webhook subscriptions as q2c keeps them: one per company and watched set (salesInvoices,
salesCreditMemos), created through the handshake, left alone while they have more than a day to live,
renewed (PATCH with the ETag, the handshake again) when less; notifications read as "invoices changed" only
when they carry q2c's clientState."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import SecretStr, ValidationError

from q2c.connectors.business_central import BusinessCentralClient, BusinessCentralErp, BusinessCentralSettings
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import free_port
from q2c.sandboxes.registry import sandbox_spec
from q2c.workflows.ports import ChangeNotices, Notice
from support.serving import served

STATE = "q2c-client-state-0123456789"


@pytest.fixture
def listening(erp: BusinessCentralErp, settings: BusinessCentralSettings
              ) -> Iterator[tuple[BusinessCentralErp, list[Notice]]]:
    """The connector with notification settings, and a loopback listener that answers as q2c serve does."""
    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}/webhooks/erp"
    configured = settings.model_copy(update={"notification_url": url, "notification_client_state": SecretStr(STATE)})
    client = BusinessCentralClient(configured, GuardRegistry(), sleep=lambda _s: None)
    noticing = BusinessCentralErp(client)
    heard: list[Notice] = []
    app = FastAPI()

    @app.post("/webhooks/erp")
    async def receive(request: Request) -> Response:
        notice = noticing.notice(dict(request.query_params), await request.body())
        heard.append(notice)
        if notice.reply is not None:
            return PlainTextResponse(notice.reply)
        return Response(status_code=401 if notice.refused else 202)

    with served(app, port=port):
        yield noticing, heard
    client.close()


def test_business_central_notification_settings_name_the_key_at_fault(box: BusinessCentralSandbox,
                                                                       tmp_path: Path) -> None:
    block = sandbox_spec("business_central").settings(box, "https://127.0.0.1:1", tmp_path)
    with pytest.raises(ValidationError) as missing:
        BusinessCentralSettings.model_validate({**block, "notification_url": "https://q2c.example/webhooks/erp"},
                                               context={"base_dir": tmp_path})
    assert missing.value.errors()[0]["ctx"]["key"] == "notification_client_state"
    with pytest.raises(ValidationError) as relative:
        BusinessCentralSettings.model_validate({**block, "notification_url": "q2c.example/webhooks/erp",
                                                "notification_client_state": STATE}, context={"base_dir": tmp_path})
    assert relative.value.errors()[0]["ctx"]["key"] == "notification_url"
    plain = BusinessCentralSettings.model_validate(block, context={"base_dir": tmp_path})
    assert plain.notification_url is None


def test_business_central_subscriptions_are_created_kept_and_renewed(
        listening: tuple[BusinessCentralErp, list[Notice]], box: BusinessCentralSandbox,
        erp: BusinessCentralErp) -> None:
    noticing, heard = listening
    assert isinstance(noticing, ChangeNotices)
    assert erp.keep_subscribed() is None  # no notification_url: polled only
    companies = len(set(noticing.settings.companies.values()))

    first = noticing.keep_subscribed()
    assert first is not None and (first.wanted, first.created, first.renewed) == (2 * companies, 2 * companies, 0)
    assert len([n for n in heard if n.reply is not None]) == 2 * companies  # one handshake per subscription
    held = {r.values["subscriptionId"]: r.values["expirationDateTime"] for r in box.store.subscriptions.values()}
    assert {r.values["clientState"] for r in box.store.subscriptions.values()} == {STATE}

    again = noticing.keep_subscribed()
    assert again is not None and (again.created, again.renewed) == (0, 0)  # three days to live: left alone
    assert first.expires is not None and again.expires == first.expires

    later = noticing.notices.keep_subscribed(now=datetime.now(UTC) + timedelta(days=2, hours=1))
    assert later is not None and (later.created, later.renewed) == (0, 2 * companies)
    assert set(held) == {r.values["subscriptionId"] for r in box.store.subscriptions.values()}  # the same ones


def test_business_central_notices_are_read_as_a_hint_from_q2c_s_subscription_only(
        listening: tuple[BusinessCentralErp, list[Notice]]) -> None:
    noticing, _ = listening
    assert noticing.notice({"validationToken": "abc"}, b"") == Notice(reply="abc")
    entry = {"subscriptionId": "s", "clientState": STATE, "expirationDateTime": "2026-12-05T00:00:00Z",
             "resource": "/api/v2.0/companies(5d3f6b1e-7a4c-4a8e-9f3b-2c1d0e9f8a7c)/salesInvoices(1)",
             "changeType": "updated", "lastModifiedDateTime": "2026-12-02T00:00:00Z"}
    assert noticing.notice({}, json.dumps({"value": [entry]}).encode()) == Notice(changed=("invoice",))
    other = {**entry, "resource": entry["resource"].replace("salesInvoices", "customers")}
    assert noticing.notice({}, json.dumps({"value": [other]}).encode()) == Notice()
    forged = noticing.notice({}, json.dumps({"value": [entry, {**entry, "clientState": "guess"}]}).encode())
    assert forged.refused is not None and "clientState" in forged.refused
    assert noticing.notice({}, b"<xml/>").refused is not None
    assert noticing.notice({}, b'{"value": "x"}').refused is not None
