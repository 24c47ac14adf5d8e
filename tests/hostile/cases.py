"""The hostile and broken submissions of issue 6, as data: files to write and the outcome a participant sees.

Each case is a submission folder (written into a temp dir by the test) plus the words its one-line failure
reason must contain. ``{...}`` placeholders in file texts are filled by the test (paths of the store, the GT,
a forbidden folder, a listening port).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # manifest kind (may be bogus on purpose)
    files: dict[str, str | bytes]
    reason: tuple[str, ...]  # words (any of) the failure line must contain, case-insensitive
    manifest: str | None = None  # None: a valid manifest for `kind` on the tiny benchmark
    budget_seconds: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


def manifest(kind: str, benchmark: str = "tiny-w20", name: str = "hostile") -> str:
    return f'name = "{name}"\nauthors = ["mallory"]\nbenchmark = "{benchmark}"\nkind = "{kind}"\ndescription = "hostile test"\n'


def trainer(body: str) -> str:
    """A trainer.py whose train(ctx) runs ``body`` (indented) and then returns a fresh reference supernet."""
    lines = "\n".join("    " + line for line in body.strip().splitlines())
    return f"import os, sys, time\n\ndef train(ctx):\n{lines}\n    return ctx.new_supernet()\n"


CUSTOM_MODULE = '''
import torch
from torch import nn
import torch.nn.functional as F
from reference_nets.resnet20_width import WidthSuperNet, as_widths


class Cheater(nn.Module):
    """Wraps the reference supernet but realises other widths than asked: {how}."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def forward(self, x, arch):
        w = list(as_widths(arch))
        {rewrite}
        return self.base(x, "-".join(map(str, w)))


def train(ctx):
    return Cheater(ctx.new_supernet())
'''

WIDER = CUSTOM_MODULE.replace("{how}", "narrow layers silently widened").replace(
    "{rewrite}", "w = [min(c + 4, m) if c <= 8 else c for c, m in zip(w, (16,) * 7 + (32,) * 6 + (64,) * 7)]"
)
IGNORES_ARCH = CUSTOM_MODULE.replace("{how}", "always the largest subnet").replace(
    "{rewrite}", "w = [16] * 7 + [32] * 6 + [64] * 7"
)

TRAINER_CASES = [
    Case("trainer_reads_gt", "trainer", {"trainer.py": trainer("open({gt_path!r}, 'rb').read()")}, ("no such file", "permission", "not found", "errno", "read-only")),
    Case("trainer_reads_store", "trainer", {"trainer.py": trainer("open({store_db!r}, 'rb').read()")}, ("no such file", "permission", "not found", "errno")),
    Case("trainer_network", "trainer", {"trainer.py": trainer("import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'leak')")}, ("network", "unreachable", "refused", "errno", "timed out", "oserror")),
    Case("trainer_writes_outside", "trainer", {"trainer.py": trainer("open({outside!r}, 'w').write('pwned')")}, ("read-only", "permission", "no such file", "errno")),
    Case("trainer_fork_bomb", "trainer", {"trainer.py": trainer("kids = []\nfor _ in range(1500):\n    pid = os.fork()\n    if pid == 0:\n        time.sleep(600)\n        os._exit(0)\n    kids.append(pid)")}, ("process", "fork", "resource", "budget", "killed", "errno"), budget_seconds=20),
    Case("trainer_memory_hog", "trainer", {"trainer.py": trainer("hog = []\nfor _ in range(200):\n    hog.append(bytearray(256 * 1024 * 1024))")}, ("memory",), budget_seconds=60),
    Case("trainer_never_returns", "trainer", {"trainer.py": trainer("while True:\n    time.sleep(0.5)")}, ("budget", "time"), budget_seconds=6),
    Case("trainer_exits_midway", "trainer", {"trainer.py": trainer("os._exit(3)")}, ("exit", "code 3", "died")),
    Case("trainer_crashes", "trainer", {"trainer.py": trainer("raise RuntimeError('boom at step 7')")}, ("boom at step 7",)),
    Case("trainer_nan_weights", "trainer", {"trainer.py": "import torch\n\ndef train(ctx):\n    net = ctx.new_supernet()\n    with torch.no_grad():\n        for p in net.parameters():\n            p.fill_(float('nan'))\n    return net\n"}, ("nan", "non-finite")),
    Case("trainer_wider_layers", "trainer", {"trainer.py": WIDER}, ("params", "parameters")),
    Case("trainer_ignores_arch", "trainer", {"trainer.py": IGNORES_ARCH}, ("params", "parameters")),
    Case("trainer_missing_package", "trainer", {"trainer.py": "import definitely_not_installed_pkg\n\ndef train(ctx):\n    return ctx.new_supernet()\n"}, ("definitely_not_installed_pkg",)),
    Case("trainer_no_train_function", "trainer", {"trainer.py": "def fit(ctx):\n    return None\n"}, ("train",)),
]

PREDICTION_CASES = [
    Case("predictions_missing_archs", "predictions", {"predictions.csv": "{csv_missing}"}, ("missing",)),
    Case("predictions_repeated_archs", "predictions", {"predictions.csv": "{csv_duplicate}"}, ("duplicate",)),
    Case("predictions_unknown_archs", "predictions", {"predictions.csv": "{csv_unknown}"}, ("unknown", "not in the arch set", "invalid")),
    Case("predictions_nan", "predictions", {"predictions.csv": "{csv_nan}"}, ("non-finite", "nan")),
    Case("predictions_inf_json", "predictions", {"predictions.json": "{json_inf}"}, ("non-finite", "inf", "nan")),
    Case("predictions_unparseable", "predictions", {"predictions.json": "{{not json at all"}, ("parse", "json", "readable", "unparseable")),
    Case("predictions_1gb_junk", "predictions", {"predictions.csv": "{junk_1gb}"}, ("large", "size", "limit")),
]

CHECKPOINT_CASES = [
    Case("checkpoint_code_pickle", "checkpoint", {"checkpoint.pt": "{pickle_with_code}"}, ("unsafe", "weights_only", "refused", "code", "not allowed")),
    Case("checkpoint_wrong_shapes", "checkpoint", {"checkpoint.pt": "{wrong_shapes}"}, ("shape",)),
    Case("checkpoint_missing_keys", "checkpoint", {"checkpoint.pt": "{missing_keys}"}, ("missing",)),
    Case("checkpoint_truncated", "checkpoint", {"checkpoint.pt": "{truncated}"}, ("truncated", "corrupt", "unreadable", "not a", "failed to read", "cannot be read")),
]

MANIFEST_CASES = [
    Case("manifest_missing", "trainer", {"trainer.py": trainer("pass")}, ("submission.toml",), manifest=""),
    Case("manifest_malformed", "trainer", {"trainer.py": trainer("pass")}, ("toml", "malformed", "invalid"), manifest="name = [unclosed\n"),
    Case("manifest_unknown_benchmark", "trainer", {"trainer.py": trainer("pass")}, ("benchmark",), manifest=manifest("trainer", benchmark="no-such-bench")),
    Case("manifest_unknown_kind", "telepathy", {"trainer.py": trainer("pass")}, ("kind",), manifest=manifest("telepathy")),
]

ALL_CASES = TRAINER_CASES + PREDICTION_CASES + CHECKPOINT_CASES + MANIFEST_CASES
