"""Reward trend modelling, Eqs. (4)-(5) of the paper (after DreamSmooth): the reward head of the world model
is trained on a Gaussian-smoothed copy of each episode's team rewards.

Eq. (5): f_i = exp(-i^2 / 2 sigma^2) / sum_j exp(-j^2 / 2 sigma^2), i = -H..H.
Eq. (4): r_hat_t = sum_i f_i r_{clip(t+i, 0, T)}.

Read literally, the clip of Eq. (4) replicates the first and last reward into the out-of-episode kernel
taps, so the last reward (the +200 win bonus of SMAC) is counted up to H+1 times and the episode's total
changes, contradicting the paper's "while maintaining total reward consistency". Here each reward's
mass is spread with the kernel and renormalised over the steps inside the episode (column-normalised
weights W[t, s] = f_{t-s} / sum_{t' in episode} f_{t'-s}), so the total is kept exactly. Wherever no
kernel reaches past an end (t at least 2H steps from both ends) this is exactly Eq. (4).
"""

from __future__ import annotations

import numpy as np


def gaussian_kernel(window: int, sigma: float) -> np.ndarray:
    """f_{-H..H} of Eq. (5), summing to 1: shape (2H + 1,)."""
    if window < 0 or sigma < 0:
        raise ValueError(f"window and sigma must be >= 0, got H={window}, sigma={sigma}")
    i = np.arange(-window, window + 1, dtype=np.float64)
    if sigma <= 1e-8:
        return (i == 0).astype(np.float64)
    f = np.exp(-(i**2) / (2.0 * sigma**2))
    return f / f.sum()


def smooth_rewards(rewards: np.ndarray, window: int, sigma: float) -> np.ndarray:
    """Smoothed copy (T,) of one episode's rewards (T,); the episode total is unchanged."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"rewards must be one episode, shape (T,), got {r.shape}")
    if window == 0 or sigma <= 1e-8 or r.size <= 1:
        gaussian_kernel(window, sigma)  # validates the arguments
        return r.copy()
    f = gaussian_kernel(window, sigma)
    T = r.size
    t = np.arange(T)
    lag = t[:, None] - t[None, :]  # (T, T): t - s
    W = np.where(np.abs(lag) <= window, f[np.clip(lag + window, 0, 2 * window)], 0.0)
    W /= W.sum(axis=0, keepdims=True)  # each reward's mass stays inside the episode
    return W @ r
