"""Trouble a client must survive: the kit's injected faults, and Dataverse's service protection limits
answered 429 with `Retry-After` and the documented error code."""

from __future__ import annotations

import asyncio

import httpx
from dynamics365_sales_sandbox_fixtures import API, Org

from q2c.sandboxes.dynamics365_sales.app import create_sandbox
from q2c.sandboxes.kit import Faults, VendorLimits


def test_down_and_injected_server_errors(org: Org) -> None:
    org.box.set_faults(Faults(down=True))
    down = org.api.get("accounts")
    assert down.status_code == 503 and "text/html" in down.headers["content-type"]
    org.box.set_faults(Faults(error_rate=1.0, seed=7))
    assert org.api.get("accounts").status_code in (500, 502, 503)
    org.box.set_faults(Faults())
    assert org.api.get("accounts").status_code == 200


def test_a_garbled_answer_after_the_write_happened(org: Org) -> None:
    org.box.set_faults(Faults(malformed_next=1))
    lost = org.api.post("accounts", json={"name": "Written anyway"})
    assert lost.status_code == 200 and lost.text.startswith('{"truncated"')
    assert [r["name"] for r in org.box.rows("account")] == ["Written anyway"]


def test_throttling_answers_429_with_retry_after_and_the_dataverse_error(org: Org) -> None:
    org.box.set_faults(Faults(throttle_rate=1.0))
    throttled = org.api.get("accounts")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["error"]["code"] == "0x80072322"
    org.box.set_faults(Faults())
    org.box.set_limits(VendorLimits(requests_per_window=2, window_seconds=300))
    assert [org.api.get("accounts").status_code for _ in range(3)] == [200, 200, 429]
    over = org.api.get("accounts")
    assert over.json()["error"]["message"] == ("Number of requests exceeded the limit of 6000 over time window of "
                                               "300 seconds.")
    assert 1 <= int(over.headers["Retry-After"]) <= 300


def test_too_many_concurrent_requests(org: Org) -> None:
    org.box.set_limits(VendorLimits(concurrency=2))
    org.box.set_faults(Faults(latency_ms=300))

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=org.url + API, verify=org.verify(),
                                     headers={"Authorization": org.api.headers["Authorization"]}) as client:
            return list(await asyncio.gather(*(client.get("accounts") for _ in range(5))))

    answers = asyncio.run(burst())
    refused = [a for a in answers if a.status_code == 429]
    assert refused and len(refused) <= 3
    assert refused[0].json()["error"]["code"] == "0x80072326"


def test_vendor_limits_are_the_documented_numbers() -> None:
    box = create_sandbox(vendor_limits=True)
    assert (box.limits.requests_per_window, box.limits.window_seconds, box.limits.concurrency) == (6000, 300.0, 52)
    assert create_sandbox().limits.requests_per_window is None
