"""First contact with a Harvest account: reach the API root, and read the token's own user."""

from __future__ import annotations

from q2c.connectors.checks import ONE_TRY, Check, failed, no_sleep, passed, reach, unavailable
from q2c.connectors.harvest.client import HarvestClient, HarvestNotFound
from q2c.connectors.harvest.settings import HarvestSettings
from q2c.engine.errors import AuthFailed, RecordRejected, TransientError
from q2c.engine.resilience import GuardRegistry

SYSTEM = "harvest"


def check(settings: HarvestSettings, where: str, timeout: float) -> Check:
    cause = reach(settings.base_url, timeout)
    if cause is not None:
        return failed(SYSTEM, where, "base_url", cause)
    quick = settings.model_copy(update={"timeout_seconds": timeout})
    with HarvestClient(quick, GuardRegistry(), retry=ONE_TRY, sleep=no_sleep) as client:
        try:
            me = client.me()
        except AuthFailed as exc:
            return failed(SYSTEM, where, "access_token", exc.message.split(": ", 1)[-1])
        except HarvestNotFound:
            return failed(SYSTEM, where, "base_url", f"{settings.base_url}/users/me does not exist (HTTP 404): "
                                                     "base_url must be the Harvest API v2 root, as "
                                                     "https://api.harvestapp.com/v2 is")
        except RecordRejected as exc:
            key = "user_agent" if "user-agent" in exc.violation.message.lower() else "base_url"
            return failed(SYSTEM, where, key, exc.violation.message)
        except TransientError as exc:
            return unavailable(SYSTEM, where, "base_url", settings.base_url, exc)
    return passed(SYSTEM, where, f"account {settings.account_id} answers as {me.get('email', 'the token owner')}")
