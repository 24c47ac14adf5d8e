"""A submission folder: its manifest, its payload file and a content hash that identifies it.

Why the checks here: the folder comes from a stranger. Before any byte of it is parsed or run, we make sure it is
a plain folder of bounded size whose files all live inside it (a symlink to the GT file must not turn the harness
into a reader of the GT on the submitter's behalf; nor a hard link, which names the same inode as a hidden file
and which the sandbox's path rules cannot tell apart), and we hash it so every stored run says exactly what it
scored.

Trusted status is the host's: a manifest's ``baseline = true`` is kept only for folders inside the harness's own
shipped ``submissions/`` (found by resolved path, so a copy elsewhere or a symlink to it does not count) or inside a
folder the host lists in ``$NAS_HARNESS_TRUSTED_SUBMISSIONS``; for every other folder it is cleared.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from harness.errors import ManifestError
from harness.submission.manifest import DEFAULT_PAYLOADS, MANIFEST_NAME, Kind, Manifest, parse_manifest

#: a submission folder larger than this is refused before it is hashed or read (override: NAS_HARNESS_MAX_SUBMISSION_MB)
MAX_SUBMISSION_BYTES = 512 * 1024**2
IGNORED_DIRS = {"__pycache__", ".ipynb_checkpoints"}
IGNORED_FILES = {".DS_Store"}
#: the harness's own reference submissions (baselines): the repository's submissions/ folder
SHIPPED_SUBMISSIONS = Path(__file__).resolve().parents[2] / "submissions"
TRUSTED_ENV = "NAS_HARNESS_TRUSTED_SUBMISSIONS"


@dataclass(frozen=True)
class Submission:
    """A validated submission folder. ``payload_path`` is the file its kind works from."""

    dir: Path
    manifest: Manifest
    kind: Kind
    content_hash: str
    payload_path: Path

    @property
    def name(self) -> str:
        return self.manifest.name


def max_submission_bytes() -> int:
    value = os.environ.get("NAS_HARNESS_MAX_SUBMISSION_MB")
    return int(float(value) * 1024**2) if value else MAX_SUBMISSION_BYTES


def submission_files(folder: Path) -> list[Path]:
    """Every file of the folder (sorted relative paths), skipping caches; symlinks leaving the folder are refused."""
    root = folder.resolve()
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        here = Path(dirpath)
        for d in dirnames:
            if (here / d).is_symlink():
                raise ManifestError(f"{folder}: {(here / d).relative_to(root)} is a symlink; submissions must hold plain files")
        for name in sorted(filenames):
            if name in IGNORED_FILES:
                continue
            path = here / name
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root) or not target.is_file():
                    raise ManifestError(
                        f"{folder}: {path.relative_to(root)} is a symlink pointing outside the submission folder"
                    )
            elif not path.is_file():
                raise ManifestError(f"{folder}: {path.relative_to(root)} is not a regular file")
            elif path.stat().st_nlink > 1:
                raise ManifestError(
                    f"{folder}: {path.relative_to(root)} is a hard link (the same file also lives elsewhere); "
                    "submissions must hold their own copies"
                )
            files.append(path.relative_to(root))
    return sorted(files, key=lambda p: p.as_posix())


def content_hash(folder: Path, files: list[Path] | None = None) -> str:
    """SHA-256 over the folder's files: each relative path (POSIX form) then its length and bytes, sorted by path."""
    root = folder.resolve()
    h = hashlib.sha256()
    for rel in files if files is not None else submission_files(folder):
        path = root / rel
        h.update(rel.as_posix().encode() + b"\0")
        h.update(str(path.stat().st_size).encode() + b"\0")
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _payload(folder: Path, manifest: Manifest) -> Path:
    root = folder.resolve()
    if manifest.file is not None:
        path = (root / manifest.file).resolve()
        if not path.is_relative_to(root):
            raise ManifestError(f"{folder}: 'file' = {manifest.file!r} points outside the submission folder")
        if not path.is_file():
            raise ManifestError(f"{folder}: the manifest names {manifest.file!r}, which is not in the folder")
        return path
    candidates = DEFAULT_PAYLOADS[manifest.kind]
    found = [root / c for c in candidates if (root / c).is_file()]
    if not found:
        names = " or ".join(candidates[:4])
        raise ManifestError(
            f"{folder}: a {manifest.kind} submission needs {names} (or 'file = ...' in {MANIFEST_NAME})"
        )
    if len(found) > 1 and manifest.kind == "predictions":
        raise ManifestError(
            f"{folder}: several predictions files ({', '.join(p.name for p in found)}); name one with 'file = ...'"
        )
    return found[0]


def trusted_roots() -> list[Path]:
    """Folders whose submissions may keep ``baseline = true``: the shipped ``submissions/`` and the host's list."""
    roots = [SHIPPED_SUBMISSIONS]
    roots += [Path(p).resolve() for p in os.environ.get(TRUSTED_ENV, "").split(os.pathsep) if p.strip()]
    return roots


def host_trusted(folder: Path) -> bool:
    """Whether the host vouches for ``folder`` (by its resolved path; see the module docstring)."""
    real = Path(folder).resolve()
    return any(real.is_relative_to(root) and real != root for root in trusted_roots())


def load_submission(folder: Path) -> Submission:
    """Validate a submission folder: manifest, size, files, payload; raises a one-line :class:`ManifestError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ManifestError(f"submission folder {folder} does not exist")
    manifest = parse_manifest(folder / MANIFEST_NAME)
    files = submission_files(folder)
    total = sum((folder.resolve() / f).stat().st_size for f in files)
    limit = max_submission_bytes()
    if total > limit:
        raise ManifestError(
            f"{folder}: the submission is too large ({total / 1024**2:.0f} MB; the size limit is {limit / 1024**2:.0f} MB)"
        )
    payload = _payload(folder, manifest)
    if manifest.baseline and not host_trusted(folder):
        manifest = replace(manifest, baseline=False)  # the manifest may ask; only the host gives
    return Submission(
        dir=folder.resolve(),
        manifest=manifest,
        kind=manifest.kind,
        content_hash=content_hash(folder, files),
        payload_path=payload,
    )
