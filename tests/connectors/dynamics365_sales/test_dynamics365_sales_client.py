"""The Web API client against the sandbox: the token and its refresh after a 401, paging through
`@odata.nextLink`, Decimal numbers, alternate-key upserts with If-Match / If-None-Match, ETag concurrency,
the error body mapped to q2c's errors, and service protection's 429 with Retry-After."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dynamics365_sales_fixtures import enter_deal
from pydantic import SecretStr

from q2c.connectors.dynamics365_sales import DataverseClient, Dynamics365SalesSettings
from q2c.connectors.dynamics365_sales.client import StaleRow
from q2c.engine.errors import AuthFailed, RateLimited, RecordRejected
from q2c.engine.resilience import GuardRegistry, RetryPolicy
from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox
from q2c.sandboxes.kit import Faults


def test_who_am_i_is_the_application_user_of_the_registered_app(client: DataverseClient,
                                                                 box: DataverseSandbox) -> None:
    assert client.app_user_id() == box.application_user_id().lower()
    assert client.token.requests == 1


def test_a_token_refused_before_its_time_is_asked_for_again_once(client: DataverseClient,
                                                                 box: DataverseSandbox) -> None:
    client.app_user_id()
    box.tenant.expire_tokens()
    assert list(client.rows("transactioncurrencies", select=["isocurrencycode"]))
    assert client.token.requests == 2  # the 401 dropped msal's cached token; the retry got a fresh one


def test_a_wrong_secret_is_refused_naming_the_key(settings: Dynamics365SalesSettings) -> None:
    wrong = settings.model_copy(update={"client_secret": SecretStr("not-the-secret")})
    with DataverseClient(wrong, GuardRegistry()) as client, pytest.raises(AuthFailed) as refused:
        client.app_user_id()
    assert "systems.crm.client_secret" in refused.value.message


def test_rows_follow_next_links_page_by_page(settings: Dynamics365SalesSettings, box: DataverseSandbox) -> None:
    for n in range(5):
        box.ui_create("account", {"name": f"Acme {n}", "accountnumber": f"ACME-{n}"})
    small = settings.model_copy(update={"page_size": 2})
    with DataverseClient(small, GuardRegistry()) as client:
        rows = list(client.rows("accounts", select=["accountid", "accountnumber"], filter="startswith(name,'Acme')",
                                orderby="accountnumber asc"))
    assert [r["accountnumber"] for r in rows] == [f"ACME-{n}" for n in range(5)]
    assert box.stats.requests >= 3  # three pages of at most two


def test_amounts_come_back_as_decimals(client: DataverseClient, box: DataverseSandbox) -> None:
    _account, opportunity, _line = enter_deal(box, hours=3, rate=333)
    row = client.row("opportunities", opportunity, select=["totalamount"], table="opportunity")
    assert row is not None and row["totalamount"] == Decimal("999.00") and isinstance(row["totalamount"], Decimal)


def test_upsert_by_alternate_key_creates_updates_and_honours_the_conditions(client: DataverseClient,
                                                                            box: DataverseSandbox) -> None:
    created = client.upsert("accounts", {"accountnumber": "INIT-1"}, {"name": "Initech"}, table="account",
                            only="create")
    assert created and box.read("account", created)["name"] == "Initech"
    client.upsert("accounts", {"accountnumber": "INIT-1"}, {"name": "Initech Corp"}, table="account")
    assert box.read("account", created)["name"] == "Initech Corp"
    with pytest.raises(RecordRejected) as exists:
        client.upsert("accounts", {"accountnumber": "INIT-1"}, {"name": "again"}, table="account", only="create")
    assert exists.value.violation.object == "account" and "accountnumber='INIT-1'" in exists.value.violation.record_id
    with pytest.raises(RecordRejected) as missing:
        client.upsert("accounts", {"accountnumber": "NOPE"}, {"name": "x"}, table="account", only="update")
    assert "no longer exists" in missing.value.violation.action
    assert not [a for a in box.rows("account") if a["accountnumber"] == "NOPE"]


def test_a_stale_etag_is_refused_and_a_fresh_one_accepted(client: DataverseClient, box: DataverseSandbox) -> None:
    account = box.ui_create("account", {"name": "Globex"})
    row = client.row("accounts", str(account["accountid"]), select=["name"], table="account")
    assert row is not None
    box.ui_update("account", str(account["accountid"]), {"name": "Globex Corporation"})  # someone else, meanwhile
    with pytest.raises(StaleRow):
        client.update("accounts", str(account["accountid"]), {"q2c_taxid": "X"}, etag=row["@odata.etag"],
                      table="account")
    fresh = client.row("accounts", str(account["accountid"]), select=["name"], table="account")
    assert fresh is not None
    client.update("accounts", str(account["accountid"]), {"q2c_taxid": "X"}, etag=fresh["@odata.etag"],
                  table="account")
    assert box.read("account", str(account["accountid"]))["q2c_taxid"] == "X"


def test_an_unknown_column_is_a_rejection_naming_it(client: DataverseClient) -> None:
    with pytest.raises(RecordRejected) as caught:
        list(client.rows("accounts", select=["accountid", "q2c_nosuchcolumn"], table="account"))
    v = caught.value.violation
    assert (v.system, v.object, v.field) == ("dynamics365_sales", "account", "q2c_nosuchcolumn")
    assert v.rule.startswith("dynamics365_sales.0x") and "q2c_nosuchcolumn" in v.message


def test_a_missing_row_reads_as_none(client: DataverseClient) -> None:
    assert client.row("accounts", "00000000-0000-4000-8000-00000000dead", select=["name"], table="account") is None


def test_service_protection_429_is_a_rate_limit_with_its_retry_after(settings: Dynamics365SalesSettings,
                                                                       box: DataverseSandbox) -> None:
    with DataverseClient(settings, GuardRegistry(), retry=RetryPolicy(max_attempts=1)) as client:
        client.app_user_id()  # the token first: Entra's endpoint is not throttled
        box.set_faults(Faults(throttle_rate=1.0))
        with pytest.raises(RateLimited) as throttled:
            list(client.rows("accounts", select=["name"]))
    assert throttled.value.retry_after is not None and throttled.value.retry_after >= 1


def _self_signed() -> tuple[str, str]:
    """(private key PEM, certificate PEM) of a throwaway app certificate."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "q2c integration")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def test_an_app_with_a_certificate_signs_in_and_writes_as_its_own_application_user(
        settings: Dynamics365SalesSettings, box: DataverseSandbox) -> None:
    key_pem, cert_pem = _self_signed()
    app_id = "5f0c3a4e-2b1d-4e6f-9a8b-7c6d5e4f3a21"
    user = box.add_application(app_id, certificate_pem=cert_pem)
    with_cert = Dynamics365SalesSettings.model_validate({
        **settings.model_dump(exclude={"client_secret", "client_id"}), "client_id": app_id,
        "certificate_pem": key_pem + cert_pem})
    with DataverseClient(with_cert, GuardRegistry()) as client:
        assert client.app_user_id() == user.lower()
        created = client.upsert("accounts", {"accountnumber": "CERT-1"}, {"name": "Signed in"}, table="account")
    assert created and box.read("account", created)["_modifiedby_value"] == user
