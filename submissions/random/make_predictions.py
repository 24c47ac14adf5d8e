"""Write predictions.json: one seeded uniform random score per arch of the mnist1d-w20 arch set.

Run from the repository root: ``.venv/bin/python submissions/random/make_predictions.py``.
"""

from pathlib import Path

import numpy as np

from harness.benchmarks import get_benchmark
from harness.submission.predictions import write_predictions

BENCHMARK = "mnist1d-w20"
SEED = 0


def main() -> None:
    archs = get_benchmark(BENCHMARK).archs()
    scores = np.random.default_rng(SEED).random(len(archs))
    out = Path(__file__).with_name("predictions.json")
    write_predictions(out, archs, scores)
    print(f"wrote {len(archs)} scores to {out}")


if __name__ == "__main__":
    main()
