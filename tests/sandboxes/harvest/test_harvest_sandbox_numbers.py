"""Amounts and hours keep every digit from the wire to the wire, and currencies are ISO 4217."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from harvest_sandbox_support import Delivery

from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.harvest.errors import HarvestRefusal

JSON = {"Content-Type": "application/json"}


def test_a_rate_with_more_digits_than_a_float_holds_comes_back_exactly(http: httpx.Client) -> None:
    created = http.post("/v2/tasks", content=b'{"name": "AUDIT", "default_hourly_rate": 123.456789012345678901}',
                        headers=JSON)
    assert created.status_code == 201
    assert b'"default_hourly_rate":123.456789012345678901' in created.content
    assert http.get(f"/v2/tasks/{created.json()['id']}").content == created.content


def test_hours_are_read_as_decimals_and_kept_to_the_hundredth(http: httpx.Client, delivery: Delivery) -> None:
    body = (f'{{"project_id": {delivery.project_id}, "task_id": {delivery.design_task_id}, '
            f'"user_id": {delivery.ada_id}, "spent_date": "2026-02-10", "hours": 2.675}}').encode()
    created = http.post("/v2/time_entries", content=body, headers=JSON)
    assert created.status_code == 201
    assert b'"hours":2.68,' in created.content and b'"rounded_hours":2.75,' in created.content


def test_non_finite_numbers_are_not_numbers(http: httpx.Client, delivery: Delivery) -> None:
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        body = (f'{{"project_id": {delivery.project_id}, "task_id": {delivery.design_task_id}, '
                f'"user_id": {delivery.ada_id}, "spent_date": "2026-02-10", "hours": ').encode() + constant + b"}"
        response = http.post("/v2/time_entries", content=body, headers=JSON)
        assert response.status_code == 422
        assert response.json() == {"message": "Hours is not a number"}


def test_a_float_handed_over_in_python_is_refused(sandbox: HarvestSandbox) -> None:
    with pytest.raises(HarvestRefusal, match="Default hourly rate is not a number"):
        sandbox.state.create_task({"name": "FLOAT", "default_hourly_rate": 1.5})
    assert sandbox.state.create_task({"name": "TEXT", "default_hourly_rate": "1.50"})["default_hourly_rate"] == \
        Decimal("1.50")


@pytest.mark.parametrize(("given", "kept"), [(None, "USD"), ("EUR", "EUR"), ("jpy", "JPY"), ("BHD", "BHD")])
def test_client_currencies_are_iso_4217_codes(http: httpx.Client, given: str | None, kept: str) -> None:
    body = {"name": f"Client in {kept}"} | ({} if given is None else {"currency": given})
    created = http.post("/v2/clients", json=body)
    assert created.status_code == 201 and created.json()["currency"] == kept


@pytest.mark.parametrize("given", ["ZZZ", "XAU", "US", "US1", 840])
def test_unknown_or_unbillable_currencies_are_refused(http: httpx.Client, given: object) -> None:
    response = http.post("/v2/clients", json={"name": "Somewhere", "currency": given})
    assert response.status_code == 422
    assert response.json() == {"message": "Currency is not included in the list"}
