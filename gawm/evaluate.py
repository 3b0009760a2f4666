"""N-episode test of a saved checkpoint (Table 1's protocol: the final model, greedy actions, 1000 episodes).

Episodes are played in many simulator battles at once (`gawm.collector.evaluate_policy`, which counts
exactly the first N episodes started, so the estimate is unbiased towards short episodes). The test env is
seeded apart from every training and evaluation env, so the numbers are reproducible for a --seed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from gawm.collector import evaluate_policy
from gawm.envs import make_vec_env
from gawm.runs import load_run_method


def evaluate_checkpoint(run_dir: Path, checkpoint: Path | None = None, episodes: int = 1000, seed: int = 12345,
                        n_envs: int = 100, device: torch.device | None = None,
                        deterministic: bool = True, progress: bool = False) -> dict[str, Any]:
    """Play `episodes` test episodes with a run's checkpoint (default: checkpoints/final.pt).

    The result depends on (checkpoint, episodes, seed, n_envs) only: the test battles are seeded by `seed`,
    greedy actions need no randomness, and sampled ones (deterministic=False) draw from torch's generator
    seeded by `seed`, inside a forked RNG state, so the caller's RNG is left untouched."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if n_envs < 1:
        raise ValueError(f"n_envs (battles at once) must be >= 1, got {n_envs}")
    run_dir = Path(run_dir)
    checkpoint = Path(checkpoint) if checkpoint is not None else run_dir / "checkpoints" / "final.pt"
    t0 = time.perf_counter()
    device = device or torch.device("cpu")
    n_envs = min(n_envs, episodes)
    # building a method seeds torch with the run's seed: fork so the caller's RNG state is left as it was
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        method, run, step = load_run_method(run_dir, checkpoint, device)
        env = make_vec_env(run["map"], n_envs, backend=run.get("backend", "sim"), seed=seed)
        try:
            with torch.no_grad():
                torch.manual_seed(seed)  # sampled actions (deterministic=False) draw from here
                res = evaluate_policy(env, method, episodes, deterministic=deterministic, progress=progress)
        finally:
            env.close()
    return {"method": run["method"], "map": run["map"], "seed": int(run["seed"]), "checkpoint": str(checkpoint),
            "step": step, "greedy": deterministic, "test_seed": seed, "n_envs": n_envs, **res,
            "wall_s": time.perf_counter() - t0}
