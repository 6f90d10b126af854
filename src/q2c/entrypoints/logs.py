"""Logging for the long-running commands: text for a terminal, one JSON object a line for a log pipeline.

Records carry the correlation id and work item when the engine logs about an item, so one change can
be followed across the inbox, the queue, the vendor calls and the exception queue. Secrets never reach
the logs: connectors log endpoints and record ids, never headers or bodies.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import IO, Any, Literal

_EXTRAS = ("correlation_id", "work_item", "kind", "aggregate", "outcome", "system")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(),
                                "level": record.levelname.lower(), "logger": record.name,
                                "message": record.getMessage()}
        body.update({k: getattr(record, k) for k in _EXTRAS if hasattr(record, k)})
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args  # uvicorn's access line, as fields too
            body.update(client=client, method=method, path=path, http_version=version, status=status)
        if record.exc_info:
            body["error"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


def configure_logging(fmt: Literal["text", "json"], *, level: int = logging.INFO,
                      stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # whatever configured them before: to the root
        server_log = logging.getLogger(name)
        server_log.handlers.clear()
        server_log.propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)


def uvicorn_log_config(fmt: Literal["text", "json"]) -> dict[str, Any] | None:
    """What `uvicorn.Config(log_config=...)` gets: with JSON logs, nothing (uvicorn then leaves logging alone,
    its `uvicorn.error` and `uvicorn.access` records reach the root handler above and are JSON lines like
    every other); with text, uvicorn's own coloured format."""
    if fmt == "json":
        return None
    from uvicorn.config import LOGGING_CONFIG

    return dict(LOGGING_CONFIG)
