"""What every connector's settings model shares: the base class and the checks settings have in common.

Each system's settings live in its own folder (`connectors/<system>/settings.py`), as one model that
the config validates at load and the client reads as it is: one definition of each setting. The
checks here turn a bad value into a message the config error names by key (`systems.erp.account_id:
...`): URLs, key files read relative to the config's folder, PEM text, and errors about one key of
several judged together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationInfo
from pydantic_core import PydanticCustomError


class SystemSettings(BaseModel):
    """One configured system: `type` names the connector (`salesforce`, `netsuite`, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str


def base_dir(info: ValidationInfo) -> Path:
    """The folder relative paths are read from: the config file's, when the config says so."""
    context: Any = info.context
    base = context.get("base_dir") if isinstance(context, dict) else None
    return Path(base) if base is not None else Path.cwd()


def http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value.strip()):
        raise ValueError("must be an http:// or https:// URL with a host, such as https://example.com")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in 0..65535
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    return value.strip()


def key_file(value: str | Path, info: ValidationInfo) -> Path:
    """A private key path, resolved against the config's folder; the file must be readable."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base_dir(info) / path
    if not path.is_file():
        raise ValueError(f"no such file {path}" + ("" if Path(value).is_absolute() else
                                                  " (a relative path is read from the config file's folder)"))
    try:
        path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    return path


def pem_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a PEM file (PEM is ASCII text starting with -----BEGIN)") from None


def key_error(key: str, message: str) -> PydanticCustomError:
    """An error about one key of a model, raised where several keys are judged together."""
    return PydanticCustomError("config_key", message, {"key": key})
