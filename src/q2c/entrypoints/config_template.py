"""The commented starting config that `q2c init` writes.

Values only the firm knows are ALL-CAPS placeholders (config.TEMPLATE_PLACEHOLDERS): loading the
file names each key that still holds one, so an untouched template never reaches a vendor.
"""

TEMPLATE = """\
# q2c configuration. Every key is checked at start; a wrong key is reported with its path.
# Replace every ALL-CAPS placeholder; `q2c doctor --config THIS_FILE` then checks each system.
# Secrets may be given as ${ENV_VAR} references. Times are UTC; money is written as plain decimals.
# Relative paths (the SQLite file, key files) are read from this file's folder.

# Where q2c keeps its state. Embedded default: one SQLite file (WAL).
# Production: postgresql://user:password@host:5432/q2c (several workers may share it).
database: sqlite:///q2c.sqlite

# The system in each role: `type` names the connector (see `q2c doctor`), the other keys are that
# connector's settings.
systems:
  crm:
    type: salesforce
    login_url: https://YOUR-DOMAIN.my.salesforce.com   # the org's My Domain URL (required for client credentials)
    client_id: CONNECTED_APP_CONSUMER_KEY
    client_secret: CONNECTED_APP_CONSUMER_SECRET
    # or, for the JWT bearer flow instead of client_secret:
    # username: integration@your-firm.example
    # private_key_path: salesforce-jwt.pem          # RSA key of the connected app's certificate
    api_version: "59.0"
    # Contract changes: the Opportunity field that approves a change of a won deal's terms (without one, a
    # change to a won deal counts as approved), the field with its effective date, and the lookup on a
    # change-order opportunity naming the deal it amends.
    # change_approval_field: Change_Approved__c
    # change_effective_date_field: Change_Effective_Date__c
    # change_order_field: Original_Opportunity__c
  tracker:
    type: harvest
    base_url: https://api.harvestapp.com/v2
    account_id: "HARVEST_ACCOUNT_ID"
    access_token: HARVEST_PERSONAL_ACCESS_TOKEN
    user_agent: q2c (integrations@your-firm.example)
    requests_per_15s: 100          # Harvest's documented limit
  erp:
    type: netsuite
    account_id: "NETSUITE_ACCOUNT_ID"   # such as 1234567 or 1234567_SB1; the API hosts derive from it
    client_id: INTEGRATION_CLIENT_ID
    certificate_id: M2M_CERTIFICATE_ID
    private_key_path: /etc/q2c/netsuite-m2m.pem
    # or token-based authentication (OAuth 1.0a, HMAC-SHA256) instead of client_id/certificate_id/key:
    # auth: tba
    # consumer_key: INTEGRATION_CONSUMER_KEY        # the integration record's consumer key and secret
    # consumer_secret: INTEGRATION_CONSUMER_SECRET
    # token_id: ACCESS_TOKEN_ID                     # an access token for the integration role
    # token_secret: ACCESS_TOKEN_SECRET
    concurrency_limit: 5           # the account's concurrency limit (shared by all integrations)
    bulk_threshold: 20             # at or above this many records, use the q2c bulk-upsert RESTlet
    # employee_role_field: title   # shown beside the config's role in `q2c reference show` (or a custentity field)
    # Internal ids of the account's setup records, by the names q2c uses:
    # references:
    #   subsidiaries: {US01: "1"}                   # legal entity code -> subsidiary
    #   currencies: {USD: "1"}                      # ISO code -> currency
    #   terms: {"Net 30": "2"}                      # payment terms name -> term
    #   billing_type_items: {time_and_materials: "10", fixed_fee: "11", milestone: "13", retainer: "12"}
    #   default_service_item: "10"
    #   tax_items: {US-CA-STD: "20"}                # tax code -> sales tax item
    #   classes: {IMPL: "3"}                        # dimension codes -> Class (classification) records
    #   departments: {CONS: "6"}                    #   -> Department records
    #   locations: {US01: "8"}                      #   -> Location records

# The firm's contracting entities (customers' Legal_Entity__c must be one of these codes).
legal_entities:
  - {code: US01, name: Example Consulting Inc., currency: USD, timezone: America/New_York}
  # Reporting dimensions, as the firm's own codes (each needs an id under systems.erp.references):
  #   dimensions: {location: US01}              # the location of everything this entity books

# What the firm sells, and the project tasks each offering gets.
service_offerings:
  - code: IMPL
    name: Implementation
    roles: [Consultant, Architect]
    # dimensions: {class: IMPL, department: CONS}  # the service line and department of its lines
    tasks:
      - {code: DESIGN, name: Design}
      - {code: BUILD, name: Build}
      - {code: INTERNAL, name: Internal meetings, billable: false}

# Effective-dated rate cards (a resource-specific line overrides its role's rate). Live contracts are
# rated with the card in force under their card id, at the rate of each work date. A rate change is a
# new line with a later effective_from, such as
#   - {role: Consultant, rate: 165.00, cost_rate: 75.00, effective_from: 2026-11-16}
# then `q2c reference reprice --preview` shows what it does to unbilled time, and `--apply` applies it.
rate_cards:
  - id: RC-USD-2026
    currency: USD
    lines:
      - {role: Consultant, rate: 150.00, cost_rate: 70.00, effective_from: 2026-01-01}
      - {role: Architect, rate: 200.00, cost_rate: 95.00, effective_from: 2026-01-01}

# People who log time, by the email they use in the time tracker, with their rate-card role.
resources:
  - {email: alice@example.com, name: Alice Example, role: Consultant}
  # a person's own department, over the offering's on their time:
  # - {email: bob@example.com, name: Bob Example, role: Architect, dimensions: {department: PMO}}

payment_terms: ["Net 15", "Net 30", "Net 45", "Net 60", "Due on receipt"]

# Reference data refresh: `q2c reference sync`, and `q2c serve` every refresh_seconds.
reference:
  # Euro reference rates as published (eurofxref-hist.csv, its .zip, or eurofxref-daily.xml), for legal
  # entities that keep their books in another currency than their contracts'; kept in the hub as read.
  # fx_rates_file: eurofxref-hist.csv
  # Or the ERP's own dated rates (NetSuite: Currency Exchange Rates); file | erp | none, default file when
  # fx_rates_file is set, else none (only fx_rates). The config's fx_rates win on the same day.
  # fx_source: erp
  refresh_seconds: 3600

# Invoices: `auto` sends each invoice to the ERP in the billing run; `review` keeps drafts in q2c until
# `q2c invoices approve` releases them (revenue follows released invoices only).
billing:
  release: auto

# A change that reaches into a closed period always needs two people; one that moves the open period's
# revenue by more than this does too (`q2c changes apply`).
contract_changes:
  # second_approval_over: 10000.00
  poll_seconds: 3600        # how often `q2c serve` compares every contract with its deal in the CRM

# Declared invariants across the systems (`q2c reconcile`): each is one reconciliation pair, checked after the
# steps it lists and on `q2c serve`'s timer. A drift is an exception naming the record, its cause and its fix.
reconciliation:
  every_seconds: 86400      # `q2c serve` reconciles the `schedule` invariants daily (0: never)
  invariants:
    time_posted: {after: [sync, close, schedule]}       # approved hours = the ERP's timebills
    deal_value: {after: [sync, schedule]}               # the CRM's booking = the ERP's contract
    billing_posted: {after: [billing, schedule]}        # q2c's invoices = the ERP's
    gl_equals_engine: {after: [close, schedule]}        # recognised revenue = the GL's revenue lines

# How long finished work is kept (`q2c prune`; `q2c serve` every hour). The audit trail and the books stay.
retention:
  work_items_days: 45
  events_days: 45
  exception_payloads_days: 90

# The audit trail is keyed (HMAC) with a secret that is not in the database, and its head is anchored in
# signed checkpoints outside it, so `q2c audit verify` catches a rewritten, truncated or wiped trail. Name
# where the key is (never the key itself); without, a key file is made beside a SQLite database.
audit:
  # key_file: /etc/q2c/audit.key
  # key_env: Q2C_AUDIT_KEY
  # anchor_dir: /var/lib/q2c/audit-anchors
  anchor_every_seconds: 3600

time:
  max_hours_per_entry: 24
  poll_seconds: 60

delivery:
  max_attempts: 30          # durable retries of a transient failure before it becomes an exception
  backoff_cap_seconds: 300
  lease_seconds: 120        # a dead worker's items are taken over after this (live ones renew it)
  workers: 2                # worker threads in `q2c serve`
  batch: 8                  # work items a worker claims at once (at most one per project)

http:
  host: 127.0.0.1
  port: 8080
  webhook_secret: SHARED_SECRET_FOR_SIGNED_WEBHOOKS    # X-Q2C-Signature on /webhooks/salesforce/...
"""
