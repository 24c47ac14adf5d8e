"""``challenge.toml``: a challenge is data in a host-private folder.

Why a strict schema with one-line errors: the file decides what participants may submit, when, how often, what
they see and how the final ranking is chosen. A typo in a phase date or a visibility value must stop the host at
``challenge validate``, not open a final phase early or show a hidden split. The ranking rule can never be "best
on the hidden split": picking each team's best hidden-split run is itself a leak by selection (it rewards
over-fitting the hidden split through repeated submissions), so the schema has no way to say it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

CONFIG_NAME = "challenge.toml"
SPLITS = ("dev", "test")
PUBLIC_SPLIT = "dev"
VISIBILITIES = ("public", "hidden")
RANKING_RULES = ("selected", "latest", "best_public")
TIE_BREAKS = ("public_score", "fewer_submissions", "earlier")
KINDS = ("trainer", "checkpoint", "predictions")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
_TOP_KEYS = {"name", "title", "benchmark", "store", "uploads", "require_approval", "reserved_names", "scoring", "limits",
             "submissions", "ranking", "phases"}
_LIMIT_KEYS = {"per_day", "total", "concurrent", "count_failed"}
_SCORING_KEYS = {"n_boot", "seed", "device", "evaluator", "max_attempts", "lease_seconds", "heartbeat_seconds", "full_sweep"}
_SUB_KEYS = {"kinds", "budget_seconds", "max_upload_mb", "failed_uploads_mb"}
_RANK_KEYS = {"rule", "tie_break"}
_PHASE_KEYS = {"name", "start", "end", "split", "visibility", "limits"}


class ChallengeError(HarnessError):
    """A challenge.toml that is missing or invalid, or a challenge action that its rules refuse."""

    exit_code = 7


class PhaseOpenError(ChallengeError):
    """A reveal asked for while its phase still takes uploads: a usage error (exit 2), nothing is revealed."""

    exit_code = 2


@dataclass(frozen=True)
class Limits:
    """Per team and phase. ``None`` is no limit. ``count_failed``: whether submissions that fail by their own
    fault count (platform failures never do)."""

    per_day: int | None = None
    total: int | None = None
    concurrent: int | None = 1
    count_failed: bool = True


@dataclass(frozen=True)
class Phase:
    name: str
    start: datetime
    end: datetime
    split: str
    visibility: str
    limits: Limits

    @property
    def start_s(self) -> float:
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        return self.end.timestamp()

    def is_open(self, now_s: float) -> bool:
        return self.start_s <= now_s < self.end_s


@dataclass(frozen=True)
class Scoring:
    n_boot: int = 1000
    seed: int = 0
    device: str = "cpu"
    evaluator: str = "fast"
    max_attempts: int = 3
    lease_seconds: float = 120.0
    heartbeat_seconds: float = 10.0
    full_sweep: bool = False  # False: a job evaluates the GT archs only (what ranking needs); recorded on the run


@dataclass(frozen=True)
class Challenge:
    """A validated challenge; ``folder`` is where challenge.toml lives (store and uploads are relative to it)."""

    folder: Path
    name: str
    title: str
    benchmark: str
    store_dir: Path
    uploads_dir: Path
    phases: tuple[Phase, ...]
    scoring: Scoring
    kinds: tuple[str, ...]
    budget_seconds: float | None
    max_upload_bytes: int
    ranking_rule: str
    tie_break: tuple[str, ...]
    require_approval: bool = False
    reserved_names: tuple[str, ...] = field(default_factory=tuple)
    #: bytes of failed and cancelled uploads kept on the host (oldest deleted first; 0: deleted when the job ends)
    failed_uploads_bytes: int = 2 * 1024**3

    def phase(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name:
                return p
        raise ChallengeError(f"challenge {self.name} has no phase {name!r} (phases: {', '.join(p.name for p in self.phases)})")

    def open_phase(self, now_s: float) -> Phase | None:
        for p in self.phases:
            if p.is_open(now_s):
                return p
        return None


def _err(path: Path, msg: str) -> ChallengeError:
    return ChallengeError(f"{path}: {msg}")


def _unknown(raw: dict[str, Any], known: set[str], where: str, path: Path) -> None:
    extra = sorted(set(raw) - known)
    if extra:
        raise _err(path, f"unknown key {extra[0]!r} in {where} (known: {', '.join(sorted(known))})")


def _int(raw: dict[str, Any], key: str, where: str, path: Path, default: int | None, *, minimum: int = 0) -> int | None:
    if key not in raw:
        return default
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _err(path, f"{where}.{key} must be an integer >= {minimum}")
    return value


def _number(raw: dict[str, Any], key: str, where: str, path: Path, default: float | None) -> float | None:
    if key not in raw:
        return default
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _err(path, f"{where}.{key} must be a positive number")
    return float(value)


def _bool(raw: dict[str, Any], key: str, where: str, path: Path, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise _err(path, f"{where}.{key} must be true or false")
    return value


def _table(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise _err(path, f"[{key}] must be a table")
    return value


def _limits(raw: dict[str, Any], where: str, path: Path, base: Limits) -> Limits:
    _unknown(raw, _LIMIT_KEYS, where, path)
    return Limits(
        per_day=_int(raw, "per_day", where, path, base.per_day, minimum=1),
        total=_int(raw, "total", where, path, base.total, minimum=1),
        concurrent=_int(raw, "concurrent", where, path, base.concurrent, minimum=1),
        count_failed=_bool(raw, "count_failed", where, path, base.count_failed),
    )


def _when(value: Any, where: str, path: Path) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _err(path, f"{where} must carry a time zone (e.g. 2026-03-01T00:00:00Z)")
        return value.astimezone(UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _err(path, f"{where} = {value!r} is not an ISO-8601 date-time") from None
        return _when(parsed, where, path)
    raise _err(path, f"{where} must be a date-time such as 2026-03-01T00:00:00Z")


def _phases(raw: Any, base: Limits, path: Path) -> tuple[Phase, ...]:
    if not isinstance(raw, list) or not raw:
        raise _err(path, "a challenge needs at least one [[phases]] table")
    phases: list[Phase] = []
    for i, entry in enumerate(raw):
        where = f"phases[{i}]"
        if not isinstance(entry, dict):
            raise _err(path, f"{where} must be a table")
        _unknown(entry, _PHASE_KEYS, where, path)
        name = entry.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise _err(path, f"{where}.name must be a short lower-case name (letters, digits, - and _)")
        if any(p.name == name for p in phases):
            raise _err(path, f"two phases are named {name!r}")
        for key in ("start", "end"):
            if key not in entry:
                raise _err(path, f"phase {name}: missing {key!r}")
        start, end = _when(entry["start"], f"phase {name}: start", path), _when(entry["end"], f"phase {name}: end", path)
        if end <= start:
            raise _err(path, f"phase {name}: end must be after start")
        split = entry.get("split", PUBLIC_SPLIT)
        if split not in SPLITS:
            raise _err(path, f"phase {name}: split must be dev (public) or test (hidden), not {split!r}")
        visibility = entry.get("visibility", "public" if split == PUBLIC_SPLIT else "hidden")
        if visibility not in VISIBILITIES:
            raise _err(path, f"phase {name}: visibility must be public or hidden (host-only until revealed), not {visibility!r}")
        limits_raw = entry.get("limits", {})
        if not isinstance(limits_raw, dict):
            raise _err(path, f"phase {name}: limits must be a table")
        phase = Phase(name, start, end, split, visibility, _limits(limits_raw, f"phases.{name}.limits", path, base))
        if phases and phase.start < phases[-1].end:
            raise _err(path, f"phase {name} starts before phase {phases[-1].name} ends; phases must not overlap and go in order")
        phases.append(phase)
    return tuple(phases)


def parse_challenge(path: str | Path) -> Challenge:
    """Read and validate a challenge (its folder or its challenge.toml); every problem is one :class:`ChallengeError` line."""
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_NAME
    if not path.is_file():
        raise ChallengeError(f"no {CONFIG_NAME} at {path.parent}: run `nas-harness challenge init {path.parent}` first")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _err(path, f"malformed TOML ({' '.join(str(exc).split())})") from None
    _unknown(raw, _TOP_KEYS, "the top level", path)
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise _err(path, "'name' must be a short lower-case name (letters, digits, - and _)")
    benchmark = raw.get("benchmark")
    if not isinstance(benchmark, str) or not benchmark.strip():
        raise _err(path, "'benchmark' must name a benchmark (a private one is found through $NAS_HARNESS_BENCHMARK_DIRS)")
    from harness.benchmarks import get_benchmark

    try:
        get_benchmark(benchmark)
    except HarnessError as exc:
        raise _err(path, str(exc)) from None

    folder = path.parent.resolve()
    store_dir = folder / str(raw.get("store", "store"))
    uploads_dir = folder / str(raw.get("uploads", "uploads"))

    limits = _limits(_table(raw, "limits", path), "limits", path, Limits())
    s = _table(raw, "scoring", path)
    _unknown(s, _SCORING_KEYS, "[scoring]", path)
    device = s.get("device", "cpu")
    evaluator = s.get("evaluator", "fast")
    if not isinstance(device, str) or not isinstance(evaluator, str):
        raise _err(path, "scoring.device and scoring.evaluator must be strings")
    scoring = Scoring(
        n_boot=_int(s, "n_boot", "scoring", path, 1000, minimum=0) or 0,
        seed=_int(s, "seed", "scoring", path, 0) or 0,
        device=device,
        evaluator=evaluator,
        max_attempts=_int(s, "max_attempts", "scoring", path, 3, minimum=1) or 3,
        lease_seconds=_number(s, "lease_seconds", "scoring", path, 120.0) or 120.0,
        heartbeat_seconds=_number(s, "heartbeat_seconds", "scoring", path, 10.0) or 10.0,
        full_sweep=_bool(s, "full_sweep", "scoring", path, False),
    )
    if scoring.heartbeat_seconds * 2 > scoring.lease_seconds:
        raise _err(path, "scoring.heartbeat_seconds must be at most half of scoring.lease_seconds (a lease needs two chances)")

    sub = _table(raw, "submissions", path)
    _unknown(sub, _SUB_KEYS, "[submissions]", path)
    kinds = sub.get("kinds", list(KINDS))
    if not isinstance(kinds, list) or not kinds or any(k not in KINDS for k in kinds):
        raise _err(path, f"submissions.kinds must be a non-empty list of {', '.join(KINDS)}")
    budget = _number(sub, "budget_seconds", "submissions", path, None)
    max_mb = _number(sub, "max_upload_mb", "submissions", path, 64.0) or 64.0
    failed_mb = sub.get("failed_uploads_mb", 2048)
    if isinstance(failed_mb, bool) or not isinstance(failed_mb, (int, float)) or failed_mb < 0:
        raise _err(path, "submissions.failed_uploads_mb must be a number >= 0 (0: delete failed and cancelled uploads at once)")

    rank = _table(raw, "ranking", path)
    _unknown(rank, _RANK_KEYS, "[ranking]", path)
    rule = rank.get("rule", "latest")
    if rule not in RANKING_RULES:
        hint = " (best on the hidden split is not offered: choosing by it leaks the hidden split)" if "best" in str(rule) else ""
        raise _err(path, f"ranking.rule must be one of {', '.join(RANKING_RULES)}, not {rule!r}{hint}")
    tie = rank.get("tie_break", ["public_score", "earlier"])
    if not isinstance(tie, list) or any(t not in TIE_BREAKS for t in tie) or len(set(tie)) != len(tie):
        raise _err(path, f"ranking.tie_break must be a list of distinct {', '.join(TIE_BREAKS)}")

    reserved = raw.get("reserved_names", [])
    if not isinstance(reserved, list) or not all(isinstance(r, str) for r in reserved):
        raise _err(path, "'reserved_names' must be a list of strings")
    return Challenge(
        folder=folder,
        name=name,
        title=str(raw.get("title", name)),
        benchmark=benchmark,
        store_dir=store_dir,
        uploads_dir=uploads_dir,
        phases=_phases(raw.get("phases"), limits, path),
        scoring=scoring,
        kinds=tuple(kinds),
        budget_seconds=budget,
        max_upload_bytes=int(max_mb * 1024**2),
        ranking_rule=rule,
        tie_break=tuple(tie),
        require_approval=_bool(raw, "require_approval", "the top level", path, False),
        reserved_names=tuple(reserved),
        failed_uploads_bytes=int(failed_mb * 1024**2),
    )


TEMPLATE = """\
# A nas-harness challenge. Keep this folder on the host: it holds the store (every run and the queue) and the
# uploads. The benchmark's GT stays where its spec says; a private benchmark is found through
# $NAS_HARNESS_BENCHMARK_DIRS (a folder with NAME.toml, NAME-archs.h5 and NAME-gt.h5) on the host only.
name = "{name}"
title = "{title}"
benchmark = "{benchmark}"
store = "store"
uploads = "uploads"
require_approval = false     # true: each submission waits for `challenge approve` before it is queued

[scoring]
n_boot = 1000
device = "cpu"
max_attempts = 3             # platform failures (a worker died, the store was busy) are retried this often
lease_seconds = 120          # a job whose worker stops renewing its lease for this long runs again
heartbeat_seconds = 10
full_sweep = false           # false: jobs evaluate the GT archs only (what ranking needs); true: the whole arch set

[submissions]
kinds = ["predictions", "checkpoint", "trainer"]
max_upload_mb = 64
failed_uploads_mb = 2048     # failed and cancelled uploads kept for `challenge rerun` (oldest deleted first; 0: none)
# budget_seconds = 900       # a trainer's wall-clock budget (default: the benchmark's)

[limits]                     # per team and phase; a phase may override them in its own [phases.limits]
per_day = 5
total = 50
concurrent = 1
count_failed = true          # failures caused by the submission count; platform failures never do

[ranking]
rule = "best_public"         # selected | latest | best_public (the team's best on the public dev split)
tie_break = ["public_score", "earlier"]

[[phases]]
name = "development"
start = {dev_start}
end = {dev_end}
split = "dev"                # scored and ranked on the public split
visibility = "public"

[[phases]]
name = "final"
start = {dev_end}
end = {final_end}
split = "test"               # ranked on the hidden split ...
visibility = "hidden"        # ... shown to participants only after `challenge reveal final`
[phases.limits]
per_day = 1
total = 3
"""


def init_challenge(folder: Path, *, name: str, benchmark: str, now: datetime | None = None, title: str | None = None) -> Path:
    """Write a commented challenge.toml (two phases: public development, blind final) into ``folder``."""
    from datetime import timedelta

    folder = Path(folder)
    target = folder / CONFIG_NAME
    if target.exists():
        raise ChallengeError(f"{target} already exists; edit it, or init another folder")
    if not NAME_RE.match(name):
        raise ChallengeError(f"challenge name {name!r} must be short and lower-case (letters, digits, - and _)")
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    fmt = lambda d: d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(TEMPLATE.format(
        name=name, title=(title or name).replace('"', "'"), benchmark=benchmark.replace('"', ""),
        dev_start=fmt(now), dev_end=fmt(now + timedelta(days=28)), final_end=fmt(now + timedelta(days=35)),
    ), encoding="utf-8")
    parse_challenge(target)  # the template must validate on this host (the benchmark exists)
    return target
