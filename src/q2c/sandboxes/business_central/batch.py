"""OData JSON `$batch`: `{"requests": [{"id", "method", "url", "headers", "body"}]}` answered with
`{"responses": [{"id", "status", "headers", "body"}]}`, each request with its own status.

Documented ("Using OData transactional $batch requests"; operational limits): URLs are relative to the
API route (`companies({id})/customers`); at most 100 operations; with the header `Isolation: snapshot`
the whole batch is one transaction, so a failing request undoes the others. OData 4.01's `atomicityGroup`
makes a group all-or-nothing (its members then all carry the failure). Recalled: the wording of the
over-the-limit error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from q2c.sandboxes.business_central.resources import ApiRequest, ApiResponse, Resources
from q2c.sandboxes.business_central.wire import BcError, bad_request

MAX_OPERATIONS = 100


def _relative(url: str, api: str) -> str:
    marker = f"api/{api}/"
    return url.split(marker, 1)[1] if marker in url else url.lstrip("/")


def run_batch(resources: Resources, request: ApiRequest) -> ApiResponse:
    body = request.body
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise bad_request("A JSON batch request body must be an object with a 'requests' array.")
    requests: list[Any] = body["requests"]
    if len(requests) > MAX_OPERATIONS:
        raise BcError(400, "BadRequest", f"The batch request contains {len(requests)} operations; the maximum is "
                      f"{MAX_OPERATIONS}.")
    store = resources.store
    snapshot = request.headers.get("isolation", "").strip().lower() == "snapshot"
    with store.lock:
        saved = store.snapshot() if snapshot else None
        groups: dict[str, tuple[Any, list[int]]] = {}
        failed_groups: set[str] = set()
        responses: list[dict[str, Any]] = []
        for item in requests:
            if not isinstance(item, dict) or "method" not in item or "url" not in item:
                raise bad_request("Each batch request needs 'method' and 'url'.")
            group = item.get("atomicityGroup")
            if group is not None and group not in groups:
                groups[group] = (store.snapshot(), [])
            if group in failed_groups:
                responses.append({"id": item.get("id"), "status": 424, "headers": {}, "body": None})
                continue
            parts = urlsplit(_relative(str(item["url"]), request.api))
            inner = ApiRequest(method=str(item["method"]).upper(), api=request.api, path=parts.path,
                               query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                               headers={str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()},
                               body=item.get("body"), base=request.base)
            answer = resources.handle(inner)
            headers = {"content-type": "application/json; odata.metadata=minimal", "odata-version": "4.0",
                       **{k.lower(): v for k, v in answer.headers.items()}} if answer.body is not None else \
                {k.lower(): v for k, v in answer.headers.items()}
            responses.append({"id": item.get("id"), "status": answer.status, "headers": headers,
                              **({"body": answer.body} if answer.body is not None else {})})
            if group is not None:
                groups[group][1].append(len(responses) - 1)
                if answer.status >= 400:
                    store.restore(groups[group][0])
                    failed_groups.add(group)
                    for index in groups[group][1][:-1]:
                        responses[index] = {**responses[-1], "id": responses[index]["id"]}
        if saved is not None and any(r["status"] >= 400 for r in responses):
            store.restore(saved)
    return ApiResponse(200, {"responses": responses})
