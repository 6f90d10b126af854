"""A chat webhook receiver on loopback, as Slack or Teams would take an alert digest: a real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from support.serving import served


@pytest.fixture
def chat() -> Iterator[tuple[list[dict[str, Any]], dict[str, int], str]]:
    """A chat webhook receiver: keeps each JSON body; answers `status["code"]`."""
    bodies: list[dict[str, Any]] = []
    status = {"code": 200}
    app = FastAPI()

    @app.post("/hooks/q2c")
    async def receive(request: Request) -> Response:
        bodies.append(await request.json())
        return Response(status_code=status["code"])

    with served(app) as base:
        yield bodies, status, f"{base}/hooks/q2c"
