"""Issue 14: hostile payloads aimed at the harness process itself (not the sandbox), as data plus small builders.

Each :class:`Payload` writes a submission folder with :func:`build` (given a :class:`World`: the GT path, the
store's run file, the arch set) and says what the participant must see: ``reason`` words of the one error line,
or ``ok=True`` for strings that are accepted but must render harmlessly (checked by the test with ``then``).
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import torch

from hostile.cases import manifest, trainer


@dataclass
class World:
    gt_path: Path
    run_h5: Path  # the stored predictions of another team's run
    archs: list[str]
    params: list[int]
    state: dict[str, torch.Tensor]  # a valid reference state dict


@dataclass(frozen=True)
class Payload:
    name: str
    kind: str
    build: Callable[[Path, World], None]
    reason: tuple[str, ...] = ()
    exit_code: int | None = None  # None: any non-zero
    ok: bool = False  # accepted (a string case): scored, then rendered harmlessly
    recorded: bool = True  # a run row is written (False: refused before the store is touched)
    args: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


def _toml(kind: str, **fields: object) -> str:
    text = manifest(kind)
    for key, value in fields.items():
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key} ="))
        text += f"\n{key} = {json.dumps(value, ensure_ascii=True)}\n"
    return text


def _write(folder: Path, kind: str, files: dict[str, bytes | str], **fields: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "submission.toml").write_text(_toml(kind, **fields))
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)


def good_csv(w: World) -> str:
    return "arch,score\n" + "".join(f"{a},{p}\n" for a, p in zip(w.archs, w.params, strict=True))


def ckpt(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- HDF5
def h5(builder: Callable[[h5py.File, World], None]) -> Callable[[Path, World], None]:
    def build(folder: Path, w: World) -> None:
        _write(folder, "predictions", {}, file="predictions.h5")
        with h5py.File(folder / "predictions.h5", "w") as f:
            builder(f, w)
    return build


def _archs(f: h5py.File, w: World) -> None:
    f.create_dataset("archs", data=np.asarray(w.archs, dtype=object), dtype=h5py.string_dtype())


def _vds_scores(f: h5py.File, w: World) -> None:
    _archs(f, w)
    layout = h5py.VirtualLayout(shape=(len(w.archs),), dtype="f8")
    with h5py.File(w.gt_path, "r") as gt:
        n = gt["acc"].shape[0]
    layout[:n] = h5py.VirtualSource(str(w.gt_path), "acc", shape=(n, 2))[:, 0]
    f.create_virtual_dataset("scores", layout, fillvalue=0.0)


def _vds_archs(f: h5py.File, w: World) -> None:
    with h5py.File(w.gt_path, "r") as gt:
        n = gt["acc"].shape[0]
    layout = h5py.VirtualLayout(shape=(n,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(w.gt_path), "acc", shape=(n, 2))[:, 0]
    f.create_virtual_dataset("archs", layout)
    f.create_dataset("scores", data=np.zeros(n))


def _external_gt(f: h5py.File, w: World) -> None:
    _archs(f, w)
    f["scores"] = h5py.ExternalLink(str(w.gt_path), "/acc")


def _external_store(f: h5py.File, w: World) -> None:
    f["archs"] = h5py.ExternalLink(str(w.run_h5), "/archs")
    f["scores"] = h5py.ExternalLink(str(w.run_h5), "/scores")


def _soft_loop(f: h5py.File, w: World) -> None:
    f["archs"] = h5py.SoftLink("/scores")
    f["scores"] = h5py.SoftLink("/archs")


def _soft_dangling(f: h5py.File, w: World) -> None:
    _archs(f, w)
    f["scores"] = h5py.SoftLink("/nowhere/at/all")


def _fill_huge(f: h5py.File, w: World) -> None:
    _archs(f, w)
    f.create_dataset("scores", shape=(2**30,), dtype="f8", fillvalue=0.5)  # never written: 8 GiB declared


def _fill_huge_archs(f: h5py.File, w: World) -> None:
    f.create_dataset("archs", shape=(2**28,), dtype=h5py.string_dtype())
    f.create_dataset("scores", shape=(2**28,), dtype="f8", fillvalue=1.0)


def _gzip_bomb(f: h5py.File, w: World) -> None:
    _archs(f, w)
    ds = f.create_dataset("scores", shape=(2**27,), dtype="f8", chunks=(2**18,), compression="gzip", fillvalue=0.0)
    ds[: len(w.archs)] = np.asarray(w.params, dtype="f8")  # one small chunk written, 1 GiB declared


def _huge_chunk(f: h5py.File, w: World) -> None:
    _archs(f, w)
    ds = f.create_dataset("scores", shape=(len(w.archs),), maxshape=(None,), dtype="f8", chunks=(2**22,), compression="gzip")
    ds[:] = np.asarray(w.params, dtype="f8")


def _external_storage(f: h5py.File, w: World) -> None:
    _archs(f, w)
    f.create_dataset("scores", shape=(len(w.archs),), dtype="f8", external=[(str(w.gt_path), 0, 8 * len(w.archs))])


def _scores_2d(f: h5py.File, w: World) -> None:
    _archs(f, w)
    f.create_dataset("scores", data=np.zeros((len(w.archs), 2)))


def _scores_text(f: h5py.File, w: World) -> None:
    _archs(f, w)
    f.create_dataset("scores", data=np.asarray(["1"] * len(w.archs), dtype=object), dtype=h5py.string_dtype())


def _archs_numbers(f: h5py.File, w: World) -> None:
    f.create_dataset("archs", data=np.arange(len(w.archs), dtype="f8"))
    f.create_dataset("scores", data=np.zeros(len(w.archs)))


def _scores_compound(f: h5py.File, w: World) -> None:
    _archs(f, w)
    f.create_dataset("scores", data=np.zeros(len(w.archs), dtype=[("a", "f8"), ("b", "f8")]))


def _scores_group(f: h5py.File, w: World) -> None:
    _archs(f, w)
    f.create_group("scores").create_dataset("x", data=np.zeros(3))


def _archs_ansi(f: h5py.File, w: World) -> None:
    archs = list(w.archs)
    archs[0] = "\x1b[2J\x1b]52;c;cHduZWQ=\x07" + archs[0]
    f.create_dataset("archs", data=np.asarray(archs, dtype=object), dtype=h5py.string_dtype())
    f.create_dataset("scores", data=np.asarray(w.params, dtype="f8"))


def _h5_truncated(folder: Path, w: World) -> None:
    h5(_archs_and_scores)(folder, w)
    path = folder / "predictions.h5"
    path.write_bytes(path.read_bytes()[:1500])


def _archs_and_scores(f: h5py.File, w: World) -> None:
    _archs(f, w)
    f.create_dataset("scores", data=np.asarray(w.params, dtype="f8"))


# ------------------------------------------------------------------------------------------ CSV/JSON
def _text(name: str, content: Callable[[World], str]) -> Callable[[Path, World], None]:
    def build(folder: Path, w: World) -> None:
        _write(folder, "predictions", {name: content(w)}, file=name)
    return build


def _json_big_int(digits: int) -> Callable[[World], str]:
    return lambda w: "{" + ", ".join(f'"{a}": {"9" * digits if i == 0 else p}' for i, (a, p) in enumerate(zip(w.archs, w.params, strict=True))) + "}"


def _csv_oversized(w: World) -> str:
    pad = "x" * 8000
    return "arch,score,comment\n" + "".join(f"{a},{p},{pad}\n" for a, p in zip(w.archs, w.params, strict=True))


def _json_ansi_keys(w: World) -> str:
    scores = {a: float(p) for a, p in zip(w.archs, w.params, strict=True)}
    scores["\x1b]52;c;cHduZWQ=\x07\x1b[2J\u202eevil"] = 1.0
    return json.dumps(scores)


# --------------------------------------------------------------------------------------- checkpoints
def _ck(make: Callable[[World], bytes]) -> Callable[[Path, World], None]:
    def build(folder: Path, w: World) -> None:
        _write(folder, "checkpoint", {"checkpoint.pt": make(w)})
    return build


def _zip_bomb(w: World) -> bytes:
    """A valid state dict plus a deflate member of 64 MiB of zeros (about 65 KB on disk)."""
    src = zipfile.ZipFile(io.BytesIO(ckpt(w.state)))
    prefix = src.infolist()[0].filename.split("/")[0]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        z.writestr(zipfile.ZipInfo(f"{prefix}/data/bomb"), bytes(64 * 1024**2), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _forged_size(w: World) -> bytes:
    """Central-directory entry of data.pkl patched to declare 2 GiB uncompressed."""
    data = bytearray(ckpt(w.state))
    at = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, at + 24, 0x7FFFFFF0)
    return bytes(data)


def _expand_huge(w: World) -> bytes:
    return ckpt({**w.state, "extra": torch.zeros(1).expand(2**33)})


def _expand_param(w: World) -> bytes:
    state = dict(w.state)
    state["fc.weight"] = torch.zeros(1).expand(*state["fc.weight"].shape)
    return ckpt(state)


def _split_expanded(w: World) -> bytes:
    return ckpt({"split_positions": torch.zeros(1, dtype=torch.int64).expand(2**33)})


def _shared_storage(w: World) -> bytes:
    state = dict(w.state)
    big = torch.zeros(4_000_000)
    state["fc.bias"] = big[: state["fc.bias"].numel()]
    return ckpt(state)


def _sparse(w: World) -> bytes:
    state = dict(w.state)
    state["fc.bias"] = state["fc.bias"].to_sparse()
    return ckpt(state)


def _legacy(w: World) -> bytes:
    buf = io.BytesIO()
    torch.save(w.state, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def _ansi_keys(w: World) -> bytes:
    return ckpt({**w.state, "\x1b[2J\x1b]52;c;cHduZWQ=\x07evil": torch.zeros(1)})


# ------------------------------------------------------------------------------ trainer output folder
def _trainer_writes(body: str) -> Callable[[Path, World], None]:
    """A trainer that writes out/state.pt and out/result.json itself, then exits before the harness's own save."""
    code = (
        "import json, os, torch\n\ndef train(ctx):\n"
        + "\n".join("    " + line for line in body.strip().splitlines())
        + "\n    os.makedirs('out', exist_ok=True)\n    torch.save(state, 'out/state.pt')\n"
        "    json.dump({'ok': True, 'reference': True}, open('out/result.json', 'w'))\n    os._exit(0)\n"
    )
    return lambda folder, w: _write(folder, "trainer", {"trainer.py": code})


def _trainer(body: str) -> Callable[[Path, World], None]:
    return lambda folder, w: _write(folder, "trainer", {"trainer.py": trainer(body)})


SYSCALL_SOCKET = (
    "import ctypes\nfd = ctypes.pythonapi.syscall(41, {family}, {type}, 0)\n"
    "raise RuntimeError('socket opened: escaped' if fd >= 0 else 'socket refused by the kernel')"
)


# -------------------------------------------------------------------------------------- hard links
def _hardlink_gt(folder: Path, w: World) -> None:
    _write(folder, "trainer", {"trainer.py": trainer("open('leak.bin', 'rb').read()")})
    os.link(w.gt_path, folder / "leak.bin")


def _hardlink_run(folder: Path, w: World) -> None:
    _write(folder, "predictions", {}, file="predictions.h5")
    os.link(w.run_h5, folder / "predictions.h5")


# ------------------------------------------------------------------------------------------ strings
def _named(**fields: object) -> Callable[[Path, World], None]:
    return lambda folder, w: _write(folder, "predictions", {"predictions.csv": good_csv(w)}, **fields)


H5_NOTE = ("link", "virtual", "external", "declares", "1-d", "must be", "not a readable", "group")

PAYLOADS: list[Payload] = [
    # 1. HDF5 predictions that name other files or declare data they do not hold
    Payload("h5_vds_scores_into_gt", "predictions", h5(_vds_scores), ("virtual",)),
    Payload("h5_vds_archs_into_gt", "predictions", h5(_vds_archs), ("virtual",)),
    Payload("h5_external_link_to_gt", "predictions", h5(_external_gt), ("external link",)),
    Payload("h5_external_link_to_other_run", "predictions", h5(_external_store), ("external link",)),
    Payload("h5_soft_link_loop", "predictions", h5(_soft_loop), ("soft link",)),
    Payload("h5_soft_link_dangling", "predictions", h5(_soft_dangling), ("soft link",)),
    Payload("h5_fill_value_8gib", "predictions", h5(_fill_huge), ("declares",)),
    Payload("h5_fill_value_archs", "predictions", h5(_fill_huge_archs), ("declares",)),
    Payload("h5_gzip_bomb", "predictions", h5(_gzip_bomb), ("declares",)),
    Payload("h5_huge_chunk", "predictions", h5(_huge_chunk), ("declares",)),
    Payload("h5_external_storage_gt", "predictions", h5(_external_storage), ("external files",)),
    Payload("h5_scores_2d", "predictions", h5(_scores_2d), ("1-d",)),
    Payload("h5_scores_strings", "predictions", h5(_scores_text), ("numbers",)),
    Payload("h5_archs_numbers", "predictions", h5(_archs_numbers), ("strings",)),
    Payload("h5_scores_compound", "predictions", h5(_scores_compound), ("numbers",)),
    Payload("h5_scores_group", "predictions", h5(_scores_group), ("group",)),
    Payload("h5_archs_ansi", "predictions", h5(_archs_ansi), ("unknown",)),
    Payload("h5_truncated", "predictions", _h5_truncated, ("not a readable",)),
    # 1b. CSV / JSON bounds
    Payload("json_int_400_digits", "predictions", _text("predictions.json", _json_big_int(400)), ("digits",)),
    Payload("json_int_5000_digits", "predictions", _text("predictions.json", _json_big_int(5000)), ("digits",)),
    Payload("json_nested_deep", "predictions", _text("predictions.json", lambda w: "[" * 200_000), ("json",)),
    Payload("csv_oversized_for_archset", "predictions", _text("predictions.csv", _csv_oversized), ("too large",)),
    Payload("json_ansi_keys", "predictions", _text("predictions.json", _json_ansi_keys), ("unknown",)),
    # 2. tensor files: checkpoints
    Payload("ckpt_zip_bomb_deflate", "checkpoint", _ck(_zip_bomb), ("compressed",)),
    Payload("ckpt_forged_member_size", "checkpoint", _ck(_forged_size), ("declares", "corrupt")),
    Payload("ckpt_expand_2pow33", "checkpoint", _ck(_expand_huge), ("expanded",)),
    Payload("ckpt_expand_param", "checkpoint", _ck(_expand_param), ("expanded",)),
    Payload("ckpt_split_positions_expanded", "checkpoint", _ck(_split_expanded), ("expanded",)),
    Payload("ckpt_shared_storage", "checkpoint", _ck(_shared_storage), ("storage",)),
    Payload("ckpt_sparse_tensor", "checkpoint", _ck(_sparse), ("sparse",)),
    Payload("ckpt_legacy_format", "checkpoint", _ck(_legacy), ("legacy",)),
    Payload("ckpt_ansi_keys", "checkpoint", _ck(_ansi_keys), ("unexpected",)),
    # 2b. tensor files a trainer wrote into its own output folder
    Payload("trainer_out_expanded", "trainer", _trainer_writes("state = {k: v for k, v in ctx.new_supernet().state_dict().items()}\nstate['fc.weight'] = torch.zeros(1).expand(2**33)"), ("expanded",)),
    Payload("trainer_out_split_expanded", "trainer", _trainer_writes("state = {'split_positions': torch.zeros(1, dtype=torch.int64).expand(2**33)}"), ("expanded",)),
    Payload("trainer_out_oversized", "trainer", _trainer_writes("state = dict(ctx.new_supernet().state_dict())\nstate['pad'] = torch.zeros(10_000_000)"), ("more than",)),
    # 3/6. exception text and sockets from the sandbox
    Payload("trainer_ansi_exception", "trainer", _trainer("raise RuntimeError('\\x1b[2J\\x1b]52;c;cHduZWQ=\\x07\\u202e gotcha [/] [bold red]x')"), ("gotcha",)),
    Payload("trainer_udp_via_libc", "trainer", _trainer(SYSCALL_SOCKET.format(family=2, type=2)), ("refused by the kernel",)),
    Payload("trainer_unix_via_libc", "trainer", _trainer(SYSCALL_SOCKET.format(family=1, type=1)), ("refused by the kernel",)),
    Payload("trainer_capabilities", "trainer", _trainer("caps = [l for l in open('/proc/self/status') if l.startswith(('CapEff', 'NoNewPrivs'))]\nraise RuntimeError(' '.join(c.split()[1] for c in caps))"), ("0000000000000000 1",)),
    # 5. hard links
    Payload("hardlink_to_gt", "trainer", _hardlink_gt, ("hard link",), exit_code=4),
    Payload("hardlink_to_other_run", "predictions", _hardlink_run, ("hard link",), exit_code=4),
    # 3. participant strings at intake
    Payload("name_ansi_clear_screen", "predictions", _named(name="\x1b[2J\x1b[Hwinner"), ("control",), exit_code=4),
    Payload("name_osc52_clipboard", "predictions", _named(name="x\x1b]52;c;cm0gLXJmIH4=\x07"), ("control",), exit_code=4),
    Payload("name_newline_spoof", "predictions", _named(name="a\n1  fake-row  0.99"), ("control",), exit_code=4),
    Payload("name_rtl_override", "predictions", _named(name="\u202eenilesab"), ("control",), exit_code=4),
    Payload("name_1mb", "predictions", _named(name="A" * 1_000_000), ("limit", "larger"), exit_code=4),
    Payload("name_noise_ceiling", "predictions", _named(name="noise ceiling (GT seeds)"), ("reserved",), exit_code=4),
    Payload("name_params_baseline", "predictions", _named(name="#params  Baseline"), ("reserved",), exit_code=4),
    Payload("author_ansi", "predictions", _named(authors=["\x1b[31mred"]), ("control",), exit_code=4),
    Payload("description_bidi", "predictions", _named(description="fine\u2066hidden\u2069"), ("control",), exit_code=4),
    Payload("name_markup_close", "predictions", _named(name="[/]"), ok=True),
    Payload("name_markup_style", "predictions", _named(name="[bold red]TOP[/] [link=http://evil]x[/link]"), ok=True),
    Payload("name_csv_formula", "predictions", _named(name="=cmd|' /C calc'!A0"), ok=True),
    Payload("description_markdown_pixel", "predictions", _named(description="![p](http://evil.example/pixel.png) [click](http://evil.example) <img src=x>"), ok=True),
    # 4. trust from the manifest
    Payload("baseline_self_declared", "predictions", _named(name="self-made-baseline", baseline=True), ok=True),
]
