"""The one YAML file an integration engineer edits: systems, reference data, ownership, policies.

Every key is validated on load; a bad key produces an error that names it, says what was found and
what is allowed (`ConfigError`), never a stack trace. That covers more than types: URLs must be
http(s) with a host, timezones must exist, private keys must be readable PEM files, values still
holding a `q2c init` placeholder are named, and relative paths (the SQLite file, key files) are
resolved against the config file's folder, so a command works from any working directory.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from q2c.connectors.registry import ROLE_WORDS, ConnectorSpec, Role, UnknownSystem, connector, connector_names
from q2c.connectors.settings import SystemSettings, base_dir
from q2c.domain.billing import rate_card_violations
from q2c.domain.dimensions import CLASS, DEPARTMENT, LOCATION, DimensionPlan, DimensionUse
from q2c.domain.model import RateCard, RateCardLine
from q2c.domain.money import Money, check_currency

# The values `q2c init` writes where only the firm knows the answer. A config that still holds one
# would fail at first contact with a vendor; naming the key at load is kinder.
TEMPLATE_PLACEHOLDERS = frozenset({
    "CONNECTED_APP_CONSUMER_KEY", "CONNECTED_APP_CONSUMER_SECRET", "SHARED_SECRET_FOR_SIGNED_WEBHOOKS",
    "HARVEST_ACCOUNT_ID", "HARVEST_PERSONAL_ACCESS_TOKEN",
    "NETSUITE_ACCOUNT_ID", "INTEGRATION_CLIENT_ID", "M2M_CERTIFICATE_ID",
})
_PLACEHOLDER_PART = re.compile(r"YOUR-[A-Z0-9-]*[A-Z0-9]")  # inside a value: https://YOUR-DOMAIN.my.salesforce.com


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Systems(Strict):
    """The system in each role, each validated by its connector's own settings model (see `_systems`)."""

    crm: SystemSettings
    tracker: SystemSettings
    erp: SystemSettings


class EntityDimensions(Strict):
    """The firm's location code for everything a legal entity books (`legal_entities[].dimensions`)."""

    location: str | None = Field(default=None, min_length=1)


class OfferingDimensions(Strict):
    """The firm's class (service line) and department codes of a service offering's lines."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    class_: str | None = Field(default=None, alias="class", min_length=1)
    department: str | None = Field(default=None, min_length=1)


class ResourceDimensions(Strict):
    """A person's own department, which wins over the offering's on their time."""

    department: str | None = Field(default=None, min_length=1)


class LegalEntity(Strict):
    code: str
    name: str
    currency: str
    timezone: str = "UTC"
    dimensions: EntityDimensions = EntityDimensions()

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA timezone; use a name such as America/New_York, Europe/London "
                             "or UTC") from None
        return value


class TaskTemplate(Strict):
    code: str
    name: str
    billable: bool = True


class ServiceOffering(Strict):
    code: str
    name: str
    tasks: tuple[TaskTemplate, ...]
    roles: tuple[str, ...] = ()
    dimensions: OfferingDimensions = OfferingDimensions()


class RateSetting(Strict):
    """One dated price: in force from `effective_from` to `effective_to` (both included; open-ended without it).

    A rate change is a new line with a later `effective_from`: from that day it supersedes the line before
    it (which may stay open-ended), so `Consultant 165 from 2026-11-16` beside `Consultant 150 from
    2026-01-01` prices work from the 16th at 165 and earlier work at 150.
    """

    role: str
    resource: str | None = None
    rate: Decimal
    cost_rate: Decimal | None = None
    effective_from: date
    effective_to: date | None = None


class RateCardSetting(Strict):
    id: str
    currency: str
    lines: tuple[RateSetting, ...]

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)

    @model_validator(mode="after")
    def _lines(self) -> RateCardSetting:
        """Refuse a card that cannot price one day unambiguously: a line ending before it starts, a negative
        rate, or two lines of one role (or resource) starting the same day. Named by the first line at fault."""
        problems = rate_card_violations(self.to_rate_card(), system="q2c")
        if problems:
            first = problems[0]
            shown = "; ".join(f"{v.field}: {v.message}" for v in problems[1:])
            raise PydanticCustomError("config_key", "{message}", {
                "key": (first.field or "lines").replace("[", ".").replace("]", ""),
                "message": first.message + (f" (also {shown})" if shown else "")})
        return self

    def to_rate_card(self) -> RateCard:
        return RateCard(id=self.id, currency=self.currency, lines=tuple(
            RateCardLine(role=line.role, resource_id=line.resource, rate=Money.of(line.rate, self.currency),
                         cost_rate=None if line.cost_rate is None else Money.of(line.cost_rate, self.currency),
                         effective_from=line.effective_from, effective_to=line.effective_to)
            for line in self.lines))


class ResourceSetting(Strict):
    email: str
    name: str
    role: str
    dimensions: ResourceDimensions = ResourceDimensions()


class TimePolicy(Strict):
    max_hours_per_entry: Decimal = Decimal(24)
    poll_seconds: float = Field(default=60, gt=0)


class DeliverySettings(Strict):
    max_attempts: int = Field(default=30, ge=1)
    backoff_base_seconds: float = Field(default=1.0, gt=0)
    backoff_cap_seconds: float = Field(default=300.0, gt=0)
    lease_seconds: float = Field(default=120.0, gt=0)  # a crashed worker's items are taken over after this
    workers: int = Field(default=2, ge=1, le=64)
    # Work items a worker claims at once (at most one per project). Small enough that several workers
    # share the projects, so one waits on the ERP while another uses the CPU.
    batch: int = Field(default=8, ge=1, le=500)


class RevenueAccounts(Strict):
    receivable: str = "1200 Accounts Receivable"
    contract_asset: str = "1250 Unbilled Receivables"
    contract_liability: str = "2400 Deferred Revenue"
    revenue: str = "4000 Services Revenue"
    fx_rounding: str = "7990 FX Rounding"
    cash: str = "1000 Cash"  # debited for the cash receipts q2c records (`q2c cash record`)
    fx_gain_loss: str = "7980 Foreign Exchange Gain or Loss"  # remeasured receivables and contract assets
    loss_provision: str = "2450 Provision for Contract Losses"  # expected losses on onerous contracts
    loss_expense: str = "5900 Loss on Onerous Contracts"


class FxRateSetting(Strict):
    """1 unit of `from` is `rate` units of `to` from the day `on` (until a later rate)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_currency: str = Field(alias="from")
    to_currency: str = Field(alias="to")
    rate: Decimal = Field(gt=0)
    on: date

    @field_validator("from_currency", "to_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)


FX_RATES_FILE_SUFFIXES = (".csv", ".xml", ".zip")


FxSource = Literal["file", "erp", "none"]


class ReferenceSettings(Strict):
    """The reference-data refresh: `q2c reference sync`, and `q2c serve` every `refresh_seconds`.

    `fx_source` says where the dated FX rates come from, one system of record: `file` (the rates file
    below), `erp` (the ERP's own dated rates, e.g. NetSuite's Currency Exchange Rates; refused at the
    first refresh when the ERP connector offers none), or `none` (only the config's `fx_rates`). Left out,
    it is `file` when `fx_rates_file` is set and `none` otherwise, so configs written before it keep
    their meaning (`fx_from`). The config's `fx_rates` win over either source on the same pair and day.
    """

    fx_source: FxSource | None = None
    # Euro foreign exchange reference rates in the central bank's published format: eurofxref CSV (daily
    # or history, as downloaded, or the .zip they come in) or XML (daily, 90 days or history). Relative to
    # the config's folder. Read on every refresh; the rates are kept in the hub, so a daily file is enough.
    fx_rates_file: Path | None = None
    refresh_seconds: float = Field(default=3600.0, gt=0)

    @property
    def fx_from(self) -> FxSource:
        """Where the dated FX rates come from: `fx_source`, or what its default makes of `fx_rates_file`."""
        if self.fx_source is not None:
            return self.fx_source
        return "file" if self.fx_rates_file is not None else "none"

    @model_validator(mode="after")
    def _one_fx_source(self) -> ReferenceSettings:
        """A rates file that would not be read, or a file source without a file, is a mistake: named here."""
        if self.fx_source == "file" and self.fx_rates_file is None:
            raise PydanticCustomError("config_key", "{message}", {
                "key": "fx_rates_file",
                "message": "required key is missing with fx_source: file: the euro reference rates file "
                           "(eurofxref-hist.csv, eurofxref-daily.xml or eurofxref.zip)"})
        if self.fx_source in ("erp", "none") and self.fx_rates_file is not None:
            raise PydanticCustomError("config_key", "{message}", {
                "key": "fx_source",
                "message": f"is {self.fx_source}, so reference.fx_rates_file would never be read; remove "
                           "fx_rates_file, or set fx_source: file (one source of dated rates; the config's "
                           "fx_rates win over it on the same day)"})
        return self

    @field_validator("fx_rates_file")
    @classmethod
    def _fx_rates_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if value.suffix.lower() not in FX_RATES_FILE_SUFFIXES:
            raise ValueError("must name a euro reference rates file ending in .csv, .xml or .zip (eurofxref-hist.csv, "
                             "eurofxref-daily.xml, eurofxref.zip)")
        path = value.expanduser()
        return path if path.is_absolute() else base_dir(info) / path


class BillingSettings(Strict):
    """Whether the billing run's invoices reach the ERP at once (`auto`, the default: the hub behaves as it always
    has, and a close recognises the month's T&M in one run) or wait as drafts in q2c for a person to approve or
    reject them (`review`: `q2c invoices approve | reject`)."""

    release: Literal["auto", "review"] = "auto"


class HttpSettings(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    webhook_max_bytes: int = Field(default=1_000_000, ge=1024)
    webhook_secret: str | None = None  # shared secret of the signed webhook intake (X-Q2C-Signature)


_DATABASE_BACKENDS = ("sqlite", "postgresql", "postgres")


class ContractChangeSettings(Strict):
    """Contract changes: when an approved change needs a second person before it is applied."""

    # A change that moves the revenue of the open period by more than this (in the contract's currency) needs a
    # second approver; none: only a change that touches a closed period does.
    second_approval_over: Decimal | None = Field(default=None, ge=0)
    # How often `q2c serve` compares every contract with its deal in the CRM (each comparison reads the deal);
    # the CRM's change events bring a change to a set-up deal in between.
    poll_seconds: float = Field(default=3600.0, gt=0)


Step = Literal["sync", "billing", "close", "schedule"]
INVARIANT_PAIRS = {"time_posted": "time", "deal_value": "bookings", "billing_posted": "invoices",
                   "gl_equals_engine": "revenue"}


class Invariant(Strict):
    """When one declared invariant is checked: after which steps (and on `q2c serve`'s schedule)."""

    after: tuple[Step, ...]


def _default_invariants() -> dict[str, Invariant]:
    return {"time_posted": Invariant(after=("sync", "close", "schedule")),
            "deal_value": Invariant(after=("sync", "schedule")),
            "billing_posted": Invariant(after=("billing", "schedule")),
            "gl_equals_engine": Invariant(after=("close", "schedule"))}


class ReconciliationSettings(Strict):
    """The invariants q2c checks across the systems, and when: each is one reconciliation pair
    (`time_posted`: approved hours = the ERP's timebills; `deal_value`: the CRM's booking = the ERP's contract;
    `billing_posted`: q2c's invoices = the ERP's; `gl_equals_engine`: recognised revenue = the GL's)."""

    # how often `q2c serve` checks the invariants whose `after` lists `schedule` (0: never)
    every_seconds: float = Field(default=86400.0, ge=0)
    invariants: dict[str, Invariant] = Field(default_factory=_default_invariants)

    @field_validator("invariants")
    @classmethod
    def _known(cls, value: dict[str, Invariant]) -> dict[str, Invariant]:
        unknown = sorted(set(value) - set(INVARIANT_PAIRS))
        if unknown:
            raise ValueError(f"unknown invariant {', '.join(unknown)}; known: {', '.join(INVARIANT_PAIRS)}")
        return value

    def pairs_after(self, step: Step) -> list[str]:
        """The reconciliation pairs to check after `step`, in the order q2c compares them."""
        wanted = {INVARIANT_PAIRS[name] for name, inv in self.invariants.items() if step in inv.after}
        return [p for p in ("bookings", "time", "invoices", "revenue") if p in wanted]


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOOKS_LIKE_A_KEY = re.compile(r"[0-9a-fA-F]{32,}|[A-Za-z0-9+/=_-]{40,}")


class AuditSettings(Strict):
    """Where the audit trail's key comes from, and where its signed checkpoints go (`store/audit_key.py`).

    The key itself never sits in this file, nor in the database: `key_file` names a file holding it, `key_env` an
    environment variable (which must then be set). With neither, the key is `$Q2C_AUDIT_KEY` when set, else a
    file q2c creates beside a SQLite database on first use; on PostgreSQL `q2c serve` refuses to start without
    one. Checkpoints (the chain's head, HMAC-signed) go to `anchor_dir`, by default beside the SQLite file (or
    in the working directory on PostgreSQL); `q2c serve` writes one every `anchor_every_seconds` (0: never)
    and keeps the last `checkpoints_kept`.
    """

    key_env: str | None = None
    key_file: Path | None = None
    anchor_dir: Path | None = None
    anchor_every_seconds: float = Field(default=3600.0, ge=0)
    checkpoints_kept: int = Field(default=168, ge=1, le=100_000)

    @field_validator("key_env")
    @classmethod
    def _key_env(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _LOOKS_LIKE_A_KEY.fullmatch(value) and "_" not in value:
            raise ValueError("looks like a key itself; name the environment variable that holds it (such as "
                             "Q2C_AUDIT_KEY), never the key")
        if not _ENV_NAME.fullmatch(value):
            raise ValueError("must name an environment variable, such as Q2C_AUDIT_KEY")
        return value

    @field_validator("key_file", "anchor_dir")
    @classmethod
    def _relative_to_config(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        path = value.expanduser()
        return path if path.is_absolute() else base_dir(info) / path

    @model_validator(mode="after")
    def _one_key_source(self) -> AuditSettings:
        if self.key_env is not None and self.key_file is not None:
            raise PydanticCustomError("config_key", "{message}", {
                "key": "key_env",
                "message": "and audit.key_file both name the key; keep one, so every q2c process reads the same key"})
        return self


class RetentionSettings(Strict):
    """How long finished work is kept (`q2c prune`, and `q2c serve` every `every_seconds`). The audit trail,
    the records and links, unfinished and dead work are kept whatever their age. Finished work items feed the
    KPIs (approved-to-bill lag, setup cycle time), so keep them past a month-end close."""

    work_items_days: float = Field(default=45.0, gt=0)
    events_days: float = Field(default=45.0, gt=0)  # inbox events; a won deal's is kept: it stops a second setup
    exception_payloads_days: float = Field(default=90.0, gt=0)  # the replay payload of settled exceptions
    every_seconds: float = Field(default=3600.0, ge=0)  # 0: `q2c serve` never prunes


class AlertEmail(Strict):
    """SMTP for alert digests: STARTTLS on 587 unless `tls` says otherwise; a login when `username` is set."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to: tuple[str, ...] = Field(min_length=1)
    username: str | None = None
    password: str | None = None  # a ${ENV_VAR} reference keeps it out of the file
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("to")
    @classmethod
    def _to(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in value if not re.fullmatch(r"[^@\s]+@[^@\s]+", a)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an email address")
        return value


class AlertSettings(Strict):
    """Who is told when something needs a person (`workflows/alerts.py`): a chat webhook (Slack's incoming
    webhook JSON, or a Teams Workflows webhook's Adaptive Card) and/or email. One digest at most every
    `digest_seconds`, so a burst of a thousand exceptions is one message."""

    webhook_url: str | None = None
    webhook_format: Literal["slack", "teams"] = "slack"
    email: AlertEmail | None = None
    digest_seconds: float = Field(default=300.0, gt=0)
    console_url: str | None = None  # where a person opens the exception queue, linked from each digest

    @field_validator("webhook_url", "console_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @property
    def enabled(self) -> bool:
        return self.webhook_url is not None or self.email is not None


class TracingSettings(Strict):
    """OpenTelemetry traces (`engine/tracing.py`): sent by OTLP over HTTP to `otlp_endpoint` (a collector's
    `/v1/traces`, e.g. http://127.0.0.1:4318/v1/traces); none: no traces are made."""

    otlp_endpoint: str | None = None
    service_name: str = Field(default="q2c", min_length=1, max_length=100)
    headers: dict[str, str] = Field(default_factory=dict)  # e.g. an API key the collector wants

    @field_validator("otlp_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            raise ValueError("must be an absolute http(s) URL, such as http://127.0.0.1:4318/v1/traces")
        return value


class HubConfig(Strict):
    database: str = "sqlite:///q2c.sqlite"
    systems: Systems
    legal_entities: tuple[LegalEntity, ...]
    service_offerings: tuple[ServiceOffering, ...]
    rate_cards: tuple[RateCardSetting, ...]
    default_rate_card: dict[str, str] = Field(default_factory=dict)  # currency -> rate card id
    resources: tuple[ResourceSetting, ...] = ()
    time: TimePolicy = TimePolicy()
    delivery: DeliverySettings = DeliverySettings()
    revenue_accounts: RevenueAccounts = RevenueAccounts()
    fx_rates: tuple[FxRateSetting, ...] = ()  # dated rates, for entities whose functional currency differs
    reference: ReferenceSettings = ReferenceSettings()
    billing: BillingSettings = BillingSettings()
    http: HttpSettings = HttpSettings()
    contract_changes: ContractChangeSettings = ContractChangeSettings()
    reconciliation: ReconciliationSettings = ReconciliationSettings()
    retention: RetentionSettings = RetentionSettings()
    audit: AuditSettings = AuditSettings()
    alerts: AlertSettings = AlertSettings()
    tracing: TracingSettings = TracingSettings()
    payment_terms: tuple[str, ...] = ("Net 15", "Net 30", "Net 45", "Net 60", "Due on receipt")
    log_format: Literal["text", "json"] = "text"

    @field_validator("database")
    @classmethod
    def _database(cls, value: str, info: ValidationInfo) -> str:
        """A relative SQLite path is the config folder's, not the working directory's."""
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("must be a database URL: sqlite:///q2c.sqlite or "
                             "postgresql://user:password@host:5432/q2c") from None
        backend = url.get_backend_name()
        if backend not in _DATABASE_BACKENDS:
            raise ValueError(f"database {backend!r} is not supported; allowed: sqlite, postgresql")
        path = url.database
        if backend != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
            return value
        resolved = Path(path).expanduser()
        if not resolved.is_absolute():
            resolved = base_dir(info) / resolved
        return url.set(database=str(resolved)).render_as_string(hide_password=False)

    @model_validator(mode="after")
    def _rate_card_ids(self) -> HubConfig:
        """A contract names its rate card by id: two cards with one id, or a default naming no card, would
        leave the card in force undecided."""
        seen: dict[str, int] = {}
        for i, card in enumerate(self.rate_cards):
            if card.id in seen:
                raise PydanticCustomError("config_key", "{message}", {
                    "key": f"rate_cards.{i}.id",
                    "message": f"rate card id {card.id!r} is already used by rate_cards.{seen[card.id]}; "
                               "give each card its own id (a rate change is a new dated line on the same card)"})
            seen[card.id] = i
        for currency, card_id in self.default_rate_card.items():
            named = self.rate_cards[seen[card_id]] if card_id in seen else None
            if named is None or named.currency != currency:
                found = "no card has that id" if named is None else f"that card is in {named.currency}"
                raise PydanticCustomError("config_key", "{message}", {
                    "key": f"default_rate_card.{currency}",
                    "message": f"names rate card {card_id!r}, but {found}; allowed: "
                               f"{', '.join(c.id for c in self.rate_cards if c.currency == currency) or 'none'}"})
        return self

    @model_validator(mode="after")
    def _dimension_ids(self) -> HubConfig:
        """A code the ERP has no record for would be refused on the first write that carries it; naming the
        key at load is kinder. The ERP's settings say which codes they cannot map (`dimension_problems`)."""
        check = getattr(self.systems.erp, "dimension_problems", None)
        problems: list[tuple[str, str]] = check(self.dimension_uses()) if callable(check) else []
        if problems:
            key, message = problems[0]
            also = "; ".join(f"{k}: {m}" for k, m in problems[1:])
            raise PydanticCustomError("config_key", "{message}", {
                "key": key, "message": message + (f" (also {also})" if also else "")})
        return self

    def dimension_uses(self) -> list[DimensionUse]:
        """Every dimension code the config sets, with the key that sets it."""
        uses: list[DimensionUse] = []
        for i, entity in enumerate(self.legal_entities):
            if entity.dimensions.location:
                uses.append(DimensionUse(f"legal_entities.{i}.dimensions.location", LOCATION,
                                         entity.dimensions.location))
        for i, offering in enumerate(self.service_offerings):
            for name, code in ((CLASS, offering.dimensions.class_), (DEPARTMENT, offering.dimensions.department)):
                if code:
                    uses.append(DimensionUse(f"service_offerings.{i}.dimensions.{name}", name, code))
        for i, resource in enumerate(self.resources):
            if resource.dimensions.department:
                uses.append(DimensionUse(f"resources.{i}.dimensions.department", DEPARTMENT,
                                         resource.dimensions.department))
        return uses

    @property
    def dimension_plan(self) -> DimensionPlan:
        """The dimension codes in force by offering, legal entity and resource (what the ERP's lines carry)."""
        def present(codes: Mapping[str, str | None]) -> dict[str, str]:
            return {name: code for name, code in codes.items() if code}
        return DimensionPlan(
            offerings={o.code: present({CLASS: o.dimensions.class_, DEPARTMENT: o.dimensions.department})
                       for o in self.service_offerings},
            entities={e.code: present({LOCATION: e.dimensions.location}) for e in self.legal_entities},
            resources={r.email.lower(): present({DEPARTMENT: r.dimensions.department}) for r in self.resources})

    @property
    def rate_cards_by_id(self) -> Mapping[str, RateCard]:
        """Every rate card in force, by id: what live contracts are rated with."""
        return _rate_cards(self.rate_cards)

    def rate_card(self, card_id: str) -> RateCard | None:
        """The rate card in force under this id, or None when the config no longer has it."""
        return self.rate_cards_by_id.get(card_id)

    def legal_entity(self, code: str | None) -> LegalEntity | None:
        return next((e for e in self.legal_entities if e.code == code), None)

    def offering(self, code: str | None) -> ServiceOffering | None:
        return next((o for o in self.service_offerings if o.code == code), None)

    def rate_card_for(self, currency: str) -> RateCard | None:
        wanted = self.default_rate_card.get(currency)
        for card in self.rate_cards:
            if (wanted and card.id == wanted) or (not wanted and card.currency == currency):
                return self.rate_cards_by_id[card.id]
        return None


@lru_cache(maxsize=16)
def _rate_cards(settings: tuple[RateCardSetting, ...]) -> Mapping[str, RateCard]:
    """The canonical cards of a config's `rate_cards`, built once per distinct setting (the hot path rates
    every time entry with them); keyed by value, so a copied config with other cards gets its own."""
    return MappingProxyType({card.id: card.to_rate_card() for card in settings})


class ConfigError(ValueError):
    """A config problem, phrased with the key path, what was found and what is allowed."""


def _key_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _problems(exc: ValidationError) -> Iterator[tuple[str, str]]:
    """(key path, problem) for each error pydantic found."""
    for err in exc.errors():
        loc = tuple(err["loc"])
        found = err.get("input")
        shown = "" if isinstance(found, dict | list | tuple | BaseModel) else f" (found {found!r})"
        msg = err["msg"]
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = "unknown key; check the spelling against `q2c init` output"
        elif kind == "missing":
            msg = "required key is missing"
        elif kind == "config_key":
            loc += (str((err.get("ctx") or {}).get("key", "")),)
            shown = ""
        elif kind == "value_error":
            msg = msg.removeprefix("Value error, ")
        yield _key_path(loc), f"{msg}{shown}"


def _placeholders(raw: Any, loc: tuple[int | str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(key path, placeholder) for each value still holding one of the template's placeholders."""
    if isinstance(raw, dict):
        for key, value in raw.items():
            yield from _placeholders(value, (*loc, str(key)))
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            yield from _placeholders(value, (*loc, i))
    elif isinstance(raw, str):
        match = _PLACEHOLDER_PART.search(raw)
        if raw.strip() in TEMPLATE_PLACEHOLDERS:
            yield _key_path(loc), raw.strip()
        elif match:
            yield _key_path(loc), match.group(0)


def _system(role: Role, block: Any, context: dict[str, Any]) -> tuple[SystemSettings | None, list[tuple[str, str]]]:
    """One role's system, validated by the settings model of the connector its `type` names."""
    where = ("systems", role.value)
    allowed = ", ".join(connector_names(role)) or "none installed"
    if not isinstance(block, dict):
        return None, [(_key_path(where), f"must be a mapping with `type` (one of: {allowed}) and that system's "
                                         "settings")]
    name = block.get("type")
    if not isinstance(name, str) or not name:
        return None, [(_key_path((*where, "type")), f"required key is missing: which {ROLE_WORDS[role]} this is "
                                                    f"(one of: {allowed})")]
    try:
        spec: ConnectorSpec = connector(name)
    except UnknownSystem:
        return None, [(_key_path((*where, "type")), f"no connector is named {name!r}; for the {ROLE_WORDS[role]} "
                                                    f"use one of: {allowed}")]
    if role not in spec.roles:
        plays = " or ".join(ROLE_WORDS[r] for r in sorted(spec.roles))
        return None, [(_key_path((*where, "type")), f"{spec.label} is a {plays} connector, not a "
                                                    f"{ROLE_WORDS[role]} one (for the {ROLE_WORDS[role]}: {allowed})")]
    try:
        return spec.settings.model_validate(block, context=context), []
    except ValidationError as exc:
        return None, [(f"{_key_path(where)}.{key}", problem) for key, problem in _problems(exc)]


def _systems(raw: Any, context: dict[str, Any]) -> tuple[dict[str, SystemSettings], list[tuple[str, str]]]:
    if not isinstance(raw, dict):
        return {}, [("systems", "required key is missing: the crm, tracker and erp systems, each with its type")]
    found: dict[str, SystemSettings] = {}
    problems: list[tuple[str, str]] = []
    for key in sorted(set(raw) - {r.value for r in Role}):
        hint = (f"; systems are named by role now: put it under crm, tracker or erp with `type: {key}`"
                if key in connector_names() else "")
        problems.append((f"systems.{key}", f"unknown key (allowed: crm, tracker, erp){hint}"))
    for role in Role:
        if role.value not in raw:
            problems.append((f"systems.{role.value}", f"required key is missing: the {ROLE_WORDS[role]}, with its "
                                                      f"type (one of: {', '.join(connector_names(role))})"))
            continue
        settings, bad = _system(role, raw[role.value], context)
        problems += bad
        if settings is not None:
            found[role.value] = settings
    return found, problems


def parse_config(raw: dict[str, Any], *, source: Path | str = "config", base_dir: Path | None = None) -> HubConfig:
    """Validate a config mapping; relative paths in it resolve against `base_dir` (default: the working dir)."""
    lines: list[str] = []
    held = dict(_placeholders(raw))
    for key, placeholder in held.items():
        lines.append(f"{key}: still holds the `q2c init` placeholder {placeholder!r}; put the real value here "
                     "(or a ${ENV_VAR} reference)")
    context = {"base_dir": base_dir or Path.cwd()}
    systems, problems = _systems(raw.get("systems"), context)
    lines += [f"{key}: {problem}" for key, problem in problems if key not in held]
    standing_in = {r.value: systems.get(r.value) or SystemSettings.model_construct(type="?") for r in Role}
    config: HubConfig | None = None
    try:
        config = HubConfig.model_validate({**raw, "systems": standing_in}, context=context)
    except ValidationError as exc:
        lines += [f"{key}: {problem}" for key, problem in _problems(exc) if key not in held]
    if lines or config is None:
        raise ConfigError("\n".join([f"{source}: {len(lines)} problem(s)", *(f"  - {line}" for line in lines)]))
    return config


_ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def expand_env(raw: Any, path: str = "") -> Any:
    """Replace ${NAME} in string values with the environment variable, so secrets stay out of the file."""
    if isinstance(raw, dict):
        return {k: expand_env(v, f"{path}.{k}" if path else str(k)) for k, v in raw.items()}
    if isinstance(raw, list):
        return [expand_env(v, f"{path}[{i}]") for i, v in enumerate(raw)]
    if isinstance(raw, str):
        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{path}: refers to ${{{name}}}, which is not set in the environment")
            return os.environ[name]

        return _ENV_REF.sub(lookup, raw)
    return raw


class _DecimalLoader(yaml.SafeLoader):
    """YAML with decimal numbers read as Decimal, so `rate: 150.00` is never a binary float."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    if text.lower().lstrip("+-") in (".inf", ".nan"):
        raise ConfigError(f"line {node.start_mark.line + 1}: {text} is not a usable number")
    return Decimal(text)


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def load_config(path: Path) -> HubConfig:
    """Read, expand ${ENV} references and validate; relative paths in the file are the file's folder's."""
    if not path.exists():
        raise ConfigError(f"{path}: no such file; create one with `q2c init {path}`")
    try:
        raw = yaml.load(path.read_text(), Loader=_DecimalLoader)  # a SafeLoader subclass: no object tags
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    try:
        expanded = expand_env(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parse_config(expanded, source=path, base_dir=path.resolve().parent)
