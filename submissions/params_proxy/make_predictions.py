"""Write predictions.csv: score = #params of each arch of the mnist1d-w20 arch set (the #params baseline).

Run from the repository root: ``.venv/bin/python submissions/params_proxy/make_predictions.py``.
"""

from pathlib import Path

from harness.benchmarks import get_benchmark
from harness.submission.predictions import write_predictions

BENCHMARK = "mnist1d-w20"


def main() -> None:
    bench = get_benchmark(BENCHMARK)
    archs = bench.archs()
    out = Path(__file__).with_name("predictions.csv")
    write_predictions(out, archs, bench.space.params_many(archs).astype(float))
    print(f"wrote {len(archs)} scores to {out}")


if __name__ == "__main__":
    main()
