"""Logging for the long-running commands: text for a terminal, one JSON object a line for a log pipeline.

Records carry the correlation id and work item when the engine logs about an item, so one change can
be followed across the inbox, the queue, the vendor calls and the exception queue. Secrets never reach
the logs: connectors log endpoints and record ids, never headers or bodies.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal

_EXTRAS = ("correlation_id", "work_item", "kind", "aggregate", "outcome", "system")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(), "level": record.levelname.lower(),
                "logger": record.name, "message": record.getMessage()}
        body.update({k: getattr(record, k) for k in _EXTRAS if hasattr(record, k)})
        if record.exc_info:
            body["error"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


def configure_logging(fmt: Literal["text", "json"], *, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
