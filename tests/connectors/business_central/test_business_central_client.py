"""The client against the sandbox: sign-in, companies, paging, refusals, the 401 refresh, lost answers."""

from __future__ import annotations

from q2c.connectors.business_central import BusinessCentralClient, BusinessCentralSettings
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.business_central.app import BusinessCentralSandbox


def test_business_central_client_signs_in_and_lists_the_companies(client: BusinessCentralClient,
                                                                  settings: BusinessCentralSettings) -> None:
    ids = {c["id"] for c in client.companies()}
    assert set(settings.companies.values()) <= ids


def test_business_central_client_pages_by_next_link(client: BusinessCentralClient, box: BusinessCentralSandbox,
                                                    settings: BusinessCentralSettings) -> None:
    us01 = settings.companies["US01"]
    small = BusinessCentralClient(settings.model_copy(update={"page_size": 2}), GuardRegistry(),
                                  sleep=lambda _s: None)
    pages = list(small.pages(small.url(us01, "accounts")))
    assert len(pages) > 1 and all(len(p) <= 2 for p in pages)
    assert sorted(a["number"] for p in pages for a in p) == sorted(a["number"] for a in box.records(us01, "accounts"))
