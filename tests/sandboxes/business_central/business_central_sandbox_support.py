"""Small helpers the Business Central sandbox tests share: creating the records a document needs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import msal

if TYPE_CHECKING:
    from q2c.sandboxes.business_central.app import BusinessCentralSandbox

SCOPE = "https://api.businesscentral.dynamics.com/.default"


def msal_app(box: BusinessCentralSandbox, url: str, ca_path: Path, client_id: str | None = None,
             credential: object = None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(client_id or box.client_id,
                                              client_credential=credential or box.client_secret,
                                              authority=f"{url}/{box.tenant_id}", verify=str(ca_path),
                                              instance_discovery=False)


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def customer(api: httpx.Client, company: str, number: str = "CUST-1", **extra: Any) -> dict[str, Any]:
    return created(api.post(f"{company}/customers", json={"number": number, "displayName": f"Customer {number}",
                                                           **extra}))


def draft_invoice(api: httpx.Client, company: str, customer_number: str, *lines: tuple[str, str, str],
                  external: str = "INV-Q2C-1") -> dict[str, Any]:
    """A draft invoice with Account lines (G/L account, quantity, unit price) in one deep insert."""
    body = {"customerNumber": customer_number, "externalDocumentNumber": external, "invoiceDate": "2026-11-30",
            "salesInvoiceLines": [{"lineType": "Account", "lineObjectNumber": account, "quantity": quantity,
                                   "unitPrice": price, "description": f"line {i}"}
                                  for i, (account, quantity, price) in enumerate(lines)]}
    return created(api.post(f"{company}/salesInvoices", json=body))


def error_of(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert "CorrelationId:" in error["message"]
    return str(error["message"])
