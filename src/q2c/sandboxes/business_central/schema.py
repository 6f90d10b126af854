"""The entity sets served, with their properties as Microsoft's API v2.0 reference lists them
(learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/...), and q2c's
extension pages (`api/q2c/integration/v1.0`) as the project's AL source declares them.

Each property has a kind (how a value is parsed, compared and written), whether a client may write it,
and for enum properties the documented options. Nested sets (`salesInvoiceLines` under `salesInvoices`)
name their parent and the property that links them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GUID, STR, DATE, DATETIME, DEC, INT, BOOL = "guid", "str", "date", "datetime", "decimal", "int", "bool"
STANDARD, EXTENSION = "v2.0", "q2c/integration/v1.0"
READ, CREATE, UPDATE, DELETE = "GET", "POST", "PATCH", "DELETE"
ALL = frozenset({READ, CREATE, UPDATE, DELETE})
READ_ONLY = frozenset({READ})


@dataclass(frozen=True)
class Prop:
    name: str
    kind: str = STR
    writable: bool = True
    options: tuple[str, ...] = ()
    max_length: int | None = None


@dataclass(frozen=True)
class EntitySet:
    name: str  # the entity set, as in the URL
    entity: str  # the entity type (`Microsoft.NAV.customer`) and the record's name in messages
    caption: str
    props: tuple[Prop, ...]
    api: str = STANDARD
    methods: frozenset[str] = ALL
    parents: dict[str, str] = field(default_factory=dict)  # parent entity set -> linking property
    children: tuple[str, ...] = ()  # navigation properties that $expand and nested paths reach
    webhooks: bool = False  # in Business Central's list of webhook-supported entities
    document: str | None = None  # for lines: the header set a change notifies
    table: str | None = None  # another set's table this page reads (an extension page over a standard table)

    @property
    def storage(self) -> str:
        return self.table or self.name

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.props)


def _p(spec: str, kind: str = STR, *, ro: bool = False, options: tuple[str, ...] = (), n: int | None = None) -> Prop:
    return Prop(spec, kind, not ro, options, n)


ID = _p("id", GUID, ro=True)
MODIFIED = _p("lastModifiedDateTime", DATETIME, ro=True)
INVOICE_STATUS = ("Draft", "In Review", "Open", "Paid", "Canceled", "Corrective")
CREDIT_STATUS = ("Draft", "In Review", "Open", "Paid", "Canceled")
ORDER_STATUS = ("Draft", "In Review", "Open", "Released")
LINE_TYPES = ("Comment", "Account", "Item", "Resource", "Value", "Charge", "Fixed Asset")
ACCOUNT_TYPES = ("G/L Account", "Customer", "Vendor", "Bank Account", "Fixed Asset", "IC Partner", "Employee")


def _address(prefix: str) -> tuple[Prop, ...]:
    return tuple(_p(f"{prefix}{part}") for part in ("AddressLine1", "AddressLine2", "City", "Country", "State",
                                                    "PostCode"))


def _header_common() -> tuple[Prop, ...]:
    return (_p("customerId", GUID), _p("customerNumber", n=20), _p("customerName", ro=True),
            _p("billToName", ro=True), _p("billToCustomerId", GUID), _p("billToCustomerNumber", n=20),
            *_address("sellTo"), *_address("billTo"), _p("shortcutDimension1Code"), _p("shortcutDimension2Code"),
            _p("currencyId", GUID), _p("currencyCode"), _p("paymentTermsId", GUID), _p("shipmentMethodId", GUID),
            _p("salesperson"), _p("pricesIncludeTax", BOOL), _p("discountAmount", DEC),
            _p("discountAppliedBeforeTax", BOOL, ro=True), _p("totalAmountExcludingTax", DEC, ro=True),
            _p("totalTaxAmount", DEC, ro=True), _p("totalAmountIncludingTax", DEC, ro=True), MODIFIED,
            _p("phoneNumber"), _p("email"))


def _lines(name: str, entity: str, caption: str, header: str) -> EntitySet:
    props = (ID, _p("documentId", GUID), _p("sequence", INT), _p("itemId", GUID), _p("accountId", GUID),
             _p("lineType", options=LINE_TYPES), _p("lineObjectNumber", n=20), _p("description", n=100),
             _p("description2", n=50), _p("unitOfMeasureId", GUID), _p("unitOfMeasureCode"),
             _p("quantity", DEC), _p("unitPrice", DEC), _p("discountAmount", DEC), _p("discountPercent", DEC),
             _p("discountAppliedBeforeTax", BOOL, ro=True), _p("amountExcludingTax", DEC, ro=True),
             _p("taxCode"), _p("taxPercent", DEC, ro=True), _p("totalTaxAmount", DEC, ro=True),
             _p("amountIncludingTax", DEC, ro=True), _p("invoiceDiscountAllocation", DEC, ro=True),
             _p("netAmount", DEC, ro=True), _p("netTaxAmount", DEC, ro=True),
             _p("netAmountIncludingTax", DEC, ro=True), _p("shipmentDate", DATE), _p("itemVariantId", GUID),
             _p("locationId", GUID))
    return EntitySet(name, entity, caption, props, parents={header: "documentId"}, children=("dimensionSetLines",),
                     document=header)


SETS: tuple[EntitySet, ...] = (
    EntitySet("companies", "company", "Company", (
        ID, _p("systemVersion", ro=True), _p("timestamp", INT, ro=True), _p("name", ro=True),
        _p("displayName", ro=True), _p("businessProfileId", ro=True), _p("systemCreatedAt", DATETIME, ro=True),
        _p("systemCreatedBy", GUID, ro=True), _p("systemModifiedAt", DATETIME, ro=True),
        _p("systemModifiedBy", GUID, ro=True)), methods=READ_ONLY),
    EntitySet("customers", "customer", "Customer", (
        ID, _p("number", n=20), _p("displayName", n=100), _p("type", options=("Company", "Person")),
        _p("addressLine1"), _p("addressLine2"), _p("city"), _p("state"), _p("country"), _p("postalCode"),
        _p("phoneNumber"), _p("email"), _p("website"), _p("salespersonCode"), _p("balanceDue", DEC, ro=True),
        _p("creditLimit", DEC), _p("taxLiable", BOOL), _p("taxAreaId", GUID), _p("taxAreaDisplayName", ro=True),
        _p("taxRegistrationNumber", n=20), _p("currencyId", GUID), _p("currencyCode"), _p("paymentTermsId", GUID),
        _p("shipmentMethodId", GUID), _p("paymentMethodId", GUID),
        _p("blocked", options=(" ", "Ship", "Invoice", "All")), MODIFIED), webhooks=True),
    EntitySet("projects", "project", "Job", (ID, _p("number", n=20), _p("displayName", n=100), MODIFIED)),
    EntitySet("employees", "employee", "Employee", (
        ID, _p("number", n=20), _p("displayName", ro=True), _p("givenName"), _p("middleName"), _p("surname"),
        _p("jobTitle"), _p("addressLine1"), _p("addressLine2"), _p("city"), _p("state"), _p("country"),
        _p("postalCode"), _p("phoneNumber"), _p("mobilePhone"), _p("email"), _p("personalEmail"),
        _p("employmentDate", DATE), _p("terminationDate", DATE),
        _p("status", options=("Active", "Inactive", "Terminated")), _p("birthDate", DATE),
        _p("statisticsGroupCode"), _p("bankBranchNumber"), _p("bankAccountNumber"), _p("iban"), MODIFIED),
        webhooks=True),
    EntitySet("timeRegistrationEntries", "timeRegistrationEntry", "Employee Time Reg Buffer", (
        ID, _p("employeeId", GUID), _p("employeeNumber"), _p("jobId", GUID), _p("jobNumber"), _p("jobTaskNumber"),
        _p("absence"), _p("lineNumber", INT, ro=True), _p("date", DATE), _p("quantity", DEC),
        _p("status", ro=True, options=("Open", "Submitted", "Rejected", "Approved")), _p("unitOfMeasureId", GUID),
        _p("unitOfMeasureCode"), _p("lastModfiedDateTime", DATETIME, ro=True))),
    EntitySet("salesOrders", "salesOrder", "Sales Header", (
        ID, _p("number", ro=True), _p("externalDocumentNumber", n=35), _p("orderDate", DATE),
        _p("postingDate", DATE), *_header_common()[:-3], _p("partialShipping", BOOL),
        _p("requestedDeliveryDate", DATE), _p("fullyShipped", BOOL, ro=True),
        _p("status", ro=True, options=ORDER_STATUS), *_header_common()[-3:]),
        children=("salesOrderLines", "dimensionSetLines"), webhooks=True),
    _lines("salesOrderLines", "salesOrderLine", "Sales Line", "salesOrders"),
    EntitySet("salesInvoices", "salesInvoice", "Sales Invoice", (
        ID, _p("number", ro=True), _p("externalDocumentNumber", n=35), _p("invoiceDate", DATE),
        _p("postingDate", DATE), _p("dueDate", DATE), _p("promisedPayDate", DATE),
        _p("customerPurchaseOrderReference", n=35), _p("shipToName"), _p("shipToContact"), *_address("shipTo"),
        _p("orderId", GUID, ro=True), _p("orderNumber", ro=True), _p("disputeStatusId", GUID),
        _p("disputeStatus"), _p("remainingAmount", DEC, ro=True), _p("status", ro=True, options=INVOICE_STATUS),
        *_header_common()), children=("salesInvoiceLines", "dimensionSetLines"), webhooks=True),
    _lines("salesInvoiceLines", "salesInvoiceLine", "Sales Invoice Line", "salesInvoices"),
    EntitySet("salesCreditMemos", "salesCreditMemo", "Sales Cr. Memo", (
        ID, _p("number", ro=True), _p("externalDocumentNumber", n=35), _p("creditMemoDate", DATE),
        _p("postingDate", DATE), _p("dueDate", DATE), _p("status", ro=True, options=CREDIT_STATUS),
        _p("invoiceId", GUID), _p("invoiceNumber"), _p("customerReturnReasonId", GUID), *_header_common()),
        children=("salesCreditMemoLines", "dimensionSetLines"), webhooks=True),
    _lines("salesCreditMemoLines", "salesCreditMemoLine", "Sales Cr. Memo Line", "salesCreditMemos"),
    EntitySet("journals", "journal", "Gen. Journal Batch", (
        ID, _p("code", n=10), _p("displayName", n=100), _p("templateDisplayName", ro=True), MODIFIED,
        _p("balancingAccountId", GUID), _p("balancingAccountNumber", ro=True)),
        children=("journalLines",), webhooks=True),
    EntitySet("journalLines", "journalLine", "Gen. Journal Line", (
        ID, _p("journalId", GUID), _p("journalDisplayName", ro=True), _p("lineNumber", INT),
        _p("accountType", options=ACCOUNT_TYPES), _p("accountId", GUID), _p("accountNumber", n=20),
        _p("postingDate", DATE), _p("documentNumber", n=20), _p("externalDocumentNumber", n=35),
        _p("amount", DEC), _p("description", n=100), _p("comment"), _p("taxCode"),
        _p("balanceAccountType", options=ACCOUNT_TYPES), _p("balancingAccountId", GUID),
        _p("balancingAccountNumber", n=20), MODIFIED),
        parents={"journals": "journalId"}, children=("dimensionSetLines",), document="journals"),
    EntitySet("generalLedgerEntries", "generalLedgerEntry", "G/L Entry", (
        ID, _p("entryNumber", INT, ro=True), _p("postingDate", DATE, ro=True), _p("documentNumber", ro=True),
        _p("documentType", ro=True, options=(" ", "Payment", "Invoice", "Credit Memo", "Finance Charge Memo",
                                              "Reminder", "Refund")),
        _p("accountId", GUID, ro=True), _p("accountNumber", ro=True), _p("description", ro=True),
        _p("debitAmount", DEC, ro=True), _p("creditAmount", DEC, ro=True),
        _p("additionalCurrencyDebitAmount", DEC, ro=True), _p("additionalCurrencyCreditAmount", DEC, ro=True),
        MODIFIED), methods=READ_ONLY, children=("dimensionSetLines",), webhooks=True),
    EntitySet("currencies", "currency", "Currency", (
        ID, _p("code", n=10), _p("displayName"), _p("symbol"), _p("amountDecimalPlaces"),
        _p("amountRoundingPrecision", DEC), MODIFIED), webhooks=True),
    EntitySet("currencyExchangeRates", "currencyExchangeRate", "Currency Exchange Rate", (
        ID, _p("currencyCode", ro=True), _p("startingDate", DATE, ro=True), _p("exchangeRateAmount", DEC, ro=True),
        _p("relationalCurrencyCode", ro=True), _p("relationalExchangeRateAmount", DEC, ro=True), MODIFIED),
        methods=READ_ONLY),
    EntitySet("dimensions", "dimension", "Dimension", (
        ID, _p("code", ro=True), _p("displayName", ro=True), _p("consolidationCode", ro=True), MODIFIED),
        methods=READ_ONLY, children=("dimensionValues",), webhooks=True),
    EntitySet("dimensionValues", "dimensionValue", "Dimension Value", (
        ID, _p("code", ro=True), _p("dimensionId", GUID, ro=True),
        _p("displayName", ro=True), _p("consolidationCode", ro=True), MODIFIED),
        methods=READ_ONLY, parents={"dimensions": "dimensionId"}),
    EntitySet("dimensionSetLines", "dimensionSetLine", "Dimension Set Entry", (
        _p("id", GUID), _p("code"), _p("consolidationCode", ro=True), _p("parentId", GUID, ro=True),
        _p("parentType", ro=True), _p("displayName", ro=True), _p("valueId", GUID), _p("valueCode"),
        _p("valueConsolidationCode", ro=True), _p("valueDisplayName", ro=True)),
        parents={"salesOrders": "parentId", "salesOrderLines": "parentId", "salesInvoices": "parentId",
                 "salesInvoiceLines": "parentId", "salesCreditMemos": "parentId",
                 "salesCreditMemoLines": "parentId", "journalLines": "parentId",
                 "generalLedgerEntries": "parentId"}),
    EntitySet("companyInformation", "companyInformation", "Company Information", (
        ID, _p("displayName", n=100), _p("addressLine1"), _p("addressLine2"), _p("city"), _p("state"),
        _p("country"), _p("postalCode"), _p("phoneNumber"), _p("faxNumber"), _p("email"), _p("website"),
        _p("taxRegistrationNumber"), _p("currencyCode", ro=True), _p("currentFiscalYearStartDate", DATE, ro=True),
        _p("industry"), _p("experience", ro=True), MODIFIED), methods=frozenset({READ, UPDATE}), webhooks=True),
    EntitySet("paymentTerms", "paymentTerm", "Payment Terms", (
        ID, _p("code", n=10), _p("displayName"), _p("dueDateCalculation"), _p("discountDateCalculation"),
        _p("discountPercent", DEC), _p("calculateDiscountOnCreditMemos", BOOL), MODIFIED), webhooks=True),
    EntitySet("accounts", "account", "G/L Account", (
        ID, _p("number", ro=True), _p("displayName", ro=True),
        _p("category", ro=True, options=(" ", "Assets", "Liabilities", "Equity", "Income", "Cost of Goods Sold",
                                          "Expense")),
        _p("subCategory", ro=True), _p("blocked", BOOL, ro=True),
        _p("accountType", ro=True, options=("Posting", "Heading", "Total", "Begin-Total", "End-Total")),
        _p("directPosting", BOOL, ro=True), _p("netChange", DEC, ro=True),
        _p("consolidationTranslationMethod", ro=True), _p("consolidationDebitAccount", ro=True),
        _p("consolidationCreditAccount", ro=True), _p("excludeFromConsolidation", BOOL, ro=True), MODIFIED),
        methods=READ_ONLY, webhooks=True),
    # q2c's AL extension pages
    EntitySet("companies", "company", "Company", (ID, _p("name", ro=True), _p("displayName", ro=True)),
              api=EXTENSION, methods=READ_ONLY),
    EntitySet("jobTasks", "jobTask", "Job Task", (
        ID, _p("jobNumber", n=20), _p("jobTaskNumber", n=20), _p("description", n=100),
        _p("jobTaskType", options=("Posting", "Heading", "Total", "Begin-Total", "End-Total")), MODIFIED),
        api=EXTENSION, webhooks=True),
    EntitySet("jobs", "job", "Job", (
        ID, _p("number", ro=True), _p("description", ro=True),
        _p("status", ro=True, options=("Planning", "Quote", "Open", "Completed")), _p("endingDate", DATE, ro=True),
        _p("externalId", n=100), MODIFIED), api=EXTENSION, methods=frozenset({READ, UPDATE}), table="projects"),
    EntitySet("timeEntries", "timeEntry", "Job Journal Line", (
        ID, _p("externalId", n=50), _p("jobNumber", n=20), _p("jobTaskNumber", n=20), _p("employeeNumber", n=20),
        _p("postingDate", DATE), _p("quantity", DEC), _p("unitPrice", DEC), _p("totalPrice", DEC, ro=True),
        _p("unitCost", DEC), _p("currencyCode", n=10), _p("chargeable", BOOL), _p("description", n=100),
        _p("invoiced", BOOL, ro=True), _p("serviceOffering", n=20), _p("legalEntity", n=20), MODIFIED),
        api=EXTENSION, webhooks=True),
)

_BY_KEY = {(s.api, s.name): s for s in SETS}


def entity_set(api: str, name: str) -> EntitySet | None:
    return _BY_KEY.get((api, name))


def sets_of(api: str) -> tuple[EntitySet, ...]:
    return tuple(s for s in SETS if s.api == api)
