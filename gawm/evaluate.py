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
                        deterministic: bool = True) -> dict[str, Any]:
    """Play `episodes` test episodes with a run's checkpoint (default: checkpoints/final.pt)."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    run_dir = Path(run_dir)
    checkpoint = Path(checkpoint) if checkpoint is not None else run_dir / "checkpoints" / "final.pt"
    t0 = time.perf_counter()
    method, run, step = load_run_method(run_dir, checkpoint, device or torch.device("cpu"))
    env = make_vec_env(run["map"], min(n_envs, episodes), backend=run.get("backend", "sim"), seed=seed)
    try:
        with torch.no_grad():
            res = evaluate_policy(env, method, episodes, deterministic=deterministic)
    finally:
        env.close()
    return {"method": run["method"], "map": run["map"], "seed": int(run["seed"]), "checkpoint": str(checkpoint),
            "step": step, "greedy": deterministic, "test_seed": seed, **res, "wall_s": time.perf_counter() - t0}
