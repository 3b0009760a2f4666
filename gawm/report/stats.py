"""Statistics for comparing our seeds with the published numbers.

- Welch's two-sided t-test from summaries (mean, sample std, n) on each side: the paper publishes only
  mean(std) over 3 seeds, so a per-cell test can use nothing more. Degenerate cells get an explicit
  answer and a note instead of scipy's 0/0 (see `welch_test`).
- The inter-quartile mean (IQM) and its stratified-bootstrap confidence interval (Agarwal et al., NeurIPS
  2021, "Deep RL at the edge of the statistical precipice", rliable's definitions): IQM = mean of the
  middle 50% of all (seed, map) scores (scipy's 25%-trimmed mean, as rliable computes it); the bootstrap
  resamples seeds with replacement independently within each map and takes percentile bounds.
- The paper gives no per-seed scores, so a published cell enters the bootstrap as the three values
  mean - std, mean, mean + std (`seeds_from_summary`): the one 3-point set symmetric about the mean with
  exactly that mean and sample std. The published CI is therefore an approximation, stated as such.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

# why a p-value is NaN or exact; empty when scipy's Welch test applies
NOTE_FEW_SEEDS = "fewer than 2 seeds on a side: no variance estimate"
NOTE_IDENTICAL = "zero variance and equal means on both sides: p = 1"
NOTE_ZERO_VAR = "zero variance on both sides, means differ: t and its df undefined"


def welch_test(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int) -> tuple[float, str]:
    """Two-sided Welch t-test p-value from summaries (std = sample std, ddof=1) and a note for edge cases.

    Edge cases are decided here rather than left to scipy's 0/0:
      * fewer than 2 samples on a side, or a NaN summary -> (NaN, NOTE_FEW_SEEDS);
      * zero variance on both sides: equal means -> (1.0, NOTE_IDENTICAL) (the summaries cannot be told
        apart); different means -> (NaN, NOTE_ZERO_VAR) (no variance to scale the difference by; calling
        it p = 0 would claim certainty from 3 seeds).
    One side with zero variance is fine: Welch's df then comes from the other side alone.
    """
    if n_a < 2 or n_b < 2 or any(map(math.isnan, (mean_a, std_a, mean_b, std_b))):
        return float("nan"), NOTE_FEW_SEEDS
    if std_a == 0.0 and std_b == 0.0:
        return (1.0, NOTE_IDENTICAL) if mean_a == mean_b else (float("nan"), NOTE_ZERO_VAR)
    res = stats.ttest_ind_from_stats(mean_a, std_a, n_a, mean_b, std_b, n_b, equal_var=False)
    return float(res.pvalue), ""


def welch_p_value(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int) -> float:
    """`welch_test`'s p-value alone."""
    return welch_test(mean_a, std_a, n_a, mean_b, std_b, n_b)[0]


def seeds_from_summary(mean: float, std: float, n: int = 3) -> np.ndarray:
    """n values, evenly spaced and symmetric about `mean`, with exactly this mean and sample std (ddof=1).

    For n = 3 these are mean - std, mean, mean + std. Used to put a published mean(std) into the same
    per-seed estimators as our runs (and, in the tests, to fake runs with a published cell's summary)."""
    if n < 2:
        raise ValueError(f"need at least 2 seeds to match a standard deviation, got n={n}")
    base = np.linspace(-1.0, 1.0, n)
    return mean + std * base / base.std(ddof=1)


def iqm(scores: np.ndarray, axis: int | None = None) -> float | np.ndarray:
    """Inter-quartile mean: the 25%-trimmed mean over all entries (axis=None) or along `axis` (rliable's
    `aggregate_iqm`: int(0.25 n) scores cut from each end)."""
    scores = np.asarray(scores, dtype=float)
    if scores.size == 0:
        return float("nan")
    out = stats.trim_mean(scores, 0.25, axis=axis)
    return float(out) if axis is None else out


def stratified_bootstrap_ci(per_map: list[np.ndarray], reps: int = 2000, alpha: float = 0.05,
                            seed: int = 0) -> tuple[float, float, float]:
    """IQM over maps of per-seed scores and its percentile stratified-bootstrap CI.

    per_map: one 1-D array of per-seed scores for each map (seed counts may differ). Each replicate
    resamples the seeds of every map with replacement, independently per map. Returns (iqm, low, high);
    deterministic for a seed. Vectorised over replicates: (reps, total seeds) draws, one trimmed mean per row.
    """
    per_map = [np.asarray(x, dtype=float).ravel() for x in per_map if len(x)]
    if not per_map:
        return float("nan"), float("nan"), float("nan")
    point = iqm(np.concatenate(per_map))
    rng = np.random.default_rng(seed)
    draws = np.concatenate([x[rng.integers(0, len(x), (reps, len(x)))] for x in per_map], axis=1)  # (reps, S)
    reps_iqm = iqm(draws, axis=1)  # (reps,)
    low, high = np.quantile(reps_iqm, [alpha / 2, 1 - alpha / 2])
    return point, float(low), float(high)
