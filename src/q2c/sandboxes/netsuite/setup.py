"""What an administrator set up in the account that decides whether q2c gets in, and what it may do.

The integration user's role needs, per NetSuite's "REST Web Services Prerequisites and Setup"
(section_1544787084): REST Web Services, SuiteAnalytics Workbook (SuiteQL), and the login permission
of its sign-in method: Log in using Access Tokens (TBA) or Log in using OAuth 2.0 Access Tokens (M2M).
RESTlets need the login permission only. The integration record has a Token-based Authentication
box and a Client Credentials (Machine to Machine) Grant box, and a State (Enabled or Blocked). The
RESTlet's deployment has a Status (Released, or Testing: only the script owner runs it, "Setting
Script Deployment Status", chapter_N2998873) and an Audience of roles.

Tests and `q2c sandbox` users change this through `PUT /__sandbox/netsuite/setup` (admin.py) to
break one thing at a time, as a doctor's check must notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

REST_WEB_SERVICES = "REST Web Services"
SUITEANALYTICS_WORKBOOK = "SuiteAnalytics Workbook"
LOG_IN_ACCESS_TOKENS = "Log in using Access Tokens"
LOG_IN_OAUTH2 = "Log in using OAuth 2.0 Access Tokens"
PERMISSIONS = frozenset({REST_WEB_SERVICES, SUITEANALYTICS_WORKBOOK, LOG_IN_ACCESS_TOKENS, LOG_IN_OAUTH2})

Status = Literal["released", "testing", "not deployed"]


@dataclass
class AccountSetup:
    role_permissions: set[str] = field(default_factory=lambda: set(PERMISSIONS))
    token_based_authentication: bool = True  # the integration record's Token-based Authentication box
    client_credentials: bool = True  # its Client Credentials (Machine to Machine) Grant box
    integration_blocked: bool = False  # its State: Blocked
    deployment_status: Status = "released"
    audience_includes_role: bool = True

    def changed(self, body: dict[str, Any]) -> None:
        """Apply the keys given (the rest stay); ValueError names a key or value NetSuite has no such thing as."""
        known = {f.name for f in fields(self)}
        for key, value in body.items():
            if key not in known:
                raise ValueError(f"unknown setup key {key!r} (known: {', '.join(sorted(known))})")
            if key == "role_permissions":
                unknown = set(value) - PERMISSIONS
                if unknown:
                    raise ValueError(f"unknown permission {sorted(unknown)[0]!r} "
                                     f"(known: {', '.join(sorted(PERMISSIONS))})")
                value = set(value)
            elif key == "deployment_status" and value not in ("released", "testing", "not deployed"):
                raise ValueError("deployment_status is one of released, testing, not deployed")
            elif key != "deployment_status" and not isinstance(value, bool):
                raise ValueError(f"{key} is true or false")
            setattr(self, key, value)

    def shown(self) -> dict[str, Any]:
        return {f.name: sorted(v) if isinstance(v := getattr(self, f.name), set) else v for f in fields(self)}
