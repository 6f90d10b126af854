"""The connector against the sandbox over HTTP: auth, writes, queries, limits, faults, change events."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from salesforce_fixtures import CLIENT_ID, FAST_RETRY, KeyPair, seed_deal

from q2c.connectors.salesforce import (
    REPLAY_ALL,
    REST_ENDPOINT,
    ChangeEventStream,
    ReplayUnavailable,
    SalesforceClient,
)
from q2c.connectors.salesforce.settings import SalesforceSettings
from q2c.engine.errors import AuthFailed, RateLimited, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.kit import Faults, SandboxServer
from q2c.sandboxes.salesforce.app import SalesforceSandbox

NEW_OPPORTUNITY = {"Name": "Stark Industries PMO", "StageName": "Qualification", "CloseDate": "2024-10-31"}


def test_config_demands_exactly_one_grant(keys: KeyPair) -> None:
    with pytest.raises(ValueError, match=r"or username and private_key_path \(JWT bearer flow\)"):
        SalesforceSettings(login_url="https://globex.my.salesforce.com", client_id="x")
    with pytest.raises(ValueError, match=r"needs username and private_key_path \(only username is given\)"):
        SalesforceSettings(login_url="https://login.salesforce.com", client_id="x", username="a@b")
    jwt_config = SalesforceSettings(login_url="https://login.salesforce.com", client_id="x", username="a@b",
                                  private_key_pem=keys.private_pem)
    assert jwt_config.uses_jwt and keys.private_pem not in repr(jwt_config)


def test_jwt_bearer_client_round_trip(server: SandboxServer, keys: KeyPair, guards: GuardRegistry) -> None:
    config = SalesforceSettings(login_url=server.url, client_id=CLIENT_ID, username="integration@globex.example",
                              private_key_pem=keys.private_pem)
    with SalesforceClient(config, guards, retry=FAST_RETRY) as client:
        account = client.create("Account", {"Name": "Cyberdyne Systems"})
        assert client.get("Account", account, ["Name"])["Name"] == "Cyberdyne Systems"
        assert client.instance_url == server.url


def test_bad_credentials_fail_loudly_without_retrying(server: SandboxServer, guards: GuardRegistry) -> None:
    config = SalesforceSettings(login_url=server.url, client_id=CLIENT_ID, client_secret="not-it")
    with SalesforceClient(config, guards, retry=FAST_RETRY) as client, pytest.raises(AuthFailed) as caught:
        client.authenticate()
    assert "invalid_client" in str(caught.value) and "not-it" not in str(caught.value)


def test_crud_and_upsert(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    account = client.create("Account", {"Name": "Soylent", "Tax_Exempt__c": False})
    opportunity = client.create("Opportunity", {**NEW_OPPORTUNITY, "AccountId": account,
                                                "Start_Date__c": datetime(2024, 11, 1).date()})
    client.update("Opportunity", opportunity, {"StageName": "Closed Won"})
    record = client.get("Opportunity", opportunity)
    assert record["IsWon"] is True and record["Start_Date__c"] == "2024-11-01"
    created = client.upsert("Account", "ERP_Customer_Number__c", "C 77/A", {"Name": "Tyrell"})
    updated = client.upsert("Account", "ERP_Customer_Number__c", "C 77/A", {"Name": "Tyrell Corp"})
    assert created.created is True and updated.created is False and created.id == updated.id
    assert sandbox.state.record("Account", created.id)["ERP_Customer_Number__c"] == "C 77/A"  # type: ignore[index]
    client.delete("Account", account)
    assert sandbox.state.record("Opportunity", opportunity) is None


def test_duplicate_external_ids_become_an_actionable_rejection(client: SalesforceClient,
                                                               sandbox: SalesforceSandbox) -> None:
    first = sandbox.state.create("Opportunity", {**NEW_OPPORTUNITY, "ERP_Contract_Id__c": "K-9"})
    second = sandbox.state.create("Opportunity", {**NEW_OPPORTUNITY, "ERP_Contract_Id__c": "K-9"})
    with pytest.raises(RecordRejected) as caught:
        client.upsert("Opportunity", "ERP_Contract_Id__c", "K-9", {"Name": "which?"})
    violation = caught.value.violation
    assert violation.rule == "salesforce.DUPLICATE_EXTERNAL_ID" and violation.field == "ERP_Contract_Id__c"
    assert first in violation.message and second in violation.message
    assert "Merge the duplicate Opportunity records" in violation.action


def test_validation_errors_name_the_field(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    with pytest.raises(RecordRejected) as missing:
        client.create("Opportunity", {"Name": "no stage"})
    assert missing.value.violation.model_dump(include={"system", "object", "field", "rule"}) == {
        "system": "salesforce", "object": "Opportunity", "field": "StageName",
        "rule": "salesforce.REQUIRED_FIELD_MISSING"}
    assert "StageName, CloseDate" in missing.value.violation.action
    opportunity = sandbox.state.create("Opportunity", NEW_OPPORTUNITY)
    with pytest.raises(RecordRejected) as read_only:
        client.update("Opportunity", opportunity, {"IsWon": True})
    assert read_only.value.violation.record_id == opportunity
    assert read_only.value.violation.rule == "salesforce.INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(RecordRejected) as gone:
        client.get("Opportunity", "006Dn000000zzzzIAA")
    assert gone.value.violation.rule == "salesforce.NOT_FOUND"
    with pytest.raises(ValueError, match="without losing precision"):
        client.update("Opportunity", opportunity, {"Amount": Decimal("0.12345678901234567890")})


def test_query_follows_next_records_url(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    for n in range(420):
        sandbox.state.create("Account", {"Name": f"Prospect {n:03d}"})
    names = [r["Name"] for r in client.query("SELECT Name FROM Account ORDER BY Name", batch_size=200)]
    assert names == [f"Prospect {n:03d}" for n in range(420)]
    assert sum(v for k, v in sandbox.stats.by_path.items() if "/query/01g" in k) == 2


def test_malformed_soql_is_rejected_with_the_salesforce_code(client: SalesforceClient) -> None:
    with pytest.raises(RecordRejected) as caught:
        list(client.query("SELECT Id FROM Opportunity WHERE IsWon = true OR IsClosed = true"))
    assert caught.value.violation.rule == "salesforce.MALFORMED_QUERY"
    assert caught.value.violation.object == "Opportunity"
    assert "OR between conditions" in caught.value.violation.message


def test_limit_exceeded_is_absorbed_until_the_allocation_resets(client: SalesforceClient,
                                                                sandbox: SalesforceSandbox, server: SandboxServer,
                                                                guards: GuardRegistry) -> None:
    account = sandbox.state.create("Account", {"Name": "Vandelay Industries"})
    client.get("Account", account)
    assert client.api_usage == (1, 5_000)
    sandbox.state.set_api_usage(5_000)
    resetter = threading.Timer(0.15, lambda: httpx.put(f"{server.url}/__sandbox/salesforce/api-usage",
                                                       json={"used": 0}))
    resetter.start()
    try:
        assert client.get("Account", account, ["Name"])["Name"] == "Vandelay Industries"
    finally:
        resetter.join()
    assert guards.get("salesforce", REST_ENDPOINT).stats.rate_limited >= 1
    assert client.api_usage == (1, 5_000)


def test_limit_that_stays_exhausted_surfaces_as_rate_limited(client: SalesforceClient,
                                                             sandbox: SalesforceSandbox) -> None:
    client.authenticate()
    sandbox.state.set_api_usage(5_000)
    with pytest.raises(RateLimited):
        client.get("Account", "001Dn0000000001IAA")
    assert client.api_usage == (5_000, 5_000)


def test_expired_session_is_renewed_once(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    account = sandbox.state.create("Account", {"Name": "Pied Piper"})
    first_token = client.access_token
    sandbox.state.expire_sessions()
    assert client.get("Account", account)["Name"] == "Pied Piper"
    assert client.access_token != first_token


def test_injected_server_errors_are_retried(client: SalesforceClient, sandbox: SalesforceSandbox,
                                           guards: GuardRegistry) -> None:
    account = sandbox.state.create("Account", {"Name": "Massive Dynamic"})
    client.authenticate()
    sandbox.set_faults(Faults(error_rate=0.5, seed=11))
    for _ in range(8):
        assert client.get("Account", account)["Name"] == "Massive Dynamic"
    assert sandbox.stats.injected_errors > 0
    assert guards.get("salesforce", REST_ENDPOINT).stats.retries >= sandbox.stats.injected_errors
    sandbox.set_faults(Faults(down=True))
    with pytest.raises(TransientError):
        client.get("Account", account)


def test_won_opportunities_since_a_watermark(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    lost = sandbox.state.create("Opportunity", {**NEW_OPPORTUNITY, "StageName": "Closed Lost"})
    won = client.won_opportunities(None)
    assert [o["Id"] for o in won] == [deal.opportunity_id] and lost not in {o["Id"] for o in won}
    watermark = datetime.fromisoformat(won[-1]["SystemModstamp"].replace("+0000", "+00:00"))
    assert client.won_opportunities(watermark) == []
    time.sleep(0.002)
    later = sandbox.state.create("Opportunity", {**NEW_OPPORTUNITY, "StageName": "Closed Won"})
    assert [o["Id"] for o in client.won_opportunities(watermark)] == [later]


def test_opportunity_bundle_gathers_hierarchy_lines_and_milestones(client: SalesforceClient,
                                                                   sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    bundle = client.opportunity_bundle(deal.opportunity_id)
    assert bundle["opportunity"]["Id"] == deal.opportunity_id
    assert bundle["account"]["Id"] == deal.account_id
    assert [p["Id"] for p in bundle["parent_accounts"]] == [deal.group_id]
    assert [li["Id"] for li in bundle["line_items"]] == [deal.fixed_fee_line, deal.tm_line, deal.milestone_line]
    assert [m["Id"] for m in bundle["milestones"]] == list(deal.milestone_ids)
    with pytest.raises(RecordRejected) as missing:
        client.opportunity_bundle("006Dn000000zzzzIAA")
    assert missing.value.violation.rule == "salesforce.NOT_FOUND"


def test_erp_ids_are_written_back(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    client.write_erp_ids(account_id=deal.account_id, opportunity_id=deal.opportunity_id, customer_number="C-3001",
                         contract_id="CT-88", project_id=None)
    assert sandbox.state.record("Account", deal.account_id)["ERP_Customer_Number__c"] == "C-3001"  # type: ignore[index]
    opportunity = sandbox.state.record("Opportunity", deal.opportunity_id)
    assert opportunity is not None
    assert opportunity["ERP_Contract_Id__c"] == "CT-88" and opportunity["ERP_Project_Id__c"] is None


# --- change data capture ---------------------------------------------------------------------------


def test_change_events_carry_changed_fields_and_our_client_name(client: SalesforceClient,
                                                                sandbox: SalesforceSandbox) -> None:
    stream = ChangeEventStream(client)
    assert stream.poll(0) == []
    opportunity = client.create("Opportunity", NEW_OPPORTUNITY)
    client.update("Opportunity", opportunity, {"StageName": "Closed Won"})
    sandbox.state.update("Opportunity", opportunity, {"Legal_Entity__c": "US01", "End_Date__c": "2025-03-31"})
    events = stream.poll(2)
    assert [e.change_type for e in events] == ["CREATE", "UPDATE", "UPDATE"]
    created, won, edited = events
    assert created.record_ids == (opportunity,) and created.fields["Name"] == NEW_OPPORTUNITY["Name"]
    assert won.change_origin == "com/salesforce/api/rest/59.0;client=q2c" and won.written_by("q2c")
    assert set(won.changed_fields) == {"StageName", "IsWon", "IsClosed", "LastModifiedDate"}
    assert won.fields["StageName"] == "Closed Won" and won.fields["IsWon"] is True
    assert edited.change_origin == "" and not edited.written_by("q2c")  # a person in the browser
    assert "LastModifiedById" in edited.changed_fields and edited.commit_user != won.commit_user
    assert won.entity_name == "Opportunity" and won.commit_number > created.commit_number
    assert stream.last_replay_id == edited.replay_id
    stream.close()


def test_long_poll_waits_then_delivers(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    stream = ChangeEventStream(client)
    started = time.monotonic()
    assert stream.poll(0.3) == []
    assert time.monotonic() - started >= 0.25
    timer = threading.Timer(0.2, lambda: sandbox.state.create("Opportunity", NEW_OPPORTUNITY))
    timer.start()
    started = time.monotonic()
    events = stream.poll(2.5)
    timer.join()
    assert len(events) == 1 and time.monotonic() - started < 2.0


def test_stream_rehandshakes_and_resumes_after_the_server_forgets_it(client: SalesforceClient,
                                                                     sandbox: SalesforceSandbox) -> None:
    stream = ChangeEventStream(client)
    stream.poll(0)
    first = sandbox.state.create("Opportunity", NEW_OPPORTUNITY)
    assert [e.record_ids for e in stream.poll(1)] == [(first,)]
    sandbox.state.drop_streaming_clients()
    sandbox.state.update("Opportunity", first, {"StageName": "Closed Won"})
    sandbox.state.expire_sessions()
    events = stream.poll(1)
    assert [(e.change_type, e.fields.get("StageName")) for e in events] == [("UPDATE", "Closed Won")]
    sandbox.state.expire_sessions()  # known client, dead session: 401::Authentication invalid on connect
    sandbox.state.update("Opportunity", first, {"Legal_Entity__c": "UK01"})
    assert [e.fields.get("Legal_Entity__c") for e in stream.poll(1)] == ["UK01"]


def test_replay_all_and_unavailable_replay_ids(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    history = ChangeEventStream(client, replay_id=REPLAY_ALL).poll(0)
    assert history[0].change_type == "CREATE" and history[-1].fields.get("StageName") == "Closed Won"
    assert all(e.record_ids == (deal.opportunity_id,) for e in history)
    resumed = ChangeEventStream(client, replay_id=history[1].replay_id).poll(0)
    assert [e.replay_id for e in resumed] == [e.replay_id for e in history[2:]]
    with pytest.raises(ReplayUnavailable):
        ChangeEventStream(client, replay_id=10_000).poll(0)


def test_the_last_of_the_daily_allocation_is_left_to_others(client: SalesforceClient, sandbox: SalesforceSandbox,
                                                           guards: GuardRegistry) -> None:
    """Sforce-Limit-Info near the allocation pauses q2c before the hard 403, leaving the reserve to others."""
    account = sandbox.state.create("Account", {"Name": "Kramerica"})
    client.get("Account", account)
    guard = guards.get("salesforce", REST_ENDPOINT)
    waited_before = guard.limiter.waited_seconds
    sandbox.state.set_api_usage(4_800)  # 96% of 5,000 used: inside the 5% reserve
    client.get("Account", account)
    client.get("Account", account)  # this one waits for the reserve pause
    assert guard.limiter.waited_seconds - waited_before >= 0.15
    assert guard.stats.rate_limited == 0  # slowed down without ever being refused
