"""Operational limits (429 with Retry-After), the kit's faults, and the registry's config blocks."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import httpx
import pytest
from business_central_sandbox_support import error_of, ok

from q2c.sandboxes.business_central.app import BusinessCentralSandbox, create_sandbox
from q2c.sandboxes.kit import Faults, SandboxServer, VendorLimits
from q2c.sandboxes.registry import SandboxOptions, sandbox_spec


def test_rate_limit_answers_429_with_retry_after(api: httpx.Client, us01: str, box: BusinessCentralSandbox) -> None:
    box.set_limits(VendorLimits(requests_per_window=3, window_seconds=60))
    for _ in range(3):
        ok(api.get(f"{us01}/customers"))
    refused = api.get(f"{us01}/customers")
    error_of(refused, 429, "Application_TooManyRequests")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_documented_limits_when_asked_for() -> None:
    box = create_sandbox(vendor_limits=True)
    assert (box.limits.requests_per_window, box.limits.window_seconds) == (6000, 300.0)
    assert (box.connections.processing, box.connections.queue, box.connections.enabled) == (5, 95, True)
    assert not create_sandbox().connections.enabled


def test_connections_beyond_processing_and_queue_are_refused(api: httpx.Client, us01: str, ca_path: Path,
                                                             box: BusinessCentralSandbox) -> None:
    box.connections.enabled = True
    box.connections.processing, box.connections.queue = 1, 1
    box.set_faults(Faults(latency_ms=600))
    statuses: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=str(api.base_url), headers=dict(api.headers), timeout=20,
                          verify=ssl.create_default_context(cafile=str(ca_path))) as client:
            statuses.append(client.get(f"{us01}/customers").status_code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 429]
    assert box.connections.refused == 1


def test_faults_come_through_the_kit(api: httpx.Client, us01: str, box: BusinessCentralSandbox) -> None:
    box.set_faults(Faults(down=True))
    assert api.get(f"{us01}/customers").status_code == 503
    box.set_faults(Faults(error_rate=1.0, seed=1))
    assert api.get(f"{us01}/customers").status_code in (500, 502, 503)
    box.set_faults(Faults(malformed_next=1))
    with pytest.raises(ValueError):
        api.get(f"{us01}/customers").json()
    box.set_faults(Faults(throttle_rate=1.0))
    error_of(api.get(f"{us01}/customers"), 429, "Application_TooManyRequests")
    box.set_faults(Faults())
    ok(api.get(f"{us01}/customers"))


def test_registry_settings_and_connection(tmp_path: Path) -> None:
    spec = sandbox_spec("business_central")
    assert (spec.label, spec.role) == ("Business Central", "erp")
    box = spec.create(SandboxOptions(fresh_credentials=True))
    assert isinstance(box, BusinessCentralSandbox)
    with SandboxServer(box) as server:
        settings = spec.settings(box, server.url, tmp_path)
        assert set(settings) == {"type", "tenant_id", "client_id", "client_secret", "authority_url", "api_url",
                                 "environment", "ca_bundle", "companies", "references"}
        assert settings["type"] == "business_central" and settings["api_url"] == server.url
        assert settings["client_id"] != create_sandbox().client_id  # fresh credentials
        assert (tmp_path / settings["ca_bundle"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert set(settings["companies"]) == {"US01", "UK01"}
        assert settings["references"]["journal"] == "Q2C"
        connection = spec.connection(box, server.url, tmp_path)
        assert connection["token_url"] == f"{server.url}/{box.tenant_id}/oauth2/v2.0/token"
        assert connection["scope"] == "https://api.businesscentral.dynamics.com/.default"
        assert connection["company_US01"] == settings["companies"]["US01"]
