"""Where a hub database's audit key and checkpoint folder come from: never from the database itself.

The key that chains the trail (HMAC-SHA256) and signs its checkpoints is read, in this order, from:

1. the configured `audit.key_file` (which must exist), or the configured `audit.key_env` (which must be set);
2. `$Q2C_AUDIT_KEY`, when set;
3. on a SQLite file, the key file beside it (`<database>.audit-key`, mode 0600), created on first use
   while the trail has no keyed entry yet; an in-memory database gets a key for the engine's lifetime;
4. nothing: on PostgreSQL without a key, entries are chained with plain SHA-256 (as before keys existed)
   until a key is configured, and `q2c serve` refuses to start.

An entrypoint binds the config's `audit` section to its engine (`bind`); an engine nobody bound gets the
defaults above, so the demo and the tests need no set-up. A key is at least 32 characters (surrounding
whitespace ignored), e.g. the output of `openssl rand -hex 32`.
"""

from __future__ import annotations

import os
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Connection, Engine

DEFAULT_KEY_ENV = "Q2C_AUDIT_KEY"
MIN_KEY_CHARS = 32
KEY_FILE_SUFFIX = ".audit-key"
ANCHOR_DIR_SUFFIX = ".audit-anchors"
WORKING_DIR_ANCHORS = "q2c-audit-anchors"  # a PostgreSQL hub's checkpoints when `audit.anchor_dir` is not set
DEFAULT_CHECKPOINTS_KEPT = 168  # a week of hourly checkpoints
HOW_TO_CONFIGURE = ("set audit.key_file to a file holding the key, or audit.key_env to the environment variable "
                    f"that holds it (or export {DEFAULT_KEY_ENV}); make one with `openssl rand -hex 32`")


class AuditKeyMissing(Exception):
    """No usable key (or checkpoint folder) for the trail; the message names the config keys that give one."""


class TrailSettings(Protocol):
    """What the config's `audit` section says (`q2c.config.AuditSettings`), as far as the store reads it."""

    @property
    def key_env(self) -> str | None: ...
    @property
    def key_file(self) -> Path | None: ...
    @property
    def anchor_dir(self) -> Path | None: ...
    @property
    def checkpoints_kept(self) -> int: ...


@dataclass
class TrailKeeping:
    """One database's key source and checkpoint folder; the key is read once and kept for the engine."""

    key_file: Path | None = None  # read from here
    key_env: str | None = None  # or from this environment variable
    key_file_required: bool = False  # configured: missing is an error (the default file beside SQLite is not)
    creates_key_file: bool = False  # the default beside SQLite: created on first use
    ephemeral: bool = False  # an in-memory database: a key for as long as the engine lives
    anchor_dir: Path | None = None
    checkpoints_kept: int = DEFAULT_CHECKPOINTS_KEPT
    _key: bytes | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def source(self) -> str:
        """Where the key comes from, for messages (never the key)."""
        if self.key_env is not None:
            return f"${self.key_env}"
        if self.key_file is not None:
            return f"key file {self.key_file}"
        return "a key kept in memory" if self.ephemeral else "no key"

    def key(self, *, create: bool = False) -> bytes | None:
        """The key, or None when none is configured (and `create` does not allow making the default file)."""
        with self._lock:
            if self._key is None:
                self._key = self._load(create=create)
            return self._key

    def _load(self, *, create: bool) -> bytes | None:
        if self.key_env is not None:
            value = os.environ.get(self.key_env)
            if value is None:
                raise AuditKeyMissing(f"audit.key_env: ${self.key_env} is not set in the environment; set it to the "
                                      "audit key (at least 32 characters)")
            return _checked(value, f"${self.key_env}", "audit.key_env")
        if self.ephemeral:
            return secrets.token_hex(32).encode()
        if self.key_file is None:
            return None
        try:
            return _checked(self.key_file.read_text(), f"key file {self.key_file}", "audit.key_file")
        except FileNotFoundError:
            if self.key_file_required:
                raise AuditKeyMissing(f"audit.key_file: {self.key_file} does not exist; create it with "
                                      f"`openssl rand -hex 32 > {self.key_file}` and `chmod 600` it") from None
            if not (create and self.creates_key_file):
                return None
            return _create_key_file(self.key_file)
        except OSError as exc:
            raise AuditKeyMissing(f"audit.key_file: cannot read {self.key_file} ({exc.strerror})") from None

    def missing(self, why: str) -> AuditKeyMissing:
        has = self.source
        if self.key_file is not None and not self.key_file.exists():
            has = f"no key ({self.key_file} does not exist)"
        return AuditKeyMissing(f"{why}, but this process has {has}: {HOW_TO_CONFIGURE}")

    def folder(self) -> Path:
        """The checkpoint folder; AuditKeyMissing naming `audit.anchor_dir` when the database has none."""
        if self.anchor_dir is None:
            raise AuditKeyMissing("the database is in memory, so checkpoints have no default folder: set "
                                  "audit.anchor_dir")
        return self.anchor_dir


def _checked(text: str, where: str, config_key: str) -> bytes:
    key = text.strip()
    if len(key) < MIN_KEY_CHARS:
        raise AuditKeyMissing(f"{config_key}: {where} holds {len(key)} characters; an audit key needs at least "
                              f"{MIN_KEY_CHARS} (make one with `openssl rand -hex 32`)")
    return key.encode()


def _create_key_file(path: Path) -> bytes:
    """Write a new key beside the database (0600), or read the one another process wrote first."""
    key = secrets.token_hex(32)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # never replaces a key another process created meanwhile
        except FileExistsError:
            return _checked(path.read_text(), f"key file {path}", "audit.key_file")
    finally:
        temp.unlink(missing_ok=True)
    return key.encode()


def _defaults(engine: Engine, settings: TrailSettings | None) -> TrailKeeping:
    """The key source and folder for this engine's database, from the settings where they say."""
    kept = settings.checkpoints_kept if settings is not None else DEFAULT_CHECKPOINTS_KEPT
    url = engine.url
    path = url.database if url.get_backend_name() == "sqlite" else None
    in_memory = url.get_backend_name() == "sqlite" and (not path or path == ":memory:" or path.startswith("file:"))
    beside = Path(path).resolve() if path and not in_memory else None
    if settings is not None and settings.anchor_dir is not None:
        folder: Path | None = settings.anchor_dir
    elif beside is not None:
        folder = beside.with_name(beside.name + ANCHOR_DIR_SUFFIX)
    else:
        folder = None if in_memory else Path.cwd() / WORKING_DIR_ANCHORS
    if settings is not None and settings.key_file is not None:
        return TrailKeeping(key_file=settings.key_file, key_file_required=True, anchor_dir=folder,
                            checkpoints_kept=kept)
    if settings is not None and settings.key_env is not None:
        return TrailKeeping(key_env=settings.key_env, anchor_dir=folder, checkpoints_kept=kept)
    if DEFAULT_KEY_ENV in os.environ:
        return TrailKeeping(key_env=DEFAULT_KEY_ENV, anchor_dir=folder, checkpoints_kept=kept)
    if beside is not None:
        return TrailKeeping(key_file=beside.with_name(beside.name + KEY_FILE_SUFFIX), creates_key_file=True,
                            anchor_dir=folder, checkpoints_kept=kept)
    return TrailKeeping(ephemeral=in_memory, anchor_dir=folder, checkpoints_kept=kept)


_kept: weakref.WeakKeyDictionary[Engine, TrailKeeping] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def bind(engine: Engine, settings: TrailSettings | None = None, *, keeping: TrailKeeping | None = None) -> TrailKeeping:
    """Say where `engine`'s trail finds its key and folder: the config's `audit` section, or a ready keeping."""
    chosen = keeping if keeping is not None else _defaults(engine, settings)
    with _kept_lock:
        bound = _kept.get(engine)
        if bound is not None and _same_source(bound, chosen):
            return bound  # bound again with the same settings: keep the key already read (or made in memory)
        _kept[engine] = chosen
    return chosen


def _same_source(a: TrailKeeping, b: TrailKeeping) -> bool:
    return (a.key_file, a.key_env, a.key_file_required, a.creates_key_file, a.ephemeral, a.anchor_dir,
            a.checkpoints_kept) == (b.key_file, b.key_env, b.key_file_required, b.creates_key_file, b.ephemeral,
                                    b.anchor_dir, b.checkpoints_kept)


def keeping_for(conn: Connection | Engine) -> TrailKeeping:
    """The keeping bound to the connection's engine, or the defaults (kept, so a generated key lasts)."""
    engine = conn.engine if isinstance(conn, Connection) else conn
    with _kept_lock:
        found = _kept.get(engine)
        if found is None:
            found = _kept[engine] = _defaults(engine, None)
        return found
