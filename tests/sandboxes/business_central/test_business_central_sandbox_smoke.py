"""The sandbox starts over HTTPS, msal gets a token, and the companies are there."""

from __future__ import annotations

import httpx

from q2c.sandboxes.business_central.app import BusinessCentralSandbox


def test_companies_are_listed_with_context_and_etags(api: httpx.Client, box: BusinessCentralSandbox) -> None:
    response = api.get("companies")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("/api/v2.0/$metadata#companies")
    by_name = {c["name"]: c for c in body["value"]}
    assert set(by_name) == {"US01", "UK01"}
    assert by_name["US01"]["id"] == box.company_ids()["US01"]
    assert by_name["US01"]["@odata.etag"].startswith('W/"')
    assert response.headers["OData-Version"] == "4.0"
