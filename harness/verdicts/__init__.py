"""Verdicts that carry all their noise: seed-group intervals, group comparisons and the non-inferiority gate.

Public API::

    group_interval(points, reps, level=0.95) -> Interval            # seeds (spread) + archs (shared bootstrap)
    compare_groups(metric, higher_is_better, pa, ra, pb, rb, paired_by_seed=False) -> Comparison
    non_inferiority(comparison, max_drop, level=0.95) -> NonInferiority   # what `nas-harness check` decides
    metric_replicates(preds, truth, params, metric, n_boot, seed) -> (points, reps)
    resolve(store, run_or_group_id) -> Side;  summarize(store, side, bench, split, metric) -> GroupSummary
    compare_sides(store, a, b, bench, split, metric) -> Comparison
    leaderboard_rows(store, bench, split, all_runs=False, version=None) -> list[dict]   # one (benchmark, version)
    board_versions(store, bench) -> [current version, older versions with runs…]   # one table each
    check_same_version(a, b); require_current_version(side, bench)   # BenchmarkVersionError across versions
    stored_summary(side, split, metric) -> GroupSummary   # an older version's group, from its stored values
    family_verdicts(rows: [Evidence], metric, higher_is_better) -> FamilyResult   # Holm over a board's pairs
"""

from harness.verdicts.family import Evidence, FamilyResult, family_verdicts
from harness.verdicts.board import ROW_METRICS, board_versions, group_board, leaderboard_rows
from harness.verdicts.groups import (
    GroupSummary,
    Side,
    check_metric,
    check_same_version,
    compare_sides,
    fix_command,
    matching_seeds,
    metric_replicates,
    require_current_version,
    resolve,
    stored_summary,
    summarize,
)
from harness.verdicts.stats import (
    LEVEL, POWER, SPLITS_NOTE, Comparison, Interval, NonInferiority, compare_groups, group_interval, group_interval_cov, non_inferiority,
)

__all__ = [
    "LEVEL", "POWER", "SPLITS_NOTE", "ROW_METRICS", "Comparison", "GroupSummary", "Interval", "NonInferiority", "Side", "check_metric",
    "compare_groups", "compare_sides", "fix_command", "group_interval", "group_interval_cov", "matching_seeds", "metric_replicates", "non_inferiority",
    "leaderboard_rows", "resolve", "summarize", "board_versions", "check_same_version", "require_current_version",
    "stored_summary", "Evidence", "FamilyResult", "family_verdicts", "group_board",
]
