"""Intake: a participant's zipped folder (or the host's folder) checked, limited and put in the queue.

Why so careful: the zip comes from a stranger. Members may be symlinks, absolute paths, ``..`` climbs, device
files, thousands of tiny files or a few bytes that inflate to gigabytes. Nothing is trusted from the zip's own
headers: each member's bytes are counted while they are written, against the upload limit, into a fresh folder
under the challenge's uploads. Then the folder gets exactly the checks ``nas-harness score`` applies
(:func:`harness.submission.load_submission`), plus the challenge's rules (its benchmark, its allowed kinds),
and the limits are checked in the same transaction that inserts the job. This is the app's only write.
"""

from __future__ import annotations

import io
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from harness.challenge import limits as limit_rules
from harness.challenge.config import ChallengeError
from harness.challenge.host import Host
from harness.errors import HarnessError
from harness.faults import participant_bytes
from harness.store.queue import JOB_COLUMNS, Job, _job, new_job_id

MAX_MEMBERS = 2000
MAX_RATIO = 200  # a member inflating more than this over its compressed size is a zip bomb


def _member_path(name: str) -> PurePosixPath:
    from harness.submission.text import control_chars, printable

    if control_chars(name):  # ESC/OSC, bidi overrides: the name would reach the host's terminal and file listings
        raise ChallengeError(f"the zip holds a member whose name has control characters ({printable(name, 60)}); use plain file names")
    if "\\" in name or "\0" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ChallengeError(f"the zip holds a member with an absolute or non-POSIX path ({name[:60]!r}); zip a plain folder")
    path = PurePosixPath(name)
    if any(part in ("..", "") for part in path.parts) or not path.parts:
        raise ChallengeError(f"the zip holds a member that climbs out of the folder ({name[:60]!r})")
    return path


def _write_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, path: PurePosixPath, room: int) -> None:
    """One member, its bytes counted as they inflate: past its budget it is a zip bomb, whatever its header says."""
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    budget = min(room, max(MAX_RATIO * max(info.compress_size, 1), 1 << 16))  # room: what the upload limit leaves
    with zf.open(info) as src, open(target, "xb") as out:
        while chunk := src.read(1 << 16):
            budget -= len(chunk)
            if budget < 0:
                raise ChallengeError(f"the zip member {str(path)[:60]!r} inflates past the upload limit or {MAX_RATIO}x its size (a zip bomb?)")
            out.write(chunk)


def extract_zip(data: bytes, dest: Path, max_bytes: int) -> Path:
    """Extract ``data`` into the new folder ``dest``; returns the submission folder inside (a single top folder is
    unwrapped). One-line :class:`ChallengeError` for anything unsafe."""
    if len(data) > max_bytes:
        raise ChallengeError(f"the upload is too large ({len(data) / 1024**2:.1f} MB; the limit is {max_bytes / 1024**2:.0f} MB)")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ChallengeError("the upload is not a zip file; zip the submission folder") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ChallengeError(f"the zip holds {len(infos)} members; the limit is {MAX_MEMBERS}")
        dest.mkdir(parents=True)
        written = 0
        for info in infos:
            path = _member_path(info.filename.rstrip("/") if info.is_dir() else info.filename)
            ftype = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip tool wrote no Unix file type
            if ftype not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise ChallengeError(f"the zip member {str(path)[:60]!r} is a link or special file; submissions hold plain files")
            if info.flag_bits & 0x1:
                raise ChallengeError("the zip is encrypted; upload a plain zip")
            target = dest.joinpath(*path.parts)
            try:
                _write_member(zf, info, target, path, max_bytes - written)
            except FileExistsError:
                raise ChallengeError(f"the zip holds {str(path)[:60]!r} twice, or as a file and a folder") from None
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                raise ChallengeError(f"the zip member {str(path)[:60]!r} cannot be read ({type(exc).__name__})") from None
            if not info.is_dir():
                written += target.stat().st_size
                if written > max_bytes:
                    raise ChallengeError(f"the zip inflates beyond the upload limit of {max_bytes / 1024**2:.0f} MB")
    entries = [p for p in dest.iterdir() if p.name not in ("__MACOSX",)]
    if not (dest / "submission.toml").is_file() and len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest


def _validate(host: Host, folder: Path) -> tuple[str, str]:
    """The folder checks of ``score`` plus the challenge's rules; returns (kind, content hash)."""
    from harness.submission import load_submission
    from harness.submission.manifest import MANIFEST_NAME, parse_manifest

    c = host.challenge
    try:
        # the benchmark first, without looking it up: an error must not list the host's other (private) benchmarks
        named = parse_manifest(folder / MANIFEST_NAME, check_benchmark=False).benchmark
        if named != c.benchmark:
            raise ChallengeError(f"this challenge is scored on benchmark {c.benchmark}; the manifest names {named[:60]!r}")
        with participant_bytes("the upload"):
            sub = load_submission(folder)
        if sub.kind not in c.kinds:
            raise ChallengeError(f"this challenge accepts {', '.join(c.kinds)} submissions, not {sub.kind}")
        if sub.kind == "predictions":
            with participant_bytes("the upload"):
                _check_coverage(c.benchmark, sub.payload_path)
    except ChallengeError:
        raise
    except HarnessError as exc:
        raise ChallengeError(_public_message(str(exc), folder)) from None
    return sub.kind, sub.content_hash


def _check_coverage(benchmark: str, path: Path) -> None:
    """A predictions file is read in full at intake: one finite score for every arch of the arch set, no
    unknown or duplicate arch. Why here and not only in the worker: a file that cannot be scored is refused
    before it becomes a job, so it never counts against the team's limits nor takes a worker's time."""
    from harness.benchmarks import get_benchmark
    from harness.submission import read_predictions

    bench = get_benchmark(benchmark)
    read_predictions(path, bench.archs(), bench.space)


def _public_message(message: str, folder: Path) -> str:
    """Errors name the submission, never the host's folders."""
    for p in sorted({str(folder), str(folder.resolve())}, key=len, reverse=True):
        message = message.replace(p + "/", "").replace(p, "submission")
    return message


def _enqueue(host: Host, team: str, job_id: str, kind: str, digest: str) -> Job:
    phase = host.open_phase()
    now_s = host.clock()
    state = "submitted" if host.challenge.require_approval else "queued"

    def check(con) -> None:  # inside the insert's transaction: two uploads cannot both take the last slot
        rows = con.execute(
            f"SELECT {JOB_COLUMNS} FROM challenge_jobs WHERE challenge = ? AND team = ? AND phase = ?",
            (host.name, team, phase.name),
        ).fetchall()
        limit_rules.check([_job(r) for r in rows], phase.limits, now_s)

    now = host.now_ns()
    return host.queue.insert_job({
        "job_id": job_id, "challenge": host.name, "team": team, "phase": phase.name, "state": state, "kind": kind,
        "upload": job_id, "upload_hash": digest, "submitted_ns": now, "updated_ns": now,
    }, check=check)


def submit_folder(host: Host, team: str, folder: Path) -> Job:
    """The host enqueues a folder for a team (``nas-harness submit DIR --challenge C --team T``)."""
    from harness.submission.folder import submission_files

    team = host.team(team)
    folder = Path(folder)
    host.open_phase()
    _validate(host, folder)
    job_id = new_job_id()
    dest = host.upload_dir(job_id)
    try:
        dest.mkdir(parents=True)
        for rel in submission_files(folder):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder.resolve() / rel, dest / rel, follow_symlinks=True)
        kind, digest = _validate(host, dest)
        return _enqueue(host, team, job_id, kind, digest)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def submit_zip(host: Host, token: str, data: bytes) -> Job:
    """A participant's upload (the Submit page): token -> team, zip checked and extracted, folder checked, enqueued."""
    team = host.team_for_token(token)
    host.open_phase()
    job_id = new_job_id()
    dest = host.upload_dir(job_id)
    staging = host.challenge.uploads_dir / f".incoming-{job_id}"
    try:
        folder = extract_zip(data, staging, host.challenge.max_upload_bytes)
        kind, digest = _validate(host, folder)
        folder.rename(dest)
        return _enqueue(host, team, job_id, kind, digest)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def zip_folder(folder: Path) -> bytes:
    """A folder as zip bytes (what a participant uploads; used by tests and the CLI's dry run)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()
