"""Content hashes: the fingerprint of what a record says, independent of key order or formatting."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(payload: Any) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def idempotency_key(*parts: Any) -> str:
    """A stable key from the parts that identify one inbound change (system, object, id, version)."""
    return ":".join(str(p) for p in parts[:-1]) + ":" + content_hash(parts[-1])[:32] if len(parts) > 1 \
        else content_hash(parts[0])
