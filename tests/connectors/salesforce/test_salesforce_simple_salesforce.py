"""The official `simple-salesforce` client drives the sandbox: if it cannot, the sandbox is wrong.

simple-salesforce always calls https://<domain>.salesforce.com and https://<instance>. A requests
transport adapter stands in for DNS and TLS termination: it sends those requests, unchanged
otherwise (the Host header still names the host the client meant), over plain HTTP to the sandbox
on loopback. Everything above the socket is the real client: its login flows, URL building, JSON
handling, error mapping and session refresh. The sandbox tells login.salesforce.com from a My
Domain host by that Host header: simple-salesforce sends client credentials to the My Domain only,
and the JWT bearer grant to login.salesforce.com.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from salesforce_fixtures import CLIENT_ID, CLIENT_SECRET, KeyPair
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceMoreThanOneRecord

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.salesforce.app import SalesforceSandbox


class LoopbackAdapter(HTTPAdapter):
    """Delivers https://anything to the sandbox's http://127.0.0.1:PORT, keeping path and query."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.netloc = urlsplit(target).netloc
        self.hosts_seen: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        parts = urlsplit(request.url)
        self.hosts_seen.append(parts.netloc)
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(("http", self.netloc, parts.path, parts.query, parts.fragment))
        return super().send(request, *args, **kwargs)


def session_for(server: SandboxServer) -> tuple[requests.Session, LoopbackAdapter]:
    adapter = LoopbackAdapter(server.url)
    session = requests.Session()
    session.mount("https://", adapter)
    return session, adapter


def test_client_credentials_login_create_upsert_query(server: SandboxServer, sandbox: SalesforceSandbox) -> None:
    session, adapter = session_for(server)
    sf = Salesforce(consumer_key=CLIENT_ID, consumer_secret=CLIENT_SECRET, domain="globex-ps.my", session=session)
    assert adapter.hosts_seen[0] == "globex-ps.my.salesforce.com"
    assert sf.sf_instance == "globex-ps.my.salesforce.com"  # the token answer names the org's own domain

    created = sf.Account.create({"Name": "Acme Consulting Client", "BillingCountry": "US"})
    assert created["success"] is True and created["id"].startswith("001")
    record = sf.Account.get(created["id"])
    assert record["Name"] == "Acme Consulting Client" and record["attributes"]["type"] == "Account"

    first = sf.Account.upsert("ERP_Customer_Number__c/C-42", {"Name": "Wayne Enterprises"}, raw_response=True)
    assert first.status_code == 201 and first.json()["created"] is True
    again = sf.Account.upsert("ERP_Customer_Number__c/C-42", {"Name": "Wayne Enterprises Inc."}, raw_response=True)
    assert again.status_code == 200 and again.json() == {"id": first.json()["id"], "success": True, "errors": [],
                                                         "created": False}
    assert sf.Account.update(created["id"], {"Tax_Exempt__c": True}) == 204

    for n in range(430):
        sandbox.state.create("Account", {"Name": f"Bulk {n:03d}"})
    paged = sf.query_all("SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk%' ORDER BY Name",
                         headers={"Sforce-Query-Options": "batchSize=200"})
    assert paged["totalSize"] == 430 and len(paged["records"]) == 430
    assert [r["Name"] for r in paged["records"]][-1] == "Bulk 429"
    page_calls = sandbox.stats.by_path
    assert sum(v for k, v in page_calls.items() if "/query/01g" in k) == 2  # two nextRecordsUrl hops

    usage = sf.api_usage["api-usage"]
    assert usage.total == 5_000 and usage.used == sandbox.state.api_used


def test_jwt_bearer_login_and_errors_map_to_its_exceptions(server: SandboxServer, sandbox: SalesforceSandbox,
                                                          keys: KeyPair) -> None:
    session, adapter = session_for(server)
    sf = Salesforce(username="integration@globex.example", consumer_key=CLIENT_ID, privatekey=keys.private_pem,
                    domain="login", session=session)
    assert adapter.hosts_seen[0] == "login.salesforce.com"
    assert sf.sf_instance == server.url.removeprefix("http://")  # the org's instance, not the login server

    sandbox.state.create("Account", {"Name": "Dup A", "ERP_Customer_Number__c": "C-7"})
    sandbox.state.create("Account", {"Name": "Dup B", "ERP_Customer_Number__c": "C-7"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.upsert("ERP_Customer_Number__c/C-7", {"Name": "Which one?"})
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b'")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Opportunity.create({"Name": "No stage"})
    assert missing.value.content[0]["fields"] == ["StageName", "CloseDate"]

    sandbox.state.expire_sessions()  # simple-salesforce logs in again on INVALID_SESSION_ID
    assert sf.query("SELECT Id FROM Account WHERE Name = 'Dup A'")["totalSize"] == 1
