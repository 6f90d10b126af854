"""Helpers for the Dynamics 365 Sales sandbox's own tests: a signed-in Web API client and a seeded deal."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msal
import requests

from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox

API = "/api/data/v9.2/"


def trusting(ca: Path) -> requests.Session:
    """A requests session that trusts the sandbox's CA and ignores REQUESTS_CA_BUNDLE from the environment."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca)
    return session


def msal_app(box: DataverseSandbox, url: str, ca: Path, *, client_id: str | None = None,
             credential: Any = None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(client_id or box.client_id,
                                              client_credential=credential or box.client_secret,
                                              authority=f"{url}/{box.tenant_id}", http_client=trusting(ca),
                                              instance_discovery=False)


def token(box: DataverseSandbox, url: str, ca: Path, **kwargs: Any) -> str:
    app = msal_app(box, url, ca, **kwargs)
    try:
        result = app.acquire_token_for_client(scopes=[f"{url}/.default"])
    finally:
        app.http_client.close()  # an idle keep-alive connection would hold the server's shutdown
    assert "access_token" in result, result
    return str(result["access_token"])


@dataclass
class Org:
    """The running sandbox, its URL and CA, and an httpx client signed in as q2c's app."""

    box: DataverseSandbox
    url: str
    ca: Path
    api: httpx.Client

    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def account(self, name: str = "Contoso Ltd", **extra: Any) -> str:
        row = self.box.ui_create("account", {"name": name, **extra})
        return str(row["accountid"])

    def deal(self, account_id: str, *, currency: str = "USD", name: str = "Contoso rollout") -> str:
        row = self.box.ui_create("opportunity", {
            "name": name, "customerid_account@odata.bind": f"/accounts({account_id})",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({self.box.currency_id(currency)})",
            "estimatedclosedate": "2027-01-31", "q2c_startdate": "2027-02-01", "q2c_enddate": "2027-07-31"})
        opportunity_id = str(row["opportunityid"])
        for description, quantity, price, billing in (("Discovery", "1", "12000.00", 100000001),
                                                      ("Delivery", "120", "150.00", 100000000)):
            self.box.ui_create("opportunityproduct", {
                "opportunityid@odata.bind": f"/opportunities({opportunity_id})", "productdescription": description,
                "quantity": quantity, "priceperunit": price, "q2c_billingtype": billing,
                "q2c_serviceoffering": "CONSULTING"})
        return opportunity_id
