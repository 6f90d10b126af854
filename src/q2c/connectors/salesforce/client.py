"""Salesforce REST connector: OAuth, sObject reads and writes, SOQL, and the opportunity bundle.

It talks to whatever `login_url` names (https://login.salesforce.com, a My Domain host, or a
sandbox) and then to the `instance_url` the token response returns. Every call goes through
`VendorHttp` (system "salesforce") with three guarded endpoints: "oauth-token", "rest-api" and
"streaming-api". Salesforce signals an exhausted daily API allocation with 403
REQUEST_LIMIT_EXCEEDED (not 429), which is mapped to a long wait; `Sforce-Limit-Info` is tracked in
`api_usage`. An expired session (401 INVALID_SESSION_ID) is renewed once, transparently. A 400/404
becomes `RecordRejected` carrying Salesforce's errorCode, message and field.

Every write carries `Sforce-Call-Options: client=<call_options_client>`, so change events caused by
q2c say `;client=q2c` in their changeOrigin and can be recognised as our own echo.

The org's fields q2c relies on (custom fields end in __c). The queries name only fields the org's
describe lists (`fields.py`): a missing one is a `FieldsMissing` naming it and where to fix it,
never a refused query. CurrencyIsoCode exists only in multicurrency orgs; in a single-currency org
every amount is in the org's currency, Organization.DefaultCurrencyIsoCode (`org_currency`).

Account
    Name, ParentId (hierarchy), BillingCountry, CurrencyIsoCode (multicurrency orgs),
    Legal_Entity__c (the firm's contracting entity, e.g. "US01"), Tax_Id__c, Tax_Code__c,
    Tax_Exempt__c (checkbox), Payment_Terms__c ("Net 30", "Due on Receipt"),
    ERP_Customer_Number__c (external id; written back by q2c, owned by the ERP).
Opportunity
    Name, AccountId, StageName, IsWon/IsClosed (derived), CloseDate, Amount, CurrencyIsoCode (ditto),
    Legal_Entity__c, Start_Date__c, End_Date__c,
    ERP_Contract_Id__c and ERP_Project_Id__c (written back by q2c, owned by the ERP).
OpportunityLineItem
    OpportunityId, Service_Offering__c, Billing_Type__c (picklist: "Fixed Fee",
    "Time and Materials", "Milestone", "Retainer"), TotalPrice, Quantity (estimated hours; on a
    Retainer the hours prepaid over its term), ServiceDate (a Retainer's first day),
    Cap_Amount__c (not-to-exceed for Time and Materials), and the Retainer fields the settings name
    (term months, overage rate, rollover months).
Opportunity_Milestone__c (custom object, master-detail to Opportunity)
    Opportunity__c, Line_Item_Id__c (the 18-character id of its product line: Salesforce allows no
    lookup to OpportunityLineItem), Name, Amount__c, Due_Date__c, Status__c ("Pending",
    "Completed", "Accepted"), Completed_On__c.
Billing_Schedule_Line__c (optional custom object, master-detail to Opportunity; its name is a setting)
    Opportunity__c, Line_Item_Id__c (as on a milestone), Name, Percent__c (of the line's fee),
    Bill_Date__c: a Fixed Fee line's billing schedule. Read only when the org's describe has the
    object; an org without it reads and bills exactly as before (monthly instalments).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import jwt

from q2c.connectors.http import VendorHttp
from q2c.connectors.salesforce.describe import Describes, ObjectInfo
from q2c.connectors.salesforce.fields import (
    ACCOUNT,
    BILLING_SCHEDULE,
    LINE_ITEM,
    MILESTONE,
    OPPORTUNITY,
    FieldProblem,
    FieldsMissing,
    ObjectFields,
    select_list,
    write_problems,
)
from q2c.connectors.salesforce.mapping import erp_writeback_fields
from q2c.connectors.salesforce.settings import SalesforceSettings
from q2c.connectors.salesforce.soql import literal
from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed, ConnectorError, RecordRejected, TransientError
from q2c.engine.resilience import EndpointGuard, GuardRegistry, RetryPolicy

SYSTEM = "salesforce"
TOKEN_ENDPOINT = "oauth-token"
REST_ENDPOINT = "rest-api"
STREAMING_ENDPOINT = "streaming-api"
ENDPOINTS = (TOKEN_ENDPOINT, REST_ENDPOINT, STREAMING_ENDPOINT)
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_HIERARCHY_DEPTH = 10
_LIMIT_INFO = re.compile(r"(?:^|[\s;,])api-usage=(\d+)/(\d+)")
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)
ORG_CURRENCY_FIELD = "DefaultCurrencyIsoCode"  # Organization's: the one currency of a single-currency org



@dataclass(frozen=True)
class UpsertResult:
    id: str
    created: bool


def _wire_number(value: Decimal) -> float:
    """JSON carries numbers as binary floats; refuse an amount that would not survive the trip."""
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} cannot be sent to Salesforce as a JSON number without losing precision")
    return number


def _wire(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _wire_number(value)
    if isinstance(value, datetime):
        return literal(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to Salesforce")


def _encode(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(fields), default=_wire).encode()


class SalesforceClient:
    """One org's REST API, guarded and authenticated. Thread-safe."""

    def __init__(self, config: SalesforceSettings, guards: GuardRegistry, *, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._guards = guards
        self._retry = retry
        self._http = VendorHttp(SYSTEM, config.login_url, guard_for=self._guard,
                                headers={"Accept": "application/json"}, timeout=config.timeout_seconds,
                                throttle_signal=self._throttle_signal, sleep=sleep)
        self._auth_lock = threading.Lock()
        self._token: str | None = None
        self._instance_url: str | None = None
        self._api_usage: tuple[int, int] | None = None
        self.describes = Describes(self._describe)
        self._org_currency: tuple[str | None] | None = None  # (None,) in a multicurrency org

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _guard(self, endpoint: str) -> EndpointGuard:
        return self._guards.get(SYSTEM, endpoint, retry=self._retry)

    # --- limits ----------------------------------------------------------------------------
    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, allocation) of the org's daily API requests, from the last Sforce-Limit-Info seen."""
        return self._api_usage

    def _throttle_signal(self, response: httpx.Response) -> float | None:
        """Sees every response: records the limit header, and turns REQUEST_LIMIT_EXCEEDED into a wait."""
        match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            used, allocation = int(match.group(1)), int(match.group(2))
            self._api_usage = (used, allocation)
            if allocation and allocation - used <= allocation * self.config.api_reserve_share:
                # Leave the org's last requests to people and other integrations: slow down before the
                # hard 403 REQUEST_LIMIT_EXCEEDED, instead of spending the reserve.
                self._guard(REST_ENDPOINT).limiter.pause(self.config.reserve_wait_seconds)
        if response.status_code == 403 and _error_code(response) == "REQUEST_LIMIT_EXCEEDED":
            return self.config.limit_exceeded_wait_seconds
        return None

    # --- authentication ---------------------------------------------------------------------
    @property
    def instance_url(self) -> str:
        if self._instance_url is None:
            self.authenticate()
        assert self._instance_url is not None
        return self._instance_url

    def authenticate(self) -> None:
        """Get a fresh access token and instance URL with the configured grant."""
        headers: dict[str, str] = {}
        if self.config.uses_jwt:
            form = {"grant_type": JWT_BEARER_GRANT, "assertion": self._assertion()}
        else:
            assert self.config.client_secret is not None
            form = {"grant_type": "client_credentials"}
            pair = f"{self.config.client_id}:{self.config.client_secret.get_secret_value()}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        response = self._http.send("POST", "/services/oauth2/token", endpoint=TOKEN_ENDPOINT, data=form,
                                   headers=headers)
        body = self._http.json(response, endpoint=TOKEN_ENDPOINT)
        if response.status_code != 200:
            error = body.get("error", "unknown_error") if isinstance(body, dict) else "unknown_error"
            description = body.get("error_description", "") if isinstance(body, dict) else str(body)[:200]
            raise AuthFailed(SYSTEM, f"token request to {self.config.login_url} refused (HTTP "
                                     f"{response.status_code}): {error}: {description}")
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("instance_url"):
            raise TransientError(SYSTEM, "token response without access_token/instance_url")
        with self._auth_lock:
            self._token = str(body["access_token"])
            self._instance_url = str(body["instance_url"]).rstrip("/")

    def _assertion(self) -> str:
        assert self.config.username is not None
        claims = {"iss": self.config.client_id, "sub": self.config.username, "aud": self.config.jwt_audience,
                  "exp": int(time.time()) + 180}
        try:
            return jwt.encode(claims, self.config.private_key(), algorithm="RS256")
        except (ValueError, TypeError) as exc:
            raise AuthFailed(SYSTEM, f"private_key_pem is not a usable RSA private key: {exc}") from None

    def renew_session(self, stale_token: str | None) -> None:
        """Re-authenticate unless another thread already replaced `stale_token`."""
        if self._token is None or self._token == stale_token:
            self.authenticate()

    @property
    def access_token(self) -> str:
        if self._token is None:
            self.authenticate()
        assert self._token is not None
        return self._token

    # --- transport ---------------------------------------------------------------------------
    def _data_path(self, suffix: str) -> str:
        return f"/services/data/v{self.config.api_version}{suffix}"

    def _call(self, method: str, path: str, *, endpoint: str = REST_ENDPOINT, body: Mapping[str, Any] | None = None,
              params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
              content: bytes | None = None, timeout: float | None = None) -> httpx.Response:
        """Send to the instance with the session; a 401 INVALID_SESSION_ID renews the session once."""
        for attempt in range(2):
            token = self.access_token
            all_headers = {"Authorization": f"Bearer {token}",
                           "Sforce-Call-Options": f"client={self.config.call_options_client}", **(headers or {})}
            payload = content
            if body is not None:
                payload = _encode(body)
            if payload is not None:
                all_headers["Content-Type"] = "application/json"
            extra: dict[str, Any] = {}
            if timeout is not None:
                extra["timeout"] = timeout
            response = self._http.send(method, self.instance_url + path, endpoint=endpoint, params=params,
                                       content=payload, headers=all_headers, **extra)
            if response.status_code == 401 and attempt == 0:
                self.renew_session(token)
                continue
            if response.status_code == 401:
                raise AuthFailed(SYSTEM, f"{method} {path}: session refused right after re-authentication "
                                         f"({_error_code(response) or 'HTTP 401'})")
            return response
        raise AssertionError("unreachable")

    def _json(self, response: httpx.Response) -> Any:
        return self._http.json(response, endpoint=REST_ENDPOINT)

    def _check(self, response: httpx.Response, *, sobject: str, record_id: str, ok: tuple[int, ...]) -> None:
        status = response.status_code
        if status in ok:
            return
        errors = _errors(response)
        first = errors[0] if errors else {"errorCode": f"HTTP_{status}", "message": response.text[:300]}
        code = str(first.get("errorCode") or f"HTTP_{status}")
        if status == 403:
            raise AuthFailed(SYSTEM, f"{sobject} {record_id}: refused (403 {code}): {first.get('message', '')}. "
                                     "Check the integration user's profile and permission sets in Salesforce")
        if status in {400, 404, 409, 412, 428}:
            fields = [str(f) for f in first.get("fields") or []]
            field = fields[0] if fields else None
            message = "; ".join(str(e.get("message", "")) for e in errors) or str(first.get("message", ""))
            raise RecordRejected(Violation(system=SYSTEM, object=sobject, record_id=record_id, field=field,
                                           rule=f"salesforce.{code}", message=message,
                                           action=_action(code, sobject, record_id, fields)))
        raise ConnectorError(SYSTEM, f"{sobject} {record_id}: unexpected HTTP {status} ({code})")

    # --- describe ---------------------------------------------------------------------------
    def _describe(self, sobject: str) -> ObjectInfo | None:
        """GET /sobjects/{Type}/describe; None when the integration user may not see the object."""
        response = self._call("GET", self._data_path(f"/sobjects/{quote(sobject, safe='')}/describe"))
        if response.status_code == 404:
            return None
        self._check(response, sobject=sobject, record_id="(describe)", ok=(200,))
        body = self._json(response)
        try:
            return ObjectInfo.from_describe(body if isinstance(body, dict) else {})
        except ValueError as exc:
            raise TransientError(SYSTEM, f"describe of {sobject} is not a describe answer: {exc}") from None

    def select_fields(self, spec: ObjectFields, *, record_id: str) -> list[str]:
        """The fields of `spec` this org has, or FieldsMissing (about `record_id`) naming the missing ones."""
        return select_list(spec, self.describes.get(spec.sobject), record_id=record_id)

    def org_currency(self) -> str | None:
        """The org's one currency when it is a single-currency org (no CurrencyIsoCode on Opportunity), else None.

        Read from Organization.DefaultCurrencyIsoCode, once per client. Salesforce documents the same value
        as the SOAP getUserInfo result's orgDefaultCurrencyIsoCode ("applicable only when
        organizationMultiCurrency is false", API Developer Guide, "GetUserInfoResult"); the Organization
        field is how integrations read it over REST, not re-confirmed in the Object Reference, so it is read
        only when Organization's describe lists it, and an org that does not is refused with the field named.
        """
        if self._org_currency is not None:
            return self._org_currency[0]
        opportunity = self.describes.get("Opportunity")
        if opportunity is None or opportunity.field("CurrencyIsoCode") is not None:
            self._org_currency = (None,)
            return None
        organization = self.describes.get("Organization")
        if organization is None or organization.field(ORG_CURRENCY_FIELD) is None:
            raise RecordRejected(Violation(
                system=SYSTEM, object="Organization", record_id="(org)", field=ORG_CURRENCY_FIELD,
                rule="salesforce.setup.org_currency",
                message="the org has a single currency (Opportunity has no CurrencyIsoCode) but the q2c integration "
                        f"user cannot read Organization.{ORG_CURRENCY_FIELD}, so q2c cannot tell which",
                action="Salesforce admin: let the integration user read the Organization (its profile or permission "
                       "set: View Setup and Configuration), or enable multiple currencies, then replay"))
        rows = list(self.query(f"SELECT {ORG_CURRENCY_FIELD} FROM Organization"))
        value = str(rows[0].get(ORG_CURRENCY_FIELD) or "") if rows else ""
        if not value:
            raise TransientError(SYSTEM, f"Organization.{ORG_CURRENCY_FIELD} came back empty")
        self._org_currency = (value,)
        return value

    # --- sObjects ---------------------------------------------------------------------------
    def get(self, sobject: str, record_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        params = {"fields": ",".join(fields)} if fields else None
        response = self._call("GET", self._data_path(f"/sobjects/{sobject}/{quote(record_id, safe='')}"),
                              params=params)
        self._check(response, sobject=sobject, record_id=record_id, ok=(200,))
        return dict(self._json(response))

    def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        response = self._call("POST", self._data_path(f"/sobjects/{sobject}/"), body=fields)
        self._check(response, sobject=sobject, record_id="(new record)", ok=(201,))
        return str(self._json(response)["id"])

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        response = self._call("PATCH", self._data_path(f"/sobjects/{sobject}/{quote(record_id, safe='')}"),
                              body=fields)
        self._check(response, sobject=sobject, record_id=record_id, ok=(204,))

    def delete(self, sobject: str, record_id: str) -> None:
        response = self._call("DELETE", self._data_path(f"/sobjects/{sobject}/{quote(record_id, safe='')}"))
        self._check(response, sobject=sobject, record_id=record_id, ok=(204,))

    def upsert(self, sobject: str, external_field: str, value: str, fields: Mapping[str, Any]) -> UpsertResult:
        """Create or update by an external id field; several records sharing the value is a rejection."""
        path = self._data_path(f"/sobjects/{sobject}/{external_field}/{quote(value, safe='')}")
        response = self._call("PATCH", path, body=fields)
        if response.status_code == 300:
            urls = self._json(response)
            ids = [str(u).rsplit("/", 1)[-1] for u in urls] if isinstance(urls, list) else []
            raise RecordRejected(Violation(
                system=SYSTEM, object=sobject, record_id=value, field=external_field,
                rule="salesforce.DUPLICATE_EXTERNAL_ID",
                message=f"{len(ids)} {sobject} records share {external_field} = {value!r}: {', '.join(ids)}",
                action=f"Merge the duplicate {sobject} records or correct {external_field} in Salesforce so that "
                       f"{value!r} names one record, then replay"))
        self._check(response, sobject=sobject, record_id=value, ok=(200, 201, 204))
        if response.status_code == 204:  # API versions before 46.0 answer an update with no body
            record = self._call("GET", path, params={"fields": "Id"})
            self._check(record, sobject=sobject, record_id=value, ok=(200,))
            return UpsertResult(str(self._json(record)["Id"]), False)
        body = self._json(response)
        return UpsertResult(str(body["id"]), response.status_code == 201 or bool(body.get("created")))

    # --- SOQL -------------------------------------------------------------------------------
    def query(self, soql: str, *, batch_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every record the query returns, following nextRecordsUrl page by page."""
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else None
        match = _FROM.search(soql)
        sobject = match.group(1) if match else "query"
        response = self._call("GET", self._data_path("/query"), params={"q": soql}, headers=headers)
        while True:
            self._check(response, sobject=sobject, record_id=f"SOQL: {soql[:150]}", ok=(200,))
            page = self._json(response)
            if not isinstance(page, dict) or not isinstance(page.get("records"), list):
                raise TransientError(SYSTEM, f"query answer without records for {sobject}")
            for record in page["records"]:
                yield dict(record)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            response = self._call("GET", str(next_url), headers=headers)

    def won_opportunities(self, since: datetime | None) -> list[dict[str, Any]]:
        """Closed-won opportunities modified after `since` (all of them when None), oldest change first:
        their Id and SystemModstamp (standard fields every org has; `opportunity_bundle` reads the rest)."""
        conditions = ["IsWon = true"]
        if since is not None:
            conditions.append(f"SystemModstamp > {literal(since)}")
        return list(self.query(f"SELECT Id, SystemModstamp FROM Opportunity "
                               f"WHERE {' AND '.join(conditions)} ORDER BY SystemModstamp, Id"))

    def _select(self, spec: ObjectFields, record_id: str) -> str:
        return ", ".join(self.select_fields(spec, record_id=record_id))

    def _account(self, account_id: str) -> dict[str, Any] | None:
        rows = list(self.query(f"SELECT {self._select(ACCOUNT, account_id)} FROM Account "
                               f"WHERE Id = {literal(account_id)}"))
        return rows[0] if rows else None

    def opportunity_fields(self) -> ObjectFields:
        """Opportunity's fields, with the contract-change fields the settings name (approval, change order)."""
        cfg = self.config
        extra = tuple(f for f in (cfg.change_approval_field, cfg.change_order_field, cfg.change_effective_date_field)
                      if f and f not in OPPORTUNITY.reads)
        return replace(OPPORTUNITY, reads=OPPORTUNITY.reads + extra) if extra else OPPORTUNITY

    def retainer_fields(self) -> dict[str, str]:
        """The settings' names of the Retainer line fields, by canonical name (those configured)."""
        named = {"term_months": self.config.line_term_months_field,
                 "overage_rate": self.config.line_overage_rate_field,
                 "rollover_months": self.config.line_rollover_months_field}
        return {key: name for key, name in named.items() if name}

    def line_item_fields(self) -> ObjectFields:
        """OpportunityLineItem's fields, with the Retainer fields the settings name."""
        extra = tuple(dict.fromkeys(f for f in self.retainer_fields().values() if f not in LINE_ITEM.reads))
        return replace(LINE_ITEM, reads=LINE_ITEM.reads + extra) if extra else LINE_ITEM

    def billing_schedule_fields(self) -> ObjectFields | None:
        """The billing schedule object's fields, under the name the settings give it, when the org has it
        (its describe answers); None in an org without it, or when the settings turn it off."""
        name = self.config.billing_schedule_object
        if name is None or self.describes.get(name) is None:
            return None
        return replace(BILLING_SCHEDULE, sobject=name)

    def billing_schedule_names(self) -> dict[str, str]:
        """The Salesforce names of the billing schedule's object and fields, by canonical name (for messages)."""
        name = self.config.billing_schedule_object
        if name is None:
            return {}
        return {"billing_schedule": name, "billing_schedule.percent": f"{name}.Percent__c",
                "billing_schedule.bill_date": f"{name}.Bill_Date__c"}

    def opportunity_bundle(self, opportunity_id: str) -> dict[str, Any]:
        """The opportunity with its account, the account's parents (nearest first), lines and milestones, and
        the org's currency when it is a single-currency org (`org_currency`, else None), and the names of the
        Retainer line fields the settings configure (`retainer_fields`, by canonical name); in an org with the
        billing schedule object, its records (`billing_schedules`) and its name (`billing_schedule_object`).

        FieldsMissing (about the opportunity) when the org lacks a field q2c reads, with every such field named.
        """
        problems: list[FieldProblem] = []
        opportunity_spec = self.opportunity_fields()
        line_spec = self.line_item_fields()
        schedule_spec = self.billing_schedule_fields()
        for spec in (opportunity_spec, ACCOUNT, line_spec, MILESTONE, *((schedule_spec,) if schedule_spec else ())):
            try:
                self.select_fields(spec, record_id=opportunity_id)
            except FieldsMissing as exc:
                problems.extend(exc.problems)
        if problems:
            raise FieldsMissing(problems, opportunity_id)
        opp_id = literal(opportunity_id)
        rows = list(self.query(f"SELECT {self._select(opportunity_spec, opportunity_id)} FROM Opportunity "
                               f"WHERE Id = {opp_id}"))
        if not rows:
            raise RecordRejected(Violation(
                system=SYSTEM, object="Opportunity", record_id=opportunity_id, field=None,
                rule="salesforce.NOT_FOUND", message="the opportunity does not exist or is not visible to q2c",
                action="Check that the opportunity was not deleted and that the integration user can see it"))
        opportunity = rows[0]
        account = self._account(opportunity["AccountId"]) if opportunity.get("AccountId") else None
        parents: list[dict[str, Any]] = []
        seen = {account["Id"]} if account else set()
        parent_id = account.get("ParentId") if account else None
        while parent_id and parent_id not in seen and len(parents) < MAX_HIERARCHY_DEPTH:
            parent = self._account(parent_id)
            if parent is None:
                break
            parents.append(parent)
            seen.add(parent_id)
            parent_id = parent.get("ParentId")
        lines = list(self.query(f"SELECT {self._select(line_spec, opportunity_id)} FROM OpportunityLineItem "
                                f"WHERE OpportunityId = {opp_id} ORDER BY Id"))
        milestones = list(self.query(f"SELECT {self._select(MILESTONE, opportunity_id)} FROM "
                                     f"Opportunity_Milestone__c WHERE Opportunity__c = {opp_id} "
                                     "ORDER BY Due_Date__c, Id"))
        bundle = {"opportunity": opportunity, "account": account, "parent_accounts": parents, "line_items": lines,
                  "milestones": milestones, "org_currency": self.org_currency(),
                  "retainer_fields": self.retainer_fields()}
        if schedule_spec is not None:
            bundle["billing_schedule_object"] = schedule_spec.sobject
            bundle["billing_schedules"] = list(self.query(
                f"SELECT {self._select(schedule_spec, opportunity_id)} FROM {schedule_spec.sobject} "
                f"WHERE Opportunity__c = {opp_id} ORDER BY Bill_Date__c, Id"))
        return bundle

    def write_erp_ids(self, *, account_id: str | None, opportunity_id: str | None, customer_number: str | None,
                      contract_id: str | None, project_id: str | None) -> None:
        """Write the ERP's ids into the Salesforce fields the ERP owns (nothing is ever blanked).

        FieldsMissing, before anything is written, when the integration user may not update one of them."""
        fields = erp_writeback_fields(customer_number, contract_id, project_id)
        writes = [(spec, record_id, fields[spec.sobject]) for spec, record_id in
                  ((ACCOUNT, account_id), (OPPORTUNITY, opportunity_id)) if record_id and fields[spec.sobject]]
        for spec, record_id, values in writes:
            problems = [p for p in write_problems(spec, self.describes.get(spec.sobject)) if p.field in values]
            if problems:
                raise FieldsMissing(problems, record_id)
        for spec, record_id, values in writes:
            self.update(spec.sobject, record_id, values)

    # --- Streaming API transport (used by ChangeEventStream) ---------------------------------
    def bayeux(self, messages: list[dict[str, Any]], *, timeout: float) -> list[dict[str, Any]]:
        """One Bayeux exchange with /cometd/NN.N; returns the reply messages."""
        response = self._call("POST", f"/cometd/{self.config.api_version}", endpoint=STREAMING_ENDPOINT,
                              content=json.dumps(messages).encode(), timeout=timeout)
        if response.status_code != 200:
            raise ConnectorError(SYSTEM, f"streaming API answered HTTP {response.status_code}: "
                                         f"{response.text[:200]}")
        replies = self._http.json(response, endpoint=STREAMING_ENDPOINT)
        if not isinstance(replies, list):
            raise TransientError(SYSTEM, "streaming API reply is not a list of Bayeux messages")
        return [r for r in replies if isinstance(r, dict)]


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, list):
        return [e for e in body if isinstance(e, dict)]
    return [body] if isinstance(body, dict) else []


def _error_code(response: httpx.Response) -> str | None:
    errors = _errors(response)
    return str(errors[0].get("errorCode")) if errors and errors[0].get("errorCode") else None


def _action(code: str, sobject: str, record_id: str, fields: list[str]) -> str:
    where = f"{sobject} {record_id}"
    named = ", ".join(fields) if fields else "the rejected value"
    if code == "REQUIRED_FIELD_MISSING":
        return f"Fill in {named} for {where} in Salesforce, or in the record q2c copies it from, then replay"
    if code in {"INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_TYPE", "NO_SUCH_COLUMN"}:
        return (f"Salesforce admin: check that {named} exists on {sobject} and is readable/editable by the "
                "q2c integration user, then replay")
    if code in {"MALFORMED_QUERY", "INVALID_QUERY_FILTER_OPERATOR", "INVALID_QUERY_LOCATOR"}:
        return "q2c defect: report this query to the q2c maintainers"
    if code in {"NOT_FOUND", "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"}:
        return f"The referenced record for {where} no longer exists in Salesforce: restore or relink it, then replay"
    if code == "FIELD_CUSTOM_VALIDATION_EXCEPTION":
        return f"A Salesforce validation rule on {sobject} rejected the change: fix {where} or ask the admin"
    return f"Fix {named} on {where} in Salesforce, then replay"
