"""Statistics for comparing our seeds with the published numbers.

- Welch's two-sided t-test from summaries (mean, sample std, n) on each side: the paper publishes only
  mean(std) over 3 seeds, so a per-cell test can use nothing more.
- The inter-quartile mean (IQM) and its stratified-bootstrap confidence interval (Agarwal et al., NeurIPS
  2021, "Deep RL at the edge of the statistical precipice"): IQM = mean of the middle 50% of all
  (seed, map) scores; the bootstrap resamples seeds with replacement independently within each map.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def welch_p_value(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int) -> float:
    """Two-sided Welch t-test p-value from summaries; std are sample standard deviations (ddof=1).

    Edge cases, decided explicitly rather than left to 0/0: fewer than 2 samples on a side -> NaN (no
    variance estimate); zero variance on both sides -> 1.0 if the means are equal, else 0.0.
    """
    if n_a < 2 or n_b < 2 or any(map(math.isnan, (mean_a, std_a, mean_b, std_b))):
        return float("nan")
    if std_a == 0.0 and std_b == 0.0:
        return 1.0 if mean_a == mean_b else 0.0
    return float(stats.ttest_ind_from_stats(mean_a, std_a, n_a, mean_b, std_b, n_b, equal_var=False).pvalue)


def iqm(scores: np.ndarray) -> float:
    """Inter-quartile mean of all entries: the 25%-trimmed mean (rliable's definition)."""
    flat = np.asarray(scores, dtype=float).ravel()
    if flat.size == 0:
        return float("nan")
    return float(stats.trim_mean(flat, 0.25))


def stratified_bootstrap_ci(per_map: list[np.ndarray], reps: int = 2000, alpha: float = 0.05,
                            seed: int = 0) -> tuple[float, float, float]:
    """IQM over maps of per-seed scores and its percentile bootstrap CI.

    per_map: one 1-D array of per-seed scores for each map (seed counts may differ). Each replicate
    resamples the seeds of every map with replacement. Returns (iqm, low, high); deterministic for a seed.
    """
    per_map = [np.asarray(x, dtype=float) for x in per_map if len(x)]
    if not per_map:
        return float("nan"), float("nan"), float("nan")
    point = iqm(np.concatenate(per_map))
    rng = np.random.default_rng(seed)
    reps_iqm = np.empty(reps)
    for r in range(reps):
        reps_iqm[r] = iqm(np.concatenate([x[rng.integers(0, len(x), len(x))] for x in per_map]))
    low, high = np.quantile(reps_iqm, [alpha / 2, 1 - alpha / 2])
    return point, float(low), float(high)
