"""First contact with a Toggl Track workspace: reach the API host, read the token's user and the workspace,
and say what in the account keeps approved time from flowing (the tracker's `account_problems`)."""

from __future__ import annotations

from q2c.connectors.checks import ONE_TRY, Check, failed, no_sleep, passed, reach, unavailable
from q2c.connectors.toggl.client import PlanRequired, TogglClient, TogglNotFound
from q2c.connectors.toggl.settings import TogglSettings
from q2c.connectors.toggl.tracker import TogglTracker
from q2c.engine.errors import AuthFailed, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry

SYSTEM = "toggl"


def check(settings: TogglSettings, where: str, timeout: float) -> Check:
    cause = reach(settings.base_url, timeout)
    if cause is not None:
        return failed(SYSTEM, where, "base_url", cause)
    quick = settings.model_copy(update={"timeout_seconds": timeout})
    with TogglClient(quick, GuardRegistry(), retry=ONE_TRY, sleep=no_sleep) as client:
        tracker = TogglTracker(client)
        try:
            me = tracker.me()
        except AuthFailed as exc:
            return failed(SYSTEM, where, "api_token", exc.message.split(": ", 1)[-1])
        except TogglNotFound:
            return failed(SYSTEM, where, "base_url", f"{settings.base_url}/api/v9/me does not exist (HTTP 404): "
                                                     "base_url must be the Toggl API host, as "
                                                     "https://api.track.toggl.com is")
        except RecordRejected as exc:
            return failed(SYSTEM, where, "base_url", exc.violation.message)
        except TransientError as exc:
            return unavailable(SYSTEM, where, "base_url", settings.base_url, exc)
        try:
            workspace = client.workspace()
            problems = tracker.account_problems()
        except AuthFailed:
            return failed(SYSTEM, where, "workspace_id", f"{me.get('email', 'the token owner')} cannot see Toggl "
                                                         f"workspace {settings.workspace_id}: check the id (Toggl "
                                                         "Track > Settings, in the address) and the membership")
        except (RecordRejected, PlanRequired) as exc:
            return failed(SYSTEM, where, "workspace_id", str(exc))
        except TransientError as exc:
            return unavailable(SYSTEM, where, "base_url", settings.base_url, exc)
    if problems:
        said = "; ".join(f"{p.message}. {p.action}" for p in problems)
        return failed(SYSTEM, where, (problems[0].field == "role" and "api_token") or "workspace_id", said,
                      blocking=False)
    return passed(SYSTEM, where, f"workspace {settings.workspace_id} ({workspace.get('name', 'unnamed')}) answers "
                                 f"as {me.get('email', 'the token owner')}, an admin, with approvals in use")
