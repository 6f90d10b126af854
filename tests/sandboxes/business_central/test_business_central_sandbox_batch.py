"""JSON `$batch`: each request answered with its own status, the 100-operation limit, and `Isolation: snapshot`."""

from __future__ import annotations

import httpx
from business_central_sandbox_support import error_of, ok


def _post_customer(number: str, request_id: str) -> dict[str, object]:
    return {"id": request_id, "method": "POST", "url": "companies({company})/customers",
            "headers": {"Content-Type": "application/json"}, "body": {"number": number, "displayName": number}}


def _requests(company_id: str, *items: dict[str, object]) -> dict[str, object]:
    return {"requests": [{**item, "url": str(item["url"]).replace("{company}", company_id)} for item in items]}


def test_batch_answers_each_request(api: httpx.Client, us01: str) -> None:
    company_id = us01[len("companies("):-1]
    body = _requests(company_id, _post_customer("B-1", "1"), _post_customer("B-1", "2"),
                     {"id": "3", "method": "GET", "url": "companies({company})/customers?$filter=number eq 'B-1'"},
                     {"id": "4", "method": "GET", "url": "companies({company})/nosuch"})
    answer = ok(api.post("$batch", json=body))
    statuses = {r["id"]: r["status"] for r in answer["responses"]}
    assert statuses == {"1": 201, "2": 400, "3": 200, "4": 404}
    by_id = {r["id"]: r for r in answer["responses"]}
    assert by_id["2"]["body"]["error"]["code"] == "Internal_EntityWithSameKeyExists"
    assert by_id["3"]["body"]["value"][0]["number"] == "B-1"
    assert by_id["1"]["headers"]["etag"].startswith('W/"')
    # a PATCH inside a batch needs its If-Match like any other
    made = by_id["1"]["body"]
    patch = {"requests": [{"id": "p", "method": "PATCH", "url": f"{us01}/customers({made['id']})",
                           "headers": {"If-Match": made["@odata.etag"]}, "body": {"displayName": "patched"}}]}
    assert ok(api.post("$batch", json=patch))["responses"][0]["status"] == 200


def test_batch_limit_is_100_operations(api: httpx.Client, us01: str) -> None:
    company_id = us01[len("companies("):-1]
    too_many = _requests(company_id, *[_post_customer(f"M-{n}", str(n)) for n in range(101)])
    error_of(api.post("$batch", json=too_many), 400, "BadRequest")
    just_enough = _requests(company_id, *[_post_customer(f"M-{n}", str(n)) for n in range(100)])
    assert all(r["status"] == 201 for r in ok(api.post("$batch", json=just_enough))["responses"])


def test_snapshot_isolation_undoes_the_whole_batch(api: httpx.Client, us01: str) -> None:
    company_id = us01[len("companies("):-1]
    body = _requests(company_id, _post_customer("S-1", "1"), _post_customer("S-2", "2"), _post_customer("S-1", "3"))
    answer = ok(api.post("$batch", json=body, headers={"Isolation": "snapshot"}))
    assert [r["status"] for r in answer["responses"]] == [201, 201, 400]
    assert ok(api.get(f"{us01}/customers"))["value"] == []
    without = ok(api.post("$batch", json=body))
    assert [r["status"] for r in without["responses"]] == [201, 201, 400]
    assert len(ok(api.get(f"{us01}/customers"))["value"]) == 2


def test_atomicity_group_fails_together(api: httpx.Client, us01: str) -> None:
    company_id = us01[len("companies("):-1]
    grouped = [{**_post_customer("G-1", "1"), "atomicityGroup": "g"}, {**_post_customer("G-1", "2"),
                                                                      "atomicityGroup": "g"},
               _post_customer("G-3", "3")]
    answer = ok(api.post("$batch", json=_requests(company_id, *grouped)))
    assert [r["status"] for r in answer["responses"]] == [400, 400, 201]
    assert [c["number"] for c in ok(api.get(f"{us01}/customers"))["value"]] == ["G-3"]
