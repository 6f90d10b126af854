"""Webhook subscriptions: the validationToken handshake, notifications in the documented shape, renewal,
expiry after three days, and a subscriber that refuses is dropped."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from business_central_sandbox_receiver import Receiver
from business_central_sandbox_support import created, customer, draft_invoice, error_of, ok

from q2c.sandboxes.business_central.app import BusinessCentralSandbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hooks = Receiver()
    yield hooks
    hooks.close()


def _subscribe(api: httpx.Client, url: str, resource: str, state: str = "s3cret") -> dict[str, object]:
    return created(api.post("subscriptions", json={"notificationUrl": url, "resource": resource,
                                                   "clientState": state}))


def test_handshake_then_notification_when_an_invoice_is_paid(api: httpx.Client, us01: str, receiver: Receiver,
                                                             box: BusinessCentralSandbox) -> None:
    customer(api, us01, "C-WH")
    invoice = draft_invoice(api, us01, "C-WH", ("40100", "1", "100"))
    api.post(f"{us01}/salesInvoices({invoice['id']})/Microsoft.NAV.post")
    subscription = _subscribe(api, receiver.url, f"/api/v2.0/{us01}/salesInvoices")
    assert receiver.handshakes == 1
    assert len(str(subscription["subscriptionId"])) == 32 and subscription["clientState"] == "s3cret"
    listed = ok(api.get("subscriptions"))["value"]
    assert [s["subscriptionId"] for s in listed] == [subscription["subscriptionId"]]

    box.mark_paid("US01", invoice["id"])
    note = receiver.wait_for(1)[0]["value"]
    assert len(note) == 1
    entry = note[0]
    assert entry["subscriptionId"] == subscription["subscriptionId"] and entry["clientState"] == "s3cret"
    assert entry["changeType"] == "updated"
    assert entry["resource"] == f"api/v2.0/{us01}/salesInvoices({invoice['id']})"
    assert entry["expirationDateTime"].endswith("Z") and entry["lastModifiedDateTime"].endswith("Z")
    assert ok(api.get(f"{us01}/salesInvoices({invoice['id']})"))["status"] == "Paid"


def test_changes_within_the_delay_come_as_one_notification(api: httpx.Client, us01: str, receiver: Receiver,
                                                           box: BusinessCentralSandbox) -> None:
    box.webhooks.delay_seconds = 1.5
    _subscribe(api, receiver.url, f"/api/v2.0/{us01}/customers")
    first = customer(api, us01, "C-1")
    ok(api.patch(f"{us01}/customers({first['id']})", json={"city": "Leeds"}, headers={"If-Match": "*"}))
    second = customer(api, us01, "C-2")
    assert api.delete(f"{us01}/customers({second['id']})", headers={"If-Match": "*"}).status_code == 204
    entries = receiver.wait_for(1)[0]["value"]
    kinds = {e["resource"].rsplit("(", 1)[1].rstrip(")"): e["changeType"] for e in entries}
    assert kinds == {first["id"]: "created", second["id"]: "deleted"}


def test_extension_subscriptions_live_on_its_own_route(ext: httpx.Client, api: httpx.Client, us01: str,
                                                       receiver: Receiver) -> None:
    error_of(api.post("subscriptions", json={"notificationUrl": receiver.url,
                                             "resource": f"/api/q2c/integration/v1.0/{us01}/timeEntries"}),
             400, "BadRequest")
    made = _subscribe(ext, receiver.url, f"/api/q2c/integration/v1.0/{us01}/jobTasks")
    assert ok(api.get("subscriptions"))["value"] == []
    assert ok(ext.get("subscriptions"))["value"][0]["subscriptionId"] == made["subscriptionId"]
    created(api.post(f"{us01}/projects", json={"number": "P-W"}))
    task = created(ext.post(f"{us01}/jobTasks", json={"jobNumber": "P-W", "jobTaskNumber": "10"}))
    entry = receiver.wait_for(1)[0]["value"][0]
    assert entry["resource"] == f"api/q2c/integration/v1.0/{us01}/jobTasks({task['id']})"


def test_a_failed_handshake_registers_nothing(api: httpx.Client, us01: str, receiver: Receiver) -> None:
    receiver.answer_handshake = False
    error_of(api.post("subscriptions", json={"notificationUrl": receiver.url,
                                             "resource": f"/api/v2.0/{us01}/customers"}), 400, "BadRequest")
    error_of(api.post("subscriptions", json={"notificationUrl": "http://127.0.0.1:9/none",
                                             "resource": f"/api/v2.0/{us01}/customers"}), 400, "BadRequest")
    error_of(api.post("subscriptions", json={"notificationUrl": receiver.url,
                                             "resource": f"/api/v2.0/{us01}/timeRegistrationEntries"}),
             400, "BadRequest")
    assert ok(api.get("subscriptions"))["value"] == []


def test_renewal_and_expiry_after_three_days(api: httpx.Client, us01: str, receiver: Receiver,
                                             box: BusinessCentralSandbox) -> None:
    made = _subscribe(api, receiver.url, f"/api/v2.0/{us01}/customers")
    path = f"subscriptions('{made['subscriptionId']}')"
    error_of(api.patch(path, json={}), 400, "BadRequest_InvalidToken")
    box.advance_clock(2 * 86400)
    renewed = ok(api.patch(path, json={"clientState": "new"}, headers={"If-Match": str(made["@odata.etag"])}))
    assert receiver.handshakes == 2 and renewed["clientState"] == "new"
    assert renewed["expirationDateTime"] > made["expirationDateTime"]
    box.advance_clock(2 * 86400)  # four days after creation, two after renewal: still alive
    assert len(ok(api.get("subscriptions"))["value"]) == 1
    box.advance_clock(86400 + 60)
    assert ok(api.get("subscriptions"))["value"] == []
    customer(api, us01, "C-LATE")
    time.sleep(0.6)
    assert receiver.notifications == []


def test_a_subscriber_answering_410_is_unsubscribed(api: httpx.Client, us01: str, receiver: Receiver,
                                                    box: BusinessCentralSandbox) -> None:
    _subscribe(api, receiver.url, f"/api/v2.0/{us01}/customers")
    receiver.status = 410
    customer(api, us01, "C-GONE")
    receiver.wait_for(1)
    deadline = time.monotonic() + 5
    while ok(api.get("subscriptions"))["value"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ok(api.get("subscriptions"))["value"] == []
    assert box.webhooks.delivered[-1]["status"] == 410


def test_delete_subscription(api: httpx.Client, us01: str, receiver: Receiver) -> None:
    made = _subscribe(api, receiver.url, f"/api/v2.0/{us01}/salesInvoices")
    assert api.delete(f"subscriptions('{made['subscriptionId']}')", headers={"If-Match": "*"}).status_code == 204
    error_of(api.get(f"subscriptions('{made['subscriptionId']}')"), 404, "BadRequest_NotFound")


def test_more_than_a_thousand_changes_come_as_one_collection(api: httpx.Client, us01: str, receiver: Receiver,
                                                             box: BusinessCentralSandbox) -> None:
    box.webhooks.delay_seconds = 5.0
    _subscribe(api, receiver.url, f"/api/v2.0/{us01}/employees")
    for n in range(1001):
        box.add_employee("US01", f"E{n:05d}", "Temp", str(n))
    box.webhooks.flush()
    entries = receiver.wait_for(1)[0]["value"]
    assert len(entries) == 1 and entries[0]["changeType"] == "collection"
    assert entries[0]["resource"].startswith(f"/api/v2.0/{us01}/employees?$filter=lastModifiedDateTime")


def test_a_busy_subscriber_is_retried(api: httpx.Client, us01: str, receiver: Receiver,
                                      box: BusinessCentralSandbox) -> None:
    box.webhooks.retry_seconds = 0.2
    _subscribe(api, receiver.url, f"/api/v2.0/{us01}/customers")
    receiver.status = 503
    customer(api, us01, "C-BUSY")
    receiver.wait_for(1)
    receiver.status = 200
    second = receiver.wait_for(2)
    assert second[0] == second[1]
    deadline = time.monotonic() + 5  # the sandbox notes the answer just after the receiver has the body
    while len(box.webhooks.delivered) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [d["status"] for d in box.webhooks.delivered] == [503, 200]
    assert len(ok(api.get("subscriptions"))["value"]) == 1
