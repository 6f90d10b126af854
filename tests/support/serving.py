"""An ASGI app under uvicorn on a loopback port, in a thread, as `q2c serve` runs the API: the socket is real."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from q2c.sandboxes.kit import free_port


@contextmanager
def served(app: Any, *, port: int | None = None, **config: Any) -> Iterator[str]:
    """The app's base URL while it runs (`config`: more uvicorn.Config options)."""
    port = port or free_port("127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           **{"log_level": "warning", **config}))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
