"""The board's tie rule (the seam ``harness.challenge.board.tied_with_leader``): Holm over all pairs of rows."""

from __future__ import annotations

import numpy as np
import pytest

from harness.challenge.board import tied_with_leader
from harness.verdicts.family import holm


def test_holm_adjusts_as_the_step_down_procedure_says() -> None:
    # m = 4: sorted p 0.01, 0.02, 0.03, 0.5 -> 0.04, 0.06, 0.06 (monotone), 0.5; returned in input order
    np.testing.assert_allclose(holm([0.5, 0.01, 0.03, 0.02]), [0.5, 0.04, 0.06, 0.06])
    assert holm([]).size == 0 and holm([0.9, 0.9])[0] == pytest.approx(1.0)


def _rows(means: list[float], spread: float, n_boot: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose resampled values share the arch noise (a common term) and have their own (a pair's difference)."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0, spread, size=(n_boot, 1))
    own = rng.normal(0, spread / 2, size=(n_boot, len(means)))
    points = np.asarray(means, dtype=np.float64)
    return points, points + common + own


def test_rows_far_from_the_leader_differ_and_near_ones_tie() -> None:
    points, reps = _rows([0.50, 0.49, 0.20, 0.10], spread=0.02)
    assert tied_with_leader(points, reps, "kendall_tau", True, n_archs=1300) == [True, True, False, False]


def test_the_family_grows_with_the_board() -> None:
    """A gap that one comparison calls significant is a tie on a board of many rows (more pairs, stricter)."""
    gap = 0.02 * 0.5 * np.sqrt(2) * 2.3  # about 2.3 standard errors of a pair's difference
    points, reps = _rows([0.5, 0.5 - gap], spread=0.02, seed=3)
    two = tied_with_leader(points, reps, "kendall_tau", True, n_archs=1300)
    many_points, many_reps = _rows([0.5, 0.5 - gap] + [0.0] * 8, spread=0.02, seed=3)
    many = tied_with_leader(many_points, many_reps, "kendall_tau", True, n_archs=1300)
    assert two[1] is False and many[1] is True
