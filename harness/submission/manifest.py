"""``submission.toml``: the manifest every submission folder carries.

Why a strict schema: the manifest decides which code path a folder takes (train it, load its weights, read its
scores) and which benchmark it is scored on, so a typo must stop the run with one clear line before anything
runs, not surface later as a confusing failure deep in training or evaluation.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from harness.errors import HarnessError, ManifestError
from harness.submission.text import check_name, check_text

Kind = Literal["trainer", "checkpoint", "predictions"]
KINDS: tuple[str, ...] = get_args(Kind)
MANIFEST_NAME = "submission.toml"
MAX_MANIFEST_BYTES = 64 * 1024

#: the payload file names looked for when the manifest names none (``file = "..."``), by kind, in order
DEFAULT_PAYLOADS: dict[str, tuple[str, ...]] = {
    "trainer": ("trainer.py",),
    "checkpoint": ("checkpoint.pt", "checkpoint.pth", "supernet.pt", "supernet.pth", "model.pt", "model.pth"),
    "predictions": ("predictions.csv", "predictions.json", "predictions.h5", "predictions.hdf5"),
}
_KNOWN_KEYS = {"name", "authors", "benchmark", "kind", "description", "file", "baseline", "hparams"}
#: the most hyper-parameters a manifest may declare, and the longest name / string value
MAX_HPARAMS = 64
MAX_HPARAM_NAME = 64
MAX_HPARAM_TEXT = 200
HParam = bool | int | float | str


@dataclass(frozen=True)
class Manifest:
    """The validated content of ``submission.toml``.

    ``file`` is the payload's file name when the manifest names one (else the kind's default is looked for);
    ``baseline`` marks reference baselines (e.g. the #params proxy) so leaderboards can set them apart; the
    manifest's own ``baseline = true`` is only a request: :func:`harness.submission.folder.load_submission` keeps it
    for the harness's shipped ``submissions/`` (or a host-listed folder) and clears it for everyone else;
    ``hparams`` is the ``[hparams]`` table (names to numbers, booleans or short strings) the trainer gets as
    ``ctx.hparams``; ``extra`` keeps any other keys.
    """

    name: str
    authors: list[str]
    benchmark: str
    kind: Kind
    description: str = ""
    file: str | None = None
    baseline: bool = False
    hparams: dict[str, HParam] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what the results store keeps with each run)."""
        out: dict[str, Any] = {
            "name": self.name,
            "authors": list(self.authors),
            "benchmark": self.benchmark,
            "kind": self.kind,
            "description": self.description,
            "baseline": self.baseline,
        }
        if self.file is not None:
            out["file"] = self.file
        out.update(self.extra)
        if self.hparams:
            out["hparams"] = dict(self.hparams)
        return out


def _require_str(raw: dict[str, Any], key: str, where: Path) -> str:
    value = raw.get(key)
    if value is None:
        raise ManifestError(f"{where}: missing required key {key!r}")
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: {key!r} must be a non-empty string")
    return _checked(lambda: check_name(value, repr(key), reserved=key == "name"), where)


def _checked(check, where: Path):  # noqa: ANN001, ANN202 - a thunk of text.check_*
    """The participant-string check at intake, its ValueError as a one-line ManifestError."""
    try:
        return check()
    except ValueError as exc:
        raise ManifestError(f"{where}: {exc}") from None


def parse_manifest(path: Path, *, check_benchmark: bool = True) -> Manifest:
    """Read and validate ``path`` (a ``submission.toml``); every problem is a one-line :class:`ManifestError`."""
    if not path.is_file():
        raise ManifestError(f"no {MANIFEST_NAME} in {path.parent}: every submission folder needs one")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{path}: {MANIFEST_NAME} is larger than {MAX_MANIFEST_BYTES // 1024} KB; it holds a few short fields")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not UTF-8 text; {MANIFEST_NAME} must be a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: malformed TOML ({exc})") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot be read ({exc.strerror or exc})") from None

    name = _require_str(raw, "name", path)
    benchmark = _require_str(raw, "benchmark", path)
    kind = _require_str(raw, "kind", path)
    if kind not in KINDS:
        raise ManifestError(f"{path}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")

    authors = raw.get("authors", [])
    if isinstance(authors, str):
        authors = [authors]
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        raise ManifestError(f"{path}: 'authors' must be a list of strings")
    if len(authors) > 50:
        raise ManifestError(f"{path}: 'authors' lists {len(authors)} names; the limit is 50")
    authors = [_checked(lambda a=a: check_name(a, "an author", reserved=False), path) for a in authors]

    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ManifestError(f"{path}: 'description' must be a string")
    description = _checked(lambda: check_text(description, "'description'"), path)

    file = raw.get("file")
    if file is not None and (not isinstance(file, str) or not file.strip()):
        raise ManifestError(f"{path}: 'file' must be a file name inside the submission folder")
    if file is not None:
        _checked(lambda: check_name(file, "'file'", reserved=False, limit=255), path)

    baseline = raw.get("baseline", False)
    if not isinstance(baseline, bool):
        raise ManifestError(f"{path}: 'baseline' must be true or false")

    hparams = check_hparams(raw.get("hparams", {}), f"{path}: [hparams]")

    if check_benchmark:
        from harness.benchmarks import get_benchmark

        try:
            get_benchmark(benchmark)
        except HarnessError as exc:
            raise ManifestError(f"{path}: {exc}") from None

    extra = {k: v for k, v in raw.items() if k not in _KNOWN_KEYS}
    return Manifest(
        name=name,
        authors=list(authors),
        benchmark=benchmark,
        kind=kind,  # type: ignore[arg-type]
        description=description.strip(),
        file=file.strip() if isinstance(file, str) else None,
        baseline=baseline,
        hparams=hparams,
        extra=extra,
    )


def check_hparams(table: Any, where: str) -> dict[str, HParam]:
    """A ``[hparams]`` table (or ``--set`` overrides) checked: at most :data:`MAX_HPARAMS` identifier names, each a
    number, boolean or short printable string; one-line :class:`ManifestError` otherwise."""
    if not isinstance(table, dict):
        raise ManifestError(f"{where} must be a table of name = value")
    if len(table) > MAX_HPARAMS:
        raise ManifestError(f"{where} has {len(table)} entries; the limit is {MAX_HPARAMS}")
    out: dict[str, HParam] = {}
    for name, value in table.items():
        if not (isinstance(name, str) and name.isidentifier() and len(name) <= MAX_HPARAM_NAME):
            raise ManifestError(f"{where}: {str(name)[:MAX_HPARAM_NAME]!r} is not a name (letters, digits, _)")
        if isinstance(value, float) and value != value:
            raise ManifestError(f"{where}: {name} is NaN")
        if isinstance(value, str):
            value = _checked(lambda v=value: check_text(v, f"hparam {name}", limit=MAX_HPARAM_TEXT), Path(where))
        elif not isinstance(value, (bool, int, float)):
            raise ManifestError(f"{where}: {name} must be a number, true/false or a string, not a {type(value).__name__}")
        out[name] = value
    return out


def parse_overrides(items: list[str], declared: dict[str, HParam]) -> dict[str, HParam]:
    """``--set key=value`` items as hyper-parameter overrides of the ``declared`` table.

    The value is read as a TOML value (``0.1``, ``3``, ``true``, ``"sgd"``); anything else is a string. A key the
    manifest does not declare is an error (a typo would otherwise be silently ignored by the trainer).
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ManifestError(f"--set {item!r}: write name=value")
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ManifestError(f"--set {key}: submission.toml's [hparams] has no {key!r} (declared: {known})")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        out[key] = value
    return check_hparams(out, "--set")
