"""`$batch`: multipart/mixed requests and change sets as Microsoft documents them; a change set is all or
nothing, `$n` refers to an earlier request of the set, and a failure stops the batch unless the client
prefers `odata.continue-on-error`."""

from __future__ import annotations

import json
import re

from dynamics365_sales_sandbox_fixtures import Org


def _part(method: str, url: str, body: dict[str, object] | None = None, content_id: int | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\r\n"
    inner = f"{method} {url} HTTP/1.1\r\n"
    if body is not None:
        inner += "Content-Type: application/json; type=entry\r\n\r\n" + json.dumps(body)
    else:
        inner += "\r\n"
    return head + "\r\n" + inner + "\r\n"


def _batch(org: Org, parts: list[str], *, prefer: str | None = None) -> tuple[int, str, str]:
    body = "".join(f"--batch_1\r\n{p}" for p in parts) + "--batch_1--\r\n"
    headers = {"Content-Type": "multipart/mixed; boundary=batch_1"}
    if prefer:
        headers["Prefer"] = prefer
    answer = org.api.post("$batch", content=body.encode(), headers=headers)
    return answer.status_code, answer.headers["Content-Type"], answer.text


def _change_set(parts: list[str], boundary: str = "changeset_1") -> str:
    inner = "".join(f"--{boundary}\r\n{p}" for p in parts) + f"--{boundary}--\r\n"
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}"


def _statuses(text: str) -> list[int]:
    return [int(s) for s in re.findall(r"^HTTP/1.1 (\d{3})", text, flags=re.MULTILINE)]


def test_a_change_set_creates_related_rows_with_content_id_references(org: Org) -> None:
    api = f"{org.url}/api/data/v9.2"
    status, content_type, text = _batch(org, [
        _change_set([_part("POST", f"{api}/accounts", {"name": "Batch Co", "accountnumber": "B-1"}, 1),
                     _part("POST", "opportunities", {"name": "Batch deal", "customerid_account@odata.bind": "$1"}, 2),
                     _part("PATCH", "$1", {"telephone1": "555"}, 3)]),
        _part("GET", f"{api}/accounts?$select=name,telephone1&$filter=accountnumber eq 'B-1'")])
    assert status == 200
    assert content_type.startswith("multipart/mixed; boundary=batchresponse_")
    assert _statuses(text) == [204, 204, 204, 200]
    assert "changesetresponse_" in text and "Content-ID: 2" in text
    assert re.search(r"^Location: .*/api/data/v9.2/opportunities\(", text, flags=re.MULTILINE)
    assert '"telephone1":"555"' in text
    account = next(r for r in org.box.rows("account") if r["accountnumber"] == "B-1")
    deal = org.box.rows("opportunity")[0]
    assert deal["_customerid_value"] == account["accountid"]


def test_a_failing_change_set_is_rolled_back_and_stops_the_batch(org: Org) -> None:
    status, _, text = _batch(org, [
        _change_set([_part("POST", "accounts", {"name": "Rolled back"}, 1),
                     _part("POST", "accounts", {"name": "Bad", "nosuch": 1}, 2)]),
        _part("POST", "accounts", {"name": "Never sent"})])
    assert status == 400  # the batch's status is its first failure's, as documented
    assert _statuses(text) == [400]
    assert "0x80060888" in text
    assert org.box.rows("account") == []


def test_continue_on_error_runs_the_remaining_requests(org: Org) -> None:
    status, _, text = _batch(org, [_part("POST", "accounts", {"name": "Bad", "nosuch": 1}),
                                   _part("POST", "accounts", {"name": "Good"})],
                             prefer="odata.continue-on-error")
    assert status == 200
    assert _statuses(text) == [400, 204]
    assert [r["name"] for r in org.box.rows("account")] == ["Good"]


def test_an_undeclared_content_id_reference_is_refused(org: Org) -> None:
    status, _, text = _batch(org, [_change_set([
        _part("POST", "opportunities", {"name": "Orphan", "customerid_account@odata.bind": "$1"}, 2),
        _part("POST", "accounts", {"name": "Late"}, 1)])])
    assert status == 400
    assert "Content-ID Reference: '$1' does not exist in the batch context." in text
    assert org.box.rows("account") == [] and org.box.rows("opportunity") == []


def test_a_body_that_is_not_multipart_is_refused(org: Org) -> None:
    answer = org.api.post("$batch", json={"requests": []})
    assert answer.status_code == 400
    assert "multipart/mixed" in answer.json()["error"]["message"]
