"""The one YAML file an integration engineer edits: systems, reference data, ownership, policies.

Every key is validated on load; a bad key produces an error that names it, says what was found and
what is allowed (`ConfigError`), never a stack trace.
"""

from __future__ import annotations

import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from q2c.domain.model import RateCard, RateCardLine
from q2c.domain.money import Money, check_currency


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SalesforceSettings(Strict):
    login_url: str = "https://login.salesforce.com"
    client_id: str
    client_secret: str | None = None
    username: str | None = None
    private_key_path: str | None = None
    api_version: str = "59.0"
    webhook_secret: str | None = None  # shared secret for the hub's own signed webhook intake


class HarvestSettings(Strict):
    base_url: str = "https://api.harvestapp.com/v2"
    account_id: str
    access_token: str
    user_agent: str = "q2c (ops@example.com)"
    requests_per_15s: int = Field(default=100, ge=1, le=1000)


class NetSuiteSettings(Strict):
    account_id: str
    client_id: str
    certificate_id: str
    private_key_path: str
    rest_base_url: str | None = None
    restlet_url: str | None = None
    concurrency_limit: int = Field(default=5, ge=1, le=100)
    bulk_threshold: int = Field(default=20, ge=1)
    # Internal ids of the account's setup records: subsidiaries (by legal entity code), currencies
    # (by ISO code), terms (by name), service_items (by offering), billing_type_items, default_service_item,
    # tax_items (by tax code). See q2c.connectors.netsuite.mapping.AccountReferences.
    references: dict[str, Any] = Field(default_factory=dict)


class Systems(Strict):
    salesforce: SalesforceSettings
    harvest: HarvestSettings
    netsuite: NetSuiteSettings


class LegalEntity(Strict):
    code: str
    name: str
    currency: str
    timezone: str = "UTC"
    netsuite_subsidiary: str = "1"

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)


class TaskTemplate(Strict):
    code: str
    name: str
    billable: bool = True


class ServiceOffering(Strict):
    code: str
    name: str
    tasks: tuple[TaskTemplate, ...]
    roles: tuple[str, ...] = ()


class RateSetting(Strict):
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


class HttpSettings(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    webhook_max_bytes: int = Field(default=1_000_000, ge=1024)


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
    http: HttpSettings = HttpSettings()
    payment_terms: tuple[str, ...] = ("Net 15", "Net 30", "Net 45", "Net 60", "Due on receipt")
    log_format: Literal["text", "json"] = "text"

    def legal_entity(self, code: str | None) -> LegalEntity | None:
        return next((e for e in self.legal_entities if e.code == code), None)

    def offering(self, code: str | None) -> ServiceOffering | None:
        return next((o for o in self.service_offerings if o.code == code), None)

    def rate_card_for(self, currency: str) -> RateCard | None:
        wanted = self.default_rate_card.get(currency)
        for card in self.rate_cards:
            if (wanted and card.id == wanted) or (not wanted and card.currency == currency):
                return card.to_rate_card()
        return None


class ConfigError(ValueError):
    """A config problem, phrased with the key path, what was found and what is allowed."""


def _explain(exc: ValidationError, path: Path | str) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        found = err.get("input")
        shown = "" if isinstance(found, dict | list) else f" (found {found!r})"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key; check the spelling against `q2c init` output"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"  - {key}: {msg}{shown}")
    return "\n".join(lines)


def parse_config(raw: dict[str, Any], *, source: Path | str = "config") -> HubConfig:
    try:
        return HubConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source)) from None


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
    return parse_config(expanded, source=path)
