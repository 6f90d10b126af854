"""Signed checkpoints of the audit trail's head, kept in a folder outside the database.

A checkpoint says: at time `at` the trail held `entries` entries, the last one `seq` with hash `hash`, chained
under the key from entry `keyed_from` on. It is HMAC-SHA256-signed with the audit key (`key_id` names the key
without revealing it), so only a holder of the key can write one that verifies. Someone who can write to the
database but not to this folder can then neither cut the trail short, wipe it, nor rewrite it (even with the
key) without the newest checkpoint saying so.

Each checkpoint is a file named by its time, `checkpoint-20261201T100000.000000Z-42.json`, written to a
temporary file, flushed to disk and renamed into place, so a reader never sees half of one. The newest `keep`
files are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT = "q2c-audit-checkpoint/1"
NAME = re.compile(r"checkpoint-(\d{8}T\d{6}\.\d{6}Z)-(\d+)\.json")
_STAMP = "%Y%m%dT%H%M%S.%fZ"


@dataclass(frozen=True)
class Checkpoint:
    seq: int  # the head's seq: the last entry it vouches for
    hash: str  # that entry's hash
    entries: int  # how many entries the trail held (seqs run 1..seq, so the same number, checked both ways)
    keyed_from: int | None  # first entry chained under the key (earlier ones: plain SHA-256); None: none yet
    at: datetime
    key_id: str
    file: str = ""

    def body(self) -> dict[str, Any]:
        """What the signature covers."""
        return {"format": FORMAT, "seq": self.seq, "hash": self.hash, "entries": self.entries,
                "keyed_from": self.keyed_from, "at": self.at.astimezone(UTC).isoformat(), "key_id": self.key_id}

    def as_dict(self) -> dict[str, Any]:
        """For `--json` and the HTTP answer (times as `...Z`, the way the API writes them)."""
        return {"file": self.file, "seq": self.seq, "hash": self.hash, "entries": self.entries,
                "keyed_from": self.keyed_from, "at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z")}

    def headline(self) -> str:
        """`of 2026-12-01 10:00:00 UTC (entry 42, checkpoint-....json)`, to follow "the checkpoint"."""
        return f"of {self.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (entry {self.seq}, {self.file})"


@dataclass(frozen=True)
class Unreadable:
    """A file in the folder that is not a checkpoint this key signed: forged, altered, or another key's."""

    file: str
    why: str


def key_id(key: bytes) -> str:
    """A name for the key that does not reveal it: tells 'another key' from 'altered' in messages."""
    return hmac.new(key, b"q2c audit key id", hashlib.sha256).hexdigest()[:16]


def _signature(key: bytes, body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, b"q2c audit checkpoint\n" + text.encode(), hashlib.sha256).hexdigest()


def checkpoint_files(folder: Path) -> list[Path]:
    """The checkpoint files in the folder, oldest first (by the time in their names)."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if NAME.fullmatch(p.name)), key=lambda p: p.name)


def write(folder: Path, checkpoint: Checkpoint, key: bytes, *, keep: int) -> Checkpoint:
    """Write the checkpoint atomically (temp file, fsync, rename), then drop all but the newest `keep`."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"checkpoint-{checkpoint.at.astimezone(UTC).strftime(_STAMP)}-{checkpoint.seq}.json"
    body = checkpoint.body()
    text = json.dumps({**body, "signature": _signature(key, body)}, indent=2, sort_keys=True) + "\n"
    temp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(temp, "x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, folder / name)
    finally:
        temp.unlink(missing_ok=True)
    _sync_folder(folder)
    for old in checkpoint_files(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return replace(checkpoint, file=name)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read(folder: Path, key: bytes) -> tuple[list[Checkpoint], list[Unreadable]]:
    """Every checkpoint this key signed (ordered by seq, then time) and every file that is not one."""
    good: list[Checkpoint] = []
    bad: list[Unreadable] = []
    mine = key_id(key)
    for path in checkpoint_files(folder):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            checkpoint = _parse(raw, path.name)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            bad.append(Unreadable(path.name, f"is not a readable checkpoint ({exc})"))
            continue
        if checkpoint.key_id != mine:
            bad.append(Unreadable(path.name, f"is signed with another key (key id {checkpoint.key_id}; this key's "
                                             f"id is {mine})"))
        elif not hmac.compare_digest(_signature(key, checkpoint.body()), str(raw.get("signature", ""))):
            bad.append(Unreadable(path.name, "does not match its signature: it was altered or forged"))
        elif checkpoint.entries != checkpoint.seq:
            bad.append(Unreadable(path.name, f"says {checkpoint.entries} entries up to entry {checkpoint.seq}"))
        else:
            good.append(checkpoint)
    good.sort(key=lambda c: (c.seq, c.at))
    return good, bad


def _parse(raw: Any, name: str) -> Checkpoint:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"format is not {FORMAT}")
    seq, entries, keyed_from = raw["seq"], raw["entries"], raw["keyed_from"]
    ints = (seq, entries) + (() if keyed_from is None else (keyed_from,))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in ints):
        raise ValueError("seq, entries and keyed_from must be whole numbers from 1")
    if not isinstance(raw["hash"], str) or not isinstance(raw["key_id"], str):
        raise ValueError("hash and key_id must be text")
    at = datetime.fromisoformat(str(raw["at"]))
    if at.tzinfo is None:
        raise ValueError("at has no timezone")
    return Checkpoint(seq=seq, hash=raw["hash"], entries=entries, keyed_from=keyed_from, at=at,
                      key_id=raw["key_id"], file=name)
