"""``nas-harness proxy`` end to end on the tiny benchmark: the folder it writes is scored by ``score`` as it is,
a second call resumes (nothing recomputed, same bytes), and bad input is one line with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import REPO
from typer.testing import CliRunner

from harness.errors import HarnessError


def _run(args: list[str]):  # noqa: ANN202 - click's Result
    """The CLI in this process (one torch import for the whole file); library errors stay exceptions."""
    from harness.cli import app

    return CliRunner().invoke(app, args)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_proxy_folder_is_scored_as_it_is_and_resumes(tiny_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "gn"
    first = _run(["proxy", "grad_norm", "tiny-w20", "-o", str(out), "--archs", "gt", "--batch", "8"])
    assert first.exit_code == 0, first.output
    manifest = tomllib.loads((out / "submission.toml").read_text())
    assert manifest["kind"] == "predictions" and manifest["benchmark"] == "tiny-w20"
    record = manifest["proxy"]
    assert (record["n_archs"], record["n_computed"], record["n_floor"], record["batch"]) == (300, 60, 240, 8)
    assert len(record["indices_sha256"]) == 64 and record["split"] == "train"
    predictions = (out / "predictions.csv").read_bytes()
    values = (out / "proxy_values.csv").read_text().splitlines()
    assert len(values) == 2 + 60
    again = _run(["proxy", "grad_norm", "tiny-w20", "-o", str(out), "--archs", "gt", "--batch", "8"])
    assert again.exit_code == 0, again.output
    assert (out / "predictions.csv").read_bytes() == predictions  # resumed: nothing recomputed, same numbers
    assert (out / "proxy_values.csv").read_text().splitlines() == values
    other = _run(["proxy", "grad_norm", "tiny-w20", "-o", str(out), "--archs", "gt", "--batch", "16"])
    assert isinstance(other.exception, HarnessError) and "other settings" in str(other.exception)
    scored = _run(["score", str(out), "--json"])
    assert scored.exit_code == 0, scored.output
    assert '"kendall_tau"' in scored.stdout


def test_space_proxy_over_the_whole_arch_set(tiny_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "sf"
    done = _run(["proxy", "params", "tiny-w20", "-o", str(out)])
    assert done.exit_code == 0, done.output
    record = tomllib.loads((out / "submission.toml").read_text())["proxy"]
    assert (record["n_computed"], record["n_floor"], record["batch"]) == (300, 0, "data-free")


def test_bad_input_is_one_line(tiny_env: dict[str, str], tmp_path: Path) -> None:
    res = _cli(["proxy", "sinp", "tiny-w20", "-o", str(tmp_path / "a")], tiny_env)  # the real exit path, once
    assert res.returncode == 2 and "unknown proxy 'sinp'" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    for args, needle in ((["proxy", "snip", "tiny-w21", "-o", str(tmp_path / "a")], "unknown benchmark"),
                         (["proxy", "snip", "tiny-w20", "-o", str(tmp_path / "a"), "--archs", "some"], "arch scope"),
                         (["proxy", "snip", "tiny-w20", "-o", str(tmp_path / "a"), "--batch", "100000"], "training images"),
                         (["proxy", "params", "tiny-w20", "-o", str(tmp_path / "a"), "--seed", "-1"], "--seed"),
                         (["proxy", "params", "tiny-w20", "-o", str(REPO / "submissions" / "spos")], "no proxy_values.csv")):
        out = _run(args)
        assert isinstance(out.exception, HarnessError) and needle in str(out.exception), out.output


def test_baselines_are_computed_once_per_benchmark_version(tiny_env: dict[str, str], tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from harness.benchmarks import get_benchmark
    from harness.errors import UnknownNameError
    from harness.proxies import baselines

    bench = get_benchmark("tiny-w20")
    monkeypatch.setenv(baselines.BASELINES_ENV, "params,synflow")
    assert baselines.reference_rows(tmp_path / "store", bench, "dev", compute=False) == []  # nothing cached yet
    rows = baselines.reference_rows(tmp_path / "store", bench, "dev")
    assert [r["name"] for r in rows] == ["params", "synflow"] and rows[0]["n_archs"] == len(bench.ground_truth().split_indices("dev"))
    cached = baselines.cache_path(tmp_path / "store", bench, "synflow", 64, 0)
    assert cached.parent.name == "tiny-w20-v1" and cached.exists()
    before = cached.read_bytes()
    import harness.proxies.compute as compute

    def no_net(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("recomputed instead of read from the store")

    monkeypatch.setattr(compute, "init_net", no_net)
    again = baselines.reference_rows(tmp_path / "store", bench, "dev")
    assert again == rows and cached.read_bytes() == before  # read from the store, not recomputed
    assert baselines.reference_rows(tmp_path / "store", bench, "dev", compute=False) == rows
    monkeypatch.setenv(baselines.BASELINES_ENV, "")
    assert baselines.reference_rows(tmp_path / "store", bench, "dev") == []
    monkeypatch.setenv(baselines.BASELINES_ENV, "params,sinp")
    try:
        baselines.configured_baselines()
    except UnknownNameError as exc:
        assert "sinp" in str(exc)
    else:
        raise AssertionError("an unknown baseline name must fail")


def test_cached_proxy_baselines_appear_on_every_board(tiny_env: dict[str, str], tmp_path: Path) -> None:
    """`nas-harness baselines` fills the store's cache once; the CLI leaderboard (table and --json) and a challenge
    board then show the proxies as reference rows, the challenge board with a CI and a tie flag like any row."""
    import json

    from challenge_helpers import T0, predictions_folder, write_challenge
    from harness.challenge import board, intake, open_challenge, worker
    from harness.challenge.clock import FakeClock

    store = tmp_path / "store"
    scored = _run(["score", str(predictions_folder(tmp_path / "subs", "mine", 0.7)), "--store", str(store)])
    assert scored.exit_code == 0, scored.output
    before = json.loads(_run(["leaderboard", "tiny-w20", "--store", str(store), "--json"]).stdout)
    assert before["benchmarks"]["tiny-w20"]["proxy_baselines"] == []
    filled = _run(["baselines", "tiny-w20", "--store", str(store), "--proxies", "params,synflow"])
    assert filled.exit_code == 0, filled.output
    assert "SynFlow" in filled.stdout or "synflow" in filled.stdout.lower()
    board_json = json.loads(_run(["leaderboard", "tiny-w20", "--store", str(store), "--json"]).stdout)
    proxies = {r["name"]: r for r in board_json["benchmarks"]["tiny-w20"]["proxy_baselines"]}
    assert set(proxies) == {"synflow"} and proxies["synflow"]["metrics"]["kendall_tau"] is not None  # #params has its own row
    from harness.cli import app

    table = CliRunner().invoke(app, ["leaderboard", "tiny-w20", "--store", str(store)])
    assert "SynFlow" in table.stdout and "(zero-cost" in table.stdout  # a reference row (the names fold in 80 columns)
    assert table.stdout.count("(zero-cost") == 1  # #params is the board's own row, not a proxy row too

    folder = write_challenge(tmp_path / "c")
    host = open_challenge(folder, clock=FakeClock(T0.timestamp() + 3600))
    filled = _run(["baselines", "tiny-w20", "--store", str(host.challenge.store_dir), "--proxies", "params,synflow"])
    assert filled.exit_code == 0, filled.output
    token = host.add_team("Team Red")
    intake.submit_zip(host, token, intake.zip_folder(predictions_folder(tmp_path / "subs2", "red", 0.8)))
    worker.run_worker(host, once=True)
    rows = board.challenge_board(host, "dev")
    proxy_rows = [r for r in rows if r["type"] == "baseline" and "zero-cost proxy" in r["team"]]
    assert len(proxy_rows) == 1 and proxy_rows[0]["team"].startswith("SynFlow")  # #params keeps its own row
    assert proxy_rows[0]["ci"][0] is not None and isinstance(proxy_rows[0]["tied_with_leader"], bool)
