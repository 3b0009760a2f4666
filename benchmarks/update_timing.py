"""Pieces the training-cost benchmarks share: the uniform-random policy that fills every method's real
buffer with the same episodes, and timing of `method.update` split into its phases.

Phases: world-model epochs (`_wm_update`), imagination (`_imagine`), and the rest of `update` (PPO, and for
MAG its error predictor's fit when that runs outside imagination). Wrapping the two hooks works on every
world-model method of every commit since the shared loop exists, so before/after runs time the same phases.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np


class RandomPolicy:
    """Uniform over each agent's available actions (the Collector's acting interface)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def init_hidden(self, batch: int) -> None:
        return None

    def act(self, obs, avail, state, hidden, reset, deterministic):  # avail (B, N, A) -> actions (B, N)
        p = avail / avail.sum(-1, keepdims=True)
        u = self.rng.random(p.shape[:-1] + (1,))
        return (p.cumsum(-1) < u).sum(-1).clip(max=p.shape[-1] - 1), None


def time_updates(method: Any, rng: np.random.Generator, warmup: int, repeats: int,
                 sync: Callable[[], None] = lambda: None) -> list[dict[str, float]]:
    """`warmup` untimed then `repeats` timed `method.update(rng)` calls -> one row per timed call:
    total, wm, imagine, ppo_and_rest (seconds). `sync` waits for queued device work (torch.cuda.synchronize on
    a GPU) before each clock read, so a phase is charged with its own kernels, not the next phase's."""
    phases = {"wm": 0.0, "imagine": 0.0}

    def timed(key: str, fn: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            sync()
            t = time.perf_counter()
            out = fn(*a, **kw)
            sync()
            phases[key] += time.perf_counter() - t
            return out
        return wrapper

    method._wm_update = timed("wm", method._wm_update)
    method._imagine = timed("imagine", method._imagine)
    for _ in range(warmup):
        method.update(rng)
    rows = []
    for _ in range(repeats):
        phases.update(wm=0.0, imagine=0.0)
        sync()
        t = time.perf_counter()
        method.update(rng)
        sync()
        total = time.perf_counter() - t
        rows.append({"total": total, "wm": phases["wm"], "imagine": phases["imagine"],
                     "ppo_and_rest": total - phases["wm"] - phases["imagine"]})
    return rows
