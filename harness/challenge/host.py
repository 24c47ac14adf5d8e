"""A challenge opened on the host: its validated config, its store's queue, a clock, and the host's commands.

Why one object: every command (team add, submit, worker, cancel, reveal, the app) needs the same three things,
and the clock must be the same one everywhere for phases, daily limits and leases to agree (tests pass a
:class:`~harness.challenge.clock.FakeClock`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.challenge import teams as team_rules
from harness.challenge.clock import Clock, system_clock
from harness.challenge.config import Challenge, ChallengeError, Phase, PhaseOpenError, parse_challenge
from harness.errors import StoreError
from harness.store.queue import Job, QueueStore, new_job_id


class Host:
    def __init__(self, challenge: Challenge, *, clock: Clock = system_clock, read_only: bool = False) -> None:
        self.challenge = challenge
        self.clock = clock
        self.read_only = read_only
        if read_only and not (challenge.store_dir / "runs.sqlite").is_file():
            raise ChallengeError(f"challenge {challenge.name} has no store yet at {challenge.store_dir}: the host adds a team first")
        self.queue = QueueStore(challenge.store_dir, read_only=read_only)
        self._store: Any = None

    # ------------------------------------------------------------------ basics
    @property
    def name(self) -> str:
        return self.challenge.name

    @property
    def store(self) -> Any:
        from harness.store import ResultStore

        if self._store is None:
            self._store = ResultStore(self.challenge.store_dir, read_only=self.read_only)
        return self._store

    def now_ns(self) -> int:
        return int(self.clock() * 1e9)

    def accepting_phase(self) -> Phase | None:
        """The phase taking uploads now, or None; a revealed phase takes none, for good (its hidden split is public)."""
        phase = self.challenge.open_phase(self.clock())
        return None if phase is None or phase.name in self.queue.revealed(self.name) else phase

    def open_phase(self) -> Phase:
        """The phase taking uploads now, or a one-line ChallengeError saying why none does."""
        phase = self.challenge.open_phase(self.clock())
        if phase is not None and phase.name in self.queue.revealed(self.name):
            raise ChallengeError(f"phase {phase.name} of challenge {self.name} was revealed; it takes no more submissions")
        if phase is None:
            upcoming = [p for p in self.challenge.phases if p.start_s > self.clock()]
            hint = f"; the next one ({upcoming[0].name}) opens {upcoming[0].start:%Y-%m-%d %H:%M} UTC" if upcoming else "; the challenge is over"
            raise ChallengeError(f"no phase of challenge {self.name} is open now{hint}")
        return phase

    def upload_dir(self, job_id: str) -> Path:
        return self.challenge.uploads_dir / job_id

    # ------------------------------------------------------------------ teams
    def add_team(self, name: str) -> str:
        """Create a team; returns its token, which is shown once and never stored (only its hash is)."""
        taken = {k for k in (team_rules.name_key(n) for n, _ in self.queue.teams(self.name))}
        taken |= {team_rules.name_key(n) for n in self.queue.other_run_names()}
        taken |= {team_rules.name_key(n) for n in self.challenge.reserved_names}
        taken |= _reference_names()
        name = team_rules.check_team_name(name, taken)
        token = team_rules.new_token()
        try:
            self.queue.add_team(self.name, name, team_rules.name_key(name), team_rules.token_hash(token), self.now_ns())
        except StoreError as exc:
            raise ChallengeError(str(exc)) from None
        return token

    def team(self, name: str) -> str:
        """The team a name denotes, by :func:`~harness.challenge.teams.name_key` (recomputed on the stored names,
        so teams added under an older key function are still found)."""
        key = team_rules.name_key(name or "")
        found = next((n for n, _ in self.queue.teams(self.name) if team_rules.name_key(n) == key), None)
        if found is None:
            raise ChallengeError(f"no team {name!r} in challenge {self.name} (add it with `nas-harness challenge team add`)")
        return found

    def team_for_token(self, token: str) -> str:
        found = self.queue.team_by_token_hash(self.name, team_rules.token_hash(token or ""))
        if found is None:
            raise ChallengeError("unknown team token: check it, or ask the host for a new one")
        return found

    # ------------------------------------------------------------------ host commands
    def approve(self, job_id: str) -> Job:
        return self._transition(job_id, "queued", ("submitted",))

    def cancel(self, job_id: str) -> Job:
        """Cancel a waiting or running job. The worker running it sees the cancel at its next heartbeat and stops the
        work (sandbox killed, Ray tasks cancelled); a result that still arrives is refused (its lease is gone)."""
        job = self._transition(job_id, "cancelled", ("submitted", "queued", "running"), counted=0,
                               finished_ns=self.now_ns(), error="cancelled by the host")
        self.prune_uploads()
        return job

    def prune_uploads(self) -> list[str]:
        """Delete the uploads of failed and cancelled jobs beyond ``[submissions] failed_uploads_mb``, oldest first.

        Why: every upload is written to the host's disk, and failed ones cost a team nothing where failures do not
        count, so without a bound a team fills the disk. Finished uploads are kept (they are on the board, and the
        limits bound them); so are those of platform failures (the host reruns them once the platform is fixed).
        Returns the job ids whose uploads were deleted.
        """
        ended = [j for j in self.queue.jobs(self.name, states=["failed", "cancelled"])
                 if not (j.state == "failed" and j.error_kind == "platform") and self.upload_dir(j.upload).is_dir()]
        sizes = {j.job_id: _tree_bytes(self.upload_dir(j.upload)) for j in ended}
        total = sum(sizes.values())
        removed: list[str] = []
        for job in sorted(ended, key=lambda j: (j.finished_ns or j.updated_ns, j.job_id)):
            if total <= self.challenge.failed_uploads_bytes:
                break
            shutil.rmtree(self.upload_dir(job.upload), ignore_errors=True)
            total -= sizes[job.job_id]
            removed.append(job.job_id)
        return removed

    def rerun(self, job_id: str) -> Job:
        """Score a finished or failed submission again as a new job that never counts against limits; its result
        replaces the original's on the leaderboard."""
        old = self.queue.get_job(job_id)
        if old.state not in ("finished", "failed", "cancelled"):
            raise ChallengeError(f"submission {job_id} is {old.state}; only a finished, failed or cancelled one can be rerun")
        if not self.upload_dir(old.job_id).is_dir():
            raise ChallengeError(f"the upload of submission {job_id} is gone from {self.challenge.uploads_dir} (failed and "
                                 "cancelled uploads beyond [submissions] failed_uploads_mb are deleted, oldest first)")
        new_id = new_job_id()
        shutil.copytree(self.upload_dir(old.job_id), self.upload_dir(new_id), symlinks=True)
        now = self.now_ns()
        return self.queue.insert_job({
            "job_id": new_id, "challenge": self.name, "team": old.team, "phase": old.phase, "state": "queued",
            "kind": old.kind, "upload": new_id, "upload_hash": old.upload_hash, "submitted_ns": old.submitted_ns,
            "updated_ns": now, "counted": 0, "rerun_of": old.job_id,
        })

    def reveal(self, phase: str, *, end_now: bool = False) -> None:
        """Show a phase's board and hidden-split values to participants, which also closes it to uploads for good.

        Refused while the phase is open (a team could upload, see its hidden score and move up) unless the host
        ends it now explicitly (``end_now``): uploads to it are refused from then on (:meth:`open_phase`).
        """
        p = self.challenge.phase(phase)
        if p.is_open(self.clock()) and not end_now:
            raise PhaseOpenError(
                f"phase {p.name} is open until {p.end:%Y-%m-%d %H:%M} UTC; reveal it after it ends, or end it now "
                "with --force --end-now (it then takes no more submissions, for good)")
        self.queue.reveal(self.name, phase, self.now_ns())

    def select(self, team: str, job_id: str) -> None:
        """Make a finished submission the team's final entry of its phase; refused unless the rule is ``selected``
        (under ``latest`` or ``best_public`` a selection would change nothing, so accepting it would mislead)."""
        if self.challenge.ranking_rule != "selected":
            raise ChallengeError(f"challenge {self.name} ranks by rule {self.challenge.ranking_rule}: entries are not "
                                 "selected (only under ranking.rule = \"selected\")")
        try:
            job = self.queue.get_job(job_id)
            if job.challenge != self.name:
                raise StoreError(f"no submission {job_id!r} in the queue")
            self.queue.select(self.name, self.team(team), job.phase, job_id)
        except StoreError as exc:
            raise ChallengeError(str(exc)) from None

    def select_own(self, token: str, job_id: str) -> str:
        """A participant chooses their team's final entry with their token; returns the team. Only their own
        finished submissions, only while their phase is open, only under the ``selected`` rule (and the refusals
        of :meth:`select`)."""
        team = self.team_for_token(token)
        try:
            job = self.queue.get_job(job_id)
        except StoreError as exc:
            raise ChallengeError(str(exc)) from None
        if job.challenge == self.name and job.team == team and not self.challenge.phase(job.phase).is_open(self.clock()):
            # after the phase's end a choice could follow its revealed hidden-split scores: a leak by selection
            raise ChallengeError(f"phase {job.phase} is closed: the final entry can no longer be changed")
        self.select(team, job_id)
        return team

    def revealed(self, phase: Phase) -> bool:
        return phase.visibility == "public" or phase.name in self.queue.revealed(self.name)

    def _transition(self, job_id: str, new: str, allowed: tuple[str, ...], **extra: Any) -> Job:
        try:
            return self.queue.set_state(job_id, new, allowed, self.now_ns(), **extra)
        except StoreError as exc:
            raise ChallengeError(str(exc)) from None

    def export(self, out: Path) -> list[Path]:
        """Host-only export: every job (JSON) and each phase's board (CSV, hidden split included): the ranking metric,
        its 95 % CI, the baseline rows and ``tied_with_leader`` (:mod:`harness.challenge.board`)."""
        from harness.challenge import views

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        jobs = [asdict(j) for j in self.queue.jobs(self.name)]
        written = [out / f"{self.name}-jobs.json"]
        written[0].write_text(json.dumps(jobs, indent=1), encoding="utf-8")
        from harness.challenge import board

        for phase in self.challenge.phases:
            rows = board.table_rows(board.challenge_board(self, phase.name, host_view=True))
            path = out / f"{self.name}-{phase.name}-ranking.csv"
            path.write_text(views.to_csv(rows), encoding="utf-8")
            written.append(path)
        return written


def packaged_gt_warnings(challenge: Challenge) -> list[str]:
    """Why a hidden phase of ``challenge`` is not blind: its benchmark's GT file ships inside the harness package
    (anyone with ``pip install nas-harness`` holds the "hidden" split's truth). One line per such phase."""
    from harness.benchmarks import get_benchmark
    from harness.errors import HarnessError

    try:
        path = get_benchmark(challenge.benchmark).gt_path()
    except HarnessError:
        return []
    package = Path(__file__).resolve().parents[1]
    if path is None or not path.resolve().is_relative_to(package):
        return []
    return [f"phase {p.name} is hidden, but benchmark {challenge.benchmark}'s GT ships with the nas-harness package"
            f" ({path.name}): participants can read its {p.split} split; build a private GT (docs/challenge_hosting.md)"
            for p in challenge.phases if p.visibility == "hidden"]


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _reference_names() -> set[str]:
    """Name keys of the reference submissions shipped with the harness (``submissions/*/submission.toml``)."""
    from harness.challenge.teams import name_key

    root = Path(__file__).resolve().parents[2] / "submissions"
    names: set[str] = set()
    if root.is_dir():
        import tomllib

        for path in root.glob("*/submission.toml"):
            names.add(name_key(path.parent.name))
            try:
                value = tomllib.loads(path.read_text(encoding="utf-8")).get("name")
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            if isinstance(value, str):
                names.add(name_key(value))
    return names


def open_challenge(folder: str | Path, *, clock: Clock = system_clock, read_only: bool = False) -> Host:
    return Host(parse_challenge(folder), clock=clock, read_only=read_only)

