"""The SQLite layout of the run index and how connections to it are opened.

Why WAL + ``BEGIN IMMEDIATE`` + a long busy timeout: many scorers write at once and the app reads while they
do. WAL lets readers see the last committed state without blocking writers; taking the write lock at the start
of each write transaction (instead of upgrading a read lock) means a busy writer waits instead of failing.
The schema version lives in ``PRAGMA user_version``; a store written by a newer harness is refused.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from harness.errors import StoreError

SCHEMA_VERSION = 1
DB_NAME = "runs.sqlite"
BUSY_TIMEOUT_MS = 30_000

DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id          TEXT PRIMARY KEY,
    benchmark       TEXT NOT NULL,
    submission      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    created         TEXT NOT NULL,
    created_ns      INTEGER NOT NULL,
    finished        TEXT,
    updated_ns      INTEGER NOT NULL,
    pid             INTEGER,
    pid_start       INTEGER,
    host            TEXT,
    harness_version TEXT,
    gt_hash         TEXT,
    submission_hash TEXT,
    error           TEXT,
    manifest        TEXT,
    description     TEXT,
    is_baseline     INTEGER NOT NULL DEFAULT 0,
    timings         TEXT,
    metrics         TEXT,
    primary_metric  TEXT,
    dev_primary     REAL,
    test_primary    REAL,
    predictions_hash TEXT,
    rescored        TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_benchmark ON runs (benchmark, status, created_ns);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
"""

# Seed groups (issue 16): added to ``runs`` by :func:`ensure_group_columns`, an additive, idempotent migration
# keyed on the columns present (not on ``user_version``), so it composes with other additive changes and an
# older harness still reads the store (it selects its columns by name).
GROUP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("group_id", "TEXT"),       # runs of one `score --seeds` call share it; NULL for a single run
    ("seed", "INTEGER"),        # the training (and bootstrap) seed the run was scored with
    ("gt_only", "INTEGER NOT NULL DEFAULT 0"),  # 1: only the GT archs were evaluated (`score --gt-only`)
)

# Benchmark versions (issue 17): the ``version`` of the benchmark spec a run was scored on. Added the same additive
# way; NULL (rows written before the column) reads as version 1, the version of every spec that predates it.
VERSION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bench_version", "INTEGER"),
)
ADDITIVE_COLUMNS: tuple[tuple[str, str], ...] = GROUP_COLUMNS + VERSION_COLUMNS

# A trainer run's own output (issue 32): tables of their own, created where missing (additive like the columns):
# its stdout/stderr (the last 1 MB, made inert), its ``ctx.log`` scalars, and how it trained (hyper-parameters,
# overrides, epochs of the budget, off budget). A store without them reads as "nothing recorded".
OUTPUT_DDL = """
CREATE TABLE IF NOT EXISTS run_logs (
    run_id TEXT PRIMARY KEY,
    text   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_scalars (
    run_id TEXT NOT NULL,
    step   INTEGER NOT NULL,
    name   TEXT NOT NULL,
    value  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS run_scalars_by_run ON run_scalars (run_id);
CREATE TABLE IF NOT EXISTS run_training (
    run_id     TEXT PRIMARY KEY,
    off_budget INTEGER NOT NULL DEFAULT 0,
    info       TEXT NOT NULL
);
"""
OUTPUT_TABLES = ("run_logs", "run_scalars", "run_training")


def _configure(con: sqlite3.Connection) -> sqlite3.Connection:
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return con


def connect_rw(db: Path) -> sqlite3.Connection:
    """A read-write connection in autocommit mode (transactions are explicit ``BEGIN IMMEDIATE``)."""
    try:
        con = sqlite3.connect(db, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        _configure(con)
        con.execute("PRAGMA synchronous = NORMAL")  # durable at each WAL checkpoint; never corrupts
        return con
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open results database {db}: {exc}") from None


def connect_ro(db: Path) -> sqlite3.Connection:
    """A read-only connection (``mode=ro`` URI): the app and read-only tools can never write the store."""
    if not db.is_file():
        raise StoreError(f"no results database at {db}")
    uri = f"file:{quote(str(db.resolve()))}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        return _configure(con)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open results database {db} read-only: {exc}") from None


def ensure_schema(con: sqlite3.Connection, db: Path) -> None:
    """Create the tables (first use) or check the version; safe when many processes do it at once."""
    try:
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"results database {db} cannot use WAL journaling (got {mode}); is it on a network drive?")
        con.execute("BEGIN IMMEDIATE")
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for stmt in filter(str.strip, DDL.split(";")):  # not executescript: it would COMMIT
                    con.execute(stmt)
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            if version <= SCHEMA_VERSION:
                ensure_additive_columns(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"results database {db} is unusable: {exc}") from None
    check_version(con, db)


def _run_columns(con: sqlite3.Connection) -> set[str]:
    return {row[1] for row in con.execute("PRAGMA table_info(runs)").fetchall()}


def ensure_additive_columns(con: sqlite3.Connection) -> None:
    """Add the seed-group and benchmark-version columns to ``runs`` where missing (inside the caller's write
    transaction); each is nullable or has a default, so old rows stay valid and older harnesses still read."""
    have = _run_columns(con)
    for name, decl in ADDITIVE_COLUMNS:
        if name not in have:
            con.execute(f"ALTER TABLE runs ADD COLUMN {name} {decl}")
    con.execute("CREATE INDEX IF NOT EXISTS runs_by_group ON runs (group_id)")
    for stmt in filter(str.strip, OUTPUT_DDL.split(";")):
        con.execute(stmt)


def has_output_tables(con: sqlite3.Connection) -> bool:
    """Whether the run-output tables exist (a read-only view of an older store may lack them)."""
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
    return all(t in names for t in OUTPUT_TABLES)


ensure_group_columns = ensure_additive_columns  # the name of issue 16's migration, kept for callers


def has_group_columns(con: sqlite3.Connection) -> bool:
    """Whether ``runs`` has the seed-group columns (a read-only view of an old store may not)."""
    have = _run_columns(con)
    return all(name in have for name, _ in GROUP_COLUMNS)


def optional_columns(con: sqlite3.Connection) -> tuple[str, ...]:
    """The additive columns ``runs`` has, in :data:`ADDITIVE_COLUMNS` order: what a reader may select.

    Why per column: a read-only view never migrates, and an old store may have the group columns but not the
    version column; each missing one reads as its default (see :func:`harness.store.records.record_from_row`).
    """
    have = _run_columns(con)
    return tuple(name for name, _ in ADDITIVE_COLUMNS if name in have)


def check_version(con: sqlite3.Connection, db: Path) -> None:
    """Refuse a store whose schema this harness does not know."""
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"results database {db} is unreadable: {exc}") from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"results database {db} has schema version {version}; this harness knows up to {SCHEMA_VERSION}: upgrade nas-harness"
        )
    if version < 1:
        raise StoreError(f"results database {db} has no runs table yet")
