"""Calls to the NetSuite sandbox as any client of NetSuite's documented wire protocol would make them.

Nothing here comes from q2c's connector: the client assertion is signed with PyJWT from the
documented header and claims, and requests are plain httpx, so these tests check the sandbox
against NetSuite's documentation alone.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import RECORD_PATH, RESTLET_PATH, SUITEQL_PATH, TOKEN_PATH

ACCOUNT = "1234567_SB1"
CLIENT_ID = "sandbox-test-client"
CERT_ID = "sandbox-test-certificate"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RESTLET_QUERY = {"script": "customscript_q2c_bulk_upsert", "deploy": "customdeploy_q2c_bulk_upsert"}


def assertion(private_pem: str, audience: str, *, algorithm: str = "ES256", client_id: str = CLIENT_ID,
              kid: str = CERT_ID, scope: Any = "rest_webservices,restlets", issued: float | None = None,
              lifetime: int = 300, header: dict[str, Any] | None = None) -> str:
    """A client assertion as NetSuite's M2M documentation describes it."""
    iat = int(time.time() if issued is None else issued)
    claims = {"iss": client_id, "scope": scope, "aud": audience, "iat": iat, "exp": iat + lifetime}
    return jwt.encode(claims, private_pem, algorithm=algorithm, headers={"kid": kid, "typ": "JWT", **(header or {})})


def request_token(server: SandboxServer, signed: str, **form: str) -> httpx.Response:
    data = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": signed,
            **form}
    return httpx.post(server.url + TOKEN_PATH, data=data)


class Caller:
    """A signed-in client of one sandbox: REST records, SuiteQL and the RESTlet, with the bearer token."""

    def __init__(self, server: SandboxServer, private_pem: str) -> None:
        self.url = server.url
        answer = request_token(server, assertion(private_pem, server.url + TOKEN_PATH))
        assert answer.status_code == 200, answer.text
        self.token = str(answer.json()["access_token"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def record(self, method: str, path: str, body: Any = None, *, strict: bool = True,
               params: dict[str, str] | None = None) -> httpx.Response:
        headers = {**self.headers, "X-NetSuite-PropertyNameValidation": "Error" if strict else "Warning"}
        content = body if isinstance(body, bytes) else None
        return httpx.request(method, f"{self.url}{RECORD_PATH}/{path}", headers=headers, params=params,
                             json=None if content is not None else body, content=content)

    def suiteql(self, query: str, *, limit: int = 1000, offset: int = 0, prefer: str = "transient"
                ) -> httpx.Response:
        return httpx.post(self.url + SUITEQL_PATH, params={"limit": limit, "offset": offset},
                          headers={**self.headers, "Prefer": prefer}, json={"q": query})

    def rows(self, query: str) -> list[dict[str, str]]:
        answer = self.suiteql(query)
        assert answer.status_code == 200, answer.text
        return [{k: v for k, v in item.items() if k != "links"} for item in answer.json()["items"]]

    def restlet(self, body: Any, *, params: dict[str, str] | None = None, signed: bool = True) -> httpx.Response:
        return httpx.post(self.url + RESTLET_PATH, params=params or RESTLET_QUERY, json=body,
                          headers=self.headers if signed else {})


def first_detail(answer: httpx.Response) -> dict[str, str]:
    """The first `o:errorDetails` entry of a REST error answer, after checking the body's shape."""
    body = answer.json()
    assert set(body) == {"type", "title", "status", "o:errorDetails"}, body
    assert body["status"] == answer.status_code
    details: list[dict[str, str]] = body["o:errorDetails"]
    return details[0]
