"""One org's setup: which objects and fields its integration user sees, and may write.

Salesforce orgs differ from the textbook org q2c's fields are named after (`schema.py`), and these
differences are what a first run against a real org trips over:

- **Single currency.** The standard field CurrencyIsoCode is on every object only once multiple
  currencies are enabled; CurrencyType and DatedConversionRate are "not available in
  single-currency organizations" (Object Reference, "CurrencyType", "DatedConversionRate";
  Salesforce Help, "Considerations for Enabling Multiple Currencies"). In a single-currency org
  every amount is in the org's currency (SOAP getUserInfo's orgDefaultCurrencyIsoCode, "applicable
  only when organizationMultiCurrency is false"; over REST, Organization.DefaultCurrencyIsoCode, a
  field recalled rather than re-confirmed in the Object Reference), and a query naming
  CurrencyIsoCode is refused with 400 INVALID_FIELD "No such column". Enabling multiple currencies
  gives existing records the corporate currency and cannot be undone (same Help page), so the
  sandbox only ever switches it on.
- **Deleted custom fields** (Setup > Object Manager > <Object> > Fields & Relationships).
- **Field-level security** on the integration user's profile or permission set: a field it may not
  read is absent from describe and from SOQL (the same "No such column" answer as a field that does
  not exist); a read-only one is createable/updateable false in describe and refused on save with
  INVALID_FIELD_FOR_INSERT_UPDATE (REST API Developer Guide, "sObject Describe"; Salesforce Help,
  "Field-Level Security").

Simplification: the sandbox applies field-level security to every writer, the integration user and
a test's seeding in process alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from q2c.sandboxes.salesforce.errors import ApiFault, fault, not_found
from q2c.sandboxes.salesforce.schema import CURRENCIES, CURRENCY_FIELD, OBJECTS, FieldSpec, SObjectSpec

Access = Literal["edit", "read", "none"]
ACCESS_LEVELS: tuple[Access, ...] = ("edit", "read", "none")
SYSTEM_FIELDS = frozenset({"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                           "SystemModstamp"})
_LOWER: Mapping[str, SObjectSpec] = MappingProxyType({name.lower(): spec for name, spec in OBJECTS.items()})


class Catalog:
    """The objects as this org's integration user sees them. Not locked: the org locks."""

    def __init__(self, *, multicurrency: bool = True, currency: str = "USD") -> None:
        if currency not in CURRENCIES:
            raise ValueError(f"the org's currency must be one of {', '.join(CURRENCIES)}, not {currency!r}")
        self.multicurrency = multicurrency
        self.currency = currency  # the corporate currency; the only one when single-currency
        self._deleted: set[tuple[str, str]] = set()
        self._access: dict[tuple[str, str], Access] = {}
        self._objects = self._derive()

    @property
    def objects(self) -> Mapping[str, SObjectSpec]:
        return self._objects

    def sobject(self, name: str) -> SObjectSpec | None:
        """Object names are case-insensitive."""
        base = _LOWER.get(name.lower())
        return None if base is None else self._objects[base.name]

    def spec_of(self, name: str) -> SObjectSpec:
        spec = self.sobject(name)
        if spec is None:
            raise not_found()
        return spec

    # --- an admin's changes -----------------------------------------------------------------
    def enable_multicurrency(self) -> None:
        self.multicurrency = True
        self._objects = self._derive()

    def reconfigure(self, *, multicurrency: bool, currency: str) -> None:
        """A new org's currency setup, before it holds records (the org checks that)."""
        if currency not in CURRENCIES:
            raise fault(400, "INVALID_FIELD", f"the org's currency must be one of {', '.join(CURRENCIES)}",
                        ["currency"])
        self.multicurrency, self.currency = multicurrency, currency
        self._objects = self._derive()

    def delete_field(self, sobject: str, field: str) -> str:
        """Delete a custom field; returns its canonical name."""
        base = self._base_field(sobject, field)
        if not base.custom:
            raise fault(400, "INVALID_FIELD", f"{base.name} is a standard field: only custom fields can be "
                                              "deleted (set its field access to none to hide it)", [base.name])
        self._deleted.add((self._base_object(sobject).name, base.name))
        self._objects = self._derive()
        return base.name

    def set_access(self, sobject: str, field: str, access: Access) -> str:
        """Field-level security of the integration user on one field; returns its canonical name."""
        base = self._base_field(sobject, field)
        if base.name in SYSTEM_FIELDS or base.required or base.name == CURRENCY_FIELD:
            raise fault(400, "INVALID_FIELD", f"{base.name}: field-level security cannot be set on a system, "
                                              "required or currency field", [base.name])
        if access not in ACCESS_LEVELS:
            raise fault(400, "INVALID_FIELD", f"access must be one of {', '.join(ACCESS_LEVELS)}", [base.name])
        self._access[(self._base_object(sobject).name, base.name)] = access
        self._objects = self._derive()
        return base.name

    # --- derivation -------------------------------------------------------------------------
    def _base_object(self, sobject: str) -> SObjectSpec:
        base = _LOWER.get(sobject.lower())
        if base is None:
            raise not_found()
        return base

    def _base_field(self, sobject: str, field: str) -> FieldSpec:
        base = self._base_object(sobject)
        found = base.field(field)
        if found is None or (base.name, found.name) in self._deleted:
            raise _no_such_field(field, base.name)
        return found

    def _visible(self, sobject: str, spec: FieldSpec) -> bool:
        if spec.name == CURRENCY_FIELD and not self.multicurrency:
            return False
        key = (sobject, spec.name)
        return key not in self._deleted and self._access.get(key) != "none"

    def _field(self, sobject: str, spec: FieldSpec) -> FieldSpec:
        if spec.name == CURRENCY_FIELD:
            return dataclasses.replace(spec, default=self.currency)
        if self._access.get((sobject, spec.name)) == "read":
            return dataclasses.replace(spec, createable=False, updateable=False)
        return spec

    def _derive(self) -> Mapping[str, SObjectSpec]:
        derived: dict[str, SObjectSpec] = {}
        for name, base in OBJECTS.items():
            fields = {f.name: self._field(name, f) for f in base.fields.values() if self._visible(name, f)}
            derived[name] = dataclasses.replace(base, fields=MappingProxyType(fields))
        return MappingProxyType(derived)


def _no_such_field(field: str, sobject: str) -> ApiFault:
    return fault(404, "NOT_FOUND", f"No such field {sobject}.{field}")
