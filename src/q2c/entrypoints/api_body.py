"""Request bodies read under a byte limit, on every route.

The limit is checked against the declared Content-Length before anything is read, and against the
bytes as they stream in (a chunked body has no declared length), so an oversized body is refused
with 413 as soon as it is known to be too big, never buffered whole.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from q2c.entrypoints.api_errors import ApiError


async def read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def bounded_route_class(limit: int) -> type[APIRoute]:
    """A route class whose requests read their body through `read_bounded` (FastAPI's JSON parsing too)."""

    class BoundedRequest(Request):
        async def body(self) -> bytes:
            if not hasattr(self, "_body"):
                self._body = await read_bounded(self, limit)
            return self._body

    class BoundedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def bounded(request: Request) -> Response:
                return await handler(BoundedRequest(request.scope, request.receive))

            return bounded

    return BoundedRoute
