"""With `log_format: json` every line is one JSON object, uvicorn's own lines too (its startup line and each
access line, whose client, method, path and status are fields); a worker's line carries its correlation id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from q2c.entrypoints.logs import configure_logging, uvicorn_log_config
from support.serving import served


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_logs_make_every_line_json_uvicorn_s_too(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("json", stream=out)
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    with served(app, log_level="info", log_config=uvicorn_log_config("json")) as base:
        assert httpx.get(f"{base}/ping?x=1").status_code == 200
        logging.getLogger("q2c.worker").info("delivered", extra={"correlation_id": "c0ffee", "work_item": 7})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]  # every line parses
    assert any(ln["logger"] == "uvicorn.error" and "Uvicorn running" in ln["message"] for ln in lines)
    (access,) = [ln for ln in lines if ln["logger"] == "uvicorn.access"]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/ping?x=1", 200)
    (mine,) = [ln for ln in lines if ln["logger"] == "q2c.worker"]
    assert (mine["correlation_id"], mine["work_item"], mine["level"]) == ("c0ffee", 7, "info")


def test_text_logs_keep_uvicorn_s_own_format() -> None:
    config = uvicorn_log_config("text")
    assert config is not None and "uvicorn.access" in config["loggers"]
