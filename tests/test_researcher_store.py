"""Reading a researcher's results (issue 32): compare gives no verdict for single trainer runs, every leaderboard
column is filled, `show GROUP` lists all metrics, `export` writes both splits, scalars export as CSV and as a
TensorBoard event file, and the store's log/scalars API on an old store."""

from __future__ import annotations

import csv
import gzip
import io
import json
import struct
from pathlib import Path

import pytest

from test_groups import _cli, _good_group


def _single_trainer_run(store_root: Path, seed: int) -> str:
    from harness.store import ResultStore

    gid = _good_group(store_root, [seed])
    store = ResultStore(store_root)
    run = store.group_runs(gid)[0]
    with store._write() as con:  # the same run, as a single trainer run (outside any group)
        con.execute("UPDATE runs SET group_id = NULL WHERE run_id = ?", (run.run_id,))
    return run.run_id


def test_compare_gives_no_verdict_for_single_trainer_runs(tiny_env) -> None:
    root = Path(tiny_env["NAS_HARNESS_STORE"])
    a, b = _single_trainer_run(root, 0), _single_trainer_run(root, 1)
    p = _cli(["compare", a, b], tiny_env)
    assert p.returncode == 0, p.stderr
    assert "p-value" not in p.stdout and "better" not in p.stdout.split("No significance")[0]
    assert "none" in p.stdout and "--seeds 5" in p.stdout and "No significance verdict" in p.stdout
    out = json.loads(_cli(["compare", a, b, "--json"], tiny_env).stdout)
    assert out["verdict_given"] is False and out["comparison"]["verdict"] is None and out["comparison"]["p_value"] is None
    g1, g2 = _good_group(root, [0, 1]), _good_group(root, [0, 1])
    out = json.loads(_cli(["compare", g1, g2, "--json"], tiny_env).stdout)
    assert out["verdict_given"] is True and out["comparison"]["verdict"]  # groups keep their verdict


def test_leaderboard_fills_every_column_and_show_group_lists_all_metrics(tiny_env) -> None:
    from harness.metrics import LEADERBOARD_COLUMNS
    from harness.verdicts.board import ROW_METRICS

    assert set(LEADERBOARD_COLUMNS) <= set(ROW_METRICS)
    gid = _good_group(Path(tiny_env["NAS_HARNESS_STORE"]), [0, 1])
    rows = json.loads(_cli(["leaderboard", "--json"], tiny_env).stdout)["benchmarks"]["tiny-w20"]["rows"]
    assert all(rows[0]["metrics"][k] is not None for k in LEADERBOARD_COLUMNS)
    p = _cli(["leaderboard"], tiny_env)
    line = next(ln for ln in p.stdout.splitlines() if "good" in ln)
    assert "—" not in line
    p = _cli(["show", gid], tiny_env)
    assert "all metrics" in p.stdout
    for label in ("Kendall τ", "P@top10%", "BR@5%", "top-1 regret", "CB"):
        assert label in p.stdout


def test_export_writes_both_splits_with_a_split_column(tiny_env, tmp_path: Path) -> None:
    gid = _good_group(Path(tiny_env["NAS_HARNESS_STORE"]), [0])
    out = tmp_path / "runs.csv"
    assert _cli(["export", "-o", str(out)], tiny_env).returncode == 0
    rows = list(csv.DictReader(out.open()))
    assert sorted(r["split"] for r in rows) == ["dev", "test"] and rows[0]["run_id"] == rows[1]["run_id"]
    assert rows[0]["kendall_tau"] != rows[1]["kendall_tau"] and gid.startswith("g")
    p = _cli(["export", "--split", "test"], tiny_env)
    assert [r["split"] for r in csv.DictReader(io.StringIO(p.stdout))] == ["test"]


def _read_records(path: Path) -> list[bytes]:
    from harness.store.tb_events import masked_crc

    data, out, i = path.read_bytes(), [], 0
    while i < len(data):
        (n,) = struct.unpack_from("<Q", data, i)
        assert struct.unpack_from("<I", data, i + 8)[0] == masked_crc(data[i:i + 8])
        body = data[i + 12:i + 12 + n]
        assert struct.unpack_from("<I", data, i + 12 + n)[0] == masked_crc(body)
        out.append(body)
        i += 16 + n
    return out


def test_scalars_export_as_csv_and_tensorboard_events(tiny_env, tmp_path: Path) -> None:
    from harness.store import ResultStore
    from harness.store.tb_events import crc32c

    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720, B.4)
    run_id = _single_trainer_run(Path(tiny_env["NAS_HARNESS_STORE"]), 0)
    store = ResultStore(tiny_env["NAS_HARNESS_STORE"])
    store.save_run_output(run_id, log="line 1\nline 2", scalars=[(0, "loss", 2.0), (0, "acc", 0.5), (1, "loss", 1.0)])
    assert store.run_log(run_id) == "line 1\nline 2"
    p = _cli(["export", "--scalars", run_id], tiny_env)
    assert p.stdout.splitlines()[1:] == [f"{run_id},0,loss,2.0", f"{run_id},0,acc,0.5", f"{run_id},1,loss,1.0"]
    folder = tmp_path / "tb"
    assert _cli(["export", "--scalars", run_id, "--tensorboard", "-o", str(folder)], tiny_env).returncode == 0
    (path,) = folder.iterdir()
    records = _read_records(path)
    assert len(records) == 3 and b"brain.Event:2" in records[0] and b"loss" in records[1] and b"acc" in records[1]

    pb = pytest.importorskip("google.protobuf")  # decode with protobuf's own parser (event.proto, summary.proto)
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fd = descriptor_pb2.FileDescriptorProto(name="ev.proto", package="t", syntax="proto3")
    val = fd.message_type.add(name="Value")
    val.field.add(name="tag", number=1, type=9, label=1)
    val.field.add(name="simple_value", number=2, type=2, label=1)
    summ = fd.message_type.add(name="Summary")
    summ.field.add(name="value", number=1, type=11, label=3, type_name=".t.Value")
    ev = fd.message_type.add(name="Event")
    ev.field.add(name="wall_time", number=1, type=1, label=1)
    ev.field.add(name="step", number=2, type=3, label=1)
    ev.field.add(name="file_version", number=3, type=9, label=1)
    ev.field.add(name="summary", number=5, type=11, label=1, type_name=".t.Summary")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    Event = message_factory.GetMessageClass(pool.FindMessageTypeByName("t.Event"))
    decoded = [Event.FromString(r) for r in records]
    assert decoded[0].file_version == "brain.Event:2" and pb is not None
    assert [(e.step, [(v.tag, v.simple_value) for v in e.summary.value]) for e in decoded[1:]] == [
        (0, [("loss", 2.0), ("acc", 0.5)]), (1, [("loss", 1.0)])]


def test_old_store_without_output_tables_reads_empty(tmp_path: Path) -> None:
    import sqlite3

    from harness.store import ResultStore

    store = ResultStore(tmp_path / "s")
    run = store.create_run(benchmark="b", submission="x", kind="trainer", submission_hash="", harness_version="t",
                           gt_hash="", manifest={})
    with sqlite3.connect(tmp_path / "s" / "runs.sqlite") as con:
        for t in ("run_logs", "run_scalars", "run_training"):
            con.execute(f"DROP TABLE {t}")
    ro = ResultStore(tmp_path / "s", read_only=True)
    assert ro.run_log(run) == "" and ro.run_scalars(run) == [] and ro.run_training(run) == {} and ro.off_budget_ids() == set()
    ResultStore(tmp_path / "s").save_run_output(run, log="x")  # a writer adds the tables again
    assert ResultStore(tmp_path / "s", read_only=True).run_log(run) == "x"


def test_reference_groups_export_import_and_compare_by_name(tiny_env, tmp_path: Path, monkeypatch) -> None:
    from harness.store import ResultStore

    root = Path(tiny_env["NAS_HARNESS_STORE"])
    gid = _good_group(root, [0, 1])
    ref = tmp_path / "tiny-ref.json.gz"
    p = _cli(["reference", "export", gid, "-o", str(ref), "--cpu", "test CPU"], tiny_env)
    assert p.returncode == 0, p.stderr
    data = json.loads(gzip.open(ref, "rt").read())
    assert all(r["metrics"]["splits"] for g in data["groups"] for r in g["runs"])
    for g in data["groups"]:  # a file without metrics: the import recomputes them from the scores
        for r in g["runs"]:
            del r["metrics"]
    with gzip.open(ref, "wt") as f:
        json.dump(data, f)

    fresh = tmp_path / "fresh"  # a fresh clone's store: import, then compare a group with the reference by name
    monkeypatch.setenv("NAS_HARNESS_STORE", str(fresh))
    p = _cli(["reference", "import", str(ref)], tiny_env)
    assert p.returncode == 0 and "good: group" in p.stdout and "test CPU" in p.stdout, p.stdout + p.stderr
    again = _cli(["reference", "import", str(ref)], tiny_env)
    assert "already in the store" in again.stdout
    store = ResultStore(fresh)
    imported = store.list_runs()
    assert len(imported) == 2 and all(r.gt_only and r.manifest["cpu"] == "test CPU" for r in imported)
    old = ResultStore(root)
    for r in imported:  # metrics recomputed here equal the originals (the same GT-arch scores)
        orig = next(o for o in old.group_runs(gid) if o.seed == r.seed)
        assert r.metric("kendall_tau", "dev") == orig.metric("kendall_tau", "dev")
    mine = _good_group(fresh, [0, 1])
    p = _cli(["compare", mine, "good", "--json"], tiny_env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["b"]["id"] == imported[0].group_id and out["comparison"]["paired_by_seed"]
    p = _cli(["compare", mine, "nosuchname"], tiny_env)
    assert p.returncode == 2 and "reference import" in p.stderr

    # a participant's manifest claiming to be a reference import does not pass for one
    with store._write() as con:
        con.execute("UPDATE runs SET submission_hash = 'abc', submission = 'fake' WHERE group_id = ?", (imported[0].group_id,))
    assert _cli(["compare", mine, "fake"], tiny_env).returncode == 2


def test_reference_file_of_another_gt_is_refused(tiny_env, tmp_path: Path) -> None:
    gid = _good_group(Path(tiny_env["NAS_HARNESS_STORE"]), [0])
    ref = tmp_path / "r.json.gz"
    assert _cli(["reference", "export", gid, "-o", str(ref)], tiny_env).returncode == 0
    data = json.loads(gzip.open(ref, "rt").read())
    data["gt_hash"] = "0" * 64
    bad = tmp_path / "bad.json.gz"
    with gzip.open(bad, "wt") as f:
        json.dump(data, f)
    p = _cli(["reference", "import", str(bad)], tiny_env)
    assert p.returncode == 6 and "cannot be compared" in p.stderr
    (tmp_path / "junk.json.gz").write_bytes(b"junk")
    p = _cli(["reference", "import", str(tmp_path / "junk.json.gz")], tiny_env)
    assert p.returncode == 6 and "not a reference-results file" in p.stderr


def test_shipped_reference_groups_import_on_a_fresh_store(tmp_path: Path, monkeypatch) -> None:
    """A fresh clone: `reference import` (the shipped file of the default benchmark), then compare by name."""
    from harness.reference_results import read_file, shipped_files
    from harness.store import ResultStore

    files = shipped_files()
    assert files, "no reference-results file shipped in harness/benchmarks/reference/"
    monkeypatch.setenv("NAS_HARNESS_STORE", str(tmp_path / "fresh"))
    p = _cli(["reference", "import"], {})
    assert p.returncode == 0, p.stderr
    data = read_file(files[0])
    names = [g["submission"] for g in data["groups"]]
    store = ResultStore(tmp_path / "fresh")
    groups = {r.submission: r.group_id for r in store.list_runs(status="ok")}
    assert sorted(groups) == sorted(names) and "AVX" in data["cpu"]
    a, b = names[0], names[-1]
    p = _cli(["compare", a, b, "--json"], {})
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["a"]["id"] == groups[a] and out["verdict_given"] and out["comparison"]["paired_by_seed"]


def test_scalar_messages_from_the_sandbox_are_checked_again_and_bounded(monkeypatch) -> None:
    from harness.submission import launcher
    from harness.submission.launcher import _Messages, log_text

    msgs = _Messages(None)
    for raw in ('{"t":"scalars","s":1,"v":{"loss":0.5,"bad name":1,"x":"1","n":NaN,"b":true}}',
                '{"t":"scalars","s":"2","v":{"loss":1}}', '{"t":"scalars","s":3,"v":[1]}', '{"t":"scalars","s":true,"v":{"a":1}}'):
        msgs.handle(raw.encode())
    assert msgs.scalars == [(1, "loss", 0.5)]
    monkeypatch.setattr(launcher, "MAX_SCALAR_POINTS", 3)
    for i in range(10):
        msgs.handle(json.dumps({"t": "scalars", "s": i, "v": {"a": i}}).encode())
    assert len(msgs.scalars) == 3
    assert log_text(b"cut line\nok \x1b]8;;http://x\x07 \xe2\x80\xae\n", cut=True) == (
        "[… earlier output cut: the last 1 MB is kept]\nok \\u001b]8;;http://x\\u0007 \\u202e")


def test_ctx_log_refuses_bad_names_and_keeps_finite_values() -> None:
    from harness.submission.context import TrainContext

    seen: list = []
    ctx = TrainContext(space=None, train_x=None, train_y=None, num_classes=2, budget=None, device="cpu", seed=0,  # type: ignore[arg-type]
                       deadline=0.0, _new_supernet=lambda: None, _scalars=lambda s, v: seen.append((s, v)))
    ctx.log(3, loss=0.25, nan=float("nan"))
    with pytest.raises(ValueError, match="identifier"):
        ctx.log(1, **{"a b": 1.0})
    with pytest.raises(TypeError, match="number"):
        ctx.log(1, loss="x")
    assert seen == [(3, {"loss": 0.25})]
