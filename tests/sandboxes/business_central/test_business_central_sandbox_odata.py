"""OData conventions: paging, query options, ETags and If-Match, error bodies, exact decimals, date formats."""

from __future__ import annotations

import httpx
from business_central_sandbox_support import created, customer, error_of, ok


def _customers(api: httpx.Client, company: str, count: int) -> list[dict[str, object]]:
    return [customer(api, company, f"C{n:03d}", creditLimit=n * 100, city="Leeds" if n % 2 else "York")
            for n in range(1, count + 1)]


def test_server_driven_paging_follows_next_links(api: httpx.Client, us01: str) -> None:
    _customers(api, us01, 7)
    seen: list[str] = []
    url: str | None = f"{us01}/customers?$orderby=number"
    pages = 0
    while url:
        response = api.get(url, headers={"Prefer": "odata.maxpagesize=3"})
        body = ok(response)
        assert response.headers["Preference-Applied"] == "odata.maxpagesize=3"
        seen += [c["number"] for c in body["value"]]
        url = body.get("@odata.nextLink")
        assert url is None or url.startswith("https://127.0.0.1:")
        pages += 1
    assert pages == 3 and seen == [f"C{n:03d}" for n in range(1, 8)]
    whole = ok(api.get(f"{us01}/customers"))
    assert "@odata.nextLink" not in whole and len(whole["value"]) == 7


def test_filter_operators(api: httpx.Client, us01: str) -> None:
    _customers(api, us01, 6)

    def numbers(expression: str) -> list[str]:
        params = {"$filter": expression, "$schemaversion": "2.1"}
        return sorted(c["number"] for c in ok(api.get(f"{us01}/customers", params=params))["value"])

    assert numbers("creditLimit gt 400") == ["C005", "C006"]
    assert numbers("creditLimit ge 400 and city eq 'York'") == ["C004", "C006"]
    assert numbers("creditLimit lt 200 or number eq 'C006'") == ["C001", "C006"]
    assert numbers("creditLimit le 100") == ["C001"]
    assert numbers("city ne 'Leeds'") == ["C002", "C004", "C006"]
    assert numbers("number in ('C001','C003')") == ["C001", "C003"]
    assert numbers("startswith(number,'C00') and contains(displayName,'005')") == ["C005"]
    assert numbers("not (creditLimit gt 100)") == ["C001"]
    error_of(api.get(f"{us01}/customers", params={"$filter": "nosuch eq 1"}), 400, "BadRequest")
    error_of(api.get(f"{us01}/customers", params={"$filter": "creditLimit gt 'abc'"}), 400, "BadRequest")
    error_of(api.get(f"{us01}/customers", params={"$filter": "creditLimit gt"}), 400, "BadRequest")


def test_select_orderby_top_skip_and_count(api: httpx.Client, us01: str) -> None:
    _customers(api, us01, 5)
    body = ok(api.get(f"{us01}/customers", params={"$select": "number,creditLimit", "$orderby": "creditLimit desc",
                                                     "$top": "2", "$skip": "1", "$count": "true"}))
    assert body["@odata.count"] == 5
    assert [c["number"] for c in body["value"]] == ["C004", "C003"]
    assert set(body["value"][0]) == {"@odata.etag", "id", "number", "creditLimit"}
    error_of(api.get(f"{us01}/customers", params={"$select": "nosuch"}), 400, "BadRequest")


def test_etags_guard_updates_and_deletes(api: httpx.Client, us01: str) -> None:
    made = customer(api, us01, "C-ETAG")
    path = f"{us01}/customers({made['id']})"
    message = error_of(api.patch(path, json={"displayName": "x"}), 400, "BadRequest_InvalidToken")
    assert "concurrency token" in message
    fresh = ok(api.patch(path, json={"displayName": "first"}, headers={"If-Match": made["@odata.etag"]}))
    stale = api.patch(path, json={"displayName": "second"}, headers={"If-Match": made["@odata.etag"]})
    assert "Another user has already changed the record." in error_of(stale, 412, "Request_EntityChanged")
    error_of(api.delete(path, headers={"If-Match": made["@odata.etag"]}), 412, "Request_EntityChanged")
    assert api.delete(path, headers={"If-Match": fresh["@odata.etag"]}).status_code == 204


def test_error_bodies_and_unknown_paths(api: httpx.Client, us01: str) -> None:
    error_of(api.get(f"{us01}/nosuchset"), 404, "BadRequest_ResourceNotFound")
    error_of(api.get("companies(00000000-0000-0000-0000-00000000dead)/customers"), 404, "BadRequest_NotFound")
    message = error_of(api.post(f"{us01}/customers", json={"bogus": 1}), 400, "BadRequest")
    assert "'bogus' does not exist" in message
    error_of(api.post(f"{us01}/customers", json={"creditLimit": "lots"}), 400, "BadRequest")
    error_of(api.post(f"{us01}/customers", content=b"{not json", headers={"Content-Type": "application/json"}),
             400, "BadRequest")
    error_of(api.post(f"{us01}/customers", json={"blocked": "Sometimes"}), 400, "BadRequest")
    error_of(api.post(f"{us01}/customers", json={"balanceDue": 5}), 400, "BadRequest")  # read-only
    message = error_of(api.post(f"{us01}/customers", json={"number": "X" * 21}), 400,
                       "Application_StringExceededLength")
    assert "20" in message


def test_decimals_stay_exact_and_dates_have_their_formats(api: httpx.Client, us01: str) -> None:
    response = api.post(f"{us01}/customers", content=b'{"number": "C-DEC", "creditLimit": 1234567890.123456789}',
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert b'"creditLimit":1234567890.123456789' in response.content
    body = response.json()
    assert body["lastModifiedDateTime"].endswith("Z") and "T" in body["lastModifiedDateTime"]
    employee = created(api.post(f"{us01}/employees", json={"givenName": "A", "surname": "B"}))
    assert employee["birthDate"] == "0001-01-01"  # Business Central's blank date
    assert employee["displayName"] == "A B"
