"""`POST $batch`: a multipart/mixed body of requests and change sets, answered multipart/mixed.

A change set runs all or nothing; a failure inside it rolls it back and its answer is that failure
alone. Outside change sets the batch stops at the first failure unless `Prefer:
odata.continue-on-error`. `$n` names the row created by the change set request with Content-ID n.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from q2c.sandboxes.dynamics365_sales.errors import DataverseError, bad_request
from q2c.sandboxes.dynamics365_sales.options import preferences
from q2c.sandboxes.dynamics365_sales.org import DataverseOrg
from q2c.sandboxes.dynamics365_sales.wire import API_PATH, ApiRequest, ApiResponse

MAX_REQUESTS = 1000
_BOUNDARY = re.compile(r'boundary="?([^";,\s]+)"?', re.IGNORECASE)
Dispatch = Callable[[ApiRequest], ApiResponse]


@dataclass
class Part:
    headers: dict[str, str]
    body: bytes


def boundary_of(content_type: str) -> str:
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise bad_request("The $batch request needs Content-Type: multipart/mixed; boundary=...")
    return match.group(1)


def split(body: bytes, boundary: str) -> list[Part]:
    text = body.replace(b"\r\n", b"\n")
    delimiter = b"--" + boundary.encode()
    if delimiter not in text:
        raise bad_request(f"The $batch body has no part delimited by '--{boundary}'.")
    parts = []
    for chunk in text.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.lstrip(b"\n")
        head, _, rest = chunk.partition(b"\n\n")
        parts.append(Part(_headers(head.decode()), rest))
    return parts


def _headers(block: str) -> dict[str, str]:
    out = {}
    for line in block.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def _inner_request(part: Part, outer: ApiRequest, references: dict[str, tuple[str, str]]) -> ApiRequest:
    text = part.body.decode()
    request_line, _, rest = text.partition("\n")
    head, _, body = rest.partition("\n\n")
    words = request_line.split()
    if len(words) < 3 or not words[-1].startswith("HTTP/"):
        raise bad_request(f"The $batch part '{request_line}' is not an HTTP request line.")
    method, target = words[0].upper(), " ".join(words[1:-1]).replace(" ", "%20")
    if target.startswith("$") and "/" not in target.split("?")[0]:
        ref = references.get(target.split("?")[0])
        if ref is None:
            raise bad_request(f"Content-ID Reference: '{target.split('?')[0]}' does not exist in the batch context.")
        from q2c.sandboxes.dynamics365_sales.tables import TABLES

        target = f"{TABLES[ref[0]].entity_set}({ref[1]})"
    url = urlsplit(target)
    path = url.path
    if API_PATH + "/" in path:
        path = path.split(API_PATH + "/", 1)[1]
    path = path.lstrip("/")
    return ApiRequest(method, path, dict(parse_qsl(url.query, keep_blank_values=True)), _headers(head),
                      body.rstrip("\n").encode(), outer.org_url, outer.actor, references)


def _serialise(response: ApiResponse, content_id: str | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}"]
    headers = dict(response.headers)
    if "OData-EntityId" in headers:  # batch answers carry Location too (documented examples)
        headers = {"OData-Version": "4.0", "Location": headers["OData-EntityId"], **headers}
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += ["", response.body.decode()]
    return "\r\n".join(lines)


def run_batch(org: DataverseOrg, req: ApiRequest, dispatch: Dispatch) -> ApiResponse:
    parts = split(req.body, boundary_of(req.headers.get("content-type", "")))
    continue_on_error = preferences(req.headers.get("prefer")).continue_on_error
    out_boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[str] = []
    count = 0
    status = 200  # without continue-on-error, a failure stops the batch and becomes its status
    for part in parts:
        content_type = part.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/mixed"):
            inner = split(part.body, boundary_of(content_type))
            count += len(inner)
            failed, answer = _change_set(org, req, inner, dispatch)
            chunks.append(answer)
            if failed is not None and not continue_on_error:
                status = failed
                break
            continue
        count += 1
        if count > MAX_REQUESTS:
            raise bad_request(f"The number of requests in a $batch exceeds the limit of {MAX_REQUESTS}.")
        response = _run(dispatch, _inner_request(part, req, {}))
        chunks.append(_serialise(response, part.headers.get("content-id")))
        if response.status >= 400 and not continue_on_error:
            status = response.status
            break
    body = "".join(f"--{out_boundary}\r\n{c}\r\n" for c in chunks) + f"--{out_boundary}--\r\n"
    return ApiResponse(status, {"Content-Type": f"multipart/mixed; boundary={out_boundary}", "OData-Version": "4.0"},
                       body.encode())


def _change_set(org: DataverseOrg, req: ApiRequest, parts: list[Part],
                dispatch: Dispatch) -> tuple[int | None, str]:
    """The status of the failure that rolled the change set back (None: it committed), and its answer."""
    boundary = f"changesetresponse_{uuid.uuid4()}"
    references: dict[str, tuple[str, str]] = {}
    answers: list[str] = []
    failure: str | None = None
    failed = 400
    try:
        with org.transaction():
            for part in parts:
                content_id = part.headers.get("content-id")
                inner = _inner_request(part, req, references)
                if inner.method == "GET":
                    raise bad_request("A change set holds only POST, PATCH, PUT and DELETE requests.")
                response = _run(dispatch, inner)
                if response.status >= 400:
                    failed, failure = response.status, _serialise(response, content_id)
                    raise _RolledBack()
                if content_id is not None and response.created is not None:
                    references[f"${content_id}"] = response.created
                answers.append(_serialise(response, content_id))
    except _RolledBack:
        pass
    except DataverseError as error:
        failed, failure = error.status, _serialise(ApiResponse.of_error(error), None)
    if failure is not None:
        return failed, _nest(boundary, [failure])
    return None, _nest(boundary, answers)


def _nest(boundary: str, answers: list[str]) -> str:
    inner = "".join(f"--{boundary}\r\n{a}\r\n" for a in answers) + f"--{boundary}--"
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}"


class _RolledBack(Exception):
    pass


def _run(dispatch: Dispatch, req: ApiRequest) -> ApiResponse:
    try:
        return dispatch(req)
    except DataverseError as error:
        return ApiResponse.of_error(error)
