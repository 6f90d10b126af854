"""The Dynamics 365 Sales connector's settings: `systems.crm` with `type: dynamics365_sales` in the config.

One model, read as it is by the client: the Entra ID app q2c signs in as (tenant, client id, a secret
or a certificate: the shared Entra settings), the environment's URL (`org_url`,
https://{org}.crm.dynamics.com; the Web API is `{org_url}/api/data/v{api_version}/`), the logical names
of the firm's custom columns, the milestone table, and the contract-change and retainer columns, named
as Salesforce's settings name their fields. Every error is named `systems.crm.<key>`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from q2c.connectors.entra import EntraSettings
from q2c.connectors.settings import http_url

# A Dataverse logical name: lower case, a publisher prefix and an underscore for custom columns (q2c_taxid)
LOGICAL_NAME = r"^[a-z][a-z0-9_]{0,49}$"
MilestoneState = Literal["pending", "completed", "accepted"]
MILESTONE_LABELS: dict[str, MilestoneState] = {"Pending": "pending", "Completed": "completed", "Accepted": "accepted"}


class Columns(BaseModel):
    """The logical names of the columns q2c reads and writes; each defaults to the firm's standard name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    legal_entity: str = Field(default="q2c_legalentity", pattern=LOGICAL_NAME)  # account and opportunity
    tax_id: str = Field(default="q2c_taxid", pattern=LOGICAL_NAME)  # account
    tax_code: str = Field(default="q2c_taxcode", pattern=LOGICAL_NAME)  # account
    payment_terms: str = Field(default="paymenttermscode", pattern=LOGICAL_NAME)  # account (standard choice)
    service_offering: str = Field(default="q2c_serviceoffering", pattern=LOGICAL_NAME)  # opportunityproduct
    billing_type: str = Field(default="q2c_billingtype", pattern=LOGICAL_NAME)  # opportunityproduct
    cap_amount: str = Field(default="q2c_capamount", pattern=LOGICAL_NAME)  # opportunityproduct (currency)
    start_date: str = Field(default="q2c_startdate", pattern=LOGICAL_NAME)  # opportunity
    end_date: str = Field(default="q2c_enddate", pattern=LOGICAL_NAME)  # opportunity
    customer_number: str = Field(default="q2c_customernumber", pattern=LOGICAL_NAME)  # account, ERP-owned
    contract_id: str = Field(default="q2c_contractid", pattern=LOGICAL_NAME)  # opportunity, ERP-owned
    project_id: str = Field(default="q2c_projectid", pattern=LOGICAL_NAME)  # opportunity, ERP-owned
    # opportunity: q2c's copy of the ERP-owned values it wrote (compact JSON, set in the write-back's own PATCH), so
    # an edit of an ERP-owned column made while no q2c process read the changes is still a conflict. None (the
    # default, for environments without the column): no copy, and such an edit goes unflagged
    erp_owned_copy: str | None = Field(default=None, pattern=LOGICAL_NAME)

    @model_validator(mode="after")
    def _copy_is_its_own_column(self) -> Columns:
        taken = {self.legal_entity, self.start_date, self.end_date, self.contract_id, self.project_id}
        if self.erp_owned_copy is not None and self.erp_owned_copy in taken:
            raise ValueError(f"erp_owned_copy {self.erp_owned_copy!r} is a column q2c already reads on opportunity; "
                             "the copy needs a text column of its own")
        return self


class Dynamics365SalesSettings(EntraSettings):
    type: Literal["dynamics365_sales"] = "dynamics365_sales"
    org_url: str = Field(description="the environment's URL, https://{org}.crm.dynamics.com")
    api_version: str = "9.2"
    columns: Columns = Columns()
    # The milestone table (logical name) and its entity set (the Web API's plural; default: the name + "s")
    milestones_table: str = Field(default="q2c_milestone", pattern=LOGICAL_NAME)
    milestones_entity_set: str | None = Field(default=None, pattern=LOGICAL_NAME)
    # The milestone's completion date column; None: the table has none, and a milestone marked completed or
    # accepted is read as completed on the day its row was last modified (modifiedon)
    milestone_completed_on_column: str | None = Field(default=None, pattern=LOGICAL_NAME)
    # The labels of the milestone's q2c_status choice (or its text) and the state each means to q2c
    milestone_status_labels: dict[str, MilestoneState] = Field(default_factory=lambda: dict(MILESTONE_LABELS))
    page_size: int = Field(default=1000, ge=1, le=5000)  # Prefer: odata.maxpagesize (Dataverse allows 5,000)
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Service protection limits, per user and web server in a 5-minute sliding window (Dataverse's defaults)
    requests_per_five_minutes: int = Field(default=6000, ge=1)
    max_concurrent_requests: int = Field(default=52, ge=1)
    # Contract changes: the opportunity column whose value approves a change to a won deal's terms (a Yes/No
    # column such as q2c_changeapproved, or a choice with `change_approval_values` as labels); none means a
    # change to a won deal counts as approved. `change_order_column` is the lookup on a change-order
    # opportunity naming the original deal (read as `_<column>_value`): a won change order amends that deal.
    change_approval_column: str | None = Field(default=None, pattern=LOGICAL_NAME)
    change_approval_values: tuple[str, ...] = ("true",)
    change_order_column: str | None = Field(default=None, pattern=LOGICAL_NAME)
    change_effective_date_column: str | None = Field(default=None, pattern=LOGICAL_NAME)
    # Retainers: opportunityproduct columns for a Retainer line's term in months, its overage rate per hour and
    # how many months unused hours roll over; `line_service_start_column` the date its term starts.
    line_term_months_column: str | None = Field(default=None, pattern=LOGICAL_NAME)
    line_overage_rate_column: str | None = Field(default=None, pattern=LOGICAL_NAME)
    line_rollover_months_column: str | None = Field(default=None, pattern=LOGICAL_NAME)
    line_service_start_column: str | None = Field(default=None, pattern=LOGICAL_NAME)

    @model_validator(mode="after")
    def _copy_is_not_a_change_column(self) -> Dynamics365SalesSettings:
        copy = self.columns.erp_owned_copy
        if copy is not None and copy in {self.change_approval_column, self.change_effective_date_column}:
            raise ValueError(f"columns.erp_owned_copy {copy!r} is also a contract-change column; the copy needs a "
                             "text column of its own")
        return self

    @field_validator("org_url")
    @classmethod
    def _org(cls, value: str) -> str:
        return http_url(value).rstrip("/")

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"9\.\d", value.strip().removeprefix("v")):
            raise ValueError("must be a Dataverse Web API version such as 9.2")
        return value.strip().removeprefix("v")

    @property
    def api_root(self) -> str:
        return f"/api/data/v{self.api_version}"

    @property
    def scope(self) -> str:
        """The Entra scope of the environment's Web API: its URL with /.default."""
        return f"{self.org_url}/.default"

    @property
    def milestones_set(self) -> str:
        return self.milestones_entity_set or self.milestones_table + "s"
