"""Predictions files: every accepted format reads back aligned to the arch set; every bad file is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from harness.errors import SubmissionError
from harness.spaces import get_space
from harness.submission.predictions import read_predictions, write_predictions

SPACE = get_space("resnet20-width-1d", in_channels=1, num_classes=10, input_size=40)
ARCHS = SPACE.sample_unique(np.random.default_rng(5), 12)
SCORES = np.linspace(0.1, 0.9, len(ARCHS))


def read(path: Path, **kw) -> np.ndarray:
    return read_predictions(path, ARCHS, SPACE, **kw)


def refused(path: Path, **kw) -> str:
    with pytest.raises(SubmissionError) as info:
        read(path, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def csv_text(rows: list[tuple[str, object]], header: str | None = "arch,score") -> str:
    lines = ([header] if header else []) + [f"{a},{s}" for a, s in rows]
    return "\n".join(lines) + "\n"


GOOD = list(zip(ARCHS, SCORES.tolist(), strict=True))


# ------------------------------------------------------------------------------------------------ formats
@pytest.mark.parametrize("suffix", [".csv", ".json", ".h5"])
def test_round_trip_in_every_format(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"p{suffix}"
    write_predictions(path, ARCHS[::-1], SCORES[::-1])  # order in the file does not matter
    np.testing.assert_array_equal(read(path), SCORES)


def test_csv_without_header_other_order_and_extra_columns(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text(csv_text(GOOD[::-1], header=None))
    np.testing.assert_array_equal(read(plain), SCORES)
    named = tmp_path / "named.csv"
    named.write_text("id,acc,arch\n" + "".join(f"{i},{s},{a}\n" for i, (a, s) in enumerate(GOOD)))
    np.testing.assert_array_equal(read(named), SCORES)


def test_arch_strings_are_canonicalised(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(csv_text([(f"  {a} ", s) for a, s in GOOD]))
    np.testing.assert_array_equal(read(path), SCORES)


def test_json_list_of_records(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"arch": a, "score": s} for a, s in GOOD]))
    np.testing.assert_array_equal(read(path), SCORES)


def test_cvpr2021_layout_with_and_without_arch_strings(tmp_path: Path) -> None:
    with_archs = tmp_path / "cvpr.json"
    with_archs.write_text(json.dumps({f"arch{i + 1}": {"arch": a, "acc": s} for i, (a, s) in enumerate(GOOD)}))
    np.testing.assert_array_equal(read(with_archs), SCORES)
    # without "arch": archN is the N-th arch of the arch set (1-based), in any key order
    by_number = tmp_path / "cvpr-numbers.json"
    by_number.write_text(json.dumps({f"arch{i + 1}": {"acc": s} for i, s in reversed(list(enumerate(SCORES.tolist())))}))
    np.testing.assert_array_equal(read(by_number), SCORES)


def test_format_is_sniffed_when_the_suffix_says_nothing(tmp_path: Path) -> None:
    as_json = tmp_path / "scores.txt.bin"
    as_json.write_text(json.dumps(dict(GOOD)))
    np.testing.assert_array_equal(read(as_json), SCORES)
    as_h5 = tmp_path / "scores.dat"
    write_predictions(tmp_path / "tmp.h5", ARCHS, SCORES)
    as_h5.write_bytes((tmp_path / "tmp.h5").read_bytes())
    np.testing.assert_array_equal(read(as_h5), SCORES)


# ---------------------------------------------------------------------------------------------- rejections
def test_missing_archs_are_counted_and_named(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(csv_text(GOOD[:-5]))
    msg = refused(path)
    assert f"5 of the {len(ARCHS)} archs of the arch set missing" in msg
    assert ARCHS[-5] in msg and "..." in msg


def test_duplicates_are_refused_even_with_equal_scores(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(csv_text(GOOD + GOOD[:2]))
    msg = refused(path)
    assert "2 duplicate arch(s)" in msg and ARCHS[0] in msg


def test_unknown_and_invalid_archs(tmp_path: Path) -> None:
    outsider = next(a for a in SPACE.sample(np.random.default_rng(99), 50) if a not in ARCHS)
    path = tmp_path / "p.csv"
    path.write_text(csv_text(GOOD + [(outsider, 1.0), ("not-an-arch", 2.0), ("4-4-4", 3.0)]))
    msg = refused(path)
    assert "3 unknown arch(s)" in msg and outsider in msg and "not-an-arch" in msg


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_scores_in_csv(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(csv_text(GOOD[:-1] + [(ARCHS[-1], bad)]))
    msg = refused(path)
    assert "1 non-finite score(s)" in msg and ARCHS[-1] in msg


def test_non_finite_scores_in_json(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    scores = dict(GOOD)
    scores[ARCHS[0]] = float("inf")
    scores[ARCHS[1]] = float("nan")
    path.write_text(json.dumps(scores))  # writes Infinity / NaN, which Python's json reads back
    assert "2 non-finite score(s)" in refused(path)
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(dict(GOOD)).replace(str(SCORES[3]), "1e400"))
    assert "non-finite" in refused(huge)


def test_scores_that_are_not_numbers(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(csv_text(GOOD[:-1] + [(ARCHS[-1], "high")]))
    assert "not numbers" in refused(path)
    as_json = tmp_path / "p.json"
    as_json.write_text(json.dumps({**dict(GOOD), ARCHS[0]: True}))
    assert "not numbers" in refused(as_json)


def test_all_problems_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(csv_text(GOOD[2:] + [(ARCHS[2], 1.0), ("junk", 1.0)]))
    msg = refused(path)
    assert "unknown" in msg and "duplicate" in msg and "missing" in msg


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("p.json", "{not json at all", "not valid JSON"),
        ("p.json", "[1, 2, 3]", "list item 0"),
        ("p.json", '"just a string"', "unknown layout"),
        ("p.json", json.dumps({"arch1": {"arch": ARCHS[0]}}), "no score"),
        ("p.csv", "", "empty"),
        ("p.csv", "arch,score\n" + ARCHS[0] + "\n", "1 column"),
        ("p.csv", b"\x00\xff\xfejunk" * 10, "not UTF-8"),
        ("p.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, "not a readable HDF5"),
    ],
    ids=["json-syntax", "json-list", "json-scalar", "cvpr-no-acc", "csv-empty", "csv-one-column", "binary", "bad-hdf5"],
)
def test_unparseable_files(tmp_path: Path, name: str, content: str | bytes, words: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    assert words in refused(path)


def test_hdf5_needs_archs_and_scores(tmp_path: Path) -> None:
    path = tmp_path / "p.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("archs", data=np.asarray(ARCHS, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("acc", data=SCORES)
    assert "'archs' and 'scores'" in refused(path)


def test_oversized_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.csv"
    with path.open("wb") as f:
        f.truncate(1 << 30)  # 1 GiB, sparse: reading it would take seconds and gigabytes
    calls: list[Path] = []
    monkeypatch.setattr(Path, "read_bytes", lambda self: calls.append(self) or b"")
    msg = refused(path)
    assert "too large" in msg and "limit" in msg and calls == []
    small = tmp_path / "small.csv"
    small.write_text(csv_text(GOOD))
    assert "too large" in refused(small, max_bytes=100)


def test_missing_file(tmp_path: Path) -> None:
    assert "does not exist" in refused(tmp_path / "nope.csv")
