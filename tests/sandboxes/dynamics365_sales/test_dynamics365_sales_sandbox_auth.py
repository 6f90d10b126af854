"""Entra ID in front of the Web API: msal gets a token with a secret or a certificate; the Web API refuses
a missing, expired or wrongly addressed token with 401, and an app with no application user with 403."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from dynamics365_sales_sandbox_fixtures import API, Org, msal_app, token

from q2c.sandboxes.registry import SandboxOptions, make_sandbox, sandbox_spec


def _certificate() -> tuple[str, str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "q2c integration")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert_pem, cert.fingerprint(hashes.SHA1()).hex()


def _claims(bearer: str) -> dict[str, object]:
    payload = bearer.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_a_secret_gets_a_token_for_the_org_url_and_writes_carry_the_application_user(org: Org) -> None:
    bearer = org.api.headers["Authorization"].removeprefix("Bearer ")
    assert _claims(bearer)["aud"] == org.url
    created = org.api.post("accounts", json={"name": "Fabrikam"})
    assert created.status_code == 204
    account_id = created.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    row = org.api.get(f"accounts({account_id})", params={"$select": "_modifiedby_value,_createdby_value"}).json()
    app_user = org.box.application_user_id()
    assert row["_modifiedby_value"] == row["_createdby_value"] == app_user
    me = org.api.get("WhoAmI").json()
    assert me["UserId"] == app_user
    user = org.api.get(f"systemusers({app_user})", params={"$select": "applicationid,fullname"}).json()
    assert user["applicationid"] == org.box.client_id


def test_a_certificate_gets_a_token_too(org: Org) -> None:
    key_pem, cert_pem, thumbprint = _certificate()
    client_id = "3f0c2e1a-5b6d-4c7e-8f90-a1b2c3d4e5f6"
    org.box.add_application(client_id, certificate_pem=cert_pem, name="q2c certificate app")
    bearer = token(org.box, org.url, org.ca, client_id=client_id,
                   credential={"private_key": key_pem, "thumbprint": thumbprint})
    answer = httpx.get(org.url + API + "WhoAmI", headers={"Authorization": f"Bearer {bearer}"}, verify=org.verify())
    assert answer.status_code == 200
    assert answer.json()["UserId"] == org.box.application_user_id(client_id)


def test_a_wrong_secret_is_refused_by_entra(org: Org) -> None:
    app = msal_app(org.box, org.url, org.ca, credential="not-the-secret")
    result = app.acquire_token_for_client(scopes=[f"{org.url}/.default"])
    app.http_client.close()
    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]


def test_no_token_or_an_expired_one_answers_401_with_a_bearer_challenge(org: Org) -> None:
    bare = httpx.get(org.url + API + "accounts", verify=org.verify())
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"].startswith("Bearer ")
    assert org.api.get("accounts").status_code == 200
    org.box.tenant.expire_tokens()
    expired = org.api.get("accounts")
    assert expired.status_code == 401
    assert "expired" in expired.headers["WWW-Authenticate"]
    fresh = token(org.box, org.url, org.ca)
    assert org.api.get("accounts", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_a_token_for_another_resource_is_refused(org: Org) -> None:
    app = msal_app(org.box, org.url, org.ca)
    other = app.acquire_token_for_client(scopes=["https://api.businesscentral.dynamics.com/.default"])
    app.http_client.close()
    answer = org.api.get("accounts", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert answer.status_code == 401
    assert "audience" in answer.headers["WWW-Authenticate"]


def test_an_app_without_an_application_user_is_not_a_member_of_the_org(org: Org) -> None:
    outsider = org.box.tenant.register_app(secret="outsider-secret")
    bearer = token(org.box, org.url, org.ca, client_id=outsider.client_id, credential="outsider-secret")
    answer = httpx.get(org.url + API + "accounts", headers={"Authorization": f"Bearer {bearer}"},
                       verify=org.verify())
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "0x80072560"


def test_the_spec_emits_contract_f_settings_with_the_ca_beside_the_config(tmp_path: Path) -> None:
    spec = sandbox_spec("dynamics365_sales")
    assert (spec.name, spec.label, spec.role) == ("dynamics365_sales", "Dynamics 365 Sales", "crm")
    box = spec.create(SandboxOptions())
    url = "https://127.0.0.1:4443"
    settings = spec.settings(box, url, tmp_path)
    assert settings["type"] == "dynamics365_sales"
    assert settings["authority_url"] == settings["org_url"] == url
    assert settings["ca_bundle"] == "dynamics365-sales-ca.pem"
    assert (tmp_path / "dynamics365-sales-ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert settings["columns"]["payment_terms"] == "paymenttermscode"
    assert settings["milestones_table"] == "q2c_milestone"
    assert {"tenant_id", "client_id", "client_secret"} <= set(settings)
    connection = spec.connection(box, url, tmp_path)
    assert connection["token_url"] == f"{url}/{settings['tenant_id']}/oauth2/v2.0/token"
    assert connection["web_api_url"] == f"{url}/api/data/v9.2/"
    assert Path(connection["ca_bundle"]).exists()


def test_fresh_credentials_are_random_each_time(tmp_path: Path) -> None:
    spec = sandbox_spec("dynamics365_sales")
    first, second = (spec.settings(make_sandbox("dynamics365_sales", fresh_credentials=True), "https://h", tmp_path)
                     for _ in range(2))
    for key in ("tenant_id", "client_id", "client_secret"):
        assert first[key] != second[key]
    fixed = spec.settings(make_sandbox("dynamics365_sales"), "https://h", tmp_path)
    assert fixed["client_id"] == spec.settings(make_sandbox("dynamics365_sales"), "https://h", tmp_path)["client_id"]
