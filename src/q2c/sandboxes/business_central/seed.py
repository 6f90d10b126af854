"""The demo firm's two companies as a Business Central administrator would set them up: US01 (USD) and
UK01 (GBP), each with the chart of accounts q2c posts to, foreign currencies and exchange rates, payment
terms, the dimensions SERVICEOFFERING and LEGALENTITY, and the general journal batch Q2C.

All of this is the sandbox's own data in Business Central's shapes (G/L accounts by number, payment terms
by code with a date formula such as `30D`, exchange rates as amount / relational amount pairs).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from q2c.sandboxes.business_central.schema import STANDARD, entity_set
from q2c.sandboxes.business_central.store import Book, Store

US01_ID = "a5f1c7d0-1b2e-4c3d-9e8f-000000000001"
UK01_ID = "a5f1c7d0-1b2e-4c3d-9e8f-000000000002"

ACCOUNTS = (
    ("1000", "Cash", "Assets"), ("1200", "Accounts Receivable", "Assets"), ("1250", "Unbilled Receivables", "Assets"),
    ("2400", "Deferred Revenue", "Liabilities"), ("2450", "Provision for Contract Losses", "Liabilities"),
    ("4000", "Services Revenue", "Income"), ("40100", "Time and Materials Revenue", "Income"),
    ("40200", "Fixed Fee Revenue", "Income"), ("40300", "Retainer Revenue", "Income"),
    ("40400", "Milestone Revenue", "Income"), ("5900", "Loss on Onerous Contracts", "Expense"),
    ("7980", "Foreign Exchange Gain or Loss", "Expense"), ("7990", "FX Rounding", "Expense"),
)
PAYMENT_TERMS = (("30 DAYS", "Net 30 days", "30D"), ("14 DAYS", "Net 14 days", "14D"),
                 ("15 DAYS", "Net 15 days", "15D"), ("COD", "Cash on delivery", "0D"))
CURRENCIES = {"USD": ("US dollar", "$"), "GBP": ("Pound sterling", "£"), "EUR": ("Euro", "€"),
              "CAD": ("Canadian dollar", "$")}
# one unit of the foreign currency in the company's own currency, from 2026-01-01
RATES = {"USD": {"GBP": Decimal("1.2700"), "EUR": Decimal("1.0850"), "CAD": Decimal("0.7300")},
         "GBP": {"USD": Decimal("0.7874"), "EUR": Decimal("0.8543"), "CAD": Decimal("0.5748")}}
DIMENSIONS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "SERVICEOFFERING": ("Service offering", (("IMPL", "Implementation"), ("ADVISORY", "Advisory"),
                                             ("SUPPORT", "Managed support"), ("TRAINING", "Training"))),
    "LEGALENTITY": ("Legal entity", (("US01", "US01 Consulting Inc."), ("UK01", "UK01 Consulting Ltd")))}


def _insert(store: Store, book: Book, set_name: str, values: dict[str, object]) -> str:
    spec = entity_set(STANDARD, set_name)
    assert spec is not None
    row = store.new_row(spec, {"id": str(uuid.uuid4()), **values})
    book.table(set_name)[str(row.values["id"])] = row
    return str(row.values["id"])


def seed(store: Store, *, us01_id: str = US01_ID, uk01_id: str = UK01_ID) -> None:
    for code, name, currency, company_id in (("US01", "US01 Consulting Inc.", "USD", us01_id),
                                             ("UK01", "UK01 Consulting Ltd", "GBP", uk01_id)):
        book = store.add_company(code, name, currency, company_id)
        for number, display, category in ACCOUNTS:
            _insert(store, book, "accounts", {"number": number, "displayName": display, "category": category,
                                              "accountType": "Posting", "directPosting": True,
                                              "netChange": Decimal("0.00")})
        for terms_code, display, formula in PAYMENT_TERMS:
            _insert(store, book, "paymentTerms", {"code": terms_code, "displayName": display,
                                                  "dueDateCalculation": formula, "discountPercent": Decimal(0)})
        for iso, (display, symbol) in CURRENCIES.items():
            if iso == currency:
                continue
            _insert(store, book, "currencies", {"code": iso, "displayName": display, "symbol": symbol,
                                                "amountDecimalPlaces": "2:2",
                                                "amountRoundingPrecision": Decimal("0.01")})
            _insert(store, book, "currencyExchangeRates", {
                "currencyCode": iso, "startingDate": date(2026, 1, 1), "exchangeRateAmount": Decimal(1),
                "relationalCurrencyCode": "", "relationalExchangeRateAmount": RATES[currency][iso]})
        for dim_code, (display, values) in DIMENSIONS.items():
            dim_id = _insert(store, book, "dimensions", {"code": dim_code, "displayName": display,
                                                         "consolidationCode": ""})
            for value_code, value_name in values:
                _insert(store, book, "dimensionValues", {"code": value_code, "dimensionId": dim_id,
                                                         "displayName": value_name, "consolidationCode": ""})
        _insert(store, book, "companyInformation", {
            "id": book.id, "displayName": name, "country": code[:2], "currencyCode": currency,
            "currentFiscalYearStartDate": date(2026, 1, 1)})
        _insert(store, book, "journals", {"code": "Q2C", "displayName": "q2c revenue journal",
                                          "templateDisplayName": "GENERAL"})
        _insert(store, book, "journals", {"code": "DEFAULT", "displayName": "Default Journal Batch",
                                          "templateDisplayName": "GENERAL"})
