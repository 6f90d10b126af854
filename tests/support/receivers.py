"""A chat webhook receiver on loopback, as Slack or Teams would take an alert digest: a real HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from q2c.sandboxes.kit import free_port


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

    port = free_port("127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.01)
    yield bodies, status, f"http://127.0.0.1:{port}/hooks/q2c"
    server.should_exit = True
    thread.join(timeout=10)
