"""First contact with a Harvest account, for `q2c doctor`: the API root answers, the token opens the account,
and the account is set up so that time reaches q2c whole.

Three cheap reads: `GET /v2/users/me` (the token and the account id; Harvest answers a token that does not
open the named account with 401 `invalid_token`, so the two cannot be told apart from here), `GET
/v2/company` (which account that is, shown so a person can see it is the intended one, and whether
Approvals are on), and the token's user's access roles (account_checks: sees everyone's time and every
project, may create clients, projects and tasks). The account's settings are warnings, not blocking:
q2c still runs, and each time poll holds the same problems in the exception queue.
"""

from __future__ import annotations

from q2c.connectors.checks import ONE_TRY, Check, failed, no_sleep, passed, reach, unavailable
from q2c.connectors.harvest.account_checks import ADMINISTRATOR, approvals_off, project_setup, time_access
from q2c.connectors.harvest.client import HarvestClient, HarvestNotFound, Record
from q2c.connectors.harvest.settings import HarvestSettings
from q2c.domain.violations import Violation
from q2c.engine.errors import AuthFailed, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry

SYSTEM = "harvest"


def _account_line(settings: HarvestSettings, company: Record, me: Record) -> str:
    place = ", ".join(str(company[k]) for k in ("name", "full_domain") if company.get(k))
    given = me.get("access_roles")
    roles = [str(r) for r in given] if isinstance(given, list) else []
    level = "an Administrator" if ADMINISTRATOR in roles else f"access roles {', '.join(roles) or 'none'}"
    return (f"account {settings.account_id}" + (f" ({place})" if place else "")
            + f" answers as {me.get('email', 'the token owner')}, {level}")


def _problems(where: str, head: str, problems: list[Violation]) -> Check:
    """The account's problems as one warning, on the key the first one is fixed through."""
    key = "account_id" if problems[0].rule == "harvest.approvals_off" else "access_token"
    fixes = ". Also: ".join(dict.fromkeys(v.action for v in problems))
    return failed(SYSTEM, where, key, f"{head}, but {'; '.join(v.message for v in problems)}. Fix: {fixes}.",
                  blocking=False)


def check(settings: HarvestSettings, where: str, timeout: float) -> Check:
    cause = reach(settings.base_url, timeout)
    if cause is not None:
        return failed(SYSTEM, where, "base_url", cause)
    quick = settings.model_copy(update={"timeout_seconds": timeout})
    with HarvestClient(quick, GuardRegistry(), retry=ONE_TRY, sleep=no_sleep) as client:
        try:
            me = client.me()
            company = client.company()
        except AuthFailed as exc:
            refusal = exc.message.split(": ", 1)[-1].partition(". Check the access token")[0]
            return failed(SYSTEM, where, "access_token",
                          f"{refusal}: the token is wrong or revoked, or account {settings.account_id} is not "
                          "one it opens (Harvest ID > Developers lists each token's accounts; the account is "
                          "systems.tracker.account_id)")
        except HarvestNotFound:
            return failed(SYSTEM, where, "base_url", f"{settings.base_url}/users/me does not exist (HTTP 404): "
                                                     "base_url must be the Harvest API v2 root, as "
                                                     "https://api.harvestapp.com/v2 is")
        except RecordRejected as exc:
            key = "user_agent" if "user-agent" in exc.violation.message.lower() else "base_url"
            return failed(SYSTEM, where, key, exc.violation.message)
        except TransientError as exc:
            return unavailable(SYSTEM, where, "base_url", settings.base_url, exc)
    head = _account_line(settings, company, me)
    problems = [*approvals_off(company, settings.account_id), *time_access(me, settings.account_id),
                *project_setup(me, settings.account_id)]
    if problems:
        return _problems(where, head, problems)
    return passed(SYSTEM, where, f"{head}: Approvals on, sees everyone's time, may set up projects")
