"""One SQLite connection per process and thread for a store's database, and its write transaction.

Why one helper: the run index (:class:`harness.store.ResultStore`) and the challenge tables
(:class:`harness.store.queue.QueueStore`) live in the same file and need the same rules. A connection is cached
because closing the last connection to a WAL database checkpoints and fsyncs (~10 ms), which every call would pay.
It is keyed by pid (a forked child must not use its parent's handle: SQLite forbids carrying one across a fork) and
held per thread (``sqlite3`` objects are not shared between threads; the app serves sessions from several).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from harness.errors import StoreError
from harness.store.schema import connect_ro, connect_rw


class ThreadConnections:
    """The connection of the calling process and thread to ``db_path`` (``mode=ro`` when ``read_only``)."""

    def __init__(self, db_path: Path, *, read_only: bool) -> None:
        self.db_path = db_path
        self.read_only = read_only
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        """This process's and thread's connection, opened on first use."""
        cached = getattr(self._local, "con", None)
        if cached is None or cached[0] != os.getpid():
            con = connect_ro(self.db_path) if self.read_only else connect_rw(self.db_path)
            self._local.con = cached = (os.getpid(), con)
        return cached[1]

    @contextlib.contextmanager
    def guarded(self) -> Iterator[sqlite3.Connection]:
        """:meth:`get`, with a database failure turned into one :class:`StoreError` line and the connection dropped
        (the next call reopens it). An ``IntegrityError`` passes through: callers use it (a duplicate run id is
        drawn again)."""
        con = self.get()
        try:
            yield con
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            self.drop()
            raise StoreError(f"results database {self.db_path}: {exc}") from None

    def drop(self) -> None:
        """Close this thread's connection (a later :meth:`get` opens a new one); a parent's handle is left alone."""
        cached = getattr(self._local, "con", None)
        self._local.con = None
        if cached is not None and cached[0] == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                cached[1].close()


@contextlib.contextmanager
def write_transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception.

    Why IMMEDIATE: the write lock is taken up front, so a busy writer waits (busy timeout) instead of failing when
    it would upgrade a read lock, and two workers can never both claim one job.
    """
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
