"""Where a run's stored predictions of a GT split are: one alignment for the CLI's ``compare``, the seed-group
verdicts and the leaderboard app.

Why by arch string (not by the GT's ``archset_index``): a GT-only run stores the GT archs only, a full run the whole
arch set; looking each GT arch up by name gives both the same numbers, and a run scored on another arch set (or
against another GT's archs) is caught instead of read at the wrong positions. Needs no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.errors import HarnessError
from harness.gt.gt_file import GroundTruth

MISSING = "the run's predictions lack some GT archs (another arch set?); score the submission again"


def split_positions(archs: Sequence[str], gt: GroundTruth, split: str) -> np.ndarray:
    """Positions in ``archs`` of the GT archs of ``split``, in GT order; HarnessError when one is missing."""
    idx = gt.split_indices(split)
    where = {a: i for i, a in enumerate(archs)}
    try:
        return np.fromiter((where[gt.archs[i]] for i in idx), dtype=np.int64, count=idx.size)
    except KeyError:
        raise HarnessError(MISSING) from None


def split_scores(archs: Sequence[str], scores: np.ndarray, gt: GroundTruth, split: str) -> np.ndarray:
    """A run's scores of the GT archs of ``split`` in GT order (float64), full and GT-only runs alike."""
    return np.asarray(scores, dtype=np.float64)[split_positions(archs, gt, split)]
