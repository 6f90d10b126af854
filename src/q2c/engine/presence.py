"""A process's presence in PostgreSQL: one session advisory lock, held on a connection of its own.

The lease rows of a shared vendor budget name the presence of the process holding them, so when
that process dies (SIGKILL, a lost machine) its session ends, PostgreSQL drops the lock (PostgreSQL
documentation, "Explicit Locking", Advisory Locks), and the other processes free its rows at once
rather than when their leases expire. One held connection per process, whatever the vendor's limit:
that is the difference from holding an advisory lock per in-flight request.

If the presence connection breaks while the process lives, its rows look abandoned to the others
until `check` notices and the holder takes a new key and names it on its rows; the vendor may see a
request over the limit meanwhile, which it refuses and q2c retries.
"""

from __future__ import annotations

import secrets
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from q2c.store import rate_leases


class Presence:
    """The presence lock of this process (thread-safe; opened on first use)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._key = 0

    def key(self) -> int:
        """The key of the lock this process holds, taking one if it holds none."""
        with self._lock:
            if self._conn is None:
                self._open()
            return self._key

    def check(self) -> bool:
        """False when the lock was lost with its connection (which is dropped then: the next `key`
        takes a new one)."""
        with self._lock:
            if self._conn is None:
                return True
            try:
                self._conn.execute(sa.text("select 1"))
                return True
            except SQLAlchemyError:
                self._drop()
                return False

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _open(self) -> None:
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            key = secrets.randbelow(2**31 - 2) + 1
            while not rate_leases.take_presence(conn, key):
                key = secrets.randbelow(2**31 - 2) + 1
        except BaseException:
            conn.close()
            raise
        self._conn, self._key = conn, key

    def _drop(self) -> None:
        """End the session itself: a connection handed back to the pool would keep the lock."""
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except SQLAlchemyError:
                pass
        self._conn = None
