"""Where in NetSuite to fix what first contact found, in the words of NetSuite's own menus.

NetSuite answers most sign-in problems the same way ("Invalid login attempt", 401) and writes the
cause only to its Login Audit Trail, so the advice names every setting that can cause what was seen.
Menu paths and permission names: "REST Web Services Prerequisites and Setup" (section_1544787084),
"Setting Script Deployment Status" (chapter_N2998873), and the integration record, M2M mapping and
access token pages of the NetSuite Help Center.
"""

from __future__ import annotations

ROLE = "Setup > Users/Roles > Manage Roles > the integration role > Permissions"
INTEGRATION = "Setup > Integration > Manage Integrations > q2c's integration record"
AUDIT_TRAIL = "Setup > Users/Roles > User Management > View Login Audit Trail"
DEPLOYMENTS = "Customization > Scripting > Script Deployments"


def token_refused(code: str) -> str:
    """Advice after the M2M token endpoint refused the client assertion."""
    if code == "unauthorized_client":
        return (f"the integration record does not allow this grant: in {INTEGRATION}, check Client Credentials "
                "(Machine to Machine) Grant")
    if code == "invalid_client":
        return (f"check the client ID and the certificate mapping (Setup > Integration > Manage Authentication > "
                f"OAuth 2.0 Client Credentials (M2M) Setup), and that the integration record's State is Enabled "
                f"({INTEGRATION})")
    return f"the details are in the Login Audit Trail ({AUDIT_TRAIL})"


def rest_refused_restlet_accepted(method: str) -> str:
    login = "token" if method == "m2m" else "signature"
    return (f"REST web services refused a {login} the RESTlet accepts: the integration role needs the REST Web "
            f"Services permission ({ROLE} > Setup > REST Web Services, Full), and the account the REST Web Services "
            "feature (Setup > Company > Enable Features > SuiteCloud)")


def both_refused(method: str, realm: str, code: str | None) -> str:
    answered = f"401 {code}" if code else "401"
    if method == "m2m":
        return (f"NetSuite issued a token but refuses it ({answered}) on REST web services and on the RESTlet: "
                f"the role of the M2M mapping needs Log in using OAuth 2.0 Access Tokens ({ROLE} > Setup), and the "
                f"mapping's entity and role must be active; the cause is in the Login Audit Trail ({AUDIT_TRAIL})")
    return (f"NetSuite refused the signed requests ({answered}) on REST web services and on the RESTlet, and does "
            f"not say why (its Login Audit Trail does: {AUDIT_TRAIL}). Check that consumer_key and consumer_secret "
            "are the "
            f"integration record's, with Token-based Authentication checked and State Enabled ({INTEGRATION}); "
            "that token_id and token_secret are an access token of that integration for q2c's user and role, not "
            f"revoked (Setup > Users/Roles > Access Tokens); that the role has Log in using Access Tokens ({ROLE} "
            f"> Setup); and that account_id is this account's (signed as realm {realm})")


def clock_off(seconds: float) -> str:
    direction = "ahead of" if seconds > 0 else "behind"
    return (f"this machine's clock is {abs(seconds):.0f} s {direction} NetSuite's, and token-based authentication "
            "refuses a timestamp that far off: set the clock right (NTP), then run q2c doctor again")


def suiteql_refused(code: str, message: str) -> str:
    if code == "INSUFFICIENT_PERMISSION":
        return (f"SuiteQL was refused ({code}: {message}): the integration role needs SuiteAnalytics Workbook "
                f"({ROLE} > Reports) and Subsidiaries ({ROLE} > Lists), and the account the SuiteAnalytics Workbook "
                "feature (Setup > Company > Enable Features > Analytics)")
    return f"SuiteQL was refused: {message}"


def restlet_refused(code: str, message: str, *, script: str, deploy: str) -> str:
    if code == "SSS_INVALID_SCRIPTLET_ID":
        return (f"no RESTlet answers as {script} / {deploy} ({code}): upload restlet/q2c_bulk_upsert.js and deploy "
                "it as its header describes (Customization > Scripting > Scripts > New), with these ids; a "
                "deployment that is inactive answers the same")
    if code == "INSUFFICIENT_PERMISSION":
        return (f"the deployment {deploy} turned the integration role away ({code}: {message}): in {DEPLOYMENTS}, "
                "set its Status to Released (in Testing only the script owner runs it) and add the role to its "
                "Audience")
    return (f"the bulk RESTlet answered an empty batch with {code}: {message}; deploy the q2c_bulk_upsert.js that "
            "comes with this q2c version")


def restlet_login_refused(method: str) -> str:
    if method == "m2m":
        return (f"the RESTlet refused the token REST web services accept: the token needs the restlets scope (the "
                f"scope setting, and the RESTlets box under Scope on the integration record: {INTEGRATION})")
    return (f"the RESTlet refused the signature REST web services accept; the cause is in the Login Audit Trail "
            f"({AUDIT_TRAIL})")
