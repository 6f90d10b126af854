"""`q2c doctor`'s first contact with Business Central: passes on the sandbox, names the key on each problem;
and the client's 401 refresh and throttling against the sandbox."""

from __future__ import annotations

import pytest

from q2c.connectors.business_central import BusinessCentralClient, BusinessCentralSettings
from q2c.connectors.business_central.doctor import check
from q2c.engine.errors import AuthFailed
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import Faults

OTHER_COMPANY = "0f0f0f0f-1b2e-4c3d-9e8f-000000000009"


def test_business_central_doctor_passes_on_the_sandbox(settings: BusinessCentralSettings) -> None:
    result = check(settings, "systems.erp", 5.0)  # the extension's jobs page included
    assert result.ok, result.line


@pytest.mark.parametrize(("change", "key"), [
    ({"client_secret": "wrong"}, "systems.erp.client_secret"),
    ({"companies": {"US01": OTHER_COMPANY}}, "systems.erp.companies.US01"),
    ({"environment": "nosuchenv"}, "systems.erp.environment"),
    ({"references": {"journal": "NOPE"}}, "systems.erp.references.journal"),
])
def test_business_central_doctor_names_the_key_to_fix(settings: BusinessCentralSettings, change: dict[str, object],
                                                      key: str) -> None:
    data = settings.model_dump()
    data.update(change)
    if "references" in change:
        data["references"] = {**settings.references.model_dump(), **change["references"]}  # type: ignore[dict-item]
    broken = BusinessCentralSettings.model_validate(data)
    result = check(broken, "systems.erp", 5.0)
    assert not result.ok and result.blocking and result.key == key, result.line


def test_business_central_refused_token_is_asked_for_afresh_once(client: BusinessCentralClient,
                                                                box: BusinessCentralSandbox) -> None:
    client.companies()
    before = client.token.requests
    box.tenant.expire_tokens()  # Business Central now answers 401 to the cached token
    assert client.companies()
    assert client.token.requests == before + 1


def test_business_central_unknown_app_is_auth_failed(settings: BusinessCentralSettings,
                                                     box: BusinessCentralSandbox) -> None:
    stranger = box.register_app(secret="x" * 20, in_business_central=False)
    other = BusinessCentralSettings.model_validate({**settings.model_dump(), "client_id": stranger.client_id,
                                                    "client_secret": "x" * 20})
    with pytest.raises(AuthFailed) as caught:
        BusinessCentralClient(other, GuardRegistry()).companies()
    assert "systems.erp.client_id" in caught.value.message


def test_business_central_throttled_read_is_waited_out(client: BusinessCentralClient,
                                                      box: BusinessCentralSandbox) -> None:
    client.companies()
    box.set_faults(Faults(throttle_rate=0.5, seed=3))
    for _ in range(5):
        assert client.companies()
    box.set_faults(Faults())
    assert box.stats.throttled > 0
