"""The challenge tables of a results store: teams, the durable submission queue, reveals.

Why in the store's own SQLite file: the store is the source of truth for every submission's state, and keeping
the queue next to the runs lets one transaction link a finished job to its run. Workers are stateless; a job is
owned by whoever holds its lease, and a lease that is not renewed by heartbeats expires, so a worker killed with
``kill -9`` (or a lost Ray node) gives its job back without anyone having to notice the death.

The tables are additive: they are created with ``IF NOT EXISTS`` next to ``runs`` and versioned in their own
``challenge_meta`` row, so the runs schema (``PRAGMA user_version``) and its migrations are untouched.

States of a job::

    submitted --approve--> queued --claim--> running --finish--> finished
        \\                   \\                 \\--fail-------> failed      (submission's fault: counted if configured)
        \\                   \\                 \\--release----> queued      (a draining worker hands it back)
         \\--cancel-----------\\--cancel--------\\--lease expiry or platform failure--> queued again (attempt + 1)
                                                                          (after max_attempts: failed, never counted)
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import StoreError
from harness.store.connection import ThreadConnections, write_transaction
from harness.store.schema import DB_NAME

QUEUE_SCHEMA_VERSION = 1
STATES = ("submitted", "queued", "running", "finished", "failed", "cancelled")
OPEN_STATES = ("submitted", "queued", "running")

DDL = """
CREATE TABLE IF NOT EXISTS challenge_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS challenge_teams (
    challenge   TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_ns  INTEGER NOT NULL,
    PRIMARY KEY (challenge, name_key)
);
CREATE TABLE IF NOT EXISTS challenge_jobs (
    job_id        TEXT PRIMARY KEY,
    challenge     TEXT NOT NULL,
    team          TEXT NOT NULL,
    phase         TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('submitted','queued','running','finished','failed','cancelled')),
    kind          TEXT NOT NULL,
    upload        TEXT NOT NULL,
    upload_hash   TEXT NOT NULL,
    submitted_ns  INTEGER NOT NULL,
    updated_ns    INTEGER NOT NULL,
    started_ns    INTEGER,
    finished_ns   INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_until_ns INTEGER,
    heartbeat_ns  INTEGER,
    run_id        TEXT,
    error         TEXT,
    error_kind    TEXT,
    counted       INTEGER NOT NULL DEFAULT 1,
    selected      INTEGER NOT NULL DEFAULT 0,
    rerun_of      TEXT,
    superseded    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS challenge_jobs_by_state ON challenge_jobs (challenge, state, submitted_ns);
CREATE INDEX IF NOT EXISTS challenge_jobs_by_team ON challenge_jobs (challenge, team, phase);
CREATE TABLE IF NOT EXISTS challenge_reveals (
    challenge   TEXT NOT NULL,
    phase       TEXT NOT NULL,
    revealed_ns INTEGER NOT NULL,
    PRIMARY KEY (challenge, phase)
);
"""

JOB_COLUMNS = (
    "job_id, challenge, team, phase, state, kind, upload, upload_hash, submitted_ns, updated_ns, started_ns, finished_ns,"
    " attempts, lease_owner, lease_until_ns, heartbeat_ns, run_id, error, error_kind, counted, selected, rerun_of, superseded"
)


@dataclass(frozen=True)
class Job:
    """One queued submission as the store holds it (times in ns since the epoch, from the challenge's clock)."""

    job_id: str
    challenge: str
    team: str
    phase: str
    state: str
    kind: str
    upload: str
    upload_hash: str
    submitted_ns: int
    updated_ns: int
    started_ns: int | None
    finished_ns: int | None
    attempts: int
    lease_owner: str | None
    lease_until_ns: int | None
    heartbeat_ns: int | None
    run_id: str | None
    error: str | None
    error_kind: str | None
    counted: bool
    selected: bool
    rerun_of: str | None
    superseded: bool


def _job(row: Sequence[Any]) -> Job:
    values = list(row)
    for i in (19, 20, 22):
        values[i] = bool(values[i])
    return Job(*values)


def new_job_id() -> str:
    """``j-`` and 12 random hex digits: unguessable, so a job id shown to one team reveals nothing of another's."""
    return "j-" + secrets.token_hex(6)


class QueueStore:
    """Teams, jobs and reveals of a results store folder (the folder :class:`harness.store.ResultStore` opens).

    ``read_only=True`` opens a ``mode=ro`` connection: the app reads through it; its one write (intake) goes
    through a separate read-write instance the intake code opens.
    """

    def __init__(self, root: str | Path, *, read_only: bool = False) -> None:
        from harness.store import ResultStore

        self.root = Path(root)
        self.read_only = read_only
        self.db_path = self.root / DB_NAME
        if not read_only:
            ResultStore(self.root)  # the runs schema first (creates the folder and the database)
        self._connections = ThreadConnections(self.db_path, read_only=read_only)
        if not read_only:
            self._migrate()

    # ------------------------------------------------------------------ connections
    def _connection(self) -> sqlite3.Connection:
        return self._connections.get()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, lock taken up front (``BEGIN IMMEDIATE``), so two workers never claim one job."""
        if self.read_only:
            raise StoreError(f"results store {self.root} is open read-only")
        with self._connections.guarded() as con, write_transaction(con):
            yield con

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._connection().execute(sql, tuple(args)).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []  # a store no challenge has used yet (read-only: nothing to migrate)
            raise StoreError(f"results database {self.db_path}: {exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"results database {self.db_path}: {exc}") from None

    def close(self) -> None:
        """Close this thread's connection."""
        self._connections.drop()

    def _migrate(self) -> None:
        with self.write() as con:
            for stmt in filter(str.strip, DDL.split(";")):
                con.execute(stmt)
            row = con.execute("SELECT value FROM challenge_meta WHERE key = 'queue_schema'").fetchone()
            if row is None:
                con.execute("INSERT INTO challenge_meta (key, value) VALUES ('queue_schema', ?)", (str(QUEUE_SCHEMA_VERSION),))
            elif int(row[0]) > QUEUE_SCHEMA_VERSION:
                raise StoreError(
                    f"results database {self.db_path} has challenge tables of version {row[0]}; this harness knows up to"
                    f" {QUEUE_SCHEMA_VERSION}: upgrade nas-harness"
                )

    # ------------------------------------------------------------------ teams
    def add_team(self, challenge: str, name: str, name_key: str, token_hash: str, now_ns: int) -> None:
        with self.write() as con:
            if con.execute("SELECT 1 FROM challenge_teams WHERE challenge = ? AND name_key = ?", (challenge, name_key)).fetchone():
                raise StoreError(f"team {name!r} already exists in challenge {challenge}")
            con.execute(
                "INSERT INTO challenge_teams (challenge, name, name_key, token_hash, created_ns) VALUES (?, ?, ?, ?, ?)",
                (challenge, name, name_key, token_hash, now_ns),
            )

    def teams(self, challenge: str) -> list[tuple[str, int]]:
        """(name, created_ns) of every team, in creation order."""
        return [(r[0], int(r[1])) for r in self.query(
            "SELECT name, created_ns FROM challenge_teams WHERE challenge = ? ORDER BY created_ns, name", (challenge,))]

    def team_by_key(self, challenge: str, name_key: str) -> str | None:
        rows = self.query("SELECT name FROM challenge_teams WHERE challenge = ? AND name_key = ?", (challenge, name_key))
        return rows[0][0] if rows else None

    def team_by_token_hash(self, challenge: str, token_hash: str) -> str | None:
        rows = self.query("SELECT name FROM challenge_teams WHERE challenge = ? AND token_hash = ?", (challenge, token_hash))
        return rows[0][0] if rows else None

    def other_run_names(self) -> set[str]:
        """Names of runs that are not challenge runs (reference rows the host scored): a team may not take them."""
        rows = self.query(
            "SELECT DISTINCT submission FROM runs WHERE run_id NOT IN"
            " (SELECT run_id FROM challenge_jobs WHERE run_id IS NOT NULL)"
        )
        return {str(r[0]) for r in rows}

    # ------------------------------------------------------------------ jobs
    def insert_job(self, job: dict[str, Any], *, check: Any = None) -> Job:
        """Insert a job; ``check(con)`` runs inside the same transaction (the limit check), so two uploads of one
        team cannot both pass a limit that only one of them fits."""
        with self.write() as con:
            if check is not None:
                check(con)
            cols = ", ".join(job)
            con.execute(f"INSERT INTO challenge_jobs ({cols}) VALUES ({', '.join('?' for _ in job)})", tuple(job.values()))
        return self.get_job(job["job_id"])

    def get_job(self, job_id: str) -> Job:
        rows = self.query(f"SELECT {JOB_COLUMNS} FROM challenge_jobs WHERE job_id = ?", (job_id,))
        if not rows:
            raise StoreError(f"no submission {job_id!r} in the queue")
        return _job(rows[0])

    def jobs(self, challenge: str, *, team: str | None = None, phase: str | None = None, states: Sequence[str] | None = None) -> list[Job]:
        clauses, args = ["challenge = ?"], [challenge]
        if team is not None:
            clauses.append("team = ?")
            args.append(team)
        if phase is not None:
            clauses.append("phase = ?")
            args.append(phase)
        if states:
            clauses.append(f"state IN ({', '.join('?' for _ in states)})")
            args.extend(states)
        rows = self.query(f"SELECT {JOB_COLUMNS} FROM challenge_jobs WHERE {' AND '.join(clauses)} ORDER BY submitted_ns, job_id", args)
        return [_job(r) for r in rows]

    def claim(self, challenge: str, owner: str, now_ns: int, lease_ns: int, max_attempts: int) -> Job | None:
        """Take the oldest queued job, or one whose lease expired (its worker died), under a fresh lease.

        A job whose attempts are used up is failed as a platform failure (never counted) instead of claimed.
        """
        with self.write() as con:
            while True:
                row = con.execute(
                    f"SELECT {JOB_COLUMNS} FROM challenge_jobs WHERE challenge = ? AND"
                    " (state = 'queued' OR (state = 'running' AND lease_until_ns < ?))"
                    " ORDER BY submitted_ns, job_id LIMIT 1",
                    (challenge, now_ns),
                ).fetchone()
                if row is None:
                    return None
                job = _job(row)
                if job.attempts >= max_attempts:
                    reason = job.error or "the worker running it stopped answering"
                    con.execute(
                        "UPDATE challenge_jobs SET state = 'failed', error = ?, error_kind = 'platform', counted = 0,"
                        " lease_owner = NULL, lease_until_ns = NULL, finished_ns = ?, updated_ns = ? WHERE job_id = ?",
                        (f"platform failure after {job.attempts} attempts: {reason}", now_ns, now_ns, job.job_id),
                    )
                    continue
                con.execute(
                    "UPDATE challenge_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?,"
                    " lease_until_ns = ?, heartbeat_ns = ?, started_ns = ?, updated_ns = ? WHERE job_id = ?",
                    (owner, now_ns + lease_ns, now_ns, now_ns, now_ns, job.job_id),
                )
                break
        return self.get_job(job.job_id)

    def heartbeat(self, job_id: str, owner: str, now_ns: int, lease_ns: int) -> bool:
        """Renew a lease; False when it was lost (expired and taken by another worker, or the job cancelled)."""
        with self.write() as con:
            cur = con.execute(
                "UPDATE challenge_jobs SET lease_until_ns = ?, heartbeat_ns = ? WHERE job_id = ? AND lease_owner = ?"
                " AND state = 'running'",
                (now_ns + lease_ns, now_ns, job_id, owner),
            )
            return cur.rowcount == 1

    def finish(self, job_id: str, owner: str, run_id: str, team: str, now_ns: int) -> bool:
        """Link the job to its completed run, once: only the lease holder can, so a result is recorded exactly once.

        The run row is renamed to the team in the same transaction: runs carry the host-given team, never the
        manifest's free-form name. Returns False (and records nothing) when the lease was lost.
        """
        with self.write() as con:
            cur = con.execute(
                "UPDATE challenge_jobs SET state = 'finished', run_id = ?, error = NULL, error_kind = NULL,"
                " lease_owner = NULL, lease_until_ns = NULL, finished_ns = ?, updated_ns = ?"
                " WHERE job_id = ? AND lease_owner = ? AND state = 'running'",
                (run_id, now_ns, now_ns, job_id, owner),
            )
            if cur.rowcount != 1:
                return False
            con.execute("UPDATE runs SET submission = ? WHERE run_id = ?", (team, run_id))
            row = con.execute("SELECT rerun_of FROM challenge_jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row and row[0]:
                con.execute("UPDATE challenge_jobs SET superseded = 1 WHERE job_id = ?", (row[0],))
        return True

    def discard_run(self, run_id: str, reason: str) -> None:
        """Turn the completed run of a job whose lease was lost into a failed row, so no leaderboard shows a result
        that was never recorded for its job (its predictions file is removed by the next ``reap``)."""
        with self.write() as con:
            con.execute(
                "UPDATE runs SET status = 'failed', error = ? WHERE run_id = ? AND run_id NOT IN"
                " (SELECT run_id FROM challenge_jobs WHERE run_id IS NOT NULL)",
                (reason, run_id),
            )

    def fail(self, job_id: str, owner: str, error: str, *, platform: bool, count_failed: bool, run_id: str | None, now_ns: int) -> bool:
        """A failed attempt. Platform failures go back to the queue (never counted); submission failures end the job."""
        with self.write() as con:
            if platform:
                cur = con.execute(
                    "UPDATE challenge_jobs SET state = 'queued', error = ?, error_kind = 'platform', lease_owner = NULL,"
                    " lease_until_ns = NULL, updated_ns = ? WHERE job_id = ? AND lease_owner = ? AND state = 'running'",
                    (error, now_ns, job_id, owner),
                )
            else:
                cur = con.execute(
                    "UPDATE challenge_jobs SET state = 'failed', error = ?, error_kind = 'submission', run_id = ?,"
                    " counted = CASE WHEN ? THEN counted ELSE 0 END, lease_owner = NULL, lease_until_ns = NULL,"
                    " finished_ns = ?, updated_ns = ? WHERE job_id = ? AND lease_owner = ? AND state = 'running'",
                    (error, run_id, int(count_failed), now_ns, now_ns, job_id, owner),
                )
            return cur.rowcount == 1

    def release(self, job_id: str, owner: str, now_ns: int) -> bool:
        """A draining worker hands its running job back: queued again at once, this attempt not counted (the
        worker stopped on its own account, not the job's). False when the lease was no longer this worker's."""
        with self.write() as con:
            cur = con.execute(
                "UPDATE challenge_jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL,"
                " lease_until_ns = NULL, updated_ns = ? WHERE job_id = ? AND lease_owner = ? AND state = 'running'",
                (now_ns, job_id, owner),
            )
            return cur.rowcount == 1

    def set_state(self, job_id: str, new: str, allowed_from: Sequence[str], now_ns: int, **extra: Any) -> Job:
        """Host transitions (approve, cancel): refused with one line from a state that does not allow them."""
        with self.write() as con:
            row = con.execute("SELECT state FROM challenge_jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                raise StoreError(f"no submission {job_id!r} in the queue")
            if row[0] not in allowed_from:
                raise StoreError(f"submission {job_id} is {row[0]}; it must be {' or '.join(allowed_from)}")
            sets = ", ".join(f"{k} = ?" for k in extra)
            con.execute(
                f"UPDATE challenge_jobs SET state = ?, updated_ns = ?, lease_owner = NULL, lease_until_ns = NULL"
                f"{', ' + sets if sets else ''} WHERE job_id = ?",
                (new, now_ns, *extra.values(), job_id),
            )
        return self.get_job(job_id)

    def select(self, challenge: str, team: str, phase: str, job_id: str) -> None:
        """Make ``job_id`` the team's selected entry of ``phase`` (and no other)."""
        with self.write() as con:
            row = con.execute(
                "SELECT state FROM challenge_jobs WHERE job_id = ? AND challenge = ? AND team = ? AND phase = ?",
                (job_id, challenge, team, phase),
            ).fetchone()
            if row is None:
                raise StoreError(f"team {team} has no submission {job_id!r} in phase {phase}")
            if row[0] != "finished":
                raise StoreError(f"submission {job_id} is {row[0]}; only a finished submission can be selected")
            con.execute("UPDATE challenge_jobs SET selected = 0 WHERE challenge = ? AND team = ? AND phase = ?", (challenge, team, phase))
            con.execute("UPDATE challenge_jobs SET selected = 1 WHERE job_id = ?", (job_id,))

    # ------------------------------------------------------------------ reveals
    def reveal(self, challenge: str, phase: str, now_ns: int) -> None:
        with self.write() as con:
            con.execute(
                "INSERT OR IGNORE INTO challenge_reveals (challenge, phase, revealed_ns) VALUES (?, ?, ?)", (challenge, phase, now_ns)
            )

    def revealed(self, challenge: str) -> set[str]:
        return {r[0] for r in self.query("SELECT phase FROM challenge_reveals WHERE challenge = ?", (challenge,))}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
