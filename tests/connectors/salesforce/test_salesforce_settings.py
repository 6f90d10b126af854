"""The Salesforce settings refuse a client-credentials login on the generic login servers.

The client credentials flow is served on the org's My Domain (Salesforce Help, "OAuth 2.0 Client
Credentials Flow for Server-to-Server Integration", whose sample request goes to the org's domain);
login.salesforce.com and test.salesforce.com answer it with invalid_grant "request not supported on
this domain" (observed: pozil/pub-sub-api-node-client#58). The JWT bearer flow is documented on login.salesforce.com
(Help, "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration").
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from salesforce_fixtures import KeyPair

from q2c.config import ConfigError, parse_config
from q2c.connectors.salesforce.settings import SalesforceSettings

GENERIC = ["https://login.salesforce.com", "HTTPS://LOGIN.SALESFORCE.COM/", "http://test.salesforce.com",
           "https://Test.Salesforce.com:443", "https://login.salesforce.com./services/oauth2/token"]


@pytest.mark.parametrize("login_url", GENERIC)
def test_client_credentials_refuse_the_generic_login_servers(login_url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SalesforceSettings(login_url=login_url, client_id="3MVG9x", client_secret="s")
    [error] = caught.value.errors()
    assert error["type"] == "config_key" and error["ctx"] == {"key": "login_url"}
    assert "does not serve the client credentials flow: use the org's My Domain URL, " \
           "https://MyDomainName.my.salesforce.com" in error["msg"]


def test_the_default_login_url_is_refused_for_client_credentials_too() -> None:
    with pytest.raises(ValidationError, match=r"https://login\.salesforce\.com does not serve"):
        SalesforceSettings(client_id="3MVG9x", client_secret="s")


def test_the_config_names_the_key() -> None:
    raw = {"systems": {"crm": {"type": "salesforce", "login_url": "https://login.salesforce.com",
                               "client_id": "3MVG9x", "client_secret": "s"}}}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="q2c.yaml")
    assert "systems.crm.login_url: https://login.salesforce.com does not serve the client credentials flow" in \
        str(caught.value)


def test_my_domain_and_jwt_on_the_login_servers_are_accepted(keys: KeyPair) -> None:
    my_domain = SalesforceSettings(login_url="https://globex-ps.my.salesforce.com", client_id="x", client_secret="s")
    assert not my_domain.uses_jwt
    sandbox_org = SalesforceSettings(login_url="https://globex-ps--uat.sandbox.my.salesforce.com", client_id="x",
                                     client_secret="s")
    assert sandbox_org.login_url.endswith("sandbox.my.salesforce.com")
    for login_url in ("https://login.salesforce.com", "https://test.salesforce.com"):
        jwt = SalesforceSettings(login_url=login_url, client_id="x", username="a@b", private_key_pem=keys.private_pem)
        assert jwt.uses_jwt
